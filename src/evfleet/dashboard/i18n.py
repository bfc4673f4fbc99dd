"""English and French strings of the dashboard, and locale-aware number formatting (no Streamlit here).

French names of the fleet table follow the original guide's columns in French sentence case (only the first word and
acronyms capitalised): Modèle, Popularité (poids), Batterie (kWh), AC max (kW), DC max (kW), V2G AC (kW), V2G DC (kW),
Capacité V2G, Dans la flotte, Connectés, En charge, En décharge, SOC moyen (%), Puissance (kW).
"""

from __future__ import annotations

import math
import re

from evfleet.dashboard.depot_i18n import DEPOT_STRINGS
from evfleet.dashboard.i18n_console import CONSOLE_STRINGS
from evfleet.dashboard.i18n_inputs import INPUT_STRINGS
from evfleet.dashboard.safe_text import french_punctuation

__all__ = [
    "LANGS",
    "STRATEGY_LABEL_KEYS",
    "STRINGS",
    "clause_text",
    "event_indicator_label",
    "fmt_money",
    "fmt_num",
    "fmt_pct",
    "indicator_label",
    "missing_in_fr",
    "mode_label",
    "strategy_description",
    "strategy_label",
    "t",
    "verdict_label",
]

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
    "savings": ("Savings vs baseline", "Économies vs référence"),
    "v2g_revenue": ("V2G value", "Valeur V2G"),
    "degradation": ("Battery degradation", "Dégradation batterie"),
    "connected": ("Connected", "Connectés"),
    "charging": ("Charging", "En charge"),
    "discharging": ("Discharging", "En décharge"),
    "idle": ("Idle", "Inactifs"),
    "mean_soc": ("Mean SOC", "SOC moyen"),
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
    "fleet_title": ("Vehicles on site: charging and V2G", "Véhicules du dépôt : recharge et V2G"),
    "search": ("Search a model", "Rechercher un modèle"),
    "only_in_fleet": ("Only models in the fleet", "Seulement les modèles de la flotte"),
    "col_model": ("Model", "Modèle"),
    "col_registrations": ("Popularity (weight)", "Popularité (poids)"),
    "col_battery": ("Battery (kWh)", "Batterie (kWh)"),
    "col_ac_max": ("AC max (kW)", "AC max (kW)"),
    "col_dc_max": ("DC max (kW)", "DC max (kW)"),
    "col_v2g_ac": ("V2G AC (kW)", "V2G AC (kW)"),
    "col_v2g_dc": ("V2G DC (kW)", "V2G DC (kW)"),
    "col_v2g_capable": ("V2G capable", "Capacité V2G"),
    "col_in_fleet": ("In fleet", "Dans la flotte"),
    "col_connected": ("Connected", "Connectés"),
    "col_charging": ("Charging", "En charge"),
    "col_discharging": ("Discharging", "En décharge"),
    "col_mean_soc": ("Mean SOC (%)", "SOC moyen (%)"),
    "col_net_power": ("Net power (kW)", "Puissance (kW)"),
    "v2g_pie": ("Fleet vehicles by V2G capability", "Véhicules de la flotte par capacité V2G"),
    "v2g_yes": ("V2G capable", "Capable V2G"),
    "v2g_no": ("Not V2G", "Non V2G"),
    "top5": ("Top 5 models by popularity", "Top 5 des modèles par popularité"),
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
    "cmp_savings_timer": ("Savings vs timer (MAD)", "Économies vs minuterie (MAD)"),
    "cmp_savings_best_pct": ("Savings vs best baseline (%)", "Économies vs meilleure référence (%)"),
    "cmp_nothing": ("Nothing to do", "Rien à faire"),
    "cmp_headline": ("Headline", "En bref"),
    "headline_base": (
        "{baseline} ({cost} MAD), the cheaper baseline",
        "{baseline} ({cost} MAD), la référence la moins chère",
    ),
    "headline_none": (
        "no strategy with something to do was compared against {base}",
        "aucune stratégie ayant un levier n'a été comparée à {base}",
    ),
    "headline_saves": (
        "{strategy} saves {amount} MAD{pct} against {base}; its cost {cost} MAD",
        "{strategy} économise {amount} MAD{pct} face à {base} ; son coût {cost} MAD",
    ),
    "headline_costs": (
        "{strategy} costs {amount} MAD{pct} more than {base}; its cost {cost} MAD",
        "{strategy} coûte {amount} MAD{pct} de plus que {base} ; son coût {cost} MAD",
    ),
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
    "bill_title": ("The bill", "La facture"),
    "bill_caption": (
        "Tariff {tariff} ({status}); formulas in docs/tariffs.md. Net cost = bill before VAT - export + degradation.",
        "Tarif {tariff} ({status}) ; formules dans docs/tariffs.md. Coût net = facture HT - injection + usure.",
    ),
    "col_item": ("Item", "Poste"),
    "bill_energy_mad": ("Energy", "Énergie"),
    "bill_power_charge_mad": ("Power charge", "Redevance de puissance"),
    "bill_overrun_mad": ("Overrun", "Dépassement"),
    "bill_cos_phi_penalty_mad": ("cos φ penalty", "Pénalité cos φ"),
    "bill_fixed_fees_mad": ("Fixed fees", "Frais fixes"),
    "bill_total_excl_vat_mad": ("Total before VAT", "Total HT"),
    "bill_vat_mad": ("VAT", "TVA"),
    "bill_total_incl_vat_mad": ("Total incl. VAT", "Total TTC"),
    "bill_export_revenue_mad": ("Export revenue", "Revenu d'injection"),
    "bill_degradation_cost_mad": ("Battery wear", "Usure batterie"),
    "bill_net_cost_mad": ("Net cost", "Coût net"),
    "col_mad": ("MAD", "MAD"),
    "col_base_mad": ("Baseline (MAD)", "Référence (MAD)"),
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
    "metering_capex": ("Metering (MAD)", "Comptage (MAD)"),
    "fleet_mix": ("Fleet mix (docs/model.md)", "Composition de flotte (docs/model.md)"),
    "n_bidi_chargers": ("Bidirectional chargers bought", "Bornes bidirectionnelles achetées"),
    "bidi_extra": ("Extra per bidirectional charger (MAD)", "Surcoût par borne bidirectionnelle (MAD)"),
    "roi_source": (
        "ROI of the EMS itself against the timer: saving = timer cost − {strategy} cost ({days:g} day(s) simulated, "
        "× {op_days} days a year); investment = what the EMS adds (assumptions: enter your quotes).",
        "ROI du seul EMS face à la minuterie : économie = coût minuterie − coût {strategy} ({days:g} jour(s) "
        "simulé(s), × {op_days} jours par an) ; investissement = ce que l'EMS ajoute (hypothèses : vos devis).",
    ),
    "diesel_title": ("Whole infrastructure vs a diesel fleet (optional)", "Infrastructure complète vs flotte diesel"),
    "km_per_year": ("km per vehicle per year", "km par véhicule et par an"),
    "diesel_l_100": ("Diesel (l/100 km)", "Gazole (l/100 km)"),
    "diesel_price": ("Diesel price (MAD/l)", "Prix du gazole (MAD/l)"),
    "diesel_source": (
        "Benefit = diesel fuel {fuel} a year − EV electricity {ev} a year − opex (your inputs).",
        "Gain = gazole {fuel} par an − électricité des VE {ev} par an − exploitation (vos données).",
    ),
    "opex": ("Opex (MAD/year)", "Exploitation (MAD/an)"),
    "operating_days": ("Operating days per year", "Jours d'exploitation par an"),
    "lifetime": ("Lifetime (years)", "Durée de vie (ans)"),
    "discount": ("Discount rate (%)", "Taux d'actualisation (%)"),
    "investment": ("Investment", "Investissement"),
    "annual_savings": ("Annual savings", "Économies annuelles"),
    "payback": ("Simple payback", "Délai de récupération"),
    "payback_never": ("never (no net saving)", "jamais (pas d'économie nette)"),
    "months": ("months", "mois"),
    "npv": ("NPV", "VAN"),
    "roi": ("ROI over lifetime", "ROI sur la durée de vie"),
    "cumulative_cashflow": ("Cumulative cash flow", "Flux de trésorerie cumulé"),
    "year": ("Year", "Année"),
    "mad": ("MAD", "MAD"),
    "payback_target": ("target < 24 months", "objectif < 24 mois"),
    "savings_source": (
        "Savings come from the simulation ({strategy} vs {baseline}, {days} day(s) simulated).",
        "Les économies viennent de la simulation ({strategy} vs {baseline}, {days} jour(s) simulé(s)).",
    ),
    "col_period": ("Tariff period", "Période tarifaire"),
    "col_price": ("Price (MAD/kWh)", "Prix (MAD/kWh)"),
    "col_import_kwh": ("Import (kWh)", "Soutirage (kWh)"),
    "col_import_cost": ("Cost (MAD)", "Coût (MAD)"),
    "col_base_import_kwh": ("Uncontrolled import (kWh)", "Soutirage non piloté (kWh)"),
    "col_base_import_cost": ("Uncontrolled cost (MAD)", "Coût non piloté (MAD)"),
    "per_day": ("per day", "par jour"),
    "v2g_net": ("V2G value (cost without V2G − with)", "Valeur V2G (coût sans V2G − avec)"),
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
    "upload_fleet": ("Fleet CSV (columns `model`, `count`)", "CSV de flotte (colonnes « model » et « count »)"),
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
    "sweep_savings_vs_best_baseline_pct": (
        "savings vs cheaper baseline [%]",
        "économies vs référence la moins chère [%]",
    ),
    "sweep_savings_vs_best_baseline_mad": (
        "savings vs cheaper baseline [MAD]",
        "économies vs référence la moins chère [MAD]",
    ),
    "sweep_savings_vs_timer_pct": ("savings vs timer [%]", "économies vs minuterie [%]"),
    "sweep_savings_pct": ("savings vs uncontrolled [%]", "économies vs non piloté [%]"),
    "sweep_savings_mad": ("savings vs uncontrolled [MAD]", "économies vs non piloté [MAD]"),
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
    # plan page
    "page_plan": ("Plan", "Plan"),
    "plan_title": ("Charging plan", "Plan de recharge"),
    "plan_intro": (
        "Setpoints per vehicle and per connector, as the simulator applied them to the strategy's plan (kW, grid "
        "side; V2G negative).",
        "Consignes par véhicule et par connecteur, telles que le simulateur les a appliquées au plan de la "
        "stratégie (kW, côté réseau ; V2G négatif).",
    ),
    "plan_vehicles": ("Vehicles", "Véhicules"),
    "plan_short": ("Not ready at departure", "Pas prêts au départ"),
    "plan_short_kwh": ("Energy short (kWh)", "Énergie manquante (kWh)"),
    "plan_connectors": ("Connectors", "Connecteurs"),
    "plan_layout_default": (
        "Charger layout derived from the sessions (the scenario has no site.chargers; docs/model.md).",
        "Bornes déduites des sessions (le scénario n'a pas de site.chargers ; docs/model.md).",
    ),
    "plan_layout_scenario": ("Charger layout from the scenario.", "Bornes issues du scénario."),
    "plan_by_vehicle": ("By vehicle", "Par véhicule"),
    "plan_by_connector": ("By connector", "Par connecteur"),
    "plan_only_short": ("Only vehicles not ready", "Seulement les véhicules pas prêts"),
    "plan_pick_vehicle": ("Vehicle", "Véhicule"),
    "plan_pick_connector": ("Connector", "Connecteur"),
    "plan_vehicle_title": ("Setpoint of {id} ({connector})", "Consigne de {id} ({connector})"),
    "plan_connector_title": ("Power of connector {connector}", "Puissance du connecteur {connector}"),
    "plan_export": ("Export the plan", "Exporter le plan"),
    "plan_dialect": ("CSV format", "Format CSV"),
    "dialect_excel": ("Excel (comma, decimal point)", "Excel (virgule, point décimal)"),
    "dialect_excel-fr": ("French Excel (semicolon, decimal comma)", "Excel français (point-virgule, virgule décimale)"),
    "dl_plan_csv": ("Plan CSV (vehicle × step)", "Plan CSV (véhicule × pas)"),
    "dl_plan_json": ("Plan JSON", "Plan JSON"),
    "dl_plan_ocpp": ("OCPP 2.0.1 charging profiles", "Profils de charge OCPP 2.0.1"),
    "dl_plan_ocpp_help": (
        "SetChargingProfile requests, one TxProfile per session on its connector (as `evfleet plan --format ocpp`).",
        "Requêtes SetChargingProfile, un TxProfile par session sur son connecteur (comme `evfleet plan --format "
        "ocpp`).",
    ),
    "setpoint_kw": ("Setpoint (kW)", "Consigne (kW)"),
    "rating": ("rating", "puissance nominale"),
    "col_session": ("Session", "Session"),
    "col_connector": ("Connector", "Connecteur"),
    "col_arrival": ("Arrival", "Arrivée"),
    "col_departure": ("Departure", "Départ"),
    "col_target_pct": ("Target (%)", "Cible (%)"),
    "col_expected_pct": ("Expected at departure (%)", "Prévu au départ (%)"),
    "col_energy_kwh": ("Energy (kWh)", "Énergie (kWh)"),
    "col_short_kwh": ("Short (kWh)", "Manque (kWh)"),
    "col_why": ("Why", "Pourquoi"),
    "col_type": ("Type", "Type"),
    "col_rating_kw": ("Rating (kW)", "Puissance (kW)"),
    "col_phase": ("Phase", "Phase"),
    "col_sessions": ("Sessions", "Sessions"),
    "col_peak_kw": ("Peak (kW)", "Pointe (kW)"),
    "col_utilisation_pct": ("Use (%)", "Utilisation (%)"),
    "short_stay_too_short": (
        "stay too short: even full power cannot reach the target",
        "séjour trop court : même à pleine puissance, la cible est hors d'atteinte",
    ),
    "short_site_limit": ("curtailed by the site's import limit", "écrêté par la limite de soutirage du site"),
    "short_strategy": (
        "the strategy chose not to charge it fully (cost trade-off)",
        "la stratégie a choisi de ne pas le charger entièrement (arbitrage de coût)",
    ),
    "short_frequency_response": ("delivered frequency reserve", "a fourni de la réserve de fréquence"),
    "short_action_stay_too_short": (
        "extend the stay, lower the target or use a faster charger",
        "prolonger le séjour, baisser la cible ou utiliser une borne plus rapide",
    ),
    "short_action_site_limit": (
        "raise the import limit, move other loads or plug it in earlier",
        "relever la limite de soutirage, déplacer d'autres charges ou le brancher plus tôt",
    ),
    "short_action_strategy": (
        "raise its priority or the unmet-energy penalty, or choose another strategy",
        "augmenter sa priorité ou la pénalité d'énergie manquante, ou changer de stratégie",
    ),
    "short_action_frequency_response": (
        "offer less reserve from this vehicle",
        "offrir moins de réserve avec ce véhicule",
    ),
    # operator alerts
    "alerts_title": ("Alerts to act on", "Alertes à traiter"),
    "alerts_none": (
        "Nothing to act on: every vehicle is ready, no limit reached.",
        "Rien à traiter : tous les véhicules sont prêts, aucune limite atteinte.",
    ),
    "alerts_counts": (
        "{critical} critical · {warning} warning · {info} info",
        "{critical} critique(s) · {warning} avertissement(s) · {info} info(s)",
    ),
    "alerts_more": ("All {n} alerts", "Les {n} alertes"),
    "alerts_pq_note": (
        "Grid-quality states are model estimates: see the Grid quality page.",
        "Les états de qualité réseau sont des estimations de modèle : voir la page Qualité réseau.",
    ),
    "col_severity": ("Severity", "Gravité"),
    "col_alert": ("Alert", "Alerte"),
    "col_object": ("Object", "Objet"),
    "col_quantity": ("Quantity", "Quantité"),
    "col_action": ("What to do", "Que faire"),
    "severity_critical": ("critical", "critique"),
    "severity_warning": ("warning", "avertissement"),
    "severity_info": ("info", "info"),
    "alert_vehicle_not_ready": ("vehicle not ready at departure", "véhicule pas prêt au départ"),
    "alert_import_limit": ("import limit reached", "limite de soutirage atteinte"),
    "alert_subscribed_limit": ("subscribed power reached", "puissance souscrite atteinte"),
    "alert_strategy_nothing_to_do": ("strategy has nothing to do", "la stratégie n'a rien à faire"),
    "alert_charger_unused": ("connector unused", "connecteur inutilisé"),
    "alert_charger_overloaded": ("connector above its rating", "connecteur au-delà de sa puissance"),
    "why_import_limit": ("the site's import is at its import limit", "le soutirage du site est à sa limite"),
    "why_subscribed_limit": (
        "the site's import is at the subscribed power (at power factor 1)",
        "le soutirage du site atteint la puissance souscrite (à facteur de puissance 1)",
    ),
    "why_strategy_nothing_to_do": (
        "its charging equals uncontrolled charging, or nothing can be shifted",
        "sa recharge est identique à la recharge non pilotée, ou rien ne peut être décalé",
    ),
    "why_charger_unused": ("no energy delivered over the run", "aucune énergie délivrée sur la période"),
    "why_charger_overloaded": ("the plan asks more than its rating", "le plan demande plus que sa puissance"),
    "action_import_limit": (
        "shift flexible charging to other hours or raise the import limit",
        "décaler la recharge flexible vers d'autres heures ou relever la limite de soutirage",
    ),
    "action_subscribed_limit": (
        "shift charging out of these hours or raise the subscribed power",
        "décaler la recharge hors de ces heures ou augmenter la puissance souscrite",
    ),
    "action_strategy_nothing_to_do": (
        "keep uncontrolled charging or give the strategy room (import limit, tariff, departures)",
        "garder la recharge non pilotée ou donner de la marge à la stratégie (limite, tarif, départs)",
    ),
    "action_charger_unused": (
        "reassign vehicles to it or take it out of the layout",
        "y affecter des véhicules ou la retirer du plan des bornes",
    ),
    "action_charger_overloaded": (
        "cap the vehicle at the connector's rating or move it to a more powerful connector",
        "limiter le véhicule à la puissance du connecteur ou le déplacer vers un connecteur plus puissant",
    ),
    "model_estimate_card": ("model estimate", "estimation de modèle"),
    # KPI cards: short labels, the unit in the label (readable at 1280 px in both languages)
    "card_peak_kw": ("Peak (kW)", "Pointe (kW)"),
    "card_load_factor": ("Load factor", "Facteur de charge"),
    "card_transformer_pct": ("Transformer (%)", "Transfo (%)"),
    "card_tdd_pct": ("TDD (%)", "TDD (%)"),
    "card_pf": ("Power factor", "Facteur puiss."),
    "card_unbalance_pct": ("Unbalance (%)", "Déséquilibre (%)"),
    "card_net_cost": ("Net cost ({unit})", "Coût net ({unit})"),
    "card_savings": ("Savings ({unit})", "Économies ({unit})"),
    "card_savings_pct": ("Savings (%)", "Économies (%)"),
    "card_v2g_revenue": ("V2G value ({unit})", "Valeur V2G ({unit})"),
    "card_degradation": ("Battery wear ({unit})", "Usure batterie ({unit})"),
    "card_v2g_net": ("V2G net ({unit})", "V2G net ({unit})"),
    "card_connected": ("Connected", "Connectés"),
    "card_charging": ("Charging", "En charge"),
    "card_discharging": ("Discharging", "En décharge"),
    "card_idle": ("Idle", "Inactifs"),
    "card_mean_soc": ("Mean SOC (%)", "SOC moyen (%)"),
    "card_unmet_kwh": ("Unmet (kWh)", "Non servi (kWh)"),
    "card_site_now_kw": ("Site now (kW)", "Site (kW)"),
    "card_cost_so_far": ("Cost so far ({unit})", "Coût cumulé ({unit})"),
    "card_v2g_so_far_kwh": ("V2G so far (kWh)", "V2G cumulé (kWh)"),
    "card_investment": ("Investment ({unit})", "Investissement ({unit})"),
    "card_annual_savings": ("Savings/year ({unit})", "Économies/an ({unit})"),
    "card_payback": ("Payback (months)", "Récupération (mois)"),
    "card_npv": ("NPV ({unit})", "VAN ({unit})"),
    "card_roi_pct": ("ROI, lifetime (%)", "ROI, durée de vie (%)"),
    "vs_uncontrolled": ("vs uncontrolled", "vs non piloté"),
    "import_kwh_detail": ("{energy} kWh imported", "{energy} kWh soutirés"),
    "discharged_detail": ("{energy} kWh discharged", "{energy} kWh déchargés"),
    "v2g_value_pending": ("computing the run without V2G…", "calcul de la simulation sans V2G…"),
    "v2g_value_failed": ("the run without V2G failed", "la simulation sans V2G a échoué"),
    "of_limit_short": ("{pct} of {limit} kW", "{pct} de {limit} kW"),
    "limit_detail": ("limit {limit}", "limite {limit}"),
    "per_day_detail": ("{amount} per day", "{amount} par jour"),
    "discount_detail": ("at {rate}", "à {rate}"),
    # KPI tooltips
    "help_peak": (
        "Highest site import over the run. Colour: peak / import limit ≤ 70 % optimal, ≤ 85 % good, ≤ 100 % warning,"
        " above critical.",
        "Soutirage maximal du site sur la simulation. Couleur : pointe / limite ≤ 70 % optimal, ≤ 85 % bon, "
        "≤ 100 % alerte, au-delà critique.",
    ),
    "help_load_factor": (
        "Mean import / peak import: ≥ 0.6 optimal, ≥ 0.4 good, ≥ 0.25 warning.",
        "Soutirage moyen / pointe : ≥ 0,6 optimal, ≥ 0,4 bon, ≥ 0,25 alerte.",
    ),
    "help_net_cost": (
        "Import cost - export revenue + battery degradation, over the simulated period.",
        "Coût du soutirage - revenu d'injection + dégradation des batteries, sur la période simulée.",
    ),
    "help_savings": (
        "Net cost of the cheaper baseline (uncontrolled or off-peak timer) - this strategy's net cost.",
        "Coût net de la référence la moins chère (non pilotée ou minuterie heures creuses) - coût net de cette "
        "stratégie.",
    ),
    "help_v2g_revenue": (
        "Net cost of the same strategy without V2G - its net cost with V2G (a second run, degradation included).",
        "Coût net de la même stratégie sans V2G - son coût net avec V2G (un second calcul, dégradation comprise).",
    ),
    "help_degradation": (
        "Degradation cost per kWh discharged × energy discharged.",
        "Coût de dégradation par kWh déchargé × énergie déchargée.",
    ),
    "help_unmet": (
        "Battery energy missing at departure against the target, summed over the sessions.",
        "Énergie manquante au départ par rapport à la cible, somme sur les sessions.",
    ),
    "help_v2g_net": ("V2G value - degradation cost.", "Valeur V2G - coût de dégradation."),
    "help_pq": ("Model estimate", "Estimation par modèle"),
    # strategies: translated labels (identifiers stay in files and the CLI)
    "strategy_uncontrolled": ("Uncontrolled charging", "Recharge non pilotée"),
    "strategy_load_balancing": ("Load balancing", "Équilibrage de charge"),
    "strategy_peak_shaving": ("Peak shaving", "Écrêtement de pointe"),
    "strategy_valley_filling": ("Valley filling", "Remplissage des creux"),
    "strategy_price_optimization": ("Price optimisation", "Optimisation tarifaire"),
    "strategy_grid_support": ("Grid support (V2G)", "Soutien au réseau (V2G)"),
    "strategy_renewable_integration": ("Solar self-consumption", "Autoconsommation solaire"),
    "strategy_timer": ("Off-peak timer", "Minuterie heures creuses"),
    "strategy_desc_uncontrolled": (
        "Charges every vehicle at full power from arrival until its target: the baseline the others are compared with.",
        "Charge chaque véhicule à pleine puissance dès son arrivée jusqu'à sa cible : la référence des autres "
        "stratégies.",
    ),
    "strategy_desc_load_balancing": (
        "Shares the site's spare capacity among the connected vehicles, most urgent first; it only differs from "
        "uncontrolled charging when the site limit is reached.",
        "Répartit la capacité disponible du site entre les véhicules connectés, les plus urgents d'abord ; elle ne "
        "diffère de la recharge non pilotée que lorsque la limite du site est atteinte.",
    ),
    "strategy_desc_peak_shaving": (
        "Minimises the site's highest import; helps when the subscribed power or the transformer is the constraint.",
        "Minimise la pointe soutirée du site ; utile quand la puissance souscrite ou le transformateur limite.",
    ),
    "strategy_desc_valley_filling": (
        "Flattens the site's load curve by charging in its valleys; eases the transformer and the grid.",
        "Aplanit la courbe de charge du site en rechargeant dans les creux ; ménage le transformateur et le réseau.",
    ),
    "strategy_desc_price_optimization": (
        "Minimises the net cost of energy over the horizon (charges in cheap periods, V2G arbitrage when allowed); "
        "helps under a time-of-use tariff.",
        "Minimise le coût net de l'énergie sur l'horizon (recharge aux heures bon marché, arbitrage V2G si permis) ;"
        " utile avec un tarif horaire.",
    ),
    "strategy_desc_grid_support": (
        "Cuts import in the peak period with V2G and offers a frequency-containment band; helps where grid "
        "services are paid.",
        "Réduit le soutirage en heures de pointe par le V2G et offre une bande de réglage de fréquence ; utile là "
        "où les services au réseau sont rémunérés.",
    ),
    "strategy_desc_renewable_integration": (
        "Minimises exchanges with the grid by charging on the site's solar output; helps with a large PV plant.",
        "Minimise les échanges avec le réseau en rechargeant sur la production solaire du site ; utile avec une "
        "grande centrale PV.",
    ),
    "strategy_desc_timer": (
        "Starts charging when the off-peak period begins, like a charger's timer; simple, no optimisation.",
        "Lance la recharge au début des heures creuses, comme la minuterie d'une borne ; simple, sans optimisation.",
    ),
    "mode_short_offline": ("offline", "hors ligne"),
    "mode_short_online": ("online", "en ligne"),
    "live_tag": ("(live)", "(en direct)"),
    "computing": ("Simulating {strategy} · {mode}…", "Simulation {strategy} · {mode}…"),
    "computing_wait": (
        "Computing for {s} s; the other pages stay usable meanwhile.",
        "Calcul en cours depuis {s} s ; les autres pages restent utilisables.",
    ),
    "computing_background": (
        "Background pre-computation: {done} of {total} tasks done.",
        "Pré-calcul en arrière-plan : {done} tâches sur {total} faites.",
    ),
    "comparing": ("Running the comparison…", "Comparaison en cours…"),
    "run_label": ("{strategy} · {mode}", "{strategy} · {mode}"),
    # grid quality: compliance verdicts, indicators of the event log
    "verdict_pass": ("pass", "conforme"),
    "verdict_fail": ("fail", "non conforme"),
    "verdict_info": ("info", "info"),
    "status_na_short": ("n/a", "s.o."),
    "ev_pf": ("power factor", "facteur de puissance"),
    "ev_tdd_pct": ("current TDD [%]", "TDD courant [%]"),
    "ev_thd_v_pct": ("voltage THD [%]", "THD tension [%]"),
    "ev_unbalance_pct": ("current unbalance [%]", "déséquilibre de courant [%]"),
    "ev_transformer_loading_pct": ("transformer loading [%]", "charge transformateur [%]"),
    "ev_voltage_deviation_pct": ("voltage deviation [%]", "écart de tension [%]"),
    "ev_frequency_hz": ("frequency [Hz]", "fréquence [Hz]"),
    "assumptions_lang_note": (
        "Technical text of the grid-quality model, written in English by the computing module.",
        "Texte technique du modèle de qualité réseau, rédigé en anglais par le module de calcul.",
    ),
    "sources_lang_note": ("References cited in their own language.", "Références citées dans leur langue d'origine."),
    "col_field": ("Figure", "Donnée"),
    "col_unit": ("Unit", "Unité"),
    "col_source_status": ("Status", "Statut"),
    "col_reference": ("Reference", "Référence"),
    "col_url": ("Link", "Lien"),
    "col_kpi": ("Indicator", "Indicateur"),
    "sweep_all_points": ("all points", "tous les points"),
    "sweep_v2g_on": ("V2G on", "V2G activé"),
    "sweep_v2g_off": ("V2G off", "V2G désactivé"),
    "sweep_title": ("Sweep: {label} over {n} points", "Balayage : {label} sur {n} points"),
    "sweep_axis_savings_vs_best_baseline_pct": (
        "savings vs cheaper baseline [%]",
        "économies vs référence la moins chère [%]",
    ),
    "sweep_axis_savings_vs_best_baseline_mad": (
        "savings vs cheaper baseline [MAD]",
        "économies vs référence la moins chère [MAD]",
    ),
    "sweep_axis_savings_vs_timer_pct": ("savings vs timer [%]", "économies vs minuterie [%]"),
    "sweep_axis_savings_pct": ("savings vs uncontrolled [%]", "économies vs non piloté [%]"),
    "sweep_axis_savings_mad": ("savings vs uncontrolled [MAD]", "économies vs non piloté [MAD]"),
    "sweep_axis_peak_reduction_pct": ("peak reduction vs uncontrolled [%]", "réduction de pointe vs non piloté [%]"),
    "sweep_axis_unmet_energy_kwh": ("unmet energy [kWh]", "énergie non servie [kWh]"),
    "csv_dialect": ("CSV format", "Format CSV"),
    "csv_standard": ("standard (, and .)", "standard (, et .)"),
    "csv_excel_fr": ("French Excel (; and ,)", "Excel français (; et ,)"),
    "ratio_limit_hover": ("× limit", "× limite"),
    "search_placeholder": ("Tesla, Nissan, …", "Tesla, Nissan, …"),
    "choose_options": ("Choose options", "Choisir"),
    "profile_depot": ("depot", "dépôt"),
    "profile_workplace": ("workplace", "lieu de travail"),
    "profile_mixed": ("mixed", "mixte"),
    "col_step": ("Step", "Pas"),
    "src_sourced": ("sourced", "sourcé"),
    "src_assumption": ("assumption", "hypothèse"),
    "src_secondary": ("secondary", "secondaire"),
    "src_user": ("user", "utilisateur"),
    "strategies_about": ("What each strategy does", "Ce que fait chaque stratégie"),
}
STRINGS.update({k: v for k, v in DEPOT_STRINGS.items() if k not in STRINGS})  # login and live-depot texts


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
for _key, _pair in INPUT_STRINGS.items():  # the operator's inputs: tariff editor, number boxes (i18n_inputs.py)
    STRINGS.setdefault(_key, _pair)
