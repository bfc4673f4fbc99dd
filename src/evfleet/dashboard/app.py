"""evfleet dashboard entry point: page set-up, shared sidebar and page registration only.

Run with ``evfleet dashboard`` (or ``streamlit run`` on this file). The pages live in ``screens/`` (not
``pages/``: that directory name switches Streamlit to its legacy multipage mode).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import streamlit as st

from evfleet.dashboard import state
from evfleet.dashboard.i18n import t
from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD

HERE = Path(__file__).parent

st.set_page_config(page_title="evfleet", page_icon="⚡", layout="wide", initial_sidebar_state="expanded")
_password = os.environ.get(ENV_DASHBOARD_PASSWORD, "")
if _password and not st.session_state.get("_authenticated"):  # required to serve other machines (launch.py)
    given = st.text_input("Password · Mot de passe", type="password", key="_password")
    if given and hmac.compare_digest(given.encode("utf-8"), _password.encode("utf-8")):
        st.session_state["_authenticated"] = True
        st.rerun()
    if given:
        st.error("Wrong password · Mot de passe incorrect")
    st.stop()
ctrl = state.sidebar()
lang = ctrl.lang
PAGES = [
    ("overview", "page_overview", ":material/dashboard:"),
    ("fleet", "page_fleet", ":material/electric_car:"),
    ("strategies", "page_strategies", ":material/compare_arrows:"),
    ("grid_quality", "page_grid", ":material/electric_bolt:"),
    ("economics", "page_economics", ":material/payments:"),
    ("history", "page_history", ":material/history:"),
    ("scenario", "page_scenario", ":material/tune:"),
]
pages = [
    st.Page(HERE / "screens" / f"{name}.py", title=t(key, lang), icon=icon, url_path=name, default=(i == 0))
    for i, (name, key, icon) in enumerate(PAGES)
]
st.navigation(pages, position="sidebar").run()
state.precompute_after_paint(ctrl)  # the other strategies and modes, in the background, after the first paint
