"""Fleet views (no Streamlit): the per-model V2G/G2V table, V2G pie, top-5 models, one vehicle's drill-down.

Units: battery [kWh], power [kW] (positive = charging/G2V, negative = discharging/V2G), SOC [%].

The table follows the original guide: one row per model with its EV2Gym specifications and the live state of
the fleet's vehicles of that model at one instant. "Mean SOC (%)" is the mean over the model's vehicles
connected at that instant (empty when none is); "Net power (kW)" is their summed power.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from evfleet._common.tolerances import POWER_EPS_KW
from evfleet.dashboard.i18n import t
from evfleet.dashboard.l10n import fmt_datetime, fmt_int, fmt_number, fmt_pct, wrap_label
from evfleet.dashboard.views import LAYOUT, local_naive

__all__ = [
    "FLEET_COLUMNS",
    "charger_use_figure",
    "drilldown_figure",
    "fleet_state_at",
    "fleet_table",
    "localise_columns",
    "sources_frame",
    "top_models_figure",
    "v2g_pie_figure",
    "vehicle_info",
]

V2G_GREEN = "#2ca02c"
#: vehicles that cannot export are the normal case, not a fault: grey, never the alarm red
NOT_V2G_GREY = "#b0b7bf"
#: fleet table column -> i18n key of its header (the order of the original guide).
FLEET_COLUMNS: dict[str, str] = {
    "model": "col_model",
    "registrations": "col_registrations",
    "battery_kwh": "col_battery",
    "ac_max_kw": "col_ac_max",
    "dc_max_kw": "col_dc_max",
    "v2g_ac_kw": "col_v2g_ac",
    "v2g_dc_kw": "col_v2g_dc",
    "v2g_capable": "col_v2g_capable",
    "in_fleet": "col_in_fleet",
    "connected": "col_connected",
    "charging": "col_charging",
    "discharging": "col_discharging",
    "mean_soc_pct": "col_mean_soc",
    "net_power_kw": "col_net_power",
}


def localise_columns(columns: Mapping[str, str], lang: str) -> dict[str, str]:
    """Column name -> header in ``lang`` for a mapping of column -> i18n key."""
    return {col: t(key, lang) for col, key in columns.items()}


def fleet_state_at(result: Any, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SOC [0-1] at the start of ``step``, power [kW] during it, connected) per session of a RunResult."""
    v = result.scenario.vehicles
    step = int(np.clip(step, 0, result.scenario.n_steps - 1))
    conn = (v.arrival_step <= step) & (step < v.departure_step)
    return result.soc[:, step], result.power_kw[:, step], conn