for _key, (_en, _fr) in STRINGS.items():  # French typography before : ; ! ? (safe_text.french_punctuation)
    STRINGS[_key] = (_en, french_punctuation(_fr))


#: strategy identifiers with a translated label (``strategy_<id>``) and a one-sentence description
#: (``strategy_desc_<id>``); an identifier without one (a test or user strategy) is shown as it is.
STRATEGY_LABEL_KEYS = tuple(k.removeprefix("strategy_") for k in STRINGS if k.startswith("strategy_")
                            and not k.startswith("strategy_desc_") and k != "strategy_title")  # fmt: skip


def strategy_label(name: str, lang: str = "en") -> str:
    """Display label of a strategy identifier (``price_optimization`` -> ``Price optimisation`` /
    ``Optimisation tarifaire``); the identifier itself when it has no label."""
    key = f"strategy_{name}"
    return t(key, lang) if key in STRINGS else str(name)


def strategy_description(name: str, lang: str = "en") -> str:
    """One sentence on what the strategy does and when it helps (empty when unknown)."""
    key = f"strategy_desc_{name}"
    return t(key, lang) if key in STRINGS else ""


def mode_label(mode: str, lang: str = "en") -> str:
    """``offline``/``online`` in ``lang`` (short form, for tables and legends)."""
    key = f"mode_short_{mode}"
    return t(key, lang) if key in STRINGS else str(mode)


