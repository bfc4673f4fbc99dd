"""Full French: no English word left on any French page (AppTest walk of every page), every i18n key used by the
dashboard has its French string, and the locale layer formats numbers, dates, charts and CSV downloads."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from evfleet.dashboard import analysis_views as A
from evfleet.dashboard import l10n as L
from evfleet.dashboard.i18n import (
    STRATEGY_LABEL_KEYS,
    STRINGS,
    clause_text,
    indicator_label,
    missing_in_fr,
    strategy_description,
    strategy_label,
    t,
)
from evfleet.gridquality.records import Indicator
from evfleet.strategies import REGISTRY
from french_check import english_in, english_words

DASHBOARD = Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard"
APP = str(DASHBOARD / "app.py")
SKIP_FIELDS = {"id", "form_id", "key", "spec", "theme", "icon", "url", "mimetype", "format", "data", "arrow_data",
               "element_hash", "fragment_id", "page_script_hash", "src", "type"}  # fmt: skip


# --- the word check itself ---------------------------------------------------------------------------------------


def test_the_check_flags_english_and_spares_french_proper_nouns_and_identifiers():
    assert english_words("Peak import (kW)") == ["Peak", "import"]
    assert english_words("Simple payback") == ["payback"]
    assert english_words("Tesla Model 3 · S000001 · price_optimization") == []  # model name, ids
    assert english_words("Pointe (kW) · SOC moyen (%) · IEEE 519-2014 tableau 2 · h=3") == []
    assert english_words("Facteur puiss. · PF") == ["PF"]
    assert english_words("Transformer (%)") == []  # a French word as well
    assert english_words("Session véhicule · offline") == ["offline"]


# --- every key has its French ------------------------------------------------------------------------------------

_KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""")


def test_every_i18n_key_used_by_the_dashboard_exists_in_french():
    used: dict[str, str] = {}
    for path in DASHBOARD.rglob("*.py"):
        for key in _KEY_CALL.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, path.name)
    assert len(used) > 100
    missing = {k: f for k, f in used.items() if k in missing_in_fr([k])}
    assert not missing, f"keys without a French string: {missing}"
    same = [k for k, (en, fr) in STRINGS.items() if en == fr and english_words(fr)]
    assert not same, f"French strings left in English: {same}"
    fr_english = {k: english_words(fr) for k, (_, fr) in STRINGS.items() if english_words(fr)}
    assert not fr_english, fr_english


def test_strategy_labels_and_descriptions_in_both_languages():
    for name in [*REGISTRY, "timer"]:
        assert name in STRATEGY_LABEL_KEYS, name
        for lang in ("en", "fr"):
            assert strategy_label(name, lang) != name and strategy_description(name, lang).endswith(".")
    assert strategy_label("timer", "fr") == "Minuterie heures creuses" and strategy_label("timer") == "Off-peak timer"
    assert strategy_label("price_optimization", "fr") == "Optimisation tarifaire"
    assert strategy_label("my_own_rule", "fr") == "my_own_rule"  # an identifier without a label stays as it is
    assert t("payback", "fr") == "Délai de récupération"


def test_compliance_indicators_and_clauses_translate():
    for ind in Indicator:
        label = ind.value.replace("{h}", "5")
        assert not english_words(indicator_label(label, "fr")), label
    clauses = [
        "IEEE 519-2014 Table 2, I_SC/I_L = 21 (row 20-50); even h: 25 % of odd; p95 of steps",
        "IEEE 519-2014 Table 1, V <= 1 kV; short-time allowance 1.5 x limit",
        "IEEE 519-2014 Table 1, V <= 1 kV, individual; p95 of steps",
        "evfleet flag level (no Moroccan PF rule located)",
        "NEMA definition on phase currents; evfleet flag level",
        "rated 800 kVA (IEC 60076-1), worst phase incl. Q",
        "IEC 60076-7 relative ageing rate, normal paper",
        "±10 % band (IEC 60038: 230/400 V ±10 %)",
        "ENTSO-E normal band ±200 mHz; not site-controlled",
    ]
    for clause in clauses:
        assert not english_words(clause_text(clause, "fr")), clause_text(clause, "fr")
    assert clause_text(clauses[1], "en") == clauses[1]


