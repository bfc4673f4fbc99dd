"""Dashboard strings of the operator's inputs (tariff editor, locale number boxes, input statuses): key -> (en, fr).

Merged into :data:`evfleet.dashboard.i18n.STRINGS`; kept apart so that these pages' strings live together.
"""

from __future__ import annotations

__all__ = ["INPUT_STRINGS"]

INPUT_STRINGS: dict[str, tuple[str, str]] = {
    # locale number boxes (l10n_widgets.num_input)
    "num_refused": (
        "{field}: “{value}” refused ({what}); the previous value {kept} is kept.",
        "{field} : « {value} » refusé ({what}) ; la valeur précédente {kept} est conservée.",
    ),
    "num_not_number": ("not a number", "ce n'est pas un nombre"),
    "num_integer": ("a whole number is needed", "un nombre entier est attendu"),
    "num_required": ("a number is needed", "un nombre est attendu"),
    "num_range": ("must be within {lo} and {hi}", "doit être compris entre {lo} et {hi}"),
    "form_refused": (
        "Nothing applied: correct the refused values first.",
        "Rien n'a été appliqué : corrigez d'abord les valeurs refusées.",
    ),
    # statuses of the ROI inputs (Economics page)
    "input_status": ("{status} · {origin}", "{status} · {origin}"),
    "input_default": ("default", "valeur par défaut"),
    "input_entered": ("entered by the operator", "saisie par l'opérateur"),
    "src_inference": ("inference", "déduction"),
    "src_input": ("user input", "saisie utilisateur"),
    "src_scenario": ("from the scenario", "issu du scénario"),
    "roi_status": (
        "Status of these figures — inputs: {inputs}; simulated saving: {saving} (the bill's status); payback, NPV "
        "and ROI: {derived} (the weakest of what they are built on).",
        "Statut de ces chiffres — données : {inputs} ; économie simulée : {saving} (statut de la facture) ; délai "
        "de récupération, VAN et ROI : {derived} (le plus faible de ce sur quoi ils reposent).",
    ),
    # tariff editor (Scenario page)
    "tf_title": ("Tariff: view, edit, save", "Tarif : consulter, modifier, enregistrer"),
    "tf_intro": (
        "Edit the tariff of the scenario ({id}, status {status}): every value you change becomes an assumption "
        "(entered by the operator); the others keep their status. Applying re-generates the scenario with this "
        "tariff and re-runs the strategies; the file is checked by the same loader as `evfleet tariffs FILE`.",
        "Modifiez le tarif du scénario ({id}, statut {status}) : chaque valeur changée devient une hypothèse "
        "(saisie par l'opérateur) ; les autres gardent leur statut. Appliquer régénère le scénario avec ce tarif "
        "et relance les stratégies ; le fichier est vérifié par le même chargeur que `evfleet tariffs FILE`.",
    ),
    "tf_uploaded_note": (
        "An uploaded or edited scenario is in use: applying a tariff goes back to the generated scenario.",
        "Un scénario importé ou modifié est utilisé : appliquer un tarif revient au scénario généré.",
    ),
    "tf_id": ("Tariff id", "Identifiant du tarif"),
    "tf_name": ("Name", "Nom"),
    "tf_default_name": ("Operator's tariff (from {id})", "Tarif de l'opérateur (d'après {id})"),
    "tf_prices": ("Energy prices (MAD/kWh)", "Prix de l'énergie (MAD/kWh)"),
    "tf_price": ("{period} (MAD/kWh)", "{period} (MAD/kWh)"),
    "tf_export": ("Export price (MAD/kWh)", "Prix d'injection (MAD/kWh)"),
    "tf_status": ("status: {status}", "statut : {status}"),
    "tf_hours": ("Hours of each period", "Plages horaires des périodes"),
    "tf_hours_help": (
        "Half-open spans [start, end) in hours 0-24, H or H:MM, separated by commas: 17-22, 0-7. Hours not listed "
        "fall in the default period.",
        "Intervalles [début, fin) en heures 0-24, H ou H:MM, séparés par des virgules : 17-22, 0-7. Les heures non "
        "listées sont dans la période par défaut.",
    ),
    "tf_hours_placeholder": ("none", "aucune"),
    "tf_default_period": ("Default period", "Période par défaut"),
    "tf_no_seasons": (
        "No seasons: every hour is in the default period ({period}).",
        "Aucune saison : toutes les heures sont dans la période par défaut ({period}).",
    ),
    "tf_months": ("{season}: months", "{season} : mois"),
    "tf_period_hours": ("{period}, {season}", "{period}, {season}"),
    "season_winter": ("winter", "hiver"),
    "season_summer": ("summer", "été"),
    "tf_billing": ("Billing terms", "Termes de facturation"),
    "tf_subscribed": ("Subscribed power (kVA)", "Puissance souscrite (kVA)"),
    "tf_subscribed_auto": ("the import limit (kW as kVA)", "la limite de soutirage (kW pris en kVA)"),
    "tf_subscribed_auto_short": ("= import limit", "= limite de soutirage"),
    "tf_subscribed_auto_help": (
        "Empty: the site's import limit, its kW taken as kVA.",
        "Vide : la limite de soutirage du site, ses kW pris en kVA.",
    ),
    "tf_power_charge": ("Power charge (MAD/kVA/year)", "Redevance de puissance (MAD/kVA/an)"),
    "tf_overrun": ("Overrun factor", "Coefficient de dépassement"),
    "tf_cos_phi_threshold": ("cos φ threshold", "Seuil de cos φ"),
    "tf_cos_phi_penalty": ("cos φ penalty (% per hundredth)", "Pénalité cos φ (% par centième)"),
    "tf_fixed_fees": ("Fixed fees (MAD/month)", "Frais fixes (MAD/mois)"),
    "tf_vat": ("VAT (%)", "TVA (%)"),
    "tf_demand_measure": ("Demand measured in", "Puissance appelée mesurée en"),
    "tf_measure_kva": ("kVA (apparent)", "kVA (apparente)"),
    "tf_measure_kw": ("kW (active)", "kW (active)"),
    "tf_incl_vat": ("Prices include VAT", "Prix TTC (TVA incluse)"),
    "tf_time_posts": ("Hours given in", "Heures exprimées en"),
    "tf_posts_local": ("local legal time", "heure légale locale"),
    "tf_posts_gmt": ("GMT", "GMT"),
    "tf_distributor": ("Distributor", "Distributeur"),
    "tf_other": ("other", "autre"),
    "tf_apply": ("Apply tariff", "Appliquer le tarif"),
    "tf_applied": (
        "Tariff {id} applied ({n} value(s) changed, status assumption): the scenario and its runs use it.",
        "Tarif {id} appliqué ({n} valeur(s) modifiée(s), statut hypothèse) : le scénario et ses calculs l'utilisent.",
    ),
    "tf_uploaded": (
        "Tariff file {id} loaded ({n} period(s)): the scenario and its runs use it.",
        "Fichier tarif {id} chargé ({n} période(s)) : le scénario et ses calculs l'utilisent.",
    ),
    "tf_download": ("Download tariff (JSON)", "Télécharger le tarif (JSON)"),
    "tf_download_help": (
        "An evfleet.tariff/2 file: `evfleet tariffs FILE` shows it, `evfleet scenario new --tariff FILE` uses it.",
        "Un fichier evfleet.tariff/2 : `evfleet tariffs FILE` l'affiche, `evfleet scenario new --tariff FILE` "
        "l'utilise.",
    ),
    "tf_upload": ("Load a tariff file (JSON or YAML)", "Charger un fichier tarif (JSON ou YAML)"),
    "tf_in_use": (
        "Tariff in use: {id}; subscribed power: {sub}.",
        "Tarif utilisé : {id} ; puissance souscrite : {sub}.",
    ),
    "tf_operator_tag": ("entered by the operator", "saisi par l'opérateur"),
    # Fleet page: the popularity chart ranks only models with a registration figure
    "top5_caption": (
        "Ranked: {shown} of the {n} models listed here that have a registration figure (EV2Gym's Dutch "
        "registration counts); the other {others} have none and are not ranked.",
        "Classés : {shown} des {n} modèles listés ici qui ont un chiffre d'immatriculations (comptes néerlandais "
        "d'EV2Gym) ; les {others} autres n'en ont pas et ne sont pas classés.",
    ),
    "top5_hidden": (
        "No popularity ranking: only {n} of the {total} models listed here have a registration figure (EV2Gym's "
        "Dutch counts; the others have none, docs/catalog.md). Turn off “{toggle}” to rank the catalogue.",
        "Pas de classement par popularité : seuls {n} des {total} modèles listés ici ont un chiffre "
        "d'immatriculations (comptes néerlandais d'EV2Gym ; les autres n'en ont pas, docs/catalog.md). "
        "Désactivez « {toggle} » pour classer le catalogue.",
    ),
}
