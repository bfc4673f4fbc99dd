"""French typography of the dashboard's texts: a narrow no-break space before ``: ; ! ?`` (never an ordinary one)."""

from __future__ import annotations

import re

import pytest

from evfleet.dashboard.i18n import STRINGS, t
from evfleet.dashboard.kpi_labels import KPI_LABELS, kpi_label
from evfleet.dashboard.safe_text import french_punctuation

ORDINARY_SPACE_BEFORE = re.compile(r"\S [:;!?](\s|$)")


def test_no_french_catalogue_string_has_an_ordinary_space_before_a_colon():
    bad = {k: fr for k, (_, fr) in STRINGS.items() if ORDINARY_SPACE_BEFORE.search(fr)}
    assert not bad
    assert not [k for k in KPI_LABELS if ORDINARY_SPACE_BEFORE.search(kpi_label(k, "fr"))]


def test_catalogue_french_uses_the_narrow_no_break_space_and_english_is_unchanged():
    assert t("fleet_title", "fr") == "Véhicules du dépôt\u202f: recharge et V2G"
    assert t("fleet_title", "en") == "Vehicles on site: charging and V2G"
    assert kpi_label("bill_vat_mad", "fr") == "Facture\u202f: TVA (MAD)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tarif : heures", "Tarif\u202f: heures"),
        ("a : b ; c ? d !", "a\u202f: b\u202f; c\u202f? d\u202f!"),
        ("Pourquoi ?", "Pourquoi\u202f?"),
        ("http://127.0.0.1:8501", "http://127.0.0.1:8501"),
        ("de 12:30 à 14:00", "de 12:30 à 14:00"),
        ("voir :material/info: ici", "voir :material/info: ici"),
        ("déjà\u202f: fait", "déjà\u202f: fait"),
    ],
)
def test_french_punctuation(text, expected):
    assert french_punctuation(text) == expected
