"""``evfleet plan RUN_DIR --format csv|json|ocpp`` (the charging plan of a run) and ``evfleet alerts RUN_DIR``.

Both only render what :mod:`evfleet.results.plan` and :mod:`evfleet.results.alert_files` compute. Heavy imports
stay inside the commands so that ``evfleet --help`` remains fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from evfleet._common.errors import InputError
from evfleet.cli._common import print_table, user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``alerts`` to ``app``."""

    @app.command("plan")
    @user_errors
    def plan(
        run_dir: Annotated[Path, typer.Argument(help="Run directory written by `evfleet run`.")],
        fmt: Annotated[
            str,
            typer.Option(
                "--format",
                help="csv (one row per vehicle x step), json (the plan) or ocpp "
                "(OCPP 2.0.1 SetChargingProfile requests, one TxProfile per session).",
            ),
        ] = "csv",
        dialect: Annotated[
            str, typer.Option(help="CSV dialect: excel (',' and '.') or excel-fr (';' and decimal comma, BOM).")
        ] = "excel",
        out: Annotated[Path | None, typer.Option(help="Write to this file (atomically) instead of stdout.")] = None,
    ) -> None:
        """Export the charging plan of a run: setpoints per vehicle and step, departure, target, expected SOC."""
        from evfleet._common.files import write_bytes_atomic
        from evfleet.results.plan import DIALECTS, PLAN_FORMATS, build_plan, plan_export
        from evfleet.results.run_files import load_run

        if fmt not in PLAN_FORMATS:
            raise InputError(f"option '--format' must be csv, json or ocpp (value {fmt!r})")
        if dialect not in DIALECTS:
            raise InputError(f"option '--dialect' must be one of {', '.join(DIALECTS)} (value {dialect!r})")
        data = plan_export(build_plan(load_run(run_dir)), fmt, dialect)  # everything computed before any output
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            write_bytes_atomic(out, data)
            typer.echo(f"wrote {out}", err=True)

    @app.command("alerts")
    @user_errors
    def alerts(
        run_dir: Annotated[Path, typer.Argument(help="Run directory written by `evfleet run`.")],
        fmt: Annotated[str, typer.Option("--format", help="Output format: table, csv or json.")] = "table",
    ) -> None:
        """List the alerts an operator acts on: vehicles not ready, limits reached, idle strategy, chargers."""
        from evfleet._common.text import csv_safe_frame
        from evfleet.analysis.alerts import alerts_frame
        from evfleet.results.alert_files import run_alerts
        from evfleet.results.run_files import load_run

        if fmt not in ("table", "csv", "json"):
            raise InputError(f"option '--format' must be table, csv or json (value {fmt!r})")
        df = alerts_frame(run_alerts(load_run(run_dir)))
        if fmt == "csv":
            sys.stdout.write(csv_safe_frame(df.assign(time=df["time"].astype(str))).to_csv(index=False))
        elif fmt == "json":
            typer.echo(df.assign(time=df["time"].astype(str)).to_json(orient="records", indent=2, force_ascii=False))
        else:
            rows = df.assign(time=[t.strftime("%Y-%m-%d %H:%M") for t in df["time"]]).to_dict(orient="records")
            print_table(rows, ["time", "kind", "object", "value", "limit", "unit", "severity", "reason", "action"])
            typer.echo(f"{len(df)} alert(s)")
