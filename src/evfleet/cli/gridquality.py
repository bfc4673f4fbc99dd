"""``evfleet grid-report RUN_DIR``: the grid-quality compliance table of a run (model estimates).

Heavy imports stay inside the command so that ``evfleet --help`` remains fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from evfleet._common.errors import InputError
from evfleet.cli._common import frequency_from_csv, print_table, user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the grid-quality commands to ``app``."""

    @app.command("grid-report")
    @user_errors
    def grid_report(
        run_dir: Annotated[Path, typer.Argument(help="Run directory written by `evfleet run` (trace.npz, ...).")],
        electrical: Annotated[
            Path | None, typer.Option(help="Site electrical model (JSON/YAML); default: the scenario's or defaults.")
        ] = None,
        thresholds: Annotated[Path | None, typer.Option(help="Alert thresholds (JSON/YAML).")] = None,
        frequency_csv: Annotated[
            Path | None,
            typer.Option(help="CSV with a frequency_hz column (and optional time): one row per step, or a multiple."),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="Output format: table, csv or json.")] = "table",
        assumptions: Annotated[bool, typer.Option(help="Also print the model's assumptions and sources.")] = False,
        events: Annotated[bool, typer.Option(help="Also print the event log.")] = False,
        write: Annotated[
            bool, typer.Option(help="Rewrite events.csv, the grid columns of site.csv and pq_* KPIs in kpis.json.")
        ] = False,
    ) -> None:
        """Print the compliance table (indicator, value, limit, status, clause) of a run: model estimates."""
        from evfleet.gridquality.alerts import load_thresholds
        from evfleet.gridquality.assess import assess
        from evfleet.gridquality.records import Verdict, compliance_rows
        from evfleet.gridquality.site import load_site_electrical
        from evfleet.results.pq_files import event_table, report_events, write_power_quality_files
        from evfleet.results.run_files import load_run

        if fmt not in ("table", "csv", "json"):
            raise InputError(f"option '--format' must be table, csv or json (value {fmt!r})")
        result = load_run(run_dir)
        el = load_site_electrical(electrical) if electrical is not None else None
        th = load_thresholds(thresholds) if thresholds is not None else None
        freq = frequency_from_csv(result.scenario, frequency_csv) if frequency_csv is not None else None
        report = assess(result, el, th, frequency_hz=freq)
        comp = report.compliance
        if fmt == "csv":
            from evfleet._common.text import csv_safe_frame

            sys.stdout.write(csv_safe_frame(comp).to_csv(index=False))
        elif fmt == "json":
            typer.echo(comp.to_json(orient="records", indent=2, force_ascii=False))
        else:
            typer.echo(f"grid quality of {run_dir} (strategy {result.strategy}): MODEL ESTIMATES, see --assumptions")
            print_table(comp.to_dict(orient="records"), ["indicator", "value", "limit", "status", "clause"])
            failed = sum(row.status is Verdict.FAIL for row in compliance_rows(comp).values())
            typer.echo(f"{failed} check(s) failed; {len(report.events)} alert event(s)")
        if events:
            clauses = report.alert_clauses or {}
            rows = event_table(report_events(report)).to_dict(orient="records")
            print_table([{**r, "clause": clauses.get(str(r["indicator"]), "")} for r in rows])
        if assumptions:
            for line in report.assumptions:
                typer.echo(f"- {line}")
        if write:
            paths = write_power_quality_files(report, run_dir)
            typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}", err=fmt != "table")
