"""English and French strings of the dashboard, and locale-aware number formatting (no Streamlit here).

French names of the fleet table follow the original guide (Modèle, Enregistrements, Batterie (kWh), AC Max (kW),
DC Max (kW), V2G AC (kW), V2G DC (kW), Capacité V2G, Dans Flotte, Connectés, En Charge, En Décharge,
SOC Moyen (%), Puissance (kW)).
"""

from __future__ import annotations

import math

from evfleet.dashboard.i18n_console import CONSOLE_STRINGS

__all__ = ["LANGS", "STRINGS", "fmt_money", "fmt_num", "fmt_pct", "t"]

LANGS = ("en", "fr")

#: key -> (English, French)
STRINGS: dict[str, tuple[str, str]] = {
    # app / navigation
    "app_title": ("evfleet: EV fleet energy management", "evfleet : gestion énergétique de flotte VE"),
    "page_overview": ("Overview", "Vue d'ensemble"),
    "page_fleet": ("Fleet", "Flotte"),
    "page_strategies": ("Strategies", "Stratégies"),
    "page_grid": ("Grid quality", "Qualité réseau"),
    "page_economics": ("Economics", "Économie"),
    "page_scenario": ("Scenario", "Scénario"),
    # sidebar
    "language": ("Language", "Langue"),
    "fleet_size": ("Fleet size (vehicles)", "Taille de flotte (véhicules)"),
    "strategy": ("Strategy", "Stratégie"),
    "v2g": ("V2G (discharge to grid)", "V2G (décharge vers le réseau)"),
    "mode": ("Control mode", "Mode de pilotage"),
    "mode_offline": ("offline (day-ahead optimum)", "hors ligne (optimum de la veille)"),
    "mode_online": ("online (re-plans every step)", "en ligne (replanifie à chaque pas)"),
    "live": ("Live mode", "Mode temps réel"),
    "live_on": ("Run live simulation", "Lancer la simulation en direct"),
    "speed": ("Speed", "Vitesse"),
    "speed_realtime": ("real time", "temps réel"),
    "pause": ("Pause", "Pause"),
    "resume": ("Resume", "Reprendre"),
    "reset": ("Reset", "Réinitialiser"),
    "step_once": ("One step (when paused)", "Un pas (en pause)"),
    "live_status": (
        "Simulated clock {time} · day {day} · {steps} steps · {state}",
        "Horloge simulée {time} · jour {day} · {steps} pas · {state}",
    ),
    "running": ("running", "en cours"),
    "paused": ("paused", "en pause"),
    "live_note": (
        "Online control re-plans every step; shared by every open tab.",
        "Le pilotage en ligne replanifie à chaque pas ; partagé par tous les onglets.",
    ),
    "live_stored": (
        "History kept in the run store: live session {session}, {chunks} hourly chunks saved.",
        "Historique conservé dans la base : session {session}, {chunks} blocs horaires enregistrés.",
    ),
    "live_store_error": (
        "{n} chunk(s) could not be stored (the simulation goes on): {error}",
        "{n} bloc(s) non enregistré(s) (la simulation continue) : {error}",
    ),
    "scenario_caption": (
        "{name}: {n} sessions, {steps} steps of {minutes} min from {start}",
        "{name} : {n} sessions, {steps} pas de {minutes} min depuis {start}",
    ),
    "uploaded_in_use": ("Using the uploaded scenario «{name}».", "Scénario importé « {name} » utilisé."),
    "default_fallback": (
        "Price optimisation is not registered yet: the default strategy is uncontrolled charging.",
        "L'optimisation tarifaire n'est pas encore disponible : stratégie par défaut = recharge non pilotée.",
    ),
    # KPI groups and cards
    "kpi_grid": ("Grid", "Réseau"),
    "kpi_economic": ("Economics (simulated period)", "Économie (période simulée)"),
    "kpi_fleet": ("Fleet", "Flotte"),
    "peak_kw": ("Peak import", "Pointe soutirée"),
    "load_factor": ("Load factor", "Facteur de charge"),
    "transformer_loading": ("Transformer loading", "Charge transformateur"),
    "tdd": ("Current TDD", "TDD courant"),
    "pf": ("Power factor", "Facteur de puissance"),
    "unbalance": ("Phase unbalance", "Déséquilibre de phases"),
    "voltage": ("Voltage deviation", "Écart de tension"),
    "thd_v": ("Voltage THD", "THD tension"),
    "net_cost": ("Net cost", "Coût net"),
    "savings": ("Savings vs uncontrolled", "Économies vs non piloté"),
    "v2g_revenue": ("V2G revenue", "Revenu V2G"),
    "degradation": ("Battery degradation", "Dégradation batterie"),
    "connected": ("Connected", "Connectés"),
    "charging": ("Charging", "En Charge"),
    "discharging": ("Discharging", "En Décharge"),
    "idle": ("Idle", "Inactifs"),
    "mean_soc": ("Mean SOC", "SOC Moyen"),
    "unmet": ("Unmet energy", "Énergie non servie"),
    "site_now": ("Site power", "Puissance site"),
    "cost_so_far": ("Cost so far", "Coût cumulé"),
    "v2g_so_far": ("V2G energy so far", "Énergie V2G cumulée"),
    "status_optimal": ("optimal", "optimal"),
    "status_good": ("good", "bon"),
    "status_warning": ("warning", "alerte"),
    "status_critical": ("critical", "critique"),
    "status_na": ("not available", "indisponible"),
    "of_limit": ("of limit {limit}", "de la limite {limit}"),
    "at_step": ("at {time}", "à {time}"),
    "pq_missing": (
        "Grid-quality module not available yet: these indicators appear once it is installed.",
        "Module qualité réseau pas encore disponible : ces indicateurs apparaîtront une fois installé.",
    ),
    "model_estimate": ("Model estimate", "Estimation par modèle"),
    # charts
    "load_curve": ("Site load curve", "Courbe de charge du site"),
    "base_load": ("Base load", "Charge de base"),
    "pv": ("PV", "PV"),
    "ev_power": ("EV power", "Puissance VE"),
    "site_power": ("Site power (with EVs)", "Puissance site (avec VE)"),
    "site_without_ev": ("Site without EVs", "Site sans VE"),
    "import_limit": ("Import limit", "Limite de soutirage"),
    "power_kw": ("Power (kW)", "Puissance (kW)"),
    "time": ("Time", "Heure"),
    "soc_distribution": ("SOC of connected vehicles", "SOC des véhicules connectés"),
    "soc_pct": ("SOC (%)", "SOC (%)"),
    "vehicles": ("Vehicles", "Véhicules"),
    "radar": ("Power quality (value / limit)", "Qualité de l'énergie (valeur / limite)"),
    "limit": ("Limit", "Limite"),
    "period_creuses": ("off-peak (creuses)", "heures creuses"),
    "period_pleines": ("standard (pleines)", "heures pleines"),
    "period_pointe": ("peak (pointe)", "heures de pointe"),
    "time_of_table": ("Fleet state at", "État de la flotte à"),
    # fleet page
    "fleet_title": ("EV2Gym vehicles: V2G/G2V states", "Véhicules EV2Gym : états V2G/G2V"),
    "search": ("Search a model", "Rechercher un modèle"),
    "only_in_fleet": ("Only models in the fleet", "Seulement les modèles de la flotte"),
    "col_model": ("Model", "Modèle"),
    "col_registrations": ("Registrations", "Enregistrements"),
    "col_battery": ("Battery (kWh)", "Batterie (kWh)"),
    "col_ac_max": ("AC max (kW)", "AC Max (kW)"),
    "col_dc_max": ("DC max (kW)", "DC Max (kW)"),
    "col_v2g_ac": ("V2G AC (kW)", "V2G AC (kW)"),
    "col_v2g_dc": ("V2G DC (kW)", "V2G DC (kW)"),
    "col_v2g_capable": ("V2G capable", "Capacité V2G"),
    "col_in_fleet": ("In fleet", "Dans Flotte"),
    "col_connected": ("Connected", "Connectés"),
    "col_charging": ("Charging", "En Charge"),
    "col_discharging": ("Discharging", "En Décharge"),
    "col_mean_soc": ("Mean SOC (%)", "SOC Moyen (%)"),
    "col_net_power": ("Net power (kW)", "Puissance (kW)"),
    "v2g_pie": ("Fleet vehicles by V2G capability", "Véhicules de la flotte par capacité V2G"),
    "v2g_yes": ("V2G capable", "Capable V2G"),
    "v2g_no": ("Not V2G", "Non V2G"),
    "top5": ("Top 5 models by registrations", "Top 5 des modèles par enregistrements"),
    "charger_use": ("Infrastructure use by charger type", "Utilisation des bornes par type"),
    "drilldown": ("Vehicle drill-down", "Détail d'un véhicule"),
    "choose_vehicle": ("Vehicle session", "Session véhicule"),
    "arrival": ("Arrival", "Arrivée"),
    "departure": ("Departure", "Départ"),
    "target": ("Target SOC", "SOC cible"),
    "soc_departure": ("SOC at departure", "SOC au départ"),
    "unmet_reason": ("Unmet", "Non servi"),
    "met": ("target met", "cible atteinte"),
    "reason_stay_too_short": (
        "stay too short for the target at full power",
        "séjour trop court pour la cible à pleine puissance",
    ),
    "reason_site_limit": ("curtailed by the site import limit", "écrêté par la limite de soutirage du site"),
    "reason_strategy": ("the strategy chose not to reach it", "la stratégie a choisi de ne pas l'atteindre"),
    "charger": ("Charger", "Borne"),
    "sources": ("Sources of the model's figures", "Sources des données du modèle"),
    "bidi_caption": (
        "{bidi} of {n} vehicles sit on a bidirectional charger and can actually export.",
        "{bidi} véhicules sur {n} sont sur une borne bidirectionnelle et peuvent réellement injecter.",
    ),
    # strategies page
    "strategies_title": ("Strategy comparison", "Comparaison des stratégies"),
    "choose_strategies": ("Strategies to compare", "Stratégies à comparer"),
    "side_by_side": ("Offline optimum and online side by side", "Optimum hors ligne et en ligne côte à côte"),
    "run_comparison": ("Run the comparison", "Lancer la comparaison"),
    "comparison_hint": (
        "Choose strategies and run the comparison (every figure is simulated).",
        "Choisissez des stratégies et lancez la comparaison (chaque chiffre est simulé).",
    ),
    "overlay": ("Load curves overlaid", "Courbes de charge superposées"),
    "first": ("First", "Première"),
    "second": ("Second", "Seconde"),
    "cmp_strategy": ("Strategy", "Stratégie"),
    "cmp_mode": ("Mode", "Mode"),
    "cmp_net_cost": ("Net cost (MAD)", "Coût net (MAD)"),
    "cmp_savings": ("Savings (MAD)", "Économies (MAD)"),
    "cmp_savings_pct": ("Savings (%)", "Économies (%)"),
    "cmp_peak": ("Peak import (kW)", "Pointe (kW)"),
    "cmp_load_factor": ("Load factor", "Facteur de charge"),
    "cmp_v2g_kwh": ("V2G energy (kWh)", "Énergie V2G (kWh)"),
    "cmp_v2g_mad": ("V2G value (MAD)", "Valeur V2G (MAD)"),
    "cmp_unmet": ("Unmet (kWh)", "Non servi (kWh)"),
    "cmp_runtime": ("Run time (s)", "Durée de calcul (s)"),
    # grid page
    "grid_title": ("Grid quality at the point of common coupling", "Qualité réseau au point de raccordement"),
    "compliance": ("Compliance", "Conformité"),
    "col_indicator": ("Indicator", "Indicateur"),
    "col_value": ("Value", "Valeur"),
    "col_limit": ("Limit", "Limite"),
    "col_status": ("Status", "Statut"),
    "col_clause": ("Clause", "Clause"),
    "spectrum": ("Harmonic current spectrum vs IEEE 519 limits", "Spectre harmonique de courant vs limites IEEE 519"),
    "harmonic_order": ("Harmonic order h", "Rang harmonique h"),
    "pct_il": ("% of I_L", "% de I_L"),
    "pf_unbalance": ("Power factor and unbalance over time", "Facteur de puissance et déséquilibre dans le temps"),
    "events": ("Event log", "Journal des événements"),
    "filter_indicator": ("Indicators", "Indicateurs"),
    "filter_state": ("States", "États"),
    "assumptions": ("Model assumptions", "Hypothèses du modèle"),
    "col_time": ("Time", "Heure"),
    "col_state": ("State", "État"),
    "col_previous_state": ("Previous state", "État précédent"),
    # economics page
    "econ_title": ("Economics", "Économie"),
    "cost_by_period": ("Import cost by tariff period", "Coût de soutirage par période tarifaire"),
    "this_strategy": ("This strategy", "Cette stratégie"),
    "baseline": ("Uncontrolled", "Non piloté"),
    "roi_inputs": (
        "Investment inputs (assumptions: enter your quotes)",
        "Données d'investissement (hypothèses : saisissez vos devis)",
    ),
    "n_chargers": ("Smart chargers", "Bornes pilotées"),
    "charger_capex": ("Charger capex per unit (MAD)", "Coût d'une borne (MAD)"),
    "installation": ("Installation per unit (MAD)", "Installation par borne (MAD)"),
    "software_capex": ("EMS software and integration (MAD)", "Logiciel EMS et intégration (MAD)"),
    "opex": ("Opex (MAD/year)", "Exploitation (MAD/an)"),
    "operating_days": ("Operating days per year", "Jours d'exploitation par an"),
    "lifetime": ("Lifetime (years)", "Durée de vie (ans)"),
    "discount": ("Discount rate (%)", "Taux d'actualisation (%)"),
    "investment": ("Investment", "Investissement"),
    "annual_savings": ("Annual savings", "Économies annuelles"),
    "payback": ("Simple payback", "Retour sur investissement"),
    "payback_never": ("never (no net saving)", "jamais (pas d'économie nette)"),
    "months": ("months", "mois"),
    "npv": ("NPV", "VAN"),
    "roi": ("ROI over lifetime", "ROI sur la durée de vie"),
    "cumulative_cashflow": ("Cumulative cash flow", "Flux de trésorerie cumulé"),
    "year": ("Year", "Année"),
    "mad": ("MAD", "MAD"),
    "payback_target": ("Target payback < 24 months", "Objectif de retour < 24 mois"),
    "savings_source": (
        "Savings come from the simulation ({strategy} vs uncontrolled, {days:g} day(s) simulated).",
        "Les économies viennent de la simulation ({strategy} vs non piloté, {days:g} jour(s) simulé(s)).",
    ),
    "col_period": ("Tariff period", "Période tarifaire"),
    "col_price": ("Price (MAD/kWh)", "Prix (MAD/kWh)"),
    "col_import_kwh": ("Import (kWh)", "Soutirage (kWh)"),
    "col_import_cost": ("Cost (MAD)", "Coût (MAD)"),
    "col_base_import_kwh": ("Uncontrolled import (kWh)", "Soutirage non piloté (kWh)"),
    "col_base_import_cost": ("Uncontrolled cost (MAD)", "Coût non piloté (MAD)"),
    "per_day": ("per day", "par jour"),
    "v2g_net": ("V2G value net of degradation", "Valeur V2G nette de la dégradation"),
    # scenario page
    "scenario_title": ("Scenario", "Scénario"),
    "params": ("Parameters", "Paramètres"),
    "seed": ("Random seed", "Graine aléatoire"),
    "start_date": ("Start date", "Date de début"),
    "days": ("Days", "Jours"),
    "step_minutes": ("Step (minutes)", "Pas (minutes)"),
    "profile": ("Profile", "Profil"),
    "composition": (
        "Composition (MODEL:COUNT, empty = by popularity)",
        "Composition (MODÈLE:NOMBRE, vide = selon popularité)",
    ),
    "bidi_share": ("Share of bidirectional chargers", "Part de bornes bidirectionnelles"),
    "charger_mix": ("Charger mix (shares)", "Répartition des bornes (parts)"),
    "import_limit_kw": ("Site import limit (kW)", "Limite de soutirage (kW)"),
    "export_limit_kw": ("Site export limit (kW)", "Limite d'injection (kW)"),
    "pv_kwp": ("PV peak (kWp)", "PV crête (kWc)"),
    "base_peak": ("Base-load peak (kW)", "Pointe de charge de base (kW)"),
    "tariff": ("Tariff", "Tarif"),
    "soc_window": ("SOC window (min = V2G floor, max)", "Plage de SOC (min = plancher V2G, max)"),
    "soc_target_in": ("Target SOC at departure", "SOC cible au départ"),
    "degradation_in": ("Degradation cost (MAD/kWh discharged)", "Coût de dégradation (MAD/kWh déchargé)"),
    "apply": ("Apply", "Appliquer"),
    "upload": ("Upload", "Importer"),
    "upload_scenario": ("Scenario file (JSON, evfleet.scenario/1)", "Fichier scénario (JSON, evfleet.scenario/1)"),
    "upload_fleet": ("Fleet CSV (columns model,count)", "CSV de flotte (colonnes model,count)"),
    "use_generated": ("Back to the generated scenario", "Revenir au scénario généré"),
    "downloads": ("Downloads", "Téléchargements"),
    "dl_scenario": ("Scenario (JSON)", "Scénario (JSON)"),
    "dl_site": ("Results per step (CSV)", "Résultats par pas (CSV)"),
    "dl_vehicles": ("Results per vehicle (CSV)", "Résultats par véhicule (CSV)"),
    "dl_kpis": ("KPIs (JSON)", "Indicateurs (JSON)"),
    "sweeps": ("Sweeps", "Balayages"),
    "no_sweeps": (
        "No sweep stored yet. Run one with `evfleet sweep spec.yaml --out DIR` (see docs/sweep.md); it is kept in "
        "the run store and appears here.",
        "Aucun balayage enregistré. Lancez-en un avec `evfleet sweep spec.yaml --out DIR` (voir docs/sweep.md) ; "
        "il est conservé dans la base et apparaît ici.",
    ),
    "sweep_label": ("{name} · {id} · {n} points · {at}", "{name} · {id} · {n} points · {at}"),
    "sweep_choose": ("Stored sweep", "Balayage enregistré"),
    "sweep_metric": ("Figure", "Indicateur"),
    "sweep_savings_pct": ("savings [%]", "économies [%]"),
    "sweep_savings_mad": ("savings [MAD]", "économies [MAD]"),
    "sweep_peak_reduction_pct": ("peak reduction [%]", "réduction de pointe [%]"),
    "sweep_caption": (
        "{n} simulated rows of sweep {id}, versus the uncontrolled baseline of each point (one dot per point).",
        "{n} lignes simulées du balayage {id}, comparées à la recharge non pilotée de chaque point (un point par "
        "simulation).",
    ),
    "dl_report": ("HTML report of this run", "Rapport HTML de cette simulation"),
    "dl_report_help": (
        "Self-contained report (KPIs, load curves, grid compliance, assumptions and sources), as `evfleet report`; "
        "opens offline.",
        "Rapport autonome (indicateurs, courbes de charge, conformité réseau, hypothèses et sources), comme "
        "`evfleet report` ; s'ouvre hors ligne.",
    ),
    "report_building": ("Building the HTML report…", "Préparation du rapport HTML…"),
    "error": ("Error", "Erreur"),
    "applied": ("Scenario updated.", "Scénario mis à jour."),
    "fleet_loaded": ("Fleet composition loaded: {n} models.", "Composition de flotte chargée : {n} modèles."),
}


def t(key: str, lang: str = "en", **fmt: object) -> str:
    """The string ``key`` in ``lang`` (``"en"``/``"fr"``), formatted with ``fmt``; unknown keys are returned as-is."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "fr" else pair[0]
    return text.format(**fmt) if fmt else text


def fmt_num(x: float | int | None, lang: str = "en", decimals: int = 0) -> str:
    """A number with thousands separators: ``12,345.6`` (en) or ``12 345,6`` (fr, narrow no-break space)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def fmt_money(x: float | None, lang: str = "en", unit: str = "MAD") -> str:
    """Money, compact above a million: ``15.15 M MAD`` / ``15,15 M MAD``; else ``12,345 MAD``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if abs(x) >= 1e6:
        return f"{fmt_num(x / 1e6, lang, 2)} M {unit}"
    return f"{fmt_num(x, lang)} {unit}"


def fmt_pct(x: float | None, lang: str = "en", decimals: int = 1) -> str:
    """A percentage (``x`` already in %): ``12.5 %`` style with the locale's decimal mark."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return fmt_num(x, lang, decimals) + "\u202f%"


for _key, _pair in CONSOLE_STRINGS.items():  # the operator's-console strings (i18n_console.py)
    STRINGS.setdefault(_key, _pair)
