"""History page: totals by day or month of the stored runs or of the live sessions (never mixed), CSV download.

The table is :func:`evfleet.store.history.history_by_period` (the same as ``evfleet history --by day|month``).
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from evfleet.dashboard import state
from evfleet.dashboard.console_views import history_figure
from evfleet.dashboard.i18n import strategy_label, t
from evfleet.dashboard.l10n import display_frame, fmt_period
from evfleet.dashboard.safe_text import colon, md_error
from evfleet.store.history import history_by_period
from evfleet.store.runs import open_store

ctrl = state.controls()
lang = ctrl.lang
st.title(t("hist_title", lang))


@st.cache_data(ttl=15, show_spinner=False, max_entries=8)
def _history(db: str | None, by: str, source: str) -> pd.DataFrame:
    with open_store(db) as store:
        return history_by_period(store, by, source)


c1, c2 = st.columns(2)
by = (
    c1.segmented_control(
        t("hist_by", lang), ["day", "month"], format_func=lambda x: t(f"hist_{x}", lang), key="hist_by"
    )
    or "day"
)
source = (
    c2.segmented_control(
        t("hist_source", lang), ["runs", "live"], format_func=lambda x: t(f"hist_{x}", lang), key="hist_source"
    )
    or "runs"
)
try:
    table = _history(os.environ.get("EVFLEET_DB"), by, source)
except Exception as exc:  # a store that cannot be opened must not break the page
    st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
    st.stop()
if table.empty:
    st.info(t("hist_empty", lang), icon=":material/info:")
    st.stop()
H = {
    "period": t("hist_period", lang),
    "strategy": t("hist_strategy", lang),
    "n_runs": t("hist_n_runs", lang),
    "energy_charged_kwh": t("hist_energy", lang),
    "v2g_energy_kwh": t("hist_v2g", lang),
    "import_energy_kwh": t("hist_import", lang),
    "net_energy_cost_mad": t("hist_cost", lang),
    "peak_import_kw": t("hist_peak", lang),
    "unmet_energy_kwh": t("hist_unmet", lang),
}
num = st.column_config.NumberColumn
# French: the numbers as locale text (a column's printf format writes "0.5" and no thousands space)
hist_decimals = {c: 1 if c == "unmet_energy_kwh" else 0 for c in H if c not in ("period", "strategy", "n_runs")}
shown = table[list(H)].assign(  # French: days and months in French order, strategies by their label
    period=[fmt_period(p, lang) for p in table["period"]],
    strategy=[strategy_label(s, lang) for s in table["strategy"]] if lang == "fr" else table["strategy"],
)
st.dataframe(
    display_frame(shown, lang, hist_decimals).rename(columns=H),
    hide_index=True,
    width="stretch",
    key="hist_table",
    column_config={H[c]: num(format=f"%.{d}f") for c, d in hist_decimals.items()}
    if lang != "fr"
    else {H[c]: st.column_config.TextColumn(alignment="right") for c in hist_decimals},
)
state.plot(history_figure(table, lang, t("hist_chart", lang, by=t(f"hist_{by}", lang))), key="hist_chart")
st.download_button(
    t("hist_download", lang),
    table.to_csv(index=False),
    f"evfleet_history_{source}_by_{by}.csv",
    "text/csv",
    key="hist_csv",
    icon=":material/download:",
)
st.caption(t("hist_note", lang, by=by, live=" --live" if source == "live" else ""))
