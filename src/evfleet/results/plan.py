"""The charging plan of a run: each vehicle's and each connector's setpoints over time, and its exports.

:func:`build_plan` turns a :class:`~evfleet.simulation.simulate.RunResult` into a :class:`RunPlan`: per session its
connector (:func:`evfleet.inputs.chargers.charger_layout`), arrival, departure, target, expected SOC at departure,
kWh short and why (the simulator's unmet reason, :data:`evfleet.analysis.alerts.SHORT_REASONS`), and its setpoint
per step; per connector the sum of its sessions' setpoints. The setpoints are the powers the simulator applied
(the strategy's plan after the physics: power bounds, SOC window, site protection), grid side, in kW (charging
positive, V2G negative).

Exports (``evfleet plan RUN_DIR --format csv|json|ocpp``, the dashboard's Plan page):

* :func:`plan_csv`: one row per vehicle x step (:data:`PLAN_CSV_COLUMNS`); dialect ``excel`` (``,`` and a decimal
  point, UTF-8) or ``excel-fr`` (``;`` and a decimal comma, UTF-8 with a byte-order mark so that French Excel reads
  the accents);
* :func:`plan_json`: the plan as one JSON object (``format: evfleet.plan/1``);
* :func:`ocpp_profiles`: the OCPP 2.0.1 ``SetChargingProfile`` requests a central system would send
  (``format: evfleet.ocpp-profiles/1``): **one TxProfile per session** (transaction) on its connector, so a
  connector shared by several sessions over the day gets one profile per session, each valid for its own
  transaction only. Station = ``charger_id``, ``evseId`` = the connector number (one EVSE per connector);
  ``Absolute`` kind, ``startSchedule`` = the plug-in time (UTC), ``duration`` = the stay [s]; one period per
  change of setpoint, ``startPeriod`` in seconds from plug-in, ``limit`` in W (``chargingRateUnit`` ``W``)
  rounded down to 0.1 W, ``numberPhases`` the connector's phases (omitted on DC); ``transactionId`` = the session
  id (the station's transaction id replaces it at plug-in); profile ``id`` = 1000 + the session's index,
  ``stackLevel`` 1. A V2G (discharging) step has a negative ``limit``: valid against the 2.0.1 schema, but a
  2.0.1 station has no discharge semantics (OCPP 2.1's V2X does), so the document's ``notes`` say so when any
  step discharges. :func:`setpoints_from_profiles` reads the profiles back into setpoints and
  :func:`replay_profiles` simulates them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.jsonsafe import clean_json
from evfleet._common.text import csv_safe_frame
from evfleet._common.tolerances import UNMET_TOL_KWH
from evfleet.analysis.alerts import SHORT_REASONS, connector_power_kw
from evfleet.inputs.chargers import CHARGER_TYPE_SPECS, ChargerLayout, charger_layout
from evfleet.problem import ChargingProblem
from evfleet.scenario import Scenario
from evfleet.simulation.simulate import RunResult, SimulationOptions, simulate
from evfleet.strategies.base import Strategy

__all__ = [
    "CSV_KWH_DECIMALS",
    "CSV_KW_DECIMALS",
    "CSV_SOC_DECIMALS",
    "DIALECTS",
    "OCPP_MAX_PERIODS",
    "OCPP_PROFILE_BASE_ID",
    "PLAN_CSV_COLUMNS",
    "PLAN_FORMATS",
    "RunPlan",
    "build_plan",
    "ocpp_profiles",
    "plan_csv",
    "plan_export",
    "plan_json",
    "plan_table",
    "replay_profiles",
    "setpoints_from_profiles",
]

#: ``--format`` values of ``evfleet plan``.
PLAN_FORMATS = ("csv", "json", "ocpp")
#: CSV dialects: name -> (separator, decimal mark, encoding).
DIALECTS: dict[str, tuple[str, str, str]] = {"excel": (",", ".", "utf-8"), "excel-fr": (";", ",", "utf-8-sig")}
#: Columns of the plan CSV (one row per vehicle x step).
PLAN_CSV_COLUMNS = [
    "vehicle_id", "model", "charger_id", "connector", "step", "time", "connected", "setpoint_kw", "soc",
    "arrival_time", "departure_time", "soc_target", "soc_departure_expected", "unmet_kwh", "short_reason",
]  # fmt: skip
#: Decimals of the CSV's numbers: kW to 0.1 W (the OCPP resolution), SOC to 1e-6, kWh to 1 Wh.
CSV_KW_DECIMALS, CSV_SOC_DECIMALS, CSV_KWH_DECIMALS = 4, 6, 3
OCPP_PROFILE_BASE_ID = 1000
#: ``chargingSchedulePeriod`` holds at most this many periods (OCPP 2.0.1 schema).
OCPP_MAX_PERIODS = 1024
_TRANSACTION_ID_MAX = 36


@dataclass(frozen=True, eq=False)
class RunPlan:
    """A run's plan. ``vehicles``: one row per session; ``chargers``: one row per connector; ``setpoint_kw``
    (N, T) and ``connector_kw`` (C, T) [kW]; ``soc`` (N, T+1); ``times`` (T+1,) the step boundaries."""

    scenario: Scenario
    strategy: str
    mode: str
    layout: ChargerLayout
    vehicles: pd.DataFrame
    chargers: pd.DataFrame
    setpoint_kw: np.ndarray
    connector_kw: np.ndarray
    soc: np.ndarray
    times: pd.DatetimeIndex

    @property
    def n_short(self) -> int:
        """Sessions that leave below target."""
        return int((self.vehicles["unmet_kwh"] > UNMET_TOL_KWH).sum())


def _iso(times: pd.DatetimeIndex) -> list[str]:
    return [t.isoformat() for t in times]


def build_plan(result: RunResult) -> RunPlan:
    """The :class:`RunPlan` of ``result`` (module docstring); raises ``InputError`` on a bad charger layout."""
    sc = result.scenario
    v = sc.vehicles
    n = sc.n_vehicles
    layout = charger_layout(sc)
    times = sc.times.append(pd.DatetimeIndex([sc.times[-1] + pd.Timedelta(minutes=sc.step_minutes)]))
    p = np.asarray(result.power_kw, dtype=float)
    soc_dep = result.soc[np.arange(n), v.departure_step]
    reason = np.asarray(result.unmet_reason, dtype=object)
    labels = layout.connector_label()
    sess_conn = np.asarray(layout.session_connector, dtype=np.int64)
    vehicles = pd.DataFrame(
        {
            "id": v.id.astype(str),
            "model": v.model.astype(str),
            "charger_id": layout.charger_id[sess_conn].astype(str),
            "connector": labels[sess_conn].astype(str),
            "arrival_step": v.arrival_step,
            "departure_step": v.departure_step,
            "arrival_time": _iso(times[v.arrival_step]),
            "departure_time": _iso(times[v.departure_step]),
            "battery_kwh": v.battery_kwh,
            "soc_arrival": v.soc_arrival,
            "soc_target": v.soc_target,
            "soc_departure_expected": soc_dep,
            "energy_charged_kwh": np.maximum(p, 0.0).sum(axis=1) * sc.dt_h,
            "energy_discharged_kwh": np.maximum(-p, 0.0).sum(axis=1) * sc.dt_h,
            "peak_kw": np.abs(p).max(axis=1, initial=0.0),
            "unmet_kwh": np.asarray(result.unmet_kwh, dtype=float),
            "short_reason": np.where(result.unmet_kwh > UNMET_TOL_KWH, reason, "").astype(str),
            "short_explanation": [SHORT_REASONS.get(str(r), (str(r), ""))[0] if r else "" for r in reason],
        }
    )
    cp = connector_power_kw(p, sess_conn, len(layout))
    counts = np.bincount(sess_conn, minlength=len(layout))
    chargers = pd.DataFrame(
        {
            "charger_id": layout.charger_id.astype(str),
            "connector": labels.astype(str),
            "connector_number": layout.connector.astype(int),
            "type": layout.charger_type.astype(str),
            "rating_kw": layout.rating_kw.astype(float),
            "phases": layout.phases.astype(int),
            "phase": layout.phase.astype(str),
            "bidirectional": layout.bidirectional.astype(bool),
            "n_sessions": counts,
            "energy_kwh": np.maximum(cp, 0.0).sum(axis=1) * sc.dt_h,
            "peak_kw": np.abs(cp).max(axis=1, initial=0.0),
            "utilisation_pct": 100.0
            * np.maximum(cp, 0.0).sum(axis=1)
            / np.maximum(layout.rating_kw * sc.n_steps, 1e-12),
        }
    )
    return RunPlan(sc, result.strategy, result.options.mode, layout, vehicles, chargers, p, cp,
                   np.asarray(result.soc, dtype=float), times)  # fmt: skip


def plan_table(plan: RunPlan, formula_safe: bool = False) -> pd.DataFrame:
    """One row per vehicle x step (:data:`PLAN_CSV_COLUMNS`), vectorised; ``soc`` at the start of the step.
    Numbers rounded to :data:`CSV_KW_DECIMALS` (kW), :data:`CSV_SOC_DECIMALS` (SOC), :data:`CSV_KWH_DECIMALS` (kWh).

    ``formula_safe``: text cells made formula-safe (:func:`~evfleet._common.text.csv_safe_frame`) once per session
    before they are repeated over the steps."""
    sc = plan.scenario
    n, T = plan.setpoint_kw.shape
    veh = csv_safe_frame(plan.vehicles) if formula_safe else plan.vehicles
    i = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(T), n)
    arr, dep = veh["arrival_step"].to_numpy(), veh["departure_step"].to_numpy()
    time_text = np.array(_iso(sc.times), dtype=object)
    df = pd.DataFrame(
        {
            "vehicle_id": veh["id"].to_numpy()[i],
            "model": veh["model"].to_numpy()[i],
            "charger_id": veh["charger_id"].to_numpy()[i],
            "connector": veh["connector"].to_numpy()[i],
            "step": t,
            "time": time_text[t],
            "connected": ((arr[i] <= t) & (t < dep[i])).astype(np.int8),
            "setpoint_kw": np.round(plan.setpoint_kw.ravel(), CSV_KW_DECIMALS) + 0.0,  # no -0.0
            "soc": np.round(plan.soc[:, :T].ravel(), CSV_SOC_DECIMALS),
            "arrival_time": veh["arrival_time"].to_numpy()[i],
            "departure_time": veh["departure_time"].to_numpy()[i],
            "soc_target": veh["soc_target"].to_numpy()[i],
            "soc_departure_expected": np.round(veh["soc_departure_expected"].to_numpy(), CSV_SOC_DECIMALS)[i],
            "unmet_kwh": np.round(veh["unmet_kwh"].to_numpy(), CSV_KWH_DECIMALS)[i],
            "short_reason": veh["short_reason"].to_numpy()[i],
        }
    )
    return df[PLAN_CSV_COLUMNS]


def plan_csv(plan: RunPlan, dialect: str = "excel") -> bytes:
    """The plan CSV (:func:`plan_table`) in ``dialect`` (:data:`DIALECTS`), formula-safe text cells."""
    if dialect not in DIALECTS:
        raise InputError(f"option '--dialect' must be one of {', '.join(DIALECTS)} (value {dialect!r})")
    sep, dec, enc = DIALECTS[dialect]
    text = plan_table(plan, formula_safe=True).to_csv(index=False, sep=sep, decimal=dec)
    return text.encode(enc)


def plan_json(plan: RunPlan) -> dict[str, Any]:
    """The plan as one JSON-ready object (``format: evfleet.plan/1``): run facts, per vehicle its facts and
    ``setpoints_kw`` from ``arrival_step`` to ``departure_step`` (exclusive), per connector ``power_kw`` over every
    step."""
    sc = plan.scenario
    vehicles = []
    for rec, a, b, row in zip(
        plan.vehicles.to_dict(orient="records"),
        plan.vehicles["arrival_step"].to_numpy(),
        plan.vehicles["departure_step"].to_numpy(),
        plan.setpoint_kw,
        strict=True,
    ):
        vehicles.append({**clean_json(rec), "setpoints_kw": row[a:b].tolist()})
    chargers = [
        {**clean_json(rec), "power_kw": row.tolist()}
        for rec, row in zip(plan.chargers.to_dict(orient="records"), plan.connector_kw, strict=True)
    ]
    return {
        "format": "evfleet.plan/1",
        "scenario": sc.name,
        "strategy": plan.strategy,
        "mode": plan.mode,
        "start": sc.start.isoformat(),
        "timezone": sc.timezone,
        "step_minutes": sc.step_minutes,
        "n_steps": sc.n_steps,
        "times": _iso(plan.times[:-1]),
        "layout_source": plan.layout.source,
        "units": {"setpoints_kw": "kW, grid side, charging > 0", "soc": "fraction 0-1", "energy": "kWh"},
        "vehicles": vehicles,
        "chargers": chargers,
    }  # setpoints are finite (the simulator's powers): no NaN to clean in the long lists


def _utc_z(t: pd.Timestamp) -> str:
    return t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _limit_w(kw: np.ndarray) -> np.ndarray:
    """kW -> W rounded towards zero to 0.1 W (OCPP: at most one decimal)."""
    w = np.asarray(kw, dtype=float) * 1000.0
    return np.sign(w) * np.floor(np.abs(w) * 10.0 + 1e-6) / 10.0


def ocpp_profiles(plan: RunPlan) -> dict[str, Any]:
    """The OCPP 2.0.1 ``SetChargingProfile`` requests of the plan (module docstring), sorted by connector then
    plug-in. Raises ``InputError`` naming the session when its id is longer than 36 characters (``transactionId``)
    or its plan needs more than :data:`OCPP_MAX_PERIODS` periods."""
    sc = plan.scenario
    veh = plan.vehicles
    layout = plan.layout
    step_s = sc.step_minutes * 60
    order = np.lexsort((veh["arrival_step"].to_numpy(), layout.session_connector))
    dc = {name for name, spec in CHARGER_TYPE_SPECS.items() if spec[1] == "DC"}
    profiles = []
    discharge = False
    labels = layout.connector_label()
    ids = veh["id"].to_numpy()
    arrival, departure = veh["arrival_step"].to_numpy(), veh["departure_step"].to_numpy()
    net_kwh = (veh["energy_charged_kwh"] - veh["energy_discharged_kwh"]).to_numpy()
    for i in order.tolist():  # one request per session: built per session by nature (a JSON document)
        sid = str(ids[i])
        if len(sid) > _TRANSACTION_ID_MAX:
            raise InputError(f"field 'vehicles.id[{i}]' must have at most {_TRANSACTION_ID_MAX} characters to be an "
                             f"OCPP transactionId (value {sid!r})")  # fmt: skip
        a, b = int(arrival[i]), int(departure[i])
        c = int(layout.session_connector[i])
        limits = _limit_w(plan.setpoint_kw[i, a:b]) if b > a else np.zeros(1)
        change = np.flatnonzero(np.concatenate([[True], limits[1:] != limits[:-1]]))
        if change.size > OCPP_MAX_PERIODS:
            raise InputError(f"field 'vehicles.id[{i}]': session {sid!r} needs {change.size} schedule periods, more "
                             f"than OCPP's {OCPP_MAX_PERIODS} (value {change.size})")  # fmt: skip
        discharge = discharge or bool((limits < 0).any())
        ctype = str(layout.charger_type[c])
        periods = []
        for k in change.tolist():
            period: dict[str, Any] = {"startPeriod": int(k * step_s), "limit": float(limits[k])}
            if ctype not in dc:
                period["numberPhases"] = int(layout.phases[c])
            periods.append(period)
        pid = OCPP_PROFILE_BASE_ID + i
        request = {
            "evseId": int(layout.connector[c]),
            "chargingProfile": {
                "id": pid,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Absolute",
                "transactionId": sid,
                "chargingSchedule": [
                    {
                        "id": pid,
                        "startSchedule": _utc_z(plan.times[a]),
                        "duration": int(max(b - a, 0) * step_s),
                        "chargingRateUnit": "W",
                        "chargingSchedulePeriod": periods,
                    }
                ],
            },
        }
        profiles.append(
            {
                "station_id": str(layout.charger_id[c]),
                "evse_id": int(layout.connector[c]),
                "connector": str(labels[c]),
                "session_id": sid,
                "vehicle_index": i,
                "start": plan.times[a].isoformat(),
                "end": plan.times[b].isoformat(),
                "energy_kwh": float(net_kwh[i]),
                "request": request,
            }
        )
    notes = [
        "one TxProfile per session (transaction); a connector shared over the day gets one profile per session",
        "transactionId is the session id of the scenario: replace it by the station's transaction id at plug-in",
    ]
    if discharge:
        notes.append("negative limits are V2G discharge: OCPP 2.0.1 stations cannot discharge on a TxProfile "
                     "(OCPP 2.1 V2X); send them only to stations that support it")  # fmt: skip
    return {
        "format": "evfleet.ocpp-profiles/1",
        "ocpp_version": "2.0.1",
        "action": "SetChargingProfile",
        "scenario": sc.name,
        "strategy": plan.strategy,
        "charging_rate_unit": "W",
        "layout_source": layout.source,
        "notes": notes,
        "profiles": profiles,
    }


def setpoints_from_profiles(doc: Mapping[str, Any], scenario: Scenario) -> np.ndarray:
    """Setpoints (N, T) [kW] of the scenario's sessions from an :func:`ocpp_profiles` document: each profile's
    periods on its transaction's steps (matched by ``transactionId`` = session id). An unknown transaction or a
    schedule that does not start on a step raises ``InputError``."""
    ids = {str(x): k for k, x in enumerate(scenario.vehicles.id)}
    out = np.zeros((scenario.n_vehicles, scenario.n_steps))
    step_s = scenario.step_minutes * 60
    t0 = scenario.start
    for j, prof in enumerate(doc.get("profiles", [])):
        cp = prof["request"]["chargingProfile"]
        sid = str(cp.get("transactionId"))
        if sid not in ids:
            raise InputError(f"field 'profiles[{j}].request.chargingProfile.transactionId' is not a session of the "
                             f"scenario (value {sid!r})")  # fmt: skip
        sched = cp["chargingSchedule"][0]
        start_s = (pd.Timestamp(sched["startSchedule"]) - t0).total_seconds()
        if start_s % step_s:
            raise InputError(
                f"field 'profiles[{j}].startSchedule' must fall on a step (value {sched['startSchedule']!r})"
            )
        a = int(start_s // step_s)
        b = a + math.ceil(int(sched.get("duration", 0)) / step_s)
        periods = sched["chargingSchedulePeriod"]
        starts = [a + int(p["startPeriod"]) // step_s for p in periods] + [b]
        for p, s0, s1 in zip(periods, starts[:-1], starts[1:], strict=True):
            out[ids[sid], s0:s1] = float(p["limit"]) / 1000.0
    return out


class _Replay(Strategy):
    """Fixed setpoints (N, T) [kW] given in advance: what a station does with an exported profile."""

    name = "replay"

    def __init__(self, setpoints_kw: np.ndarray) -> None:
        super().__init__()
        self.setpoints_kw = np.asarray(setpoints_kw, dtype=float)

    def schedule(self, problem: ChargingProblem) -> np.ndarray:
        idx = np.asarray(problem.vehicle_index)
        return self.setpoints_kw[idx, problem.t0 : problem.t0 + problem.n_steps]


def replay_profiles(doc: Mapping[str, Any], scenario: Scenario, v2g: bool = True) -> RunResult:
    """Simulate the scenario with the profiles' limits as setpoints (offline: the stations follow their profiles)."""
    return simulate(scenario, _Replay(setpoints_from_profiles(doc, scenario)), SimulationOptions(v2g=v2g))


def plan_export(plan: RunPlan, fmt: str, dialect: str = "excel") -> bytes:
    """The export of ``plan`` in ``fmt`` (:data:`PLAN_FORMATS`) as bytes (what ``evfleet plan`` writes)."""
    if fmt not in PLAN_FORMATS:
        raise InputError(f"option '--format' must be csv, json or ocpp (value {fmt!r})")
    if dialect not in DIALECTS:
        raise InputError(f"option '--dialect' must be one of {', '.join(DIALECTS)} (value {dialect!r})")
    if fmt == "csv":
        return plan_csv(plan, dialect)
    data = plan_json(plan) if fmt == "json" else ocpp_profiles(plan)
    # no indent: the C encoder (a 2,000-vehicle plan in a fraction of the time); `python -m json.tool` pretty-prints
    return (json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
