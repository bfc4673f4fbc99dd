"""English and French texts of the dashboard's login with evfleet accounts and of the live depot page.

They are added to :data:`evfleet.dashboard.i18n.STRINGS` (key -> (English, French)) when this module is imported,
so ``t(key, lang)`` finds them like every other dashboard text.
"""

from __future__ import annotations

from evfleet.dashboard.i18n import STRINGS

__all__ = ["DEPOT_STRINGS"]

DEPOT_STRINGS: dict[str, tuple[str, str]] = {
    # login
    "login_title": ("Sign in with your evfleet account", "Connectez-vous avec votre compte evfleet"),
    "login_name": ("User name", "Nom d'utilisateur"),
    "login_password": ("Password", "Mot de passe"),
    "login_submit": ("Sign in", "Se connecter"),
    "login_wrong": ("Wrong user name or password", "Nom d'utilisateur ou mot de passe incorrect"),
    "login_as": ("Signed in as {name} ({role})", "Connecté en tant que {name} ({role})"),
    "logout": ("Sign out", "Se déconnecter"),
    "role_viewer": ("viewer", "lecteur"),
    "role_operator": ("operator", "opérateur"),
    "role_admin": ("admin", "administrateur"),
    # live depot page
    "page_depot": ("Live depot", "Dépôt en direct"),
    "depot_not_configured": (
        "No operate store configured: start `evfleet serve --db FILE` and the dashboard with "
        "`--operate-db FILE` (or EVFLEET_OPERATE_DB=FILE).",
        "Aucun magasin d'exploitation configuré : lancez `evfleet serve --db FICHIER` et le tableau de bord avec "
        "`--operate-db FICHIER` (ou EVFLEET_OPERATE_DB=FICHIER).",
    ),
    "depot_no_snapshot": (
        "The central system has not written its live view yet (is `evfleet serve` running on this store?).",
        "Le système central n'a pas encore écrit sa vue en direct (`evfleet serve` tourne-t-il sur ce magasin ?).",
    ),
    "depot_stale": (
        "The live view is {age} s old: `evfleet serve` may be stopped.",
        "La vue en direct date de {age} s : `evfleet serve` est peut-être arrêté.",
    ),
    "depot_updated": ("Updated {age} s ago · strategy {strategy}", "Mis à jour il y a {age} s · stratégie {strategy}"),
    "depot_site_power": ("Site power", "Puissance du site"),
    "depot_headroom": ("Headroom", "Marge"),
    "depot_stations_online": ("Stations online", "Bornes en ligne"),
    "depot_connected": ("Vehicles connected", "Véhicules connectés"),
    "depot_stale_meters": ("Stale meter values", "Mesures périmées"),
    "depot_over_limit": ("Over the site limit", "Au-dessus de la limite du site"),
    "depot_stations": ("Stations and connectors", "Bornes et connecteurs"),
    "depot_sessions": ("Sessions", "Sessions"),
    "depot_setpoints": ("Setpoint vs measured power", "Consigne et puissance mesurée"),
    "depot_alerts": ("Alerts", "Alertes"),
    "depot_no_alerts": ("No alerts.", "Aucune alerte."),
    "depot_no_sessions": ("No vehicle connected.", "Aucun véhicule connecté."),
    "depot_replan": ("Re-plan now", "Replanifier maintenant"),
    "depot_replan_sent": (
        "Re-plan requested: the central system runs it within a second or two.",
        "Replanification demandée : le système central l'exécute d'ici une à deux secondes.",
    ),
    "depot_viewer_readonly": ("Viewers cannot change anything.", "Les lecteurs ne peuvent rien modifier."),
    "depot_limit": ("limit", "limite"),
    "depot_base": ("base load", "charge de base"),
    "depot_ev": ("EVs", "VE"),
    "depot_setpoint": ("setpoint", "consigne"),
    "depot_measured": ("measured", "mesurée"),
    "depot_col_station": ("Station", "Borne"),
    "depot_col_online": ("Online", "En ligne"),
    "depot_col_evse": ("EVSE", "EVSE"),
    "depot_col_status": ("Status", "État"),
    "depot_col_session": ("Session", "Session"),
    "depot_col_vehicle": ("Vehicle", "Véhicule"),
    "depot_col_soc": ("SOC (%)", "SOC (%)"),
    "depot_col_soc_source": ("SOC source", "Source SOC"),
    "depot_col_departure": ("Departure", "Départ"),
    "depot_col_target": ("Target (%)", "Cible (%)"),
    "depot_col_needs_source": ("Needs from", "Besoins selon"),
    "depot_col_setpoint_kw": ("Setpoint (kW)", "Consigne (kW)"),
    "depot_col_measured_kw": ("Measured (kW)", "Mesurée (kW)"),
    "depot_col_profile": ("Profile", "Profil"),
    "depot_col_failsafe_kw": ("Fail-safe cap (kW)", "Plafond de secours (kW)"),
    "depot_col_time": ("Time", "Heure"),
    "depot_col_kind": ("Kind", "Type"),
    "depot_col_message": ("Message", "Message"),
}

STRINGS.update({k: v for k, v in DEPOT_STRINGS.items() if k not in STRINGS})
