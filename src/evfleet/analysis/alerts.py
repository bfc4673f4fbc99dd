"""Alerts an operator acts on, computed from a run (no Streamlit, no files).

Each :class:`OperatorAlert` has a time (the start of its step), the object it is about (a vehicle, the site, a
connector ``C001/1``, a strategy), a quantity (``value``) against a ``limit`` in ``unit``, a ``severity``
(``info``/``warning``/``critical``), ``reason`` (why, in words) and ``action`` (what to do). Kinds
(:data:`ALERT_KINDS`):

* ``vehicle_not_ready``: a session leaves below its target SOC. ``value`` = kWh short at departure, ``limit`` =
  kWh it needed at plug-in (target - arrival energy); time = departure. ``critical`` when it misses more than half
  of what it needed, else ``warning``. ``reason`` is the simulator's unmet reason (``stay_too_short``,
  ``site_limit``, ``strategy``, ``frequency_response``, or the one a strategy named, see
  :data:`SHORT_REASONS`).
* ``import_limit``: consecutive steps (an episode) where the site's import is at the import limit
  (``site_kw >= import_limit_kw - max(0.1 kW, 0.1 %)``); ``value`` = the episode's peak [kW].
* ``subscribed_limit``: the same against the subscribed power (``subscribed_power_kva`` of the scenario's
  ``tariff`` object when it has one). Compared with the import in kW, i.e. at power factor 1 (an assumption: the
  apparent power is at least this); ``critical`` when the import exceeds it (the contract's overrun charges).
* ``strategy_nothing_to_do``: the strategy had nothing to act on. First the lever checks that ``compare`` flags
  (:func:`evfleet.analysis.levers.nothing_to_do`: load balancing never at the import limit, renewable integration
  with no PV surplus while a vehicle is connected). Then, with an uncontrolled baseline of the same
  scenario: its powers equal the baseline's (within 1e-6 kW). Without one (minimal check, until the strategies
  report it themselves): no session has any slack (every one needs full power for its whole stay) or, for a
  price-driven strategy, the import price is the same at every step.
* ``charger_unused``: a connector that delivers no energy over the run (``info``).
* ``charger_overloaded``: an episode where a connector's power exceeds its ``rating_kw`` (by more than 1e-6 kW).

Units: power [kW], energy [kWh]. Episodes are found vectorised (no loop over vehicles or steps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.tolerances import POWER_EPS_KW, UNMET_TOL_KWH
from evfleet.analysis.levers import nothing_to_do
from evfleet.simulation.simulate import RunResult

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_KINDS",
    "PRICE_STRATEGIES",
    "SEVERITIES",
    "SHORT_REASONS",
    "OperatorAlert",
    "alerts_frame",
    "connector_power_kw",
    "episodes",
    "operator_alerts",
    "subscribed_power_kva",
]

#: Alert kinds -> what they mean (English; the dashboard translates them).
ALERT_KINDS: dict[str, str] = {
    "vehicle_not_ready": "vehicle below its target SOC at departure",
    "import_limit": "site import at the import limit",
    "subscribed_limit": "site import at the subscribed power",
    "strategy_nothing_to_do": "the strategy had nothing to do",
    "charger_unused": "connector unused",
    "charger_overloaded": "connector above its rating",
}
SEVERITIES = ("info", "warning", "critical")
#: Fields of :class:`OperatorAlert`, in order.
ALERT_COLUMNS = ["time", "step", "kind", "object", "value", "limit", "unit", "severity", "reason", "action"]
#: Why a vehicle falls short -> (explanation, what to do), English (the dashboard has fr/en keys ``short_<reason>``).
SHORT_REASONS: dict[str, tuple[str, str]] = {
    "stay_too_short": (
        "even full power from plug-in cannot reach the target before departure",
        "extend the stay, lower the target or use a faster charger",
    ),
    "site_limit": (
        "the site's import limit curtailed its charging",
        "raise the import limit, move other loads, or plug it in earlier",
    ),
    "strategy": (
        "the strategy chose not to charge it fully (a cost trade-off)",
        "raise its priority or the unmet-energy penalty, or choose another strategy",
    ),
    "frequency_response": (
        "it delivered frequency-reserve energy",
        "offer less reserve from this vehicle",
    ),
}
#: Strategies whose only lever is the price signal (nothing to do when the price is flat).
PRICE_STRATEGIES = ("price_optimization", "valley_filling")
_LIMIT_TOL_FRACTION = 1e-3
_LIMIT_TOL_KW = 0.1


@dataclass(frozen=True)
class OperatorAlert:
    """One alert (module docstring): ``time`` tz-aware, ``step`` index, ``value``/``limit`` in ``unit``."""

    time: pd.Timestamp
    step: int
    kind: str
    object: str
    value: float
    limit: float
    unit: str
    severity: str
    reason: str
    action: str

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise InputError(f"field 'kind' must be one of {', '.join(ALERT_KINDS)} (value {self.kind!r})")
        if self.severity not in SEVERITIES:
            raise InputError(f"field 'severity' must be one of {', '.join(SEVERITIES)} (value {self.severity!r})")
        if self.step < 0:
            raise InputError(f"field 'step' must be >= 0 (value {self.step!r})")

    def to_row(self) -> dict[str, Any]:
        """The alert as a row (:data:`ALERT_COLUMNS`), time as ISO-8601 text with its UTC offset."""
        row = asdict(self)
        row["time"] = self.time.isoformat()
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str = "alert") -> OperatorAlert:
        """An alert from a row holding at least :data:`ALERT_COLUMNS` (e.g. an operator row of ``events.csv``)."""
        missing = [c for c in ALERT_COLUMNS if c not in row]
        if missing:
            raise InputError(f"field '{where}.{missing[0]}' is required (value missing)")
        try:
            time = pd.Timestamp(row["time"])
            step = int(row["step"])
            value, limit = float(row["value"]), float(row["limit"])
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"field '{where}' has a bad time, step, value or limit ({exc}) (value {dict(row)!r})"
            ) from None
        text = {k: "" if pd.isna(row[k]) else str(row[k]) for k in ("kind", "object", "unit", "severity",
                                                                     "reason", "action")}  # fmt: skip
        return cls(time, step, text["kind"], text["object"], value, limit, text["unit"], text["severity"],
                   text["reason"], text["action"])  # fmt: skip


def alerts_frame(alerts: Sequence[OperatorAlert]) -> pd.DataFrame:
    """The alerts as a table (:data:`ALERT_COLUMNS`, ``time`` as timestamps), in their order."""
    if not alerts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})
    df = pd.DataFrame([asdict(a) for a in alerts], columns=ALERT_COLUMNS)
    df["time"] = pd.DatetimeIndex([a.time for a in alerts])
    return df


def subscribed_power_kva(scenario: Any) -> float | None:
    """The subscribed power [kVA] of the scenario's tariff (its ``tariff`` object's ``subscribed_power_kva``), or
    None when the scenario carries none (a tariff given by id only)."""
    tariff = scenario.extra.get("tariff")
    if isinstance(tariff, Mapping) and tariff.get("subscribed_power_kva") is not None:
        value = tariff["subscribed_power_kva"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InputError(f"field 'tariff.subscribed_power_kva' must be a number > 0 kVA (value {value!r})")
        return float(value)
    return None


def connector_power_kw(power_kw: np.ndarray, session_connector: np.ndarray, n_connectors: int) -> np.ndarray:
    """Power per connector and step (C, T) [kW]: the sum of its sessions' powers (vectorised)."""
    out = np.zeros((n_connectors, power_kw.shape[1]))
    np.add.at(out, np.asarray(session_connector, dtype=np.int64), power_kw)
    return out


