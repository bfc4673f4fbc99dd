"""Readable names and values of a run's ``kpis.json`` keys for the Downloads tab's indicator table (no Streamlit).

The table shows each indicator by a translated label with its unit, and its value as locale text: ``Yes``/``No``
(``Oui``/``Non``) for a flag, the translated name of a strategy, control mode or input status, ``–`` for a figure
that does not apply. The identifiers (``peak_import_kw``, ``price_optimization``, ``true``) stay in the downloaded
files: only the screen is worded. A key without a label here (a strategy's own report figure) is shown as it is.
"""

from __future__ import annotations

from evfleet.dashboard.i18n import STRINGS, mode_label, strategy_label, t
from evfleet.dashboard.l10n import DASH, fmt_int, fmt_number
from evfleet.dashboard.safe_text import french_punctuation

__all__ = ["KPI_LABELS", "kpi_label", "kpi_value_text"]

#: ``kpis.json`` key -> (English, French) label, unit in brackets
KPI_LABELS: dict[str, tuple[str, str]] = {
    "strategy": ("Strategy", "Stratégie"),
    "mode": ("Control mode", "Mode de pilotage"),
    "v2g": ("V2G allowed", "V2G autorisé"),
    "n_vehicles": ("Charging sessions", "Sessions de recharge"),
    "n_steps": ("Time steps", "Pas de temps"),
    "step_minutes": ("Step length (min)", "Durée d'un pas (min)"),
    "energy_charged_kwh": ("Energy charged (kWh)", "Énergie chargée (kWh)"),
    "energy_discharged_kwh": ("Energy discharged (kWh)", "Énergie déchargée (kWh)"),
    "import_energy_kwh": ("Energy imported (kWh)", "Énergie soutirée (kWh)"),
    "export_energy_kwh": ("Energy exported (kWh)", "Énergie injectée (kWh)"),
    "import_cost_mad": ("Import cost (MAD)", "Coût du soutirage (MAD)"),
    "export_revenue_mad": ("Export revenue (MAD)", "Recette d'injection (MAD)"),
    "degradation_cost_mad": ("Battery wear cost (MAD)", "Coût d'usure batterie (MAD)"),
    "net_cost_mad": ("Net cost (MAD)", "Coût net (MAD)"),
    "demand_charge_rate_mad_per_kw": ("Demand charge (MAD/kW/month)", "Redevance de puissance (MAD/kW/mois)"),
    "v2g_displaced_cost_mad": ("Import avoided by V2G (MAD)", "Soutirage évité par le V2G (MAD)"),
    "peak_import_kw": ("Peak import (kW)", "Pointe soutirée (kW)"),
    "peak_ev_kw": ("Peak EV power (kW)", "Pointe des VE (kW)"),
    "peak_base_net_kw": ("Peak site load without EVs (kW)", "Pointe du site hors VE (kW)"),
    "mean_import_kw": ("Mean import (kW)", "Soutirage moyen (kW)"),
    "load_factor": ("Load factor", "Facteur de charge"),
    "peak_to_average": ("Peak / mean", "Pointe / moyenne"),
    "import_limit_kw": ("Import limit (kW)", "Limite de soutirage (kW)"),
    "site_over_limit_steps": ("Steps over the limit", "Pas au-dessus de la limite"),
    "curtailed_energy_kwh": ("Charging curtailed (kWh)", "Recharge écrêtée (kWh)"),
    "curtailed_export_kwh": ("Export curtailed (kWh)", "Injection écrêtée (kWh)"),
    "setpoints_clipped": ("Set-points clipped", "Consignes écrêtées"),
    "unmet_energy_kwh": ("Unmet energy (kWh)", "Énergie non servie (kWh)"),
    "vehicles_unmet": ("Vehicles short at departure", "Véhicules en manque au départ"),
    "vehicles_served_pct": ("Vehicles served (%)", "Véhicules servis (%)"),
    "mean_soc_departure": ("Mean SOC at departure (0-1)", "SOC moyen au départ (0-1)"),
    "pv_energy_kwh": ("PV energy (kWh)", "Énergie PV (kWh)"),
    "pv_self_consumption_pct": ("PV self-consumption (%)", "Autoconsommation PV (%)"),
    "runtime_s": ("Computing time (s)", "Temps de calcul (s)"),
    "bill_energy_mad": ("Bill: energy (MAD)", "Facture : énergie (MAD)"),
    "bill_power_charge_mad": ("Bill: demand charge (MAD)", "Facture : redevance de puissance (MAD)"),
    "bill_overrun_mad": ("Bill: overrun (MAD)", "Facture : dépassement (MAD)"),
    "bill_cos_phi_penalty_mad": ("Bill: cos φ penalty (MAD)", "Facture : pénalité cos φ (MAD)"),
    "bill_fixed_fees_mad": ("Bill: fixed fees (MAD)", "Facture : frais fixes (MAD)"),
    "bill_total_excl_vat_mad": ("Bill: total excl. VAT (MAD)", "Facture : total HT (MAD)"),
    "bill_vat_mad": ("Bill: VAT (MAD)", "Facture : TVA (MAD)"),
    "bill_total_incl_vat_mad": ("Bill: total incl. VAT (MAD)", "Facture : total TTC (MAD)"),
    "bill_called_power_kva": ("Bill: called power (kVA)", "Facture : puissance appelée (kVA)"),
    "bill_subscribed_power_kva": ("Bill: subscribed power (kVA)", "Facture : puissance souscrite (kVA)"),
    "bill_cos_phi": ("Bill: cos φ", "Facture : cos φ"),
    "bill_days": ("Bill: days", "Facture : jours"),
    "bill_tariff": ("Bill: tariff", "Facture : tarif"),
    "bill_status": ("Bill: input status", "Facture : statut des données"),
    # the strategies' report (strategy_<key>)
    "strategy_objective": ("Solver: objective value", "Solveur : valeur de l'objectif"),
    "strategy_solver_status": ("Solver: status", "Solveur : statut"),
    "strategy_build_s": ("Solver: model build (s)", "Solveur : construction du modèle (s)"),
    "strategy_solve_s": ("Solver: solve time (s)", "Solveur : résolution (s)"),
    "strategy_n_variables": ("Solver: variables", "Solveur : variables"),
    "strategy_n_constraints": ("Solver: constraints", "Solveur : contraintes"),
    "strategy_planned_unmet_kwh": ("Plan: unmet energy (kWh)", "Plan : énergie non servie (kWh)"),
    "strategy_online_replans": ("Online: re-plans", "En ligne : replanifications"),
    "strategy_online_replan_mean_s": ("Online: mean re-plan (s)", "En ligne : replanification moyenne (s)"),
    "strategy_online_replan_max_s": ("Online: longest re-plan (s)", "En ligne : replanification la plus longue (s)"),
    "strategy_projection_max_kw": ("Plan: largest physics correction (kW)", "Plan : plus grande correction (kW)"),
    "strategy_reserve_price_mad_per_kw_h": ("Reserve: price (MAD/kW/h)", "Réserve : prix (MAD/kW/h)"),
    "strategy_reserve_mean_kw": ("Reserve: mean band (kW)", "Réserve : bande moyenne (kW)"),
    "strategy_reserve_max_kw": ("Reserve: largest band (kW)", "Réserve : bande maximale (kW)"),
    "strategy_reserve_value_mad": ("Reserve: value (MAD)", "Réserve : valeur (MAD)"),
    "strategy_fcr_energy_up_kwh": ("Reserve: energy up (kWh)", "Réserve : énergie à la hausse (kWh)"),
    "strategy_fcr_energy_down_kwh": ("Reserve: energy down (kWh)", "Réserve : énergie à la baisse (kWh)"),
    "strategy_pointe_import_kwh": ("Plan: import at peak hours (kWh)", "Plan : soutirage en heures de pointe (kWh)"),
    "strategy_frequency_source": ("Reserve: frequency from", "Réserve : fréquence issue de"),
    "strategy_fcr_projection_max_kw": ("Reserve: largest activation cut (kW)", "Réserve : plus grande coupure (kW)"),
    "strategy_reserve_block_h": ("Reserve: block length (h)", "Réserve : durée d'un bloc (h)"),
    "strategy_reserve_min_offer_kw": ("Reserve: smallest offer (kW)", "Réserve : plus petite offre (kW)"),
}
#: a few identifier values and their words (the rest: strategies, modes, input statuses through the catalogue)
_VALUE_WORDS: dict[str, tuple[str, str]] = {
    "True": ("Yes", "Oui"),
    "False": ("No", "Non"),
    "synthetic_ou": ("synthetic (Ornstein-Uhlenbeck)", "synthétique (Ornstein-Uhlenbeck)"),
    "scenario": ("the scenario", "le scénario"),
}
_PREFIX_BILL_PERIOD = "import_cost_"


