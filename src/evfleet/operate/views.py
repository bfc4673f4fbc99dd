"""The depot's views, built from the registry: what the REST API answers and what the dashboard's live page shows.

The REST API (``GET /api/v1/site``, ``/setpoints``, ``/connectors``, ...) and the live snapshot the server writes for
the dashboard (:func:`depot_snapshot`, table ``op_live``, read by :func:`read_live_snapshot`) are built by the same
functions, so the dashboard shows exactly what the API says. Units: power [kW], energy [Wh] as the stations report.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evfleet._common.jsonsafe import json_default
from evfleet.operate.registry import Registry, Station

__all__ = ["connectors_view", "depot_snapshot", "setpoints_view", "site_view"]

SNAPSHOT_ALERTS = 50


def connectors_view(stations: list[Station]) -> list[dict[str, Any]]:
    """Every connector of ``stations`` with its status, station online flag and session."""
    out = []
    for st in stations:
        for e in st.evses.values():
            for c in e.connectors.values():
                out.append(
                    {
                        "station_id": st.id,
                        "evse_id": e.id,
                        "connector_id": c.connector_id,
                        "status": c.status,
                        "error_code": c.error_code,
                        "status_at": c.status_at,
                        "online": st.online,
                        "session_id": e.session.id if e.session and e.session.connector_id == c.connector_id else None,
                        "max_power_kw": e.max_power_kw,
                        "phases": e.phases,
                    }
                )
    return out


def setpoints_view(reg: Registry) -> list[dict[str, Any]]:
    """Setpoint vs measured power [kW] of every EVSE with a session (negative: discharging, V2G)."""
    stale_s = reg.config.control.stale_after_s
    now = time.monotonic()
    return [
        {
            "station_id": st.id,
            "evse_id": e.id,
            "connector_id": e.session.connector_id if e.session else None,
            "setpoint_kw": e.setpoint_kw,
            "measured_kw": e.measured_kw,
            "measurement_stale": e.is_stale(stale_s, now),
            "profile_status": e.profile_status,
            "failed": e.failed,
        }
        for st, e in reg.connected_evses()
    ]


def site_view(reg: Registry) -> dict[str, Any]:
    """Site power against its limits (``GET /api/v1/site``). ``import_kw``: base load forecast plus each connected
    EVSE's measured power (its setpoint when the measurement is stale); ``setpoints_kw``: station -> profile target
    (1.6: connector id, 2.0.1: EVSE id) -> kW."""
    cfg = reg.config.site
    stale_s = reg.config.control.stale_after_s
    ev_kw = 0.0
    points: dict[str, dict[str, float | None]] = {}
    stale = 0
    now = time.monotonic()
    for st, e in reg.connected_evses():
        fresh = not e.is_stale(stale_s, now)
        stale += not fresh
        ev_kw += (
            (e.measured_kw or 0.0) if fresh else (e.setpoint_kw if e.setpoint_kw is not None else e.measured_kw or 0.0)
        )
        key = str(e.session.connector_id if st.ocpp_version == "1.6" and e.session else e.id)
        points.setdefault(st.id, {})[key] = e.setpoint_kw
    limit = cfg.limit_kw
    imp = cfg.base_load_kw + ev_kw
    return {
        "import_kw": round(imp, 3),
        "import_limit_kw": cfg.import_limit_kw,
        "subscribed_power_kw": cfg.subscribed_power_kw,
        "export_limit_kw": cfg.export_limit_kw,
        "limit_kw": limit,
        "headroom_kw": round(limit - imp, 3),
        "over_limit": imp > limit + 1e-6,
        "base_load_kw": cfg.base_load_kw,
        "ev_kw": round(ev_kw, 3),
        "n_connected": len(reg.sessions),
        "n_stale_measurements": stale,
        "stations_online": sum(s.online for s in reg.stations.values()),
        "stations": len(reg.stations),
        "setpoints_kw": points,
        "strategy": reg.config.control.strategy,
    }


def depot_snapshot(reg: Registry, plan: dict[str, Any] | None = None, stats: dict[str, Any] | None = None) -> str:
    """The live view as JSON text: site, stations (with EVSEs), active sessions, setpoints, newest alerts, the
    plan's summary and counters; what the dashboard's live page reads (``op_live``)."""
    stale_s = reg.config.control.stale_after_s
    body = {
        "at": time.time(),
        "site": site_view(reg),
        "stations": [st.view(stale_s) for st in reg.stations.values()],
        "sessions": [s.view() for s in reg.sessions.values()],
        "setpoints": setpoints_view(reg),
        "alerts": list(reversed(list(reg.alerts)))[:SNAPSHOT_ALERTS],
        "plan": plan or {},
        "stats": stats or {},
    }
    return json.dumps(body, default=json_default)  # plain Python values already (no numpy): no clean_json walk