def verdict_label(word: str, lang: str = "en") -> str:
    """A compliance row's status word (``pass``/``fail``/``info`` or a status level) in ``lang``."""
    for key in (f"verdict_{word}", f"status_{word}"):
        if key in STRINGS:
            return t(key, lang)
    return str(word)


def event_indicator_label(name: str, lang: str = "en") -> str:
    """An event log indicator (a per-step column such as ``pf`` or ``unbalance_pct``) in words."""
    key = f"ev_{name}"
    return t(key, lang) if key in STRINGS else str(name)


#: compliance indicator labels (``evfleet.gridquality.records.Indicator`` values) in French; ``{h}`` = order
INDICATORS_FR: dict[str, str] = {
    "TDD p95 [%]": "TDD p95 [%]",
    "harmonic current h={h} p95 [% of I_L]": "courant harmonique h={h} p95 [% de I_L]",
    "voltage THD p95 [%]": "THD tension p95 [%]",
    "voltage THD max [%]": "THD tension max [%]",
    "voltage harmonic h={h} p95 [%]": "harmonique de tension h={h} p95 [%]",
    "power factor min": "facteur de puissance min",
    "current unbalance max [%]": "déséquilibre de courant max [%]",
    "transformer loading max [%]": "charge transformateur max [%]",
    "transformer relative ageing mean": "vieillissement relatif du transformateur, moyenne",
    "voltage deviation max abs [%]": "écart de tension max abs [%]",
    "time outside frequency band [h]": "durée hors bande de fréquence [h]",
    "TDD p95, other summation [%]": "TDD p95, autre sommation [%]",
    "billed cos φ": "cos φ facturé",
    "voltage unbalance p95 [%]": "déséquilibre de tension p95 [%]",
    "neutral current max [A]": "courant de neutre max [A]",
    "LV cable voltage drop max [%]": "chute de tension des câbles BT max [%]",
    "generation share of average load [%]": "part de production / charge moyenne [%]",
}