def episodes(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) step indices of the runs of True in ``mask`` (end exclusive)."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _hhmm(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _limit_alerts(result: RunResult, limit_kw: float, kind: str, what: str, action: str) -> list[OperatorAlert]:
    sc = result.scenario
    site = np.asarray(result.site_kw, dtype=float)
    tol = max(_LIMIT_TOL_KW, _LIMIT_TOL_FRACTION * limit_kw)
    starts, ends = episodes(site >= limit_kw - tol)
    times = sc.times
    end_times = times.append(pd.DatetimeIndex([times[-1] + pd.Timedelta(minutes=sc.step_minutes)]))
    out = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        peak = float(site[a:b].max())
        over = peak > limit_kw + tol
        out.append(
            OperatorAlert(
                times[a], a, kind, "site", peak, float(limit_kw), "kW", "critical" if over else "warning",
                f"site import {'above' if over else 'at'} the {what} for {b - a} step(s), "
                f"{_hhmm(times[a])} to {_hhmm(end_times[b])}",
                action,
            )
        )  # fmt: skip
    return out


def _vehicle_alerts(result: RunResult) -> list[OperatorAlert]:
    sc = result.scenario
    v = sc.vehicles
    unmet = np.asarray(result.unmet_kwh, dtype=float)
    idx = np.flatnonzero(unmet > UNMET_TOL_KWH)
    if idx.size == 0:
        return []
    times = sc.times
    all_times = times.append(pd.DatetimeIndex([times[-1] + pd.Timedelta(minutes=sc.step_minutes)]))
    need = np.maximum(v.energy_target_kwh - v.energy_arrival_kwh, 0.0)
    soc_dep = result.soc[np.arange(sc.n_vehicles), v.departure_step]
    out = []
    for i in idx.tolist():  # only the vehicles that fall short (a list for people, not a hot path)
        reason = str(result.unmet_reason[i] or "strategy")
        why, todo = SHORT_REASONS.get(reason, (reason, "check this vehicle's plan"))
        dep = int(v.departure_step[i])
        out.append(
            OperatorAlert(
                all_times[dep], dep, "vehicle_not_ready", str(v.id[i]), float(unmet[i]),
                float(need[i]), "kWh", "critical" if unmet[i] > 0.5 * need[i] else "warning",
                f"{reason}: {why} (SOC {100 * soc_dep[i]:.0f} % at departure {_hhmm(all_times[dep])}, target "
                f"{100 * v.soc_target[i]:.0f} %)",
                todo,
            )
        )  # fmt: skip
    return out


