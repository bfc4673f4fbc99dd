"""Multi-depot fleet files in ``evfleet run`` and ``evfleet compare``.

``run`` and ``compare`` call :func:`run_fleet_command` / :func:`compare_fleet_command` when their SCENARIO argument
is a fleet file (:func:`evfleet.batch.depots.is_fleet_file`). Outputs (formats in ``docs/sweep.md``):

- ``run``: ``DIR/<depot>/`` with the usual run files of each depot, ``DIR/depots.csv`` (one row per depot plus a
  ``(fleet)`` row) and ``DIR/fleet_kpis.json`` (``{"fleet", "upstream_limit_kw", "depots": {name: kpis},
  "fleet_kpis": {...}}``);
- ``compare``: ``DIR/comparison.csv`` and ``DIR/comparison.md`` with a ``depot`` column (``(fleet)`` rows for the
  fleet-wide totals) and ``DIR/fleet_kpis.json`` (fleet-wide KPIs per strategy).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from evfleet._common.files import write_csv_atomic
from evfleet.cli._common import print_table, utc_now

__all__ = ["compare_fleet_command", "run_fleet_command"]

_SHOWN = [
    "depot",
    "strategy",
    "n_vehicles",
    "net_cost_mad",
    "bill_status",
    "peak_import_kw",
    "unmet_energy_kwh",
    "runtime_s",
]


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy (NaN -> None)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _client_ctx(workers: int | None, scheduler: str | None) -> Any:
    from contextlib import nullcontext

    from evfleet.batch.cluster import dask_client

    if workers == 0 and scheduler is None:
        return nullcontext(None)
    return dask_client(workers=workers, scheduler=scheduler)


def run_fleet_command(
    fleet_path: Path,
    out: Path,
    strategy: str,
    options: Any,
    workers: int | None = None,
    scheduler: str | None = None,
    quiet: bool = False,
    db: str | None = None,
    store: bool = True,
    strategy_params: dict[str, dict[str, Any]] | None = None,
) -> None:
    """``evfleet run FLEET.yaml``: each depot on its own Dask task; per-depot files and fleet-wide KPIs.

    With ``store`` every depot's run is kept in the run store (label ``FLEET/DEPOT``), as ``evfleet run`` does.
    """
    from evfleet._common.files import write_json_atomic
    from evfleet.batch.depots import load_fleet, run_fleet
    from evfleet.results.run_files import write_run_outputs

    fleet = load_fleet(fleet_path)
    started_at = utc_now()
    with _client_ctx(workers, scheduler) as client:
        run = run_fleet(fleet, strategy, options, client=client, strategy_params=strategy_params)
    out.mkdir(parents=True, exist_ok=True)
    for d in fleet.depots:
        write_run_outputs(run.results[(d.name, strategy)], out / d.name, run.kpis[(d.name, strategy)])
    table = run.depot_table()
    write_csv_atomic(table, out / "depots.csv")
    write_json_atomic(
        out / "fleet_kpis.json",
        {
            "fleet": fleet.name,
            "upstream_limit_kw": fleet.upstream_limit_kw,
            "depots": {d.name: _clean(run.kpis[(d.name, strategy)]) for d in fleet.depots},
            "fleet_kpis": _clean(run.fleet_row(strategy)),
        },
    )
    if not quiet:
        print_table(table[[c for c in _SHOWN if c in table]].to_dict(orient="records"))
        if fleet.upstream_limit_kw is not None:
            row = run.fleet_row(strategy)
            typer.echo(
                f"upstream limit {fleet.upstream_limit_kw:g} kW (checked, not enforced): "
                f"{row.get('upstream_over_limit_steps')} steps over, max excess {row.get('upstream_max_excess_kw')} kW"
            )
    typer.echo(f"wrote {out}/depots.csv, fleet_kpis.json and one directory per depot ({len(fleet.depots)})")
    if store:
        from evfleet.store.runs import run_outputs_from_dir, store_run

        ids = []
        for d in fleet.depots:
            written = run_outputs_from_dir(out / d.name, started_at)  # exactly what was written, as `run` stores
            ids.append(
                store_run(
                    run.results[(d.name, strategy)],
                    written["kpis"] or run.kpis[(d.name, strategy)],
                    db=db,
                    started_at=started_at,
                    label=f"{fleet.name}/{d.name}",
                    events=written["events"],
                    site=written["site"],
                    bill=written["bill"],
                )
            )
        typer.echo(f"stored runs {', '.join(ids)} (one per depot)")


def compare_fleet_command(
    fleet_path: Path,
    out: Path,
    strategies: str,
    options: Any,
    workers: int | None = None,
    scheduler: str | None = None,
    strategy_params: dict[str, dict[str, Any]] | None = None,
    db: str | None = None,
    store: bool = True,
) -> None:
    """``evfleet compare FLEET.yaml``: every strategy on every depot in parallel; per-depot and fleet tables.

    With ``store`` each depot's comparison is kept in the run store (name ``FLEET/DEPOT``), as ``compare`` does.
    """
    from evfleet._common.files import write_json_atomic
    from evfleet.analysis.compare import resolve_strategies
    from evfleet.batch.depots import fleet_comparison_table, load_fleet, run_fleet

    fleet = load_fleet(fleet_path)
    names = resolve_strategies(strategies)
    with _client_ctx(workers, scheduler) as client:
        run = run_fleet(fleet, names, options, client=client, strategy_params=strategy_params)
    out.mkdir(parents=True, exist_ok=True)
    table = fleet_comparison_table(run)
    write_csv_atomic(table, out / "comparison.csv")
    (out / "comparison.md").write_text(_markdown(table, fleet.name), encoding="utf-8")
    write_json_atomic(
        out / "fleet_kpis.json",
        {
            "fleet": fleet.name,
            "upstream_limit_kw": fleet.upstream_limit_kw,
            "fleet_kpis": {s: _clean(run.fleet_row(s)) for s in names},
            "depots": {d.name: {s: _clean(run.kpis[(d.name, s)]) for s in names} for d in fleet.depots},
        },
    )
    print_table(table.to_dict(orient="records"))
    typer.echo(f"wrote {out}/comparison.csv, comparison.md and fleet_kpis.json")
    if store:
        from evfleet.analysis.compare import Comparison
        from evfleet.store.runs import store_comparison

        ids = []
        for d in fleet.depots:
            results = {s: run.results[(d.name, s)] for s in names}
            comp = Comparison(
                scenario=results[names[0]].scenario,
                options=options,
                results=results,
                kpis={s: run.kpis[(d.name, s)] for s in names},
            )
            ids.append(store_comparison(comp, db=db, name=f"{fleet.name}/{d.name}: {', '.join(names)}")[0])
        typer.echo(f"stored comparisons {', '.join(ids)} (one per depot)")


def _markdown(table: Any, fleet_name: str) -> str:
    def fmt(x: Any) -> str:
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "–"
        if isinstance(x, float):
            return f"{x:,.2f}"
        return str(x)

    cols = list(table.columns)
    lines = [f"# Fleet comparison: {fleet_name}", "", "Savings are against the same depot's `uncontrolled` "
             "(`savings_*`) and `timer` (`savings_vs_timer_*`) baselines and the cheaper of the two "
             "(`savings_vs_best_baseline_*`, the headline; `best_baseline` names it); `(fleet)` rows sum the depots "
             "(peak: coincident fleet peak) and compare the fleet totals. MAD figures are followed by the status of "
             "the tariff values they are built on (`cost_status`).", ""]  # fmt: skip
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for rec in table.to_dict(orient="records"):
        status = rec.get("cost_status")
        cells = [f"{fmt(rec[c])} ({status})" if c.endswith("_mad") and status and fmt(rec[c]) != "–" else fmt(rec[c])
                 for c in cols]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
