"""Commands of the run store: history, show, rm, import, export, report, backup, restore, store check, scenario
from-fleet.

Every command takes ``--db`` (a path or SQLAlchemy URL; default ``$EVFLEET_DB`` or the user data directory).
Bad input prints ``error: ...`` naming file, line, column and value, exits with status 2 and stores nothing.
See ``docs/store.md``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evfleet._common.errors import InputError
from evfleet.cli._common import print_kpis, print_table, scenario_app, user_errors

if TYPE_CHECKING:
    from evfleet.store.runs import Store

__all__ = ["open_cli_store", "register"]

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store: a SQLite path or SQLAlchemy URL (default $EVFLEET_DB or the user data dir)."),
]


def open_cli_store(db: str | None) -> Store:
    """Open the store for a command, turning connection failures into a clean error."""
    import sqlalchemy as sa

    from evfleet.store.runs import StoreError, open_store, resolve_location

    try:
        return open_store(db)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open the store {resolve_location(db).display}: {exc.orig}") from None


def _import_catalog(store: Store, extra: Path | None) -> Any:
    from evfleet.inputs.catalog import load_catalog, merge_catalog, read_catalog_file

    cat = load_catalog()
    added = store.catalog_additions()
    if added is not None:
        cat = merge_catalog(cat, added)
    if extra is not None:
        cat = merge_catalog(cat, read_catalog_file(extra))
    return cat


@contextmanager
def _tariff_ref(store: Store, tariff: str) -> Iterator[str]:
    """A tariff id or file for :func:`.load_tariff`; an imported tariff id (``i...``) is written to a
    temporary file for the duration of the block."""
    from evfleet.inputs.tariffs import list_tariffs

    if Path(tariff).exists() or tariff in list_tariffs() or not tariff.startswith("i"):
        yield tariff
        return
    rec = store.get_import(tariff)
    if rec["kind"] != "tariff":
        raise InputError(f"option '--tariff': import {rec['id']} is a {rec['kind']} dataset, not a tariff")
    with tempfile.TemporaryDirectory(prefix="evfleet-tariff-") as tmp:
        path = Path(tmp) / f"{rec['payload']['tariff'].get('id', 'imported')}.json"
        path.write_text(json.dumps(rec["payload"]["tariff"]), encoding="utf-8")
        yield str(path)


def register(app: typer.Typer) -> None:
    """Add the store commands to ``app`` (and ``scenario from-fleet`` to its ``scenario`` group)."""
    store_app = typer.Typer(help="Check and repair the run store.", no_args_is_help=True)
    app.add_typer(store_app, name="store")

    @store_app.command("check")
    @user_errors
    def store_check(
        repair: Annotated[
            bool, typer.Option("--repair", help="Delete orphan trace files (older than --min-age-s).")
        ] = False,
        min_age_s: Annotated[
            float, typer.Option(help="Orphan trace files younger than this [s] may belong to a write in progress.")
        ] = 600.0,
        db: DbOption = None,
    ) -> None:
        """Check the store's consistency and list orphan trace files; exit status 1 when a problem remains."""
        if not min_age_s >= 0:
            raise InputError(f"option '--min-age-s' must be >= 0 s (value {min_age_s!r})")
        with open_cli_store(db) as st:
            problems = st.verify()
            orphans = st.orphan_trace_files()
            removed = st.clean_orphan_trace_files(min_age_s=min_age_s) if repair else 0
            left = st.orphan_trace_files() if repair else orphans
        for p in problems:
            typer.echo(f"problem: {p}")
        size = sum(f.stat().st_size for f in left if f.exists())
        typer.echo(
            f"store {st.location.display}: {len(problems)} consistency problems, {len(orphans)} orphan trace files"
        )
        if repair:
            typer.echo(f"removed {removed} orphan trace files; {len(left)} left ({size:,} bytes)")
        elif orphans:
            typer.echo("run `evfleet store check --repair` to delete the orphan trace files")
        if problems or (repair and left):
            raise typer.Exit(1)

    @app.command()
    @user_errors
    def history(
        limit: Annotated[int, typer.Option(help="Show at most N runs (newest first).")] = 20,
        comparisons: Annotated[bool, typer.Option(help="List comparisons/sweeps instead of runs.")] = False,
        imports: Annotated[bool, typer.Option(help="List imported datasets instead of runs.")] = False,
        live: Annotated[
            bool, typer.Option("--live", help="Live sessions of the dashboard instead of the user's runs.")
        ] = False,
        by: Annotated[
            str | None, typer.Option("--by", help="Totals by 'day' or 'month' (local calendar) instead of a list.")
        ] = None,
        csv: Annotated[
            Path | None, typer.Option("--csv", help="Also write the table shown to this CSV file (atomically).")
        ] = None,
        db: DbOption = None,
    ) -> None:
        """List stored runs (or live sessions, comparisons, imports), newest first; or totals by day or month."""
        from evfleet._common.files import write_csv_atomic
        from evfleet.store.history import HISTORY_PERIODS, history_by_period, live_sessions

        if limit < 1:
            raise InputError(f"option '--limit' must be >= 1 (value {limit})")
        if by is not None and by not in HISTORY_PERIODS:
            raise InputError(f"option '--by' must be one of {', '.join(HISTORY_PERIODS)} (value {by!r})")
        if sum(map(bool, (comparisons, imports, live))) > 1:
            raise InputError("options '--comparisons', '--imports' and '--live' exclude each other")
        if by is not None and (comparisons or imports):
            raise InputError("option '--by' totals runs or live sessions (not with '--comparisons'/'--imports')")
        with open_cli_store(db) as st:
            if by is not None:
                table = history_by_period(st, by, "live" if live else "runs")
                rows = table.to_dict("records")
            elif comparisons:
                rows = [
                    {k: r[k] for k in ("id", "kind", "created_at", "n_runs", "name")} for r in st.list_groups(limit)
                ]
            elif imports:
                rows = [
                    {k: r[k] for k in ("id", "kind", "imported_at", "n_rows", "name", "source_file")}
                    for r in st.list_imports(limit)
                ]
            elif live:
                rows = [
                    {
                        "id": r["id"],
                        "created (UTC)": r["created_at"][:19],
                        "name": r["name"],
                        "scenario": r["scenario"],
                        "EVs": r["n_vehicles"],
                        "chunks": r["chunks"],
                        "steps": r["steps"],
                        "energy_charged_kwh": r["energy_charged_kwh"],
                        "import_cost_mad": r["import_cost_mad"],
                        "peak_import_kw": r["peak_import_kw"],
                        "v2g_kwh": r["v2g_energy_kwh"],
                    }
                    for r in live_sessions(st, limit)
                ]
            else:
                rows = [
                    {
                        "id": r["id"],
                        "started (UTC)": r["started_at"][:19],
                        "strategy": r["strategy"],
                        "mode": r["mode"],
                        "scenario": r["scenario"],
                        "EVs": r["n_vehicles"],
                        "net_cost_mad": r["kpis"].get("net_cost_mad"),
                        "cost_status": r["kpis"].get("bill_status", "assumption"),
                        "peak_import_kw": r["kpis"].get("peak_import_kw"),
                        "unmet_kwh": r["kpis"].get("unmet_energy_kwh"),
                        "group": r["group_id"] or "",
                    }
                    for r in st.list_runs(limit, live=False)
                ]
        if csv is not None:
            import pandas as pd

            frame = table if by is not None else pd.DataFrame(rows)
            write_csv_atomic(frame, csv)
        print_table(rows)
        if csv is not None:
            typer.echo(f"wrote {csv}")

    @app.command()
    @user_errors
    def show(
        run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="Run, comparison or import id (unique prefix).")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
        db: DbOption = None,
    ) -> None:
        """Print one stored run (metadata and KPIs), comparison or import."""
        with open_cli_store(db) as st:
            kind, full = st.resolve_id(run_id)
            if kind == "run":
                data = st.get_run(full)
                data["bill"] = st.bill(full)  # as stored (older runs: billed from their stored series)
            elif kind == "group":
                data = st.get_group(full)
            else:
                data = st.get_import(full)
                if not as_json:
                    data["payload"] = f"<{data['n_rows']} rows; see `evfleet export {full}`>"
        if as_json:
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        if kind == "run":
            meta = {
                k: data[k]
                for k in (
                    "id",
                    "scenario",
                    "scenario_hash",
                    "strategy",
                    "mode",
                    "status",
                    "source",
                    "label",
                    "group_id",
                    "evfleet_version",
                    "started_at",
                    "finished_at",
                )
            }
            meta["options"] = json.dumps(data["options"])
            meta["strategy_params"] = json.dumps(data["strategy_params"])
            meta["grid_events"] = data["n_events"]
            if data["trace"]:
                tr = data["trace"]
                meta["trace"] = f"{tr['path']} ({tr['size_bytes']:,} bytes, sha256 {tr['sha256'][:16]}...)"
            print_table([{"field": k, "value": v} for k, v in meta.items()])
            typer.echo("")
            print_kpis(data["kpis"])
            from evfleet.cli.billing import bill_rows

            b = data["bill"]
            typer.echo("")
            typer.echo(f"bill: tariff {b.get('tariff')} ({b.get('tariff_status')}), {b.get('days', 0):g} days")
            print_table(bill_rows(b), ["item", "mad", "status"])
        elif kind == "group":
            print_table([{"field": k, "value": data[k]} for k in ("id", "kind", "name", "created_at", "scenario_hash")])
            typer.echo("")
            print_table(
                [
                    {
                        "run": r["id"],
                        "strategy": r["label"] or r["strategy"],
                        "mode": r["mode"],
                        "net_cost_mad": r["kpis"].get("net_cost_mad"),
                        "cost_status": r["kpis"].get("bill_status", "assumption"),
                        "peak_import_kw": r["kpis"].get("peak_import_kw"),
                        "unmet_kwh": r["kpis"].get("unmet_energy_kwh"),
                    }
                    for r in data["runs"]
                ]
            )
        else:
            print_table([{"field": k, "value": v} for k, v in data.items()])

    @app.command()
    @user_errors
    def rm(
        run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="Run, comparison or import id (full id).")],
        db: DbOption = None,
    ) -> None:
        """Delete a stored run (or a whole comparison with its runs, or an import)."""
        with open_cli_store(db) as st:
            kind, full = st.resolve_id(run_id)
            if full != run_id.strip():
                raise InputError(f"rm needs the full id (value {run_id!r} matches {full}); nothing was deleted")
            if kind == "run":
                st.delete_run(full)
                typer.echo(f"deleted run {full}")
            elif kind == "group":
                gid, runs = st.delete_group(full)
                typer.echo(f"deleted {gid} and its {len(runs)} runs")
            else:
                st.delete_import(full)
                typer.echo(f"deleted import {full}")

    @app.command("import")
    @user_errors
    def import_(
        kind: Annotated[str, typer.Argument(metavar="fleet|series|tariff|catalog", help="What the file holds.")],
        file: Annotated[
            Path, typer.Argument(metavar="FILE", help="CSV (fleet, series, catalog) or JSON/YAML (tariff).")
        ],
        name: Annotated[str | None, typer.Option(help="Name of the dataset (default: the file name).")] = None,
        timezone: Annotated[
            str, typer.Option(help="Time zone of times written without a UTC offset.")
        ] = "Africa/Casablanca",
        date: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD) of HH:MM times in a fleet file.")] = None,
        scenario_out: Annotated[
            Path | None,
            typer.Option(help="Fleet: also write a runnable scenario here; series: write --scenario with the series."),
        ] = None,
        scenario: Annotated[
            Path | None, typer.Option(help="Series: scenario whose series are replaced (resampled to its step).")
        ] = None,
        step_minutes: Annotated[int, typer.Option(help="Step of the scenario written by --scenario-out.")] = 15,
        tariff: Annotated[
            str, typer.Option(help="Tariff of the scenario written by --scenario-out.")
        ] = "onee_mt_general",
        db: DbOption = None,
    ) -> None:
        """Validate a file completely and store it; a file with any bad row is rejected and nothing is stored."""
        from evfleet.inputs import importers as imp
        from evfleet.inputs.fleet_scenario import scenario_from_fleet

        if kind not in ("fleet", "series", "tariff", "catalog"):
            raise InputError(f"argument KIND must be fleet, series, tariff or catalog (value {kind!r})")
        if scenario_out is not None and kind not in ("fleet", "series"):
            raise InputError("option '--scenario-out' applies to fleet and series imports only")
        if kind == "series" and (scenario is None) != (scenario_out is None):
            raise InputError("a series import takes --scenario and --scenario-out together")
        if scenario is not None and kind != "series":
            raise InputError("option '--scenario' applies to series imports only")
        with open_cli_store(db) as st:
            try:
                if kind == "fleet":
                    parsed = imp.parse_fleet(file, catalog=_import_catalog(st, None), timezone=timezone, date=date)
                elif kind == "series":
                    parsed = imp.parse_series(file, timezone=timezone)
                elif kind == "tariff":
                    parsed = imp.parse_tariff(file)
                else:
                    parsed = imp.parse_catalog(file)
            except imp.ImportValidationError as exc:
                # the first problem and how many more, then the next ten, one per line
                lines = [str(exc), *(f"  {p}" for p in exc.problems[1:11])]
                if len(exc.problems) > 11:
                    lines.append(f"  ... and {len(exc.problems) - 11} more")
                raise InputError("\n".join(lines)) from None
            sc = None
            if scenario is not None:
                from evfleet.inputs.fleet_scenario import apply_series
                from evfleet.scenario import load_scenario

                sc = apply_series(load_scenario(scenario), parsed.payload)
            elif scenario_out is not None:
                models = parsed.payload["layout"] == "models"
                with _tariff_ref(st, tariff) as tariff_ref:
                    sc = scenario_from_fleet(
                        parsed.payload,
                        catalog=_import_catalog(st, None),
                        step_minutes=step_minutes,
                        tariff=tariff_ref,
                        start=date if models else None,
                    )
            import_id = st.save_import(
                kind, name or file.name, str(file), parsed.source_sha256, parsed.payload, parsed.n_rows
            )
        for note in parsed.notes:
            typer.echo(f"note: {note}")
        typer.echo(f"imported {kind} {import_id}: {parsed.n_rows} rows from {file}")
        if sc is not None:
            from evfleet.scenario import save_scenario

            save_scenario(sc, scenario_out)
            typer.echo(f"wrote {scenario_out}: {sc.n_vehicles} sessions, {sc.n_steps} steps of {sc.step_minutes} min")

    @app.command()
    @user_errors
    def export(
        run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="Run, comparison or import id (unique prefix).")],
        out: Annotated[Path, typer.Option(help="Output: a file (json, imports) or a directory (csv/parquet runs).")],
        fmt: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
        db: DbOption = None,
    ) -> None:
        """Export a stored run (KPIs, site series, vehicles, trace, events, scenario), comparison or import."""
        from evfleet.store.export import export as do_export

        with open_cli_store(db) as st:
            files = do_export(st, run_id, fmt, out)
        typer.echo(f"wrote {len(files)} file(s) to {out}")

    @app.command()
    @user_errors
    def report(
        run_id: Annotated[
            str, typer.Argument(metavar="RUN_ID|COMPARISON", help="Run or comparison id (unique prefix).")
        ],
        out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
        db: DbOption = None,
    ) -> None:
        """Write a self-contained HTML report (KPIs, load curves, comparison, grid compliance, assumptions)."""
        from evfleet._common.files import write_bytes_atomic
        from evfleet.reports.run import report_html

        with open_cli_store(db) as st:
            text = report_html(st, run_id)
        write_bytes_atomic(out, text.encode("utf-8"))
        typer.echo(f"wrote {out} ({len(text):,} bytes)")

    @app.command()
    @user_errors
    def backup(
        out: Annotated[Path, typer.Option(help="Archive to write (.tar.gz).")],
        db: DbOption = None,
    ) -> None:
        """Write a consistent online snapshot of the store (database + trace files) into one archive."""
        from evfleet.store.backup import backup_store

        with open_cli_store(db) as st:
            manifest = backup_store(st, out)
        typer.echo(
            f"wrote {out}: {manifest['n_runs']} runs, {len(manifest['members']) - 1} trace files, "
            f"schema {manifest['schema_revision']}"
        )

    @app.command()
    @user_errors
    def restore(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="Archive written by `evfleet backup`.")],
        force: Annotated[
            bool, typer.Option(help="Replace a store that holds data (kept as <db>.bak-<UTC time>).")
        ] = False,
        db: DbOption = None,
    ) -> None:
        """Restore a backup into the store (checksums verified before anything is written)."""
        from evfleet.store.backup import restore_store
        from evfleet.store.runs import resolve_location

        manifest = restore_store(file, db, force=force)
        typer.echo(f"restored {manifest['n_runs']} runs into {resolve_location(db).display}")

    @scenario_app.command("from-fleet")
    @user_errors
    def scenario_from_fleet_cmd(
        fleet: Annotated[str, typer.Argument(metavar="FLEET", help="Fleet CSV file, or the id of an imported fleet.")],
        out: Annotated[Path, typer.Option(help="Scenario file to write (JSON).")],
        series: Annotated[str | None, typer.Option(help="Site series CSV file or imported series id.")] = None,
        step_minutes: Annotated[int, typer.Option(help="Step length in minutes.")] = 15,
        tariff: Annotated[
            str, typer.Option(help="Tariff id, file or imported tariff id (i...) for prices not given by --series.")
        ] = "onee_mt_general",
        import_limit_kw: Annotated[float | None, typer.Option(help="Site import limit [kW].")] = None,
        export_limit_kw: Annotated[float | None, typer.Option(help="Site export limit [kW].")] = None,
        pv_kwp: Annotated[float | None, typer.Option(help="PV peak power [kWp] (when --series has no pv_kw).")] = None,
        base_load_peak_kw: Annotated[float | None, typer.Option(help="Base-load peak [kW] (when no series).")] = None,
        start: Annotated[str | None, typer.Option(help="Start (ISO); per-model fleets: the day to simulate.")] = None,
        date: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD) of HH:MM times in the fleet file.")] = None,
        timezone: Annotated[str, typer.Option(help="Time zone of times without a UTC offset.")] = "Africa/Casablanca",
        seed: Annotated[int, typer.Option(help="Seed (per-model fleets: arrival/departure sampling).")] = 0,
        name: Annotated[str | None, typer.Option(help="Scenario name.")] = None,
        db: DbOption = None,
    ) -> None:
        """Build a runnable scenario from a fleet file (or imported fleet) and optional site series."""
        from evfleet.inputs import importers as imp
        from evfleet.inputs.fleet_scenario import scenario_from_fleet
        from evfleet.scenario import save_scenario

        if step_minutes not in (1, 2, 3, 5, 10, 15, 20, 30, 60):
            raise InputError(f"option '--step-minutes' must divide an hour (value {step_minutes})")
        with open_cli_store(db) as st:
            catalog = _import_catalog(st, None)

            def load(ref: str, kind: str) -> dict:
                if Path(ref).exists():
                    if kind == "fleet":
                        return imp.parse_fleet(ref, catalog=catalog, timezone=timezone, date=date).payload
                    return imp.parse_series(ref, timezone=timezone).payload
                rec = st.get_import(ref)
                if rec["kind"] != kind:
                    raise InputError(f"import {rec['id']} is a {rec['kind']} dataset, not a {kind}")
                return rec["payload"]

            fleet_payload = load(fleet, "fleet")
            series_payload = load(series, "series") if series else None
            with _tariff_ref(st, tariff) as tariff_ref:
                sc = scenario_from_fleet(
                    fleet_payload,
                    series=series_payload,
                    catalog=catalog,
                    step_minutes=step_minutes,
                    tariff=tariff_ref,
                    import_limit_kw=import_limit_kw,
                    export_limit_kw=export_limit_kw,
                    pv_kwp=pv_kwp,
                    base_load_peak_kw=base_load_peak_kw,
                    seed=seed,
                    name=name,
                    start=start or (date if fleet_payload["layout"] == "models" else None),
                )
        save_scenario(sc, out)
        typer.echo(
            f"wrote {out}: {sc.n_vehicles} sessions, {sc.n_steps} steps of {sc.step_minutes} min from {sc.start}"
        )
