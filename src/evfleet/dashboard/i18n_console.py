"""Dashboard strings of the operator's-console pages (recommendation, history, scenario inputs): key -> (en, fr).

Merged into :data:`evfleet.dashboard.i18n.STRINGS`; kept apart so that each page's strings live together.
"""

from __future__ import annotations

__all__ = ["CONSOLE_STRINGS"]

CONSOLE_STRINGS: dict[str, tuple[str, str]] = {
    # recommendation (Strategies page)
    "rec_title": ("Recommendation", "Recommandation"),
    "rec_weights": (
        "Your goals (weights; 0 = ignore)",
        "Vos objectifs (poids ; 0 = ignorer)",
    ),
    "rec_goal_cost": ("Cost", "Coût"),
    "rec_goal_peak": ("Peak", "Pointe"),
    "rec_goal_readiness": ("Readiness", "Disponibilité"),
    "rec_goal_v2g_wear": ("V2G wear", "Usure V2G"),
    "rec_goal_help_cost": (
        "Net cost of the period: import - export + battery degradation (MAD).",
        "Coût net de la période : soutirage - injection + dégradation batterie (MAD).",
    ),
    "rec_goal_help_peak": ("Highest site import of one step (kW).", "Soutirage maximal du site sur un pas (kW)."),
    "rec_goal_help_readiness": (
        "Energy missing at departure, all vehicles (kWh).",
        "Énergie manquante au départ, tous véhicules (kWh).",
    ),
    "rec_goal_help_v2g_wear": (
        "Energy the batteries gave back to the site (V2G throughput, kWh).",
        "Énergie restituée par les batteries au site (débit V2G, kWh).",
    ),
    "rec_best": (
        "Recommended for these goals: **{name}** (score {score}). {summary}",
        "Recommandée pour ces objectifs : **{name}** (score {score}). {summary}",
    ),
    "rec_missing": (
        "{n} strateg(ies) not simulated yet on this scenario: {names}. They are computed in the background after "
        "each page is shown; or compute them now.",
        "{n} stratégie(s) pas encore simulée(s) sur ce scénario : {names}. Elles sont calculées en arrière-plan "
        "après l'affichage de chaque page ; ou calculez-les maintenant.",
    ),
    "rec_compute": ("Simulate the missing strategies", "Simuler les stratégies manquantes"),
    "rec_need_two": (
        "The ranking needs at least two simulated strategies.",
        "Le classement demande au moins deux stratégies simulées.",
    ),
    "rec_need_weight": ("Give at least one goal a weight above 0.", "Donnez un poids non nul à au moins un objectif."),
    "rec_rank": ("Rank", "Rang"),
    "rec_strategy": ("Strategy", "Stratégie"),
    "rec_score": ("Score", "Score"),
    "rec_cost": ("Net cost (MAD)", "Coût net (MAD)"),
    "rec_peak": ("Peak (kW)", "Pointe (kW)"),
    "rec_unmet": ("Unmet (kWh)", "Manque (kWh)"),
    "rec_v2g": ("V2G (kWh)", "V2G (kWh)"),
    "rec_same": ("Unchanged", "Inchangée"),
    "rec_same_help": (
        "Same schedule as uncontrolled charging: the strategy changes nothing on this scenario.",
        "Même programme que la recharge non pilotée : la stratégie ne change rien sur ce scénario.",
    ),
    "rec_score_help": (
        "Weighted mean of the goals' scores, each 1 for the best strategy and 0 for the worst.",
        "Moyenne pondérée des notes des objectifs, chacune 1 pour la meilleure stratégie et 0 pour la moins bonne.",
    ),
    "rec_what": ("What it does, when it helps", "Ce qu'elle fait, quand elle aide"),
    "rec_method": (
        "Each goal scores 1 for the best strategy and 0 for the worst of those simulated (same scenario, mode "
        "and V2G choice); the score is the weighted mean. Default weights are an assumption: set yours. Computed "
        "by `evfleet.analysis.recommend`.",
        "Chaque objectif vaut 1 pour la meilleure stratégie et 0 pour la moins bonne parmi celles simulées (même "
        "scénario, mode et choix V2G) ; le score est la moyenne pondérée. Les poids par défaut sont une "
        "hypothèse : réglez les vôtres. Calculé par `evfleet.analysis.recommend`.",
    ),
    "rec_explain_all": ("What each strategy does", "Ce que fait chaque stratégie"),
    # history page
    "page_history": ("History", "Historique"),
    "hist_title": ("History by day and month", "Historique par jour et par mois"),
    "hist_by": ("Totals by", "Totaux par"),
    "hist_day": ("day", "jour"),
    "hist_month": ("month", "mois"),
    "hist_source": ("Source", "Source"),
    "hist_runs": ("stored runs", "simulations enregistrées"),
    "hist_live": ("live sessions", "sessions en direct"),
    "hist_empty": (
        "Nothing stored yet for this choice. Runs are stored by `evfleet run` and `evfleet compare`; live sessions "
        "by the live mode.",
        "Rien d'enregistré pour ce choix. `evfleet run` et `evfleet compare` enregistrent les simulations ; le mode "
        "en direct enregistre les sessions en direct.",
    ),
    "hist_download": ("Download CSV", "Télécharger le CSV"),
    "hist_note": (
        "Runs and live sessions are never mixed. A simulation stored twice counts once. Cost = import - export "
        "(no battery degradation). Same table: `evfleet history --by {by}{live} --csv FILE`.",
        "Simulations et sessions en direct ne sont jamais mélangées. Une simulation enregistrée deux fois compte "
        "une fois. Coût = soutirage - injection (sans dégradation batterie). Même tableau : "
        "`evfleet history --by {by}{live} --csv FICHIER`.",
    ),
    "hist_period": ("Period", "Période"),
    "hist_strategy": ("Strategy", "Stratégie"),
    "hist_n_runs": ("Runs", "Simulations"),
    "hist_energy": ("Energy charged (kWh)", "Énergie chargée (kWh)"),
    "hist_v2g": ("V2G (kWh)", "V2G (kWh)"),
    "hist_import": ("Import (kWh)", "Soutirage (kWh)"),
    "hist_cost": ("Net energy cost (MAD)", "Coût net énergie (MAD)"),
    "hist_peak": ("Peak import (kW)", "Pointe d'import (kW)"),
    "hist_unmet": ("Unmet (kWh)", "Non servi (kWh)"),
    "hist_chart": ("Net energy cost and peak by {by}", "Coût net de l'énergie et pointe par {by}"),
    # scenario inputs
    "auto_value": ("automatic: {value}", "automatique : {value}"),
    "auto_short": ("auto", "auto"),
    "auto_help": (
        "Leave empty for the automatic value; the value it resolves to is shown under the box.",
        "Laisser vide pour la valeur automatique ; la valeur obtenue est affichée sous la case.",
    ),
    "transformer_kva": ("Transformer rating (kVA)", "Puissance du transformateur (kVA)"),
    "transformer_help": (
        "Rating of the modelled transformer. Changing the import limit does not change it; empty = the smallest "
        "standard rating ≥ import limit / {pf} ({value}).",
        "Puissance du transformateur modélisé. Changer la limite d'import ne la change pas ; vide = la plus petite "
        "puissance normalisée ≥ limite d'import / {pf} ({value}).",
    ),
    "transformer_kept": (
        "The transformer stays at {value} (it was automatic; the import limit changed). Type another rating to "
        "change it.",
        "Le transformateur reste à {value} (il était automatique ; la limite d'import a changé). Saisissez une "
        "autre puissance pour la changer.",
    ),
    "mix_sum": ("Shares sum to {total} (must be 1).", "Les parts totalisent {total} (doit valoir 1)."),
    "veh_edit_title": ("Per-vehicle departure, target and priority", "Départ, cible et priorité par véhicule"),
    "veh_edit_help": (
        "Edit rows and apply: the scenario becomes an edited copy (downloadable as a scenario file). Priority 1 "
        "(highest) to 5 is kept in the file (vehicles.priority); no strategy uses it yet.",
        "Modifiez des lignes et appliquez : le scénario devient une copie modifiée (téléchargeable comme fichier "
        "scénario). La priorité, de 1 (la plus haute) à 5, est gardée dans le fichier (vehicles.priority) ; "
        "aucune stratégie ne l'utilise encore.",
    ),
    "veh_edit_apply": ("Apply the vehicle edits", "Appliquer les modifications"),
    "veh_edit_done": ("{n} vehicle(s) edited.", "{n} véhicule(s) modifié(s)."),
    "veh_edit_none": ("No change to apply.", "Aucune modification à appliquer."),
    "veh_id": ("Session", "Session"),
    "veh_model": ("Model", "Modèle"),
    "veh_arrival": ("Arrival", "Arrivée"),
    "veh_departure": ("Departure", "Départ"),
    "veh_target": ("Target SOC (%)", "SOC cible (%)"),
    "veh_priority": ("Priority", "Priorité"),
    "chargers_upload": ("Charger layout (CSV)", "Plan des bornes (CSV)"),
    "chargers_upload_help": (
        "One row per connector: charger_id, connector, type, rating_kw, phase, bidirectional (, or ; separated). "
        "Sessions are then assigned to these connectors (docs/model.md, Chargers).",
        "Une ligne par connecteur : charger_id, connector, type, rating_kw, phase, bidirectional (séparateur , ou ;). "
        "Les sessions sont ensuite affectées à ces connecteurs (docs/model.md).",
    ),
    "chargers_in_use": (
        "Chargers in use: {n} connectors ({source}).",
        "Bornes utilisées : {n} connecteurs ({source}).",
    ),
    "chargers_source_default": ("default layout derived from the sessions", "plan par défaut déduit des sessions"),
    "chargers_source_scenario": ("from the scenario", "issu du scénario"),
    "chargers_loaded": ("Charger layout loaded: {n} connectors.", "Plan des bornes chargé : {n} connecteurs."),
    "chargers_missing": (
        "Charger identities are not available in this version (evfleet.inputs.chargers).",
        "Les identités de bornes ne sont pas disponibles dans cette version (evfleet.inputs.chargers).",
    ),
}