def indicator_label(label: str, lang: str = "en") -> str:
    """A compliance row's indicator label in ``lang`` (the label itself in English or when unknown)."""
    if lang != "fr":
        return str(label)
    text = str(label)
    if text in INDICATORS_FR:
        return INDICATORS_FR[text]
    m = re.search(r"h=(\d+)", text)
    if m:
        generic = text.replace(m.group(0), "h={h}")
        if generic in INDICATORS_FR:
            return INDICATORS_FR[generic].replace("{h}", m.group(1))
    return text


#: phrases of the grid-quality clauses (``evfleet.gridquality.steps.compliance_table`` and the IEEE 519 limits
#: file) -> French, applied in order (regular expressions)
CLAUSE_FR: tuple[tuple[str, str], ...] = (
    # grid-quality verdicts of evfleet.gridquality.steps (issue 14): the specific phrases first
    (r"at the MV PCC", "au PCC HTA"),
    (r"at the LV PCC", "au PCC BT"),
    (r"at the PCC", "au PCC"),
    (
        r"I_L from the transformer rating, ([\d.]+) kVA \(no max_demand_kva and no subscribed power in the tariff: an "
        r"upper bound of the maximum demand, an assumption\)",
        r"I_L d'après la puissance du transformateur, \1 kVA (ni max_demand_kva ni puissance souscrite au tarif : un "
        r"majorant de la demande maximale, une hypothèse)",
    ),
    (
        r"I_L from the tariff contract's subscribed power, ([\d.]+) kVA \(subscribed_power_kva\)",
        r"I_L d'après la puissance souscrite du contrat, \1 kVA (subscribed_power_kva)",
    ),
    (r"I_L from max_demand_kva = ([\d.]+) kVA \(site input\)", r"I_L d'après max_demand_kva = \1 kVA (donnée du site)"),
    (
        r"summation: IEC TR 61000-3-6 summation exponents \(α = 1 / 1\.4 / 2: random phase diversity assumed\)",
        "sommation : exposants de sommation de l'IEC TR 61000-3-6 (α = 1 / 1,4 / 2 : diversité de phase aléatoire "
        "supposée)",
    ),
    (r"summation: iec", "sommation : IEC"),
    (r"summation: correlated", "sommation : corrélée"),
    (
        r"information: the same TDD with IEC TR 61000-3-6 summation exponents \(α = 1 / 1\.4 / 2: random phase "
        r"diversity assumed\)",
        "information : le même TDD avec les exposants de l'IEC TR 61000-3-6 (α = 1 / 1,4 / 2 : "
        "diversité de phase aléatoire supposée)",
    ),
    (
        r"information: the same TDD with α = 1 for every order \(identical converters in phase: the correlated upper "
        r"bound\)",
        "information : le même TDD avec α = 1 pour chaque rang (convertisseurs identiques en phase : le "
        "majorant corrélé)",
    ),
    (r"the verdict above uses iec", "le verdict ci-dessus utilise IEC"),
    (r"the verdict above uses correlated", "le verdict ci-dessus utilise la sommation corrélée"),
    (
        r"even harmonics: 50 % of the odd limit for h <= 6, 100 % above",
        "harmoniques pairs : 50 % de la limite impaire pour h ≤ 6, 100 % au-delà",
    ),
    (r"even harmonics: 25 % of the odd limits", "harmoniques pairs : 25 % des limites impaires"),
    (
        r"tariff contract: the period's cos φ from ([\d.e+]+) kWh and ([\d.e+]+) kvarh \(inductive\) against ([\d.]+)",
        r"contrat : cos φ de la période d'après \1 kWh et \2 kvarh (inductifs), seuil \3",
    ),
    (
        r"\(default 0\.8 \(MT/HT bill rule as quoted by a secondary source; set the contract's value\)\)",
        "(0,8 par défaut (règle de facturation MT/HT citée par une source secondaire ; indiquez la valeur du contrat))",
    ),
    (r"\(the tariff's cos_phi_threshold\)", "(cos_phi_threshold du tarif)"),
    (r"\(cos_phi_threshold of the site model\)", "(cos_phi_threshold du modèle du site)"),
    (
        r"information: instantaneous displacement PF of a step \(a chart, not a billed or standard quantity\)",
        "information : facteur de déplacement instantané d'un pas (un graphique, ni facturé ni normé)",
    ),
    (
        r"EN 50160: negative-/positive-sequence voltage au PCC, 95 % of the 10-min values <= ([\d.]+) % \(here (\d+) "
        r"values\)",
        r"EN 50160 : tension inverse / directe au PCC, 95 % des valeurs 10 min ≤ \1 % (ici \2 valeurs)",
    ),
    (
        r"information: largest deviation of a phase current from the mean \(NEMA form\); not a compliance quantity",
        "information : plus grand écart d'un courant de phase à la moyenne (forme NEMA) ; pas une grandeur de "
        "conformité",
    ),
    (
        r"information: LV neutral at the transformer, fundamental \+ triplen harmonics; limit shown: rated phase "
        r"current",
        "information : neutre BT au transformateur, fondamental + harmoniques de rang 3k ; limite affichée : courant "
        "de phase assigné",
    ),
    (r"largest phase current / rated current ([\d.]+) A", r"plus fort courant de phase / courant assigné \1 A"),
    (
        r"IEC 60364-5-52 Annex G guide value ([\d.]+) %, LV busbar to the farthest charger",
        r"IEC 60364-5-52 annexe G, valeur guide \1 %, du jeu de barres BT à la borne la plus éloignée",
    ),
    (
        r"(\d+) default feeders \(ceil of the EV share of the import limit, ([\d.]+) kW, / feeder_kw ([\d.]+) kW\), "
        r"each ([\d.]+) m of ([\d.]+) mm² (\w+): assumptions",
        r"\1 départs par défaut (part VE de la limite de soutirage, \2 kW, / feeder_kw \3 kW, arrondi au-dessus), "
        r"chacun \4 m de \5 mm² \6 : hypothèses",
    ),
    (
        r"IEEE 519-2022: a site whose generation \(DER/IBR\) capacity is >= 10 % of its average load is referred to "
        r"IEEE 1547 / IEEE 2800 for the generation's own harmonic limits; the Table 2 limits above apply to the load",
        "IEEE 519-2022 : un site dont la capacité de production (DER/IBR) atteint 10 % de sa charge moyenne relève "
        "d'IEEE 1547 / IEEE 2800 pour les limites harmoniques de cette production ; les limites du tableau 2 "
        "ci-dessus s'appliquent à la charge",
    ),
    (
        r"; this site is above the share: its PV and V2G inverters fall under IEEE 1547 / IEEE 2800",
        " ; ce site dépasse cette part : ses onduleurs PV et V2G relèvent d'IEEE 1547 / IEEE 2800",
    ),
    (r"IEEE 519-(\d+) has no generation note", r"IEEE 519-\1 n'a pas de note sur la production"),
    (r"p95 of steps", "p95 des pas"),
    (r"\bTable (\d)", r"tableau \1"),
    (r"\(row ", "(ligne "),
    (r"even h: 25 % of odd", "h pair : 25 % de l'impair"),
    (r"short-time allowance 1\.5 x limit", "tolérance de courte durée 1,5 × la limite"),
    (r", individual", ", individuel"),
    (
        r"evfleet flag level \(no Moroccan PF rule located\)",
        "seuil d'alerte evfleet (aucune règle marocaine sur le facteur de puissance trouvée)",
    ),
    (r"NEMA definition on phase currents", "définition NEMA sur les courants de phase"),
    (r"evfleet flag level", "seuil d'alerte evfleet"),
    (r"rated ([\d.]+) kVA", r"assigné \1 kVA"),
    (r"worst phase incl\. Q", "phase la plus chargée, Q comprise"),
    (r"relative ageing rate, normal paper", "taux de vieillissement relatif, papier normal"),
    (r"relative ageing rate, upgraded paper", "taux de vieillissement relatif, papier amélioré"),
    (r"±([\d.]+) % band", r"bande ±\1 %"),
    (r"ENTSO-E normal band", "bande normale ENTSO-E"),
    (r"not site-controlled", "hors du contrôle du site"),
    (r"<=", "≤"),
    (r";", " ;"),
)


def clause_text(clause: str, lang: str = "en") -> str:
    """A compliance clause in ``lang`` (known phrases translated; standards' names and numbers kept)."""
    text = str(clause)
    if lang != "fr":
        return text
    for pattern, repl in CLAUSE_FR:
        text = re.sub(pattern, repl, text)
    return re.sub(r"(\d)\.(\d)", r"\1,\2", text)


def missing_in_fr(keys: list[str] | None = None) -> list[str]:
    """Keys (all, or ``keys``) without a French string (unknown keys count as missing)."""
    keys = list(STRINGS) if keys is None else keys
    return [k for k in keys if k not in STRINGS or not STRINGS[k][1]]
