"""The Fleet page's popularity chart (issue 16, small fixes): only models with a registration figure are ranked,
the caption says how many; with fewer than 2 the chart is replaced by a note (both languages)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard_helpers import APP, fresh_dashboard  # noqa: F401 - autouse fixture
from evfleet.dashboard.fleet_views import top_models_figure
from french_check import english_in


def _top5(at: AppTest) -> dict | None:
    for chart in at.get("plotly_chart"):
        if "top5" in chart.proto.id:
            return json.loads(chart.proto.spec)
    return None


def test_the_chart_ranks_only_models_with_a_figure():
    table = pd.DataFrame({"model": list("abcdefg"), "registrations": [np.nan, 5.0, np.nan, 9.0, 1.0, np.nan, 3.0],
                          "v2g_capable": [False] * 7})  # fmt: skip
    fig = top_models_figure(table, "en")
    assert list(fig.data[0].y) == ["e", "g", "b", "d"]  # the 4 with a figure, largest on top


def test_default_fleet_hides_the_chart_and_the_catalogue_ranks(monkeypatch, tmp_path):
    monkeypatch.setenv("EVFLEET_LIVE_STORE", "0")
    monkeypatch.setenv("EVFLEET_DB", str(tmp_path / "store.db"))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.slider(key="n_vehicles").set_value(100).run()
    at.switch_page("screens/fleet.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    n_fig = int((table["Popularity (weight)"] != "–").sum())  # text: "–" for a model without a figure
    assert n_fig < 2  # the default depot fleet: one model with a figure
    assert _top5(at) is None
    assert any(f"only {n_fig} of the {len(table)} models listed here" in i.value for i in at.info)
    at.toggle(key="fleet_only").set_value(False).run()
    spec = _top5(at)
    assert spec is not None and len(spec["data"][0]["y"]) == 5
    table = at.dataframe[0].value
    n_fig = int((table["Popularity (weight)"] != "–").sum())  # text: "–" for a model without a figure
    want = f"Ranked: 5 of the {n_fig} models listed here that have a registration figure"
    assert any(c.value.startswith(want) and f"the other {len(table) - n_fig} have none" in c.value for c in at.caption)
    at.button_group(key="lang").set_value("fr").run()
    caps = [c.value for c in at.caption if c.value.startswith("Classés")]
    assert caps and not english_in(caps)
    at.toggle(key="fleet_only").set_value(True).run()
    infos = [i.value for i in at.info if "Pas de classement" in i.value]
    assert infos and not english_in(infos)
