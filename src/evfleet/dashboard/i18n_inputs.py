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
        "Status of these figures: inputs {inputs}; simulated saving {saving} (the bill's status); payback, NPV and "
        "ROI {derived} (the weakest of what they are built on).",
        "Statut de ces chiffres : données {inputs} ; économie simulée {saving} (statut de la facture) ; délai de "
        "récupération, VAN et ROI {derived} (le plus faible de ce sur quoi ils reposent).",
    ),
}
