"""evfleet dashboard entry point: page set-up, shared sidebar and page registration only.

Run with ``evfleet dashboard`` (or ``streamlit run`` on this file). The pages live in ``screens/`` (not
``pages/``: that directory name switches Streamlit to its legacy multipage mode).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from evfleet.dashboard import auth, state
from evfleet.dashboard.i18n import t
from evfleet.dashboard.tariff_editor import restore_applied_files
from evfleet.dashboard.timing import timed_script

HERE = Path(__file__).parent

st.set_page_config(page_title="evfleet", page_icon="⚡", layout="wide", initial_sidebar_state="expanded")
auth.gate(st.session_state.get("lang") or st.query_params.get("lang") or "en")  # accounts or shared password
restore_applied_files()  # the session's edited tariffs, if their temporary files were cleaned
ctrl = state.sidebar()
lang = ctrl.lang
state.french_chrome(lang)
auth.logout_button(lang)
PAGES = [
    ("overview", "page_overview", ":material/dashboard:"),
    ("fleet", "page_fleet", ":material/electric_car:"),
    ("plan", "page_plan", ":material/event_note:"),
    ("strategies", "page_strategies", ":material/compare_arrows:"),
    ("grid_quality", "page_grid", ":material/electric_bolt:"),
    ("economics", "page_economics", ":material/payments:"),
    ("history", "page_history", ":material/history:"),
    ("scenario", "page_scenario", ":material/tune:"),
    ("depot", "page_depot", ":material/ev_station:"),  # the real depot (evfleet serve), screens/depot.py
]
pages = [
    st.Page(HERE / "screens" / f"{name}.py", title=t(key, lang), icon=icon, url_path=name, default=(i == 0))
    for i, (name, key, icon) in enumerate(PAGES)
]
page = st.navigation(pages, position="sidebar")
with timed_script(page.url_path or "overview"):  # EVFLEET_DASHBOARD_TIMING: the server's time per run (benchmark)
    page.run()
state.precompute_after_paint(ctrl)  # the other strategies and modes, in the background, after the first paint
