"""Small hand-made scenarios for tests (imported by test modules; not a test module itself)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evfleet.scenario import FORMAT, Scenario, scenario_from_dict


def scenario_dict(
    n_steps: int = 4,
    step_minutes: int = 60,
    vehicles: list[dict[str, Any]] | None = None,
    price: list[float] | None = None,
    base_load_kw: list[float] | None = None,
    pv_kw: list[float] | None = None,
    import_limit_kw: float = 100.0,
    export_limit_kw: float = 100.0,
    degradation_mad_per_kwh: float = 0.0,
    price_export: list[float] | None = None,
) -> dict[str, Any]:
    """A minimal valid scenario mapping; each vehicle dict may override the defaults below."""
    defaults = {
        "model": "Test EV",
        "arrival_step": 0,
        "departure_step": n_steps,
        "battery_kwh": 50.0,
        "soc_arrival": 0.3,
        "soc_target": 0.8,
        "soc_min": 0.2,
        "soc_max": 0.9,
        "max_charge_kw": 10.0,
        "max_discharge_kw": 0.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
    }
    vehicles = vehicles if vehicles is not None else [{}]
    rows = [{**defaults, **v} for v in vehicles]
    cols: dict[str, list] = {"id": [f"V{i}" for i in range(len(rows))]}
    for key in defaults:
        cols[key] = [r[key] for r in rows]
    return {
        "format": FORMAT,
        "name": "test",
        "start": "2026-01-05T00:00:00+01:00",
        "step_minutes": step_minutes,
        "n_steps": n_steps,
        "site": {"import_limit_kw": import_limit_kw, "export_limit_kw": export_limit_kw},
        "degradation_mad_per_kwh": degradation_mad_per_kwh,
        "series": {
            "price_import_mad_per_kwh": price if price is not None else [1.0] * n_steps,
            "price_export_mad_per_kwh": price_export if price_export is not None else [0.0] * n_steps,
            "base_load_kw": base_load_kw if base_load_kw is not None else [0.0] * n_steps,
            "pv_kw": pv_kw if pv_kw is not None else [0.0] * n_steps,
        },
        "vehicles": cols,
    }


def tiny_scenario(**kwargs: Any) -> Scenario:
    """A validated :func:`scenario_dict` scenario."""
    return scenario_from_dict(scenario_dict(**kwargs))


def random_scenario(rng: np.random.Generator, n: int, n_steps: int, step_minutes: int = 15) -> Scenario:
    """A random but valid scenario with V2G-capable vehicles, PV and a binding site limit."""
    arrival = rng.integers(0, n_steps - 1, n)
    departure = np.minimum(arrival + rng.integers(1, n_steps, n), n_steps)
    soc_min = rng.uniform(0.05, 0.4, n)
    soc_max = rng.uniform(0.6, 1.0, n)
    vehicles = [
        {
            "arrival_step": int(arrival[i]),
            "departure_step": int(departure[i]),
            "battery_kwh": float(rng.uniform(10, 100)),
            "soc_arrival": float(rng.uniform(0.0, 1.0)),
            "soc_target": float(rng.uniform(soc_min[i], soc_max[i])),
            "soc_min": float(soc_min[i]),
            "soc_max": float(soc_max[i]),
            "max_charge_kw": float(rng.uniform(0, 50)),
            "max_discharge_kw": float(rng.uniform(0, 20) * (rng.random() < 0.6)),
            "charge_efficiency": float(rng.uniform(0.85, 1.0)),
            "discharge_efficiency": float(rng.uniform(0.85, 1.0)),
        }
        for i in range(n)
    ]
    base = rng.uniform(0, 30, n_steps)
    return tiny_scenario(
        n_steps=n_steps,
        step_minutes=step_minutes,
        vehicles=vehicles,
        price=rng.uniform(0.5, 2.0, n_steps).tolist(),
        price_export=rng.uniform(0.0, 0.5, n_steps).tolist(),
        base_load_kw=base.tolist(),
        pv_kw=rng.uniform(0, 20, n_steps).tolist(),
        import_limit_kw=float(rng.uniform(30, 30 + 20 * n)),
        export_limit_kw=float(rng.uniform(0, 50)),
        degradation_mad_per_kwh=float(rng.uniform(0, 0.5)),
    )


def local_cluster(processes: bool, n_workers: int = 2) -> Any:
    """A local Dask cluster on 127.0.0.1 with its dashboard on a free port (Dask's 8787 may be taken)."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=":0",
    )