def fleet_table(
    scenario: Any,
    catalog: pd.DataFrame,
    soc: np.ndarray,
    power_kw: np.ndarray,
    connected: np.ndarray,
    only_in_fleet: bool = True,
    query: str = "",
) -> pd.DataFrame:
    """One row per model (columns :data:`FLEET_COLUMNS`), sorted by vehicles in fleet then registrations.

    ``soc``/``power_kw``/``connected`` are per session of ``scenario`` at one instant. Vectorised (bincount over
    model codes). ``query`` keeps models whose name contains it (case-insensitive).
    """
    v = scenario.vehicles
    codes, models = pd.factorize(pd.Series(v.model, dtype=object))
    m = len(models)
    p = np.asarray(power_kw, dtype=float)
    conn = np.asarray(connected, dtype=bool)
    if "vehicle" in v.extra:
        # distinct physical vehicles per model (a vehicle can have several sessions over several days)
        pairs = pd.DataFrame({"c": codes, "veh": np.asarray(v.extra["vehicle"], dtype=object)}).drop_duplicates()
        in_fleet = np.bincount(pairs["c"].to_numpy(), minlength=m)
    else:
        in_fleet = np.bincount(codes, minlength=m)
    n_conn = np.bincount(codes, weights=conn, minlength=m)
    soc_sum = np.bincount(codes, weights=np.where(conn, soc, 0.0), minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_soc = np.where(n_conn > 0, 100.0 * soc_sum / np.maximum(n_conn, 1), np.nan)
    fleet = pd.DataFrame(
        {
            "model": models.astype(str),
            "in_fleet": in_fleet.astype(int),
            "connected": n_conn.astype(int),
            "charging": np.bincount(codes, weights=conn & (p > POWER_EPS_KW), minlength=m).astype(int),
            "discharging": np.bincount(codes, weights=conn & (p < -POWER_EPS_KW), minlength=m).astype(int),
            "mean_soc_pct": mean_soc,
            "net_power_kw": np.bincount(codes, weights=np.where(conn, p, 0.0), minlength=m),
            "_battery_fleet": np.bincount(codes, weights=v.battery_kwh, minlength=m) / np.bincount(codes, minlength=m),
        }
    )
    cat = catalog.rename(
        columns={
            "ac_charge_kw": "ac_max_kw",
            "dc_charge_kw": "dc_max_kw",
            "ac_discharge_kw": "v2g_ac_kw",
            "dc_discharge_kw": "v2g_dc_kw",
            "v2g": "v2g_capable",
        }
    )
    spec_cols = [
        "model",
        "registrations",
        "battery_kwh",
        "ac_max_kw",
        "dc_max_kw",
        "v2g_ac_kw",
        "v2g_dc_kw",
        "v2g_capable",
    ]
    table = cat[spec_cols].merge(fleet, on="model", how="outer")
    # 0 registrations = no figure found (docs/catalog.md): blank, never shown as a count
    table["registrations"] = table["registrations"].where(table["registrations"] > 0)
    table["battery_kwh"] = table["battery_kwh"].fillna(table["_battery_fleet"])
    for col in ("in_fleet", "connected", "charging", "discharging"):
        table[col] = table[col].fillna(0).astype(int)
    table["net_power_kw"] = table["net_power_kw"].fillna(0.0)
    table["v2g_capable"] = table["v2g_capable"].fillna(False).astype(bool)
    table = table.drop(columns="_battery_fleet")
    if only_in_fleet:
        table = table[table["in_fleet"] > 0]
    if query:
        table = table[table["model"].str.contains(query, case=False, regex=False)]
    table = table.sort_values(["in_fleet", "registrations"], ascending=False, kind="stable", na_position="last")
    return table[list(FLEET_COLUMNS)].reset_index(drop=True)


def v2g_pie_figure(table: pd.DataFrame, lang: str, height: int = 300) -> go.Figure:
    """Pie of the fleet's vehicles whose model is V2G-capable (green) or not (neutral grey: not an alarm)."""
    yes = int(table.loc[table["v2g_capable"], "in_fleet"].sum())
    no = int(table.loc[~table["v2g_capable"], "in_fleet"].sum())
    fig = go.Figure(
        go.Pie(
            labels=[t("v2g_yes", lang), t("v2g_no", lang)],
            values=[yes, no],
            sort=False,
            marker={"colors": [V2G_GREEN, NOT_V2G_GREY]},
            hole=0.45,
            textinfo="percent+value",
        )
    )
    layout = {**LAYOUT, "hovermode": "closest"}
    # the title on two lines when long: a Plotly title is clipped, not wrapped, in a third of the page at 1280 px
    fig.update_layout(**layout, height=height, title={"text": wrap_label(t("v2g_pie", lang), 30), "x": 0})
    return fig


def top_models_figure(table: pd.DataFrame, lang: str, n: int = 5, height: int = 300) -> go.Figure:
    """Horizontal bars of the ``n`` models with the most registrations (largest on top)."""
    top = table.dropna(subset=["registrations"]).nlargest(n, "registrations").iloc[::-1]
    colors = np.where(top["v2g_capable"].to_numpy(dtype=bool), "#2ca02c", "#1f77b4")
    fig = go.Figure(
        go.Bar(
            x=top["registrations"],
            y=top["model"],
            orientation="h",
            marker={"color": colors},
            text=[fmt_int(x, lang) for x in top["registrations"]],
            textposition="auto",
            hovertemplate="%{y}: %{x:,.0f}<extra></extra>",
        )
    )
    layout = {**LAYOUT, "hovermode": "closest", "margin": {"l": 150, "r": 20, "t": 50, "b": 40}}
    fig.update_layout(
        **layout, height=height, title={"text": t("top5", lang), "x": 0}, xaxis_title=t("col_registrations", lang)
    )
    return fig


def vehicle_info(result: Any, i: int, lang: str) -> dict[str, str]:
    """Facts of session ``i`` as display strings: model, charger, arrival, departure, target, SOC at departure,
    unmet energy and its reason."""
    sc = result.scenario
    v = sc.vehicles
    times = sc.times
    end = times[-1] + pd.Timedelta(minutes=sc.step_minutes)
    all_times = times.append(pd.DatetimeIndex([end]))
    dep = int(v.departure_step[i])
    unmet = float(result.unmet_kwh[i])
    reason = str(result.unmet_reason[i])
    info = {
        t("col_model", lang): str(v.model[i]),
        t("arrival", lang): fmt_datetime(all_times[int(v.arrival_step[i])], lang),
        t("departure", lang): fmt_datetime(all_times[dep], lang),
        t("target", lang): fmt_pct(100 * float(v.soc_target[i]), lang),
        t("soc_departure", lang): fmt_pct(100 * float(result.soc[i, dep]), lang),
        t("unmet_reason", lang): (
            f"{fmt_number(unmet, lang)} kWh{' :' if lang == 'fr' else ':'} {t('reason_' + reason, lang)}"
            if reason
            else t("met", lang)
        ),
    }
    if "charger" in v.extra:
        info[t("charger", lang)] = str(v.extra["charger"][i])
    return info


def drilldown_figure(result: Any, i: int, lang: str, height: int = 340) -> go.Figure:
    """One session's SOC [%] (left axis, drawn only while the vehicle is connected: from arrival to departure) and
    power [kW] (right axis, bars) over time, with arrival/departure marks and the target SOC."""
    sc = result.scenario
    v = sc.vehicles
    times = local_naive(sc.times)
    step = pd.Timedelta(minutes=sc.step_minutes)
    soc_x = times.append(pd.DatetimeIndex([times[-1] + step]))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    p = result.power_kw[i]
    arr, dep = int(v.arrival_step[i]), int(v.departure_step[i])
    k = np.arange(len(soc_x))
    soc_pct = np.where((k >= arr) & (k <= dep), 100 * np.asarray(result.soc[i], dtype=float)[: len(soc_x)], np.nan)
    fig.add_trace(
        go.Bar(
            x=times + step / 2,
            y=p,
            name=t("power_kw", lang),
            width=step.total_seconds() * 900,
            marker={"color": np.where(p < 0, "#d62728", "#2ca02c")},
            opacity=0.55,
        ),
        secondary_y=True,
    )
    fig.add_trace(
        go.Scatter(
            x=soc_x,
            y=soc_pct,
            name=t("soc_pct", lang),
            mode="lines",
            line={"color": "#1f77b4", "width": 2.5},
        ),
        secondary_y=False,
    )
    fig.add_hline(
        y=100 * float(v.soc_target[i]),
        line_dash="dash",
        line_color="#2ca02c",
        annotation_text=t("target", lang),
        annotation_position="top left",
    )
    for key, s in (("arrival", int(v.arrival_step[i])), ("departure", int(v.departure_step[i]))):
        fig.add_vline(
            x=soc_x[s], line_dash="dot", line_color="#555", annotation_text=t(key, lang), annotation_position="top"
        )
    fig.update_layout(**LAYOUT, height=height, title={"text": f"{v.id[i]} · {v.model[i]}", "x": 0}, bargap=0)
    fig.update_yaxes(title_text=t("soc_pct", lang), range=[0, 105], secondary_y=False)
    fig.update_yaxes(title_text=t("power_kw", lang), secondary_y=True, showgrid=False, tickmode="auto")
    fig.update_layout(margin={"b": 110})
    return fig


def sources_frame(sources: Mapping[str, Any]) -> pd.DataFrame:
    """One row per number of a model (``evfleet.inputs.catalog_sources.model_sources`` output): field, value, unit,
    status (sourced / assumption / user), reference titles and the first reference's URL."""
    rows = []
    for field, e in sources.get("fields", {}).items():
        refs = e.get("references") or []
        rows.append(
            {
                "field": field,
                "value": str(e.get("value")),
                "unit": e.get("unit", ""),
                "status": e.get("status", ""),
                "reference": "; ".join(str(r.get("title", r.get("id", ""))) for r in refs) or e.get("text", ""),
                "url": str(refs[0].get("url", "")) if refs else "",
            }
        )
    return pd.DataFrame(rows, columns=["field", "value", "unit", "status", "reference", "url"])


def charger_use_figure(scenario: Any, power_kw: np.ndarray, connected: np.ndarray, lang: str,
                       height: int = 300) -> go.Figure:  # fmt: skip
    """Infrastructure use by charger type at one instant: vehicles connected and power drawn [kW] per type."""
    v = scenario.vehicles
    chargers = np.asarray(v.extra.get("charger", np.full(len(v), "-")), dtype=object)
    codes, names = pd.factorize(pd.Series(chargers, dtype=object))
    m = len(names)
    conn = np.asarray(connected, dtype=bool)
    n_conn = np.bincount(codes, weights=conn, minlength=m)
    p = np.bincount(codes, weights=np.where(conn, power_kw, 0.0), minlength=m)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=list(names), y=n_conn, name=t("connected", lang), marker={"color": "#7f7f7f"},
                         offsetgroup=0), secondary_y=False)  # fmt: skip
    fig.add_trace(go.Bar(x=list(names), y=p, name=t("power_kw", lang), marker={"color": "#2ca02c"}, offsetgroup=1),
                  secondary_y=True)  # fmt: skip
    layout = {**LAYOUT, "hovermode": "x unified"}
    fig.update_layout(**layout, height=height, title={"text": t("charger_use", lang), "x": 0}, barmode="group")
    fig.update_yaxes(title_text=t("vehicles", lang), secondary_y=False)
    fig.update_yaxes(title_text=t("power_kw", lang), secondary_y=True, showgrid=False, tickmode="auto")
    return fig