def kpi_label(key: str, lang: str = "en") -> str:
    """The label of the ``kpis.json`` key ``key`` in ``lang`` (``import_cost_<period>_mad``: the period's name);
    an unknown key as it is."""
    pair = KPI_LABELS.get(key)
    if pair is not None:
        return french_punctuation(pair[1]) if lang == "fr" else pair[0]
    if key.startswith(_PREFIX_BILL_PERIOD) and key.endswith("_mad"):
        period = key[len(_PREFIX_BILL_PERIOD) : -len("_mad")]
        name = t(f"period_{period}", lang) if f"period_{period}" in STRINGS else period
        return f"{'Coût du soutirage' if lang == 'fr' else 'Import cost'}, {name} (MAD)"
    return key


def kpi_value_text(key: str, value: object, lang: str = "en") -> str:
    """A KPI value as locale text: flags ``Yes``/``No``, strategies/modes/statuses translated, numbers with the
    locale's marks (whole numbers exact, others to 6 significant figures without trailing zeros), ``None`` -> ``–``."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return _word(str(value), lang)
    if isinstance(value, int | float):
        if float(value).is_integer():  # counts and whole numbers: "500", not "500,000" (500 thousand in English)
            return fmt_int(value, lang)
        text = fmt_number(value, lang, sig=6)
        mark = "," if lang == "fr" else "."
        return text.rstrip("0").rstrip(mark) if mark in text else text  # "96,0000" -> "96"
    text = str(value)
    if key == "strategy":
        return strategy_label(text, lang)
    if key == "mode":
        return mode_label(text, lang)
    if key == "bill_status" and f"src_{text}" in STRINGS:
        return t(f"src_{text}", lang)
    return _word(text, lang)


def _word(text: str, lang: str) -> str:
    pair = _VALUE_WORDS.get(text)
    return text if pair is None else pair[1 if lang == "fr" else 0]