def _nothing_to_do(result: RunResult, baseline: RunResult | None) -> list[OperatorAlert]:
    sc = result.scenario
    if result.strategy == "uncontrolled" or sc.n_steps == 0:
        return []
    t0 = sc.times[0]
    reason = nothing_to_do(result.strategy, result) or ""  # the lever checks of compare (evfleet.analysis.levers)
    if not reason and baseline is not None and baseline.power_kw.shape == result.power_kw.shape:
        diff = float(np.abs(result.power_kw - baseline.power_kw).max(initial=0.0))
        if diff <= POWER_EPS_KW:
            reason = "its charging is identical to uncontrolled charging at every step"
    if not reason:
        v = sc.vehicles
        stay_h = (v.departure_step - v.arrival_step) * sc.dt_h
        deliverable = np.minimum(
            v.energy_ceiling_kwh - v.energy_arrival_kwh, v.charge_efficiency * v.max_charge_kw * stay_h
        )
        need = np.maximum(v.energy_target_kwh - v.energy_arrival_kwh, 0.0)
        if sc.n_vehicles and bool(np.all(deliverable - need <= 1e-6 * np.maximum(need, 1.0))):
            reason = "no session has slack: every vehicle needs full power for its whole stay"
        elif result.strategy in PRICE_STRATEGIES:
            price = np.asarray(sc.price_import_mad_per_kwh, dtype=float)
            if price.size and float(np.ptp(price)) == 0.0 and not getattr(result.options, "v2g", False):
                reason = "the import price is the same at every step: nothing to shift"
    if not reason:
        return []
    return [
        OperatorAlert(t0, 0, "strategy_nothing_to_do", result.strategy, 0.0, 0.0, "kW", "info", reason,
                      "keep uncontrolled charging or change the inputs that give the strategy room "
                      "(import limit, tariff, departure times)")
    ]  # fmt: skip


def _charger_alerts(result: RunResult, layout: Any) -> list[OperatorAlert]:
    sc = result.scenario
    labels = layout.connector_label()
    cp = connector_power_kw(np.maximum(result.power_kw, 0.0), layout.session_connector, len(layout))
    energy = cp.sum(axis=1) * sc.dt_h
    times = sc.times
    out = []
    for c in np.flatnonzero(energy <= UNMET_TOL_KWH).tolist():
        n = int(np.count_nonzero(layout.session_connector == c))
        out.append(
            OperatorAlert(times[0], 0, "charger_unused", str(labels[c]), 0.0, float(layout.rating_kw[c]), "kWh", "info",
                          f"{n} session(s) on it delivered no energy over the run",
                          "reassign vehicles to it or take it out of the layout")
        )  # fmt: skip
    over = np.abs(connector_power_kw(result.power_kw, layout.session_connector, len(layout)))
    over_mask = over > layout.rating_kw[:, None] + POWER_EPS_KW
    for c in np.flatnonzero(over_mask.any(axis=1)).tolist():
        starts, ends = episodes(over_mask[c])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            out.append(
                OperatorAlert(times[a], a, "charger_overloaded", str(labels[c]), float(over[c, a:b].max()),
                              float(layout.rating_kw[c]), "kW", "critical",
                              f"the plan asks more than the connector's rating for {b - a} step(s)",
                              "cap the vehicle at the connector's rating or move it to a more powerful connector")
            )  # fmt: skip
    return out


def operator_alerts(
    result: RunResult,
    layout: Any = None,
    baseline: RunResult | None = None,
    subscribed_kva: float | None = None,
) -> list[OperatorAlert]:
    """Every operator alert of ``result`` (module docstring), sorted by step then kind.

    ``layout``: the :class:`~evfleet.inputs.chargers.ChargerLayout` (charger alerts only when given);
    ``baseline``: the uncontrolled run of the same scenario (for ``strategy_nothing_to_do``; a minimal check
    without it); ``subscribed_kva``: the subscribed power, default :func:`subscribed_power_kva` of the scenario.
    """
    sc = result.scenario
    alerts = _vehicle_alerts(result)
    if sc.n_steps:
        alerts += _limit_alerts(
            result, sc.import_limit_kw, "import_limit", "import limit",
            "shift flexible charging to other hours or raise the import limit",
        )  # fmt: skip
        sub = subscribed_power_kva(sc) if subscribed_kva is None else float(subscribed_kva)
        if sub is not None:
            alerts += _limit_alerts(
                result, sub, "subscribed_limit", "subscribed power",
                "shift charging out of these hours or raise the subscribed power",
            )  # fmt: skip
        alerts += _nothing_to_do(result, baseline)
        if layout is not None:
            alerts += _charger_alerts(result, layout)
    order = {k: i for i, k in enumerate(ALERT_KINDS)}
    alerts.sort(key=lambda a: (a.step, order[a.kind], a.object))
    return alerts
