"""The live plan at near departures (``plan_depot`` at a fixed "now", no server, no wall clock).

The depot of ``test_operate_control.py``: site 60 kW, base load 5 kW (room 55 kW), three stations of 44 kW with
two 22 kW EVSEs each, every station under its accepted fail-safe cap of 16.6 kW (the stations together take at
most 49.8 kW), six vehicles of 60 kWh at 30 % (OCPP 1.6: the arrival estimate) or 20 % SOC (an EV reporting its
SoC), target 80 %: 30-36 kWh each, more than a station's share (8.3 kW) can bring by a departure 2.3 h or 30 min
away. Every strategy that charges then must fill each station's room.

Before the fix (found from 04:35 local, where the next 07:00 local is 2.3 h away), load balancing gave its
least-laxity vehicles their necessary rates (13.0 kW x 4 + 2.8 kW), the stations of the first four cut them to
16.6 kW, and the cut power went to nobody: EVSEs at 2.8 and 0 kW, 36.0 of the 49.8 kW used (27.6 kW at 30 min).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from evfleet.operate.config import load_config
from evfleet.operate.planning import build_live_problem, enforce_limits, first_step_within_stations, plan_depot
from evfleet.operate.registry import Evse, Registry, Session, Station
from evfleet.strategies import get_strategy, strategy_names

SITE = {"import_limit_kw": 60.0, "base_load_kw": 5.0, "base_load_max_kw": 10.0}
ROOM_KW = 3 * 16.6  # what the stations may take together (below the site's 55 kW)
# 04:42 local (Africa/Casablanca is UTC+1 in December): the default departure, the next 07:00 local, is 2.3 h away
NOW = datetime(2026, 12, 4, 3, 42, tzinfo=UTC)
# every strategy the operate planner can use charges at once when no vehicle can reach its target (the timer too:
# without a tariff every hour is off-peak for it)
CHARGING_NOW = strategy_names()


def _depot(departure_h: float | None, soc: float = 0.3, config: dict | None = None):
    """The depot with six plugged vehicles; ``departure_h`` from NOW, or None: the site's default rule."""
    cfg = load_config(data={"site": SITE, **(config or {})})
    reg = Registry(cfg, None, clock=lambda: NOW)
    evses = []
    for k in range(3):
        st = Station(f"CS{k}", "", "1.6", 44.0, online=True, default_profile_kw=16.6, default_profile_status="Accepted")
        for e in (1, 2):
            evse = Evse(st.id, e, 22.0, 3)
            s = Session(f"{k}{e}", st.id, e, e, None, None, NOW - timedelta(minutes=5), soc_arrival=soc)
            reg.apply_vehicle(s, evse)
            if departure_h is None:
                reg.resolve_needs(s)
            else:
                s.departure = NOW + timedelta(hours=departure_h)
            evse.session = s
            st.evses[e] = evse
            evses.append((st, evse))
    return cfg, evses


def test_the_default_departure_is_2_3_h_away_at_the_fixed_now():
    _cfg, evses = _depot(None)
    dep_h = [(e.session.departure - NOW).total_seconds() / 3600.0 for _st, e in evses]
    assert dep_h == pytest.approx([2.3] * 6)


@pytest.mark.parametrize("soc", [0.3, 0.2])
@pytest.mark.parametrize("departure_h", [None, 2.3, 0.5])
@pytest.mark.parametrize("strategy", CHARGING_NOW)
def test_a_near_departure_fills_every_stations_room(strategy, departure_h, soc):
    cfg, evses = _depot(departure_h, soc)
    plan = plan_depot(cfg, get_strategy(strategy), evses, NOW)
    sp = plan.setpoints_kw
    assert sum(sp.values()) <= 55 + 1e-9 and all(0 <= v <= 22 for v in sp.values())
    for k in range(3):  # each station: within its cap, and full (its vehicles need more than it can give)
        station_kw = sp[(f"CS{k}", 1)] + sp[(f"CS{k}", 2)]
        assert 16.6 - 0.2 - 1e-9 <= station_kw <= 16.6 + 1e-9, (k, sp)
    assert plan.total_kw >= ROOM_KW - 0.6 - 1e-9  # 0.1 kW per EVSE may go to the stations' resolution


@pytest.mark.parametrize("departure_h", [2.3, 0.5])
def test_load_balancing_starves_no_station_and_no_vehicle_gets_less_than_at_a_far_departure(departure_h):
    """Nearer departures ask for more power, never less: each EVSE gets at least what it gets with 10 h left."""
    cfg, far = _depot(10.0)
    far_kw = plan_depot(cfg, get_strategy("load_balancing"), far, NOW).setpoints_kw
    cfg, near = _depot(departure_h)
    near_kw = plan_depot(cfg, get_strategy("load_balancing"), near, NOW).setpoints_kw
    assert sum(near_kw.values()) >= sum(far_kw.values()) - 0.3
    assert all(kw > 0 for kw in near_kw.values()), near_kw


