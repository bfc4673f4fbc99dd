"""The control loop and the fail-safe profiles.

**Loop.** Every ``control.interval_s`` and on every plug-in, plug-out, EV charging-needs message, boot or
disconnection (debounced by ``control.min_replan_gap_s``), :meth:`Controller.cycle` plans the connected vehicles
(:func:`evfleet.operate.planning.plan_depot`) and sends each EVSE with a transaction a ``TxProfile`` (1.6:
``SetChargingProfile`` on its connector with the transaction id; 2.0.1: on its EVSE with the transaction id;
``Relative`` kind, one period from 0, in W or in A per phase as the station declares, with its number of phases).
Lower setpoints are sent before higher ones, so the site never transiently adds a raise before a cut. An EVSE
whose station rejects the profile, answers with a CallError or does not answer within ``control.profile_timeout_s``
is marked ``failed``: its power is then counted at its last measured value, and the others are re-planned at once.
Failed EVSEs get the profile again at the next cycle; an acceptance clears the mark.

**Fail-safe.** At every boot (and reconnection) each station first receives a station-wide default profile that
caps it at its safe share of the site's room (:func:`~evfleet.operate.planning.safe_shares_kw`: ``limit - worst
base load`` in proportion to the stations' maxima, so all caps together fit): 1.6 ``ChargePointMaxProfile`` on
connector 0, 2.0.1 ``ChargingStationMaxProfile`` on EVSE 0 (``Absolute``, starting 2000-01-01 so that a station's
skewed clock cannot make it not yet valid). A station that refuses it gets a ``TxDefaultProfile`` on connector/EVSE
0 with its share divided by its EVSE count instead. The stations keep these profiles when evfleet stops, crashes
or loses the network, so the site stays within its limit (``docs/operate.md``, failure modes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import datetime
from typing import Any

from evfleet.operate.csms import CentralSystem, OperatorCallError
from evfleet.operate.planning import Plan, load_site_tariff, make_strategy, plan_depot, safe_shares_kw
from evfleet.operate.registry import Evse, Registry, Station

__all__ = ["DEFAULT_PROFILE_ID", "Controller", "default_profile_payload", "limit_in_unit", "tx_profile_payload"]

LOG = logging.getLogger("evfleet.operate.control")

DEFAULT_PROFILE_ID = 1
TX_PROFILE_BASE_ID = 1000
_FAILSAFE_START = "2000-01-01T00:00:00Z"


def limit_in_unit(kw: float, unit: str, phases: int, voltage_v: float, signed: bool = False) -> float:
    """A limit of ``kw`` [kW] in the station's unit: W, or A per phase; its magnitude rounded down to 0.1.
    Negative (a discharge) only when ``signed``; else at least 0."""
    value = kw * 1000.0 if unit == "W" else kw * 1000.0 / (voltage_v * max(phases, 1))
    if not signed:
        value = max(value, 0.0)
    return math.copysign(math.floor(abs(value) * 10.0 + 1e-6) / 10.0, value) + 0.0


def may_discharge(st: Station, evse: Evse) -> bool:
    """Whether ``evse`` may get a negative (discharge) TxProfile limit: an OCPP 2.0.1 station whose EVSE is
    declared bidirectional. OCPP 1.6 has no discharge in its profiles: its setpoints are clamped at 0."""
    return st.ocpp_version == "2.0.1" and evse.bidirectional


def default_profile_payload(st: Station, kw: float, purpose: str = "max") -> dict[str, Any]:
    """The fail-safe SetChargingProfile payload (camelCase, as on the wire) capping ``st`` at ``kw`` [kW].

    ``purpose``: ``max`` (ChargePointMaxProfile / ChargingStationMaxProfile) or ``txdefault`` (TxDefaultProfile on
    connector/EVSE 0, ``kw`` per EVSE)."""
    phases = max((e.phases for e in st.evses.values()), default=3)
    period = {
        "startPeriod": 0,
        "limit": limit_in_unit(kw, st.charging_rate_unit, phases, st.voltage_v),
        "numberPhases": phases,
    }
    if st.ocpp_version == "1.6":
        return {
            "connectorId": 0,
            "csChargingProfiles": {
                "chargingProfileId": DEFAULT_PROFILE_ID,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile" if purpose == "max" else "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "startSchedule": _FAILSAFE_START,
                    "chargingRateUnit": st.charging_rate_unit,
                    "chargingSchedulePeriod": [period],
                },
            },
        }
    return {
        "evseId": 0,
        "chargingProfile": {
            "id": DEFAULT_PROFILE_ID,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile" if purpose == "max" else "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": DEFAULT_PROFILE_ID,
                    "startSchedule": _FAILSAFE_START,
                    "chargingRateUnit": st.charging_rate_unit,
                    "chargingSchedulePeriod": [period],
                }
            ],
        },
    }


def tx_profile_payload(st: Station, evse: Evse, kw: float) -> dict[str, Any]:
    """The TxProfile SetChargingProfile payload (camelCase) setting ``evse``'s transaction to ``kw`` [kW]; a
    negative ``kw`` (V2G discharge) gives a negative ``limit`` where :func:`may_discharge`, else 0."""
    s = evse.session
    assert s is not None
    period = {
        "startPeriod": 0,
        "limit": limit_in_unit(kw, st.charging_rate_unit, evse.phases, st.voltage_v, signed=may_discharge(st, evse)),
        "numberPhases": evse.phases,
    }
    pid = TX_PROFILE_BASE_ID + evse.id
    if st.ocpp_version == "1.6":
        profile: dict[str, Any] = {
            "chargingProfileId": pid,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": st.charging_rate_unit, "chargingSchedulePeriod": [period]},
        }
        if s.id.isdigit():
            profile["transactionId"] = int(s.id)
        return {"connectorId": s.connector_id, "csChargingProfiles": profile}
    return {
        "evseId": evse.id,
        "chargingProfile": {
            "id": pid,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "transactionId": s.id,
            "chargingSchedule": [
                {"id": pid, "chargingRateUnit": st.charging_rate_unit, "chargingSchedulePeriod": [period]}
            ],
        },
    }


class Controller:
    """Runs the control loop over ``registry`` through ``csms`` (start with :meth:`run` as a task)."""

    def __init__(self, registry: Registry, csms: CentralSystem) -> None:
        self.registry = registry
        self.csms = csms
        self.config = registry.config
        self.strategy = make_strategy(self.config.control.strategy)
        self.tariff = load_site_tariff(self.config)
        self.plan: Plan | None = None
        self.cycles = 0
        self.last_cycle_s: float | None = None
        self.profiles_sent = 0
        self._wake = asyncio.Event()
        self._reasons: set[str] = set()
        self._station_locks: dict[str, asyncio.Lock] = {}
        self._cycle_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        registry.listeners.append(self._on_event)

    # -- events ------------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_event(self, event: str, payload: Any) -> None:
        if self._stopping:
            return
        if event == "boot" or (event == "online" and payload.boot_at and payload.registration == "Accepted"):
            self._spawn(self.station_ready(payload))
        elif event in ("plug_in", "plug_out", "offline", "replan", "station"):
            self.request_replan(event if event != "replan" else str(payload))

    def request_replan(self, reason: str) -> None:
        """Ask for a cycle as soon as the debounce allows."""
        self._reasons.add(reason)
        self._wake.set()

    # -- per station ---------------------------------------------------------------------------------------

    def _lock(self, sid: str) -> asyncio.Lock:
        return self._station_locks.setdefault(sid, asyncio.Lock())

    async def station_ready(self, st: Station) -> None:
        """After a boot or a reconnection: the station's rate unit, its fail-safe profile, then a re-plan (which
        re-sends its transactions' profiles)."""
        async with self._lock(st.id):
            if st.link is None:
                return
            await self.query_rate_unit(st)
            await self.send_default_profile(st)
        self.request_replan("station_ready")

    async def query_rate_unit(self, st: Station) -> None:
        """Ask the station which charging-rate unit it takes (1.6 ``ChargingScheduleAllowedChargingRateUnit``,
        2.0.1 ``SmartChargingCtrlr.RateUnit``); keep the registered unit when it does not say."""
        timeout = self.config.control.profile_timeout_s
        try:
            if st.ocpp_version == "1.6":
                kind, res = await self.csms.call(
                    st.id, "GetConfiguration", {"key": ["ChargingScheduleAllowedChargingRateUnit"]}, timeout
                )
                values = (
                    [k.get("value", "") for k in (res.get("configurationKey") or [])] if kind == "CallResult" else []
                )
                text = ",".join(values)
                units = {"Power": "W", "Current": "A"}
                found = [units[u.strip()] for u in text.split(",") if u.strip() in units]
            else:
                kind, res = await self.csms.call(
                    st.id,
                    "GetVariables",
                    {
                        "getVariableData": [
                            {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "RateUnit"}}
                        ]
                    },
                    timeout,
                )
                results = res.get("getVariableResult") or [] if kind == "CallResult" else []
                text = ",".join(r.get("attributeValue", "") for r in results if r.get("attributeStatus") == "Accepted")
                found = [u.strip() for u in text.split(",") if u.strip() in ("W", "A")]
        except OperatorCallError:
            return
        if found and st.charging_rate_unit not in found:
            st.charging_rate_unit = found[0]
            self.registry.persist_station(st)

    async def send_default_profile(self, st: Station) -> str:
        """Send the fail-safe profile (see module docstring); return the station's answer."""
        shares = safe_shares_kw(self.config, list(self.registry.stations.values()))
        kw = shares.get(st.id, 0.0)
        status = await self._send(st, default_profile_payload(st, kw, "max"))
        purpose = "ChargePointMaxProfile"
        if status != "Accepted":
            per_evse = kw / max(len(st.evses), 1)
            status2 = await self._send(st, default_profile_payload(st, per_evse, "txdefault"))
            if status2 == "Accepted":
                status, purpose = status2, "TxDefaultProfile"
            self.registry.alert(
                "failsafe_profile",
                f"ChargePointMaxProfile {status if status2 == 'Accepted' else 'refused'}; "
                f"TxDefaultProfile {status2} ({per_evse:.1f} kW per EVSE)",
                st.id,
                level="warning" if status2 == "Accepted" else "error",
            )
        st.default_profile_kw, st.default_profile_status = kw, status
        self.registry.record_profile(st, 0, purpose, kw, status)
        return status

    async def _send(self, st: Station, payload: dict[str, Any]) -> str:
        """SetChargingProfile ``payload``; the station's status, or ``CallError``/``Timeout``/``Offline``/``Schema``."""
        try:
            kind, res = await self.csms.call(
                st.id, "SetChargingProfile", payload, self.config.control.profile_timeout_s
            )
        except OperatorCallError as exc:
            return {"timeout": "Timeout", "offline": "Offline", "schema": "Schema"}.get(exc.kind, "Error")
        self.profiles_sent += 1
        if kind != "CallResult":
            return "CallError"
        return str(res.get("status", "Unknown"))

    # -- the cycle -----------------------------------------------------------------------------------------

    async def cycle(self, reason: str = "interval") -> Plan:
        """Plan and send every connected EVSE its profile; re-plan at once when some fail."""
        async with self._cycle_lock:
            t0 = time.perf_counter()
            plan = self._plan()
            failed = await self._send_plan(plan)
            if failed:
                LOG.warning("%d profile(s) failed; re-planning the others", failed)
                plan = self._plan()
                await self._send_plan(plan, only_changed=True)
            self.plan = plan
            self.cycles += 1
            self.last_cycle_s = time.perf_counter() - t0
            self.registry.flush_sessions()
            return plan

    def _plan(self) -> Plan:
        now: datetime = self.registry.clock()
        return plan_depot(self.config, self.strategy, self.registry.connected_evses(), now, self.tariff)

    async def _send_plan(self, plan: Plan, only_changed: bool = False) -> int:
        """Send ``plan`` (cuts first, then raises; failed EVSEs retried at their counted power); return how many
        EVSEs newly failed."""
        items: list[tuple[Station, Evse, float]] = []
        for (sid, eid), kw in list(plan.setpoints_kw.items()) + list(plan.fixed_kw.items()):
            st = self.registry.stations.get(sid)
            evse = st.evses.get(eid) if st else None
            if st is None or evse is None or evse.session is None or st.link is None:
                continue
            if only_changed and evse.setpoint_kw is not None and abs(evse.setpoint_kw - kw) < 0.05:
                continue
            items.append((st, evse, kw))
        cuts = [i for i in items if i[1].setpoint_kw is None or i[2] < i[1].setpoint_kw]
        raises = [i for i in items if not (i[1].setpoint_kw is None or i[2] < i[1].setpoint_kw)]
        newly_failed = 0
        for wave in (cuts, raises):
            results = await asyncio.gather(*(self._send_tx(st, evse, kw) for st, evse, kw in wave))
            newly_failed += sum(results)
        return newly_failed

    async def _send_tx(self, st: Station, evse: Evse, kw: float) -> bool:
        """Send one TxProfile; True when the EVSE newly failed."""
        if kw < 0 and not may_discharge(st, evse):
            kw = 0.0  # never a discharge where the station cannot take one (planning already prevents it)
        status = await self._send(st, tx_profile_payload(st, evse, kw))
        evse.profile_status = status
        if status == "Accepted":
            evse.setpoint_kw = kw
            if evse.failed is not None:
                self.registry.alert("profile_recovered", f"EVSE {evse.id} accepts profiles again", st.id, level="info")
            evse.failed = None
            self.registry.record_profile(st, evse.id, "TxProfile", kw, status)
            return False
        was = evse.failed
        evse.failed = status
        if was is None:
            self.registry.alert(
                "profile_failed",
                f"EVSE {evse.id}: TxProfile {status}; counted at its last measured power "
                f"({evse.measured_kw if evse.measured_kw is not None else evse.max_power_kw} kW)",
                st.id,
            )
            return True
        return False

    async def run(self) -> None:
        """The loop: a cycle every ``interval_s`` or when asked (debounced); until cancelled."""
        c = self.config.control
        last = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(c.interval_s - (time.monotonic() - last), 0.01))
            gap = c.min_replan_gap_s - (time.monotonic() - last)
            if gap > 0:
                await asyncio.sleep(gap)
            self._wake.clear()
            reasons, self._reasons = self._reasons or {"interval"}, set()
            last = time.monotonic()
            try:
                await self.cycle(",".join(sorted(reasons)))
            except Exception:  # a cycle that fails must not stop the loop (the fail-safe profiles stay)
                LOG.exception("control cycle failed")
                self.registry.alert("control_cycle", "a control cycle failed (see the server log)", level="error")

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