def test_real_compliance_table_and_event_log_in_french():
    from evfleet.gridquality.assess import assess
    from evfleet.inputs.generate import generate_scenario
    from evfleet.simulation.simulate import simulate

    sc = generate_scenario(vehicles=80, start="2026-01-05")
    rep = assess(simulate(sc))
    comp = A.compliance_frame(rep, "fr")
    texts = [*comp["indicator"], *comp["status"], *comp["clause"]]
    assert not english_in(texts), english_in(texts)
    assert list(A.compliance_frame(rep, "en")["indicator"]) == list(rep.compliance["indicator"])
    ev = A.events_frame(rep.events, sc.timezone, "fr")
    if len(ev):
        texts = [*ev["indicator"], *ev["state"], *ev["previous_state"]]
        assert not english_in(texts), english_in(texts)
        assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", ev["time"].iloc[0])


# --- the locale layer ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "en", "fr"),
    [
        (10_696, "10,700", "10\u202f700"),
        (2_296.4, "2,300", "2\u202f300"),
        (73.46, "73.5", "73,5"),
        (0.50712, "0.507", "0,507"),
        (25.3, "25.3", "25,3"),
        (0, "0", "0"),
        (1.61e-12, "0", "0"),
        (-3e-9, "0", "0"),
        (0.000123, "0.0001", "0,0001"),
        (-1234.5, "-1,230", "\u22121\u202f230"),
        (None, "–", "–"),
        (float("nan"), "–", "–"),
    ],
)
def test_numbers_to_three_significant_figures(x, en, fr):
    assert L.fmt_number(x, "en") == en and L.fmt_number(x, "fr") == fr


def test_units_money_dates():
    assert L.fmt_kw(2296.4, "fr") == "2\u202f300\u00a0kW"
    assert L.fmt_mad(15_150_000, "en") == "15.2\u00a0M MAD" and L.fmt_mad(350_000, "fr") == "350\u00a0k MAD"
    assert L.fmt_mad(10_696, "en") == "10,700\u00a0MAD"
    assert L.fmt_pct(12.5, "fr") == "12,5\u202f%" and L.fmt_int(1234, "fr") == "1\u202f234"
    ts = pd.Timestamp("2026-12-02 06:30", tz="Africa/Casablanca")
    assert L.fmt_date(ts, "fr") == "02/12/2026" and L.fmt_date(ts, "en") == "2026-12-02"
    assert L.fmt_datetime(ts, "fr") == "02/12/2026 06:30" and L.fmt_time(ts, "fr") == "06:30"


def test_plotly_separators_and_date_ticks():
    x = pd.date_range("2026-12-02", periods=4, freq="h")
    fig = go.Figure(go.Scatter(x=x, y=[1.5, 2, 3, 4]))
    fig.add_trace(go.Bar(x=["a", "b"], y=[1, 2], xaxis="x2"))
    L.apply_plotly_locale(fig, "fr")
    assert fig.layout.separators == ",\u202f"
    stops = [s.value for s in fig.layout.xaxis.tickformatstops]
    assert stops and all("%b" not in s and "%B" not in s for s in stops)  # no English month names
    assert fig.layout.xaxis.hoverformat == "%d/%m/%Y %H:%M"
    assert "tickformatstops" not in fig.layout.to_plotly_json().get("xaxis2", {})  # a category axis keeps its labels
    assert L.apply_plotly_locale(go.Figure(), "en").layout.separators == ".,"


def test_tables_as_locale_text_in_french_only():
    df = pd.DataFrame({"n": [3, 12], "big": [1234, 5], "kw": [57.5, 0.50712], "ok": [True, False], "name": ["a", "b"]})
    assert L.display_frame(df, "en") is df
    fr = L.display_frame(df, "fr", {"kw": 1})
    assert list(fr["kw"]) == ["57,5", "0,5"] and list(fr["big"]) == ["1\u202f234", "5"]
    assert fr["ok"].dtype == bool and list(fr["name"]) == ["a", "b"]
    assert list(L.display_frame(df, "fr", skip=["kw"])["kw"]) == [57.5, 0.50712]


def test_csv_downloads_in_the_french_excel_dialect():
    df = pd.DataFrame({"time": ["2026-12-02 06:30"], "site_kw": [1234.5], "model": ["Renault 5; E-Tech"]})
    assert L.csv_text(df) == "time,site_kw,model\n2026-12-02 06:30,1234.5,Renault 5; E-Tech\n"
    fr = L.csv_bytes(df, "excel_fr")
    assert fr.startswith("\ufeff".encode())  # Excel reads the accents
    text = fr.decode("utf-8-sig")
    assert text.splitlines()[1] == '2026-12-02 06:30;1234,5;"Renault 5; E-Tech"'
    back = pd.read_csv(io.StringIO(text), sep=";", decimal=",")
    assert back["site_kw"].iloc[0] == 1234.5 and back["model"].iloc[0] == "Renault 5; E-Tech"
    with pytest.raises(ValueError, match="dialect"):
        L.csv_text(df, "tsv")