def test_first_step_within_stations_replans_at_most_once_per_station():
    cfg, evses = _depot(0.5)
    problem = build_live_problem(cfg, evses, NOW, 60.0)
    station_of = np.repeat(np.arange(3), 2)
    raw, rounds = first_step_within_stations(
        get_strategy("load_balancing"), problem, np.full(6, 22.0), station_of, np.full(3, 16.6)
    )
    assert 1 <= rounds <= 3
    per_station = np.bincount(station_of, weights=np.maximum(raw, 0.0), minlength=3)
    assert np.all(per_station <= 16.6 + 1e-6) and per_station.sum() == pytest.approx(ROOM_KW)
    # with ample station rooms nothing is re-planned and the strategy's column is returned as it is
    raw2, rounds2 = first_step_within_stations(
        get_strategy("load_balancing"), problem, np.full(6, 22.0), station_of, np.full(3, 44.0)
    )
    assert rounds2 == 0 and raw2.sum() == pytest.approx(55.0)
    # the bound on re-plans: with none allowed, the strategy's own column (what enforce_limits then cuts)
    raw0, rounds0 = first_step_within_stations(
        get_strategy("load_balancing"), problem, np.full(6, 22.0), station_of, np.full(3, 16.6), max_rounds=0
    )
    assert rounds0 == 0 and np.bincount(station_of, weights=raw0, minlength=3).max() > 16.6


@pytest.mark.parametrize("departure_h", [0.27, 0.5, 2.3, 2.49])
def test_the_live_problem_never_counts_on_time_a_vehicle_does_not_have(departure_h):
    """The departure column is rounded down to a 15-min edge (at least one column), never up."""
    cfg, evses = _depot(departure_h)
    problem = build_live_problem(cfg, evses[:1], NOW, 60.0)
    assert problem.departure[0] * problem.dt_h <= departure_h
    assert problem.departure[0] == max(1, int(departure_h / 0.25))


def test_a_vehicle_leaving_in_16_min_goes_first_when_power_is_short():
    """12 kW of room, a vehicle with 3 kWh to go in 16 min (12.1 kW meets it) and one with 30 kWh in 10 h: load
    balancing gives the first all 12 kW. With 16 min counted as 30 it got 7.6 kW (2 kWh by its departure)."""
    cfg, evses = _depot(10.0)
    leaving = evses[0][1].session
    leaving.soc_arrival, leaving.departure = 0.75, NOW + timedelta(hours=0.27)
    problem = build_live_problem(cfg, [evses[0], evses[2]], NOW, 17.0)  # 17 kW - 5 kW base load
    p = get_strategy("load_balancing").first_step(problem)
    assert p[0] == pytest.approx(12.0) and p[1] == pytest.approx(0.0, abs=1e-9)


def test_a_departure_less_than_one_column_away_keeps_one_column():
    cfg, evses = _depot(0.1)
    problem = build_live_problem(cfg, evses, NOW, 60.0)
    assert problem.n_steps == 1 and np.all(problem.departure == 1) and np.all(problem.departs_in_horizon)


def test_enforce_limits_gives_0_not_nan_at_a_station_without_room_and_without_charging():
    """A station whose unsteered EVSE draws more than its room (room < 0) and whose steered EVSE asks 0 kW."""
    p = enforce_limits(np.array([0.0, 5.0]), np.full(2, 22.0), np.array([0, 1]), np.array([-5.4, 16.6]), 55.0)
    assert np.all(np.isfinite(p)) and p.tolist() == [0.0, 5.0]


@pytest.mark.parametrize("strategy", CHARGING_NOW)
def test_an_unsteered_evse_over_its_stations_room_leaves_its_neighbour_0_kw_and_the_rest_planned(strategy):
    """EVSE 1 of CS0 rejected its profile and is counted at its rating (22 kW > the station's 16.6 kW cap): its
    neighbour gets 0 kW (a finite 0, not NaN) and the other stations still take their room."""
    cfg, evses = _depot(2.3)
    evses[0][1].failed = "Rejected"
    plan = plan_depot(cfg, get_strategy(strategy), evses, NOW)
    assert plan.fixed_kw == {("CS0", 1): 22.0}
    assert all(np.isfinite(v) for v in plan.setpoints_kw.values())
    assert plan.setpoints_kw[("CS0", 2)] == 0.0
    others = sum(v for (sid, _e), v in plan.setpoints_kw.items() if sid != "CS0")
    assert 2 * 16.6 - 0.4 - 1e-9 <= others <= 2 * 16.6 + 1e-9


def test_a_price_driven_plan_without_a_tariff_says_it_has_no_price_to_follow():
    cfg, evses = _depot(10.0)
    note = "no site.tariff"
    assert any(note in n for n in plan_depot(cfg, get_strategy("price_optimization"), evses, NOW).notes)
    assert not any(note in n for n in plan_depot(cfg, get_strategy("load_balancing"), evses, NOW).notes)
