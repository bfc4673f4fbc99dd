"""``evfleet sweep``: run a scenario sweep on Dask (a local cluster by default, or an existing scheduler)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evfleet._common.errors import InputError
from evfleet.cli._common import user_errors


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to ``app``."""
    # Imported here, not at module level: under ``python -m evfleet.cli.core`` the CLI module is ``__main__``.

    @app.command()
    @user_errors
    def sweep(
        spec: Annotated[Path, typer.Argument(help="Sweep spec (YAML): base, grid, random; see docs/sweep.md.")],
        out: Annotated[Path, typer.Option(help="Output directory (results.parquet, summary.md, points.jsonl).")],
        workers: Annotated[
            int | None,
            typer.Option(help="Local Dask worker processes (default: one per core; 0 = run here without Dask)."),
        ] = None,
        scheduler: Annotated[
            str | None, typer.Option(help="Address of an existing Dask scheduler, e.g. tcp://HOST:8786.")
        ] = None,
        traces: Annotated[
            bool, typer.Option("--traces", help="Also write each point's run files under DIR/traces/POINT_ID/.")
        ] = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
        no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep the sweep in the run store.")] = False,
        db: Annotated[
            str | None, typer.Option(help="Run store: SQLite path or SQLAlchemy URL (default $EVFLEET_DB).")
        ] = None,
    ) -> None:
        """Run every point of a sweep (one Dask task each), resume where a previous run stopped, summarise."""
        from evfleet.batch.cluster import dask_client
        from evfleet.batch.sweep import SweepInterrupted, expand_points, load_spec, run_sweep

        s = load_spec(spec)
        if scheduler is not None and workers is not None:
            raise InputError(f"give either --workers or --scheduler, not both (values {workers!r}, {scheduler!r})")
        if workers is not None and workers < 0:
            raise InputError(f"option '--workers' must be >= 0 (value {workers!r})")
        n_points = len(expand_points(s, default_start="2000-01-01"))  # validates every point before any start
        where = (
            f"scheduler {scheduler}"
            if scheduler
            else ("this process (no Dask)" if workers == 0 else f"a local Dask cluster ({workers or 'auto'} workers)")
        )
        typer.echo(f"sweep {spec}: {n_points} points on {where}", err=True)
        try:
            if workers == 0:
                outcome = run_sweep(s, out, client=None, traces=traces, progress=progress)
            else:
                with dask_client(workers=workers, scheduler=scheduler) as client:
                    outcome = run_sweep(s, out, client=client, traces=traces, progress=progress)
        except SweepInterrupted as exc:
            o = exc.outcome
            typer.echo(
                f"interrupted: {o.n_done} of {o.n_points} points kept in {out}/results.parquet; "
                "rerun the same command to finish",
                err=True,
            )
            raise SystemExit(130) from None  # not typer.Exit: user_errors catches RuntimeError
        typer.echo(outcome.files["summary"].read_text(encoding="utf-8"))
        typer.echo(
            f"{outcome.n_run} points run, {outcome.n_skipped} already done, {len(outcome.errors)} failed "
            f"in {outcome.elapsed_s:.1f} s; wrote {out}/results.parquet and {out}/summary.md"
        )
        # A complete sweep is stored once in each store: DIR/stored.json records where it went, so a sweep killed
        # after its last point but before this step is stored by the next run of the same command.
        if not no_store and outcome.n_done == outcome.n_points:
            import json

            from evfleet._common.files import write_json_atomic
            from evfleet.store.runs import resolve_location
            from evfleet.store.sweeps import store_sweep

            marker = out / "stored.json"
            where = resolve_location(db).display
            try:
                stored = json.loads(marker.read_text(encoding="utf-8")).get("stored", []) if marker.exists() else []
            except (ValueError, AttributeError):
                stored = []
            if not any(isinstance(e, dict) and e.get("db") == where for e in stored):
                group_id = store_sweep(outcome.table, s.to_dict(), out, outcome.n_points, name=spec.stem, db=db)
                write_json_atomic(marker, {"stored": [*stored, {"db": where, "group_id": group_id}]})
                typer.echo(f"stored sweep {group_id} (see `evfleet history --comparisons`)")
        if outcome.errors:
            first = outcome.errors[0]
            typer.echo(f"error: {len(outcome.errors)} points failed (see {out}/errors.jsonl); first: "
                       f"{first['point']}: {first['error']}", err=True)  # fmt: skip
            raise SystemExit(1)
