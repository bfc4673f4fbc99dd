"""Readable and translated (issue 16 item 6, leftovers): French typography before ":", French sentence case in
the fleet table, "–" for a missing figure, the Downloads indicator table in words, no raw ``True``/``None``/
``nan`` on a French page."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, fresh_dashboard  # noqa: F401 - autouse fixture
from evfleet.dashboard.fleet_views import FLEET_COLUMNS, localise_columns
from evfleet.dashboard.kpi_labels import KPI_LABELS, kpi_label, kpi_value_text
from evfleet.dashboard.safe_text import colon, md_bullets
from french_check import english_in

RAW = re.compile(r"\b(True|False|None|nan|NaN)\b")


@pytest.fixture(autouse=True)
def _store(monkeypatch, tmp_path):
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))


def _app(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(100).run()
    if lang == "fr":
        at.button_group(key="lang").set_value("fr").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_bullets_put_a_narrow_no_break_space_before_the_colon_in_french_only():
    assert colon("fr") == "\u202f:" and colon("en") == ":"
    assert md_bullets({"Modèle": "Renault 5"}, "fr") == "- **Modèle**\u202f: Renault 5"
    assert md_bullets({"Model": "Renault 5"}) == "- **Model**: Renault 5"


def test_fleet_headers_in_french_sentence_case():
    for col, head in localise_columns(FLEET_COLUMNS, "fr").items():
        later = [w for w in re.findall(r"[A-Za-zÀ-ÿ]+", head)[1:] if not w.isupper()]  # acronyms stay capitals
        assert all(w[0].islower() for w in later), (col, head)
    assert localise_columns(FLEET_COLUMNS, "fr")["in_fleet"] == "Dans la flotte"


def test_kpi_labels_and_values_in_words():
    assert kpi_label("peak_import_kw", "fr") == "Pointe soutirée (kW)"
    assert kpi_label("import_cost_pointe_mad", "fr") == "Coût du soutirage, heures de pointe (MAD)"
    assert kpi_label("strategy_my_figure", "fr") == "strategy_my_figure"  # a strategy's own figure: as it is
    assert kpi_value_text("v2g", True, "fr") == "Oui" and kpi_value_text("v2g", False, "en") == "No"
    assert kpi_value_text("strategy", "uncontrolled", "fr") == "Recharge non pilotée"
    assert kpi_value_text("load_factor", None, "fr") == "–"
    assert kpi_value_text("load_factor", 0.330044953, "fr") == "0,33"  # no trailing zeros
    assert kpi_value_text("net_cost_mad", 1626.821354, "fr") == "1\u202f626,82"
    assert kpi_value_text("n_vehicles", 500, "en") == "500"
    assert not english_in(fr for _, fr in KPI_LABELS.values())


def test_fleet_page_french_bullets_and_headers_english_dash():
    at = _app("en")
    at.switch_page("screens/fleet.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    pop = table["Popularity (weight)"]
    assert pop.notna().all() and (pop == "–").any()  # the default fleet has models without a figure
    assert not pop.astype(str).str.fullmatch("None|nan|NaN").any()
    assert any("- **Model**: " in m.value for m in at.markdown)
    at.button_group(key="lang").set_value("fr").run()
    cols = list(at.dataframe[0].value.columns)
    for head in ("Dans la flotte", "En charge", "En décharge", "SOC moyen (%)", "AC max (kW)"):
        assert head in cols, cols
    facts = next(m.value for m in at.markdown if "**Modèle**" in m.value)
    assert "**Modèle**\u202f: " in facts and "**: " not in facts


def test_downloads_indicator_table_in_words():
    for lang, yes in (("en", "Yes"), ("fr", "Oui")):
        at = _app(lang)
        at.switch_page("screens/scenario.py").run()
        assert not at.exception, [e.message for e in at.exception]
        head = {"en": "Indicator", "fr": "Indicateur"}[lang]
        table = next(d.value for d in at.dataframe if d.value.columns[0] == head and len(d.value) > 30)
        labels, values = table.iloc[:, 0], table.iloc[:, 1]
        assert not labels.str.contains("_").any(), list(labels[labels.str.contains("_")])
        assert not values.str.fullmatch("True|False|None|nan").any(), list(values)
        assert yes in set(values)
        if lang == "fr":
            assert not english_in(labels), english_in(labels)


#: the fleet table's mean SOC (a progress bar) has no figure for a model with no vehicle connected at that time
_NO_SOC_WITHOUT_A_CONNECTED_VEHICLE = {
    localise_columns(FLEET_COLUMNS, lang)["mean_soc_pct"]: localise_columns(FLEET_COLUMNS, lang)["connected"]
    for lang in ("en", "fr")
}


def _raw_on_page(at: AppTest) -> list[str]:
    """Texts and table cells that show ``True``/``None``/``nan`` (a checkbox column's booleans are drawn as boxes),
    and number cells left missing (a number column writes them "None")."""
    from test_dashboard_french import _texts

    found = [s for s in _texts(at) if RAW.search(s)]
    for df in at.dataframe:
        for col in df.value.columns:
            s = df.value[col]
            if s.dtype == bool:
                continue
            if col in _NO_SOC_WITHOUT_A_CONNECTED_VEHICLE:  # a progress bar: empty for a model with none connected
                conn = df.value[_NO_SOC_WITHOUT_A_CONNECTED_VEHICLE[col]].astype(str).str.strip().isin({"0", "0.0"})
                if (s.isna() != conn).any():
                    found.append(f"{col}: missing where a vehicle is connected, or shown where none is")
                continue
            if s.isna().any():
                found.append(f"{col}: missing cell")
            found += [f"{col}: {x}" for x in s.map(str) if RAW.fullmatch(x.strip())]
    return found


def test_no_raw_true_none_nan_on_french_pages_nor_on_the_english_comparison():
    at = _app("fr")
    found: dict[str, list[str]] = {}
    for page in sorted(f"screens/{p}" for p in ("overview.py", "fleet.py", "plan.py", "strategies.py",
                                                "grid_quality.py", "economics.py", "history.py", "scenario.py",
                                                "depot.py")):  # fmt: skip
        at.switch_page(page).run()
        if page.endswith("strategies.py"):
            at.button(key="rec_compute").click().run()
            at.button(key="cmp_run").click().run()
            assert len(at.dataframe) >= 2  # the recommendation and the comparison
        assert not at.exception, (page, [e.message for e in at.exception])
        if bad := _raw_on_page(at):
            found[page] = bad
    at.button_group(key="lang").set_value("en").run()
    if bad := _raw_on_page(at):  # the comparison: the V2G value of a run without V2G does not apply
        found["strategies (en)"] = bad
    assert not found, found


def test_fleet_table_at_any_hour_has_no_raw_cell_and_an_empty_soc_bar_only_where_none_is_connected():
    at = _app("fr")
    at.switch_page("screens/fleet.py").run()
    n_steps = len(at.select_slider(key="fleet_step").options)
    # first step, midday, last step (measured: no model connected at the ends, every model at midday)
    for step in (0, n_steps // 2, n_steps - 1):
        at.select_slider(key="fleet_step").set_value(step).run()
        assert not at.exception, [e.message for e in at.exception]
        bad = _raw_on_page(at)
        assert not bad, (step, bad)