# --- AppTest: walk every page in French ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("EVFLEET_LIVE_AUTOSTEP", "0")
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))
    yield
    st.cache_resource.clear()


def _proto_strings(msg, out: list[str]) -> None:
    for field, value in msg.ListFields():
        if field.name in SKIP_FIELDS:
            continue
        if field.type == field.TYPE_STRING:
            out.extend([value] if isinstance(value, str) else [str(v) for v in value])
        elif field.type == field.TYPE_MESSAGE:
            for item in [value] if hasattr(value, "ListFields") else value:
                if hasattr(item, "ListFields"):
                    _proto_strings(item, out)


def _plotly_strings(spec: dict, out: list[str]) -> None:
    layout = spec.get("layout", {})

    def title(obj):
        tt = obj.get("title") if isinstance(obj, dict) else None
        if isinstance(tt, dict):
            out.append(str(tt.get("text", "")))
        elif tt:
            out.append(str(tt))

    title(layout)
    for key, val in layout.items():
        if key.startswith(("xaxis", "yaxis")) or key == "polar":
            title(val)
    out.extend(str(a.get("text", "")) for a in layout.get("annotations", []))
    for tr in spec.get("data", []):
        out.extend(str(tr[k]) for k in ("name", "hovertemplate", "text") if isinstance(tr.get(k), str))
        for k in ("labels", "x", "y", "theta"):
            vals = tr.get(k)
            if isinstance(vals, list):
                out.extend(v for v in vals if isinstance(v, str))


def _texts(at: AppTest) -> list[str]:
    out: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            if type(proto).__name__ == "PlotlyChart":
                _plotly_strings(json.loads(proto.spec), out)
            else:
                _proto_strings(proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for df in at.dataframe:
        out.extend(str(c) for c in df.value.columns)
    # the grid-quality model's assumptions are English text of the computing module, marked lang="en"
    return [s for s in out if s and '<div lang="en">' not in s]


def _pages() -> list[str]:
    return sorted(f"screens/{p.name}" for p in (DASHBOARD / "screens").glob("*.py") if not p.name.startswith("_"))


def test_every_page_in_french_has_no_english_word():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.slider(key="n_vehicles").set_value(100).run()
    at.button_group(key="lang").set_value("fr").run()
    assert not at.exception, [e.message for e in at.exception]
    found: dict[str, dict[str, list[str]]] = {}
    for page in _pages():
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        if page.endswith("strategies.py"):
            at.button(key="cmp_run").click().run()
            assert at.dataframe, "the comparison ran"
            assert "Recharge non pilotée" in set(at.dataframe[0].value["Stratégie"])
        if page.endswith("scenario.py"):  # the tariff editor and the French number boxes are part of the walk
            assert at.text_input(key="tf_price_pointe_fr").value == "1,4157" and not at.number_input
            at.text_input(key="sc_degr_fr").input("0,4x")
            at.button(key="FormSubmitter:scenario_form-Appliquer").click().run()
            assert len(at.error) == 2  # the refusal of the box and "nothing applied", both checked below
        bad = english_in(_texts(at))
        if bad:
            found[page] = bad
    # live mode: the clock, the live cards and the fleet table "(en direct)"
    at.toggle(key="live_on").set_value(True).run()
    for page in ("screens/overview.py", "screens/fleet.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        bad = english_in(_texts(at))
        if bad:
            found[f"{page} (live)"] = bad
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_french_tables_and_charts_use_the_french_marks():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.slider(key="n_vehicles").set_value(100).run()
    at.button_group(key="lang").set_value("fr").run()
    at.switch_page("screens/economics.py").run()
    assert not at.exception, [e.message for e in at.exception]
    prices = at.dataframe[0].value["Prix (MAD/kWh)"]
    assert prices.str.fullmatch(r"\d+,\d\d").all()
    for chart in at.get("plotly_chart"):
        assert json.loads(chart.proto.spec)["layout"]["separators"] == ",\u202f"
    assert any(m.label == "Récupération (mois)" for m in at.metric)
    at.switch_page("screens/grid_quality.py").run()
    spec = json.loads(next(c for c in at.get("plotly_chart") if "pq_spectrum" in c.proto.id).proto.spec)
    xaxis = spec["layout"]["xaxis"]
    assert xaxis["tick0"] == 1 and xaxis["range"][0] == pytest.approx(0.5)  # harmonic orders from 1
    at.switch_page("screens/scenario.py").run()
    radio = at.radio(key="dl_dialect_fr")
    assert radio.value == "excel_fr"  # the French Excel dialect by default on a French page
