"""``evfleet dashboard``: start the Streamlit dashboard on this machine.

It runs Streamlit (in this process, see :mod:`evfleet.dashboard.launch`) on the package's ``dashboard/app.py``
with the project's settings (bound to ``--host``, default 127.0.0.1; no file watcher; no usage statistics;
headless), so it works from any directory with no set-up. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evfleet.cli._common import user_errors
from evfleet.dashboard.launch import (
    ENV_DASHBOARD_ALLOWED_HOSTS,
    allowed_hosts,
    app_path,
    check_address,
    check_allowed_hosts,
    dashboard_command,
)

__all__ = ["app_path", "check_address", "dashboard_command", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``dashboard`` command to ``app``."""

    @app.command()
    @user_errors
    def dashboard(
        port: Annotated[int, typer.Option(help="TCP port of the web server.")] = 8501,
        host: Annotated[str, typer.Option(help="Address to bind (default: this machine only).")] = "127.0.0.1",
        no_store: Annotated[
            bool, typer.Option("--no-store", help="Do not keep the live sessions' history in the run store.")
        ] = False,
        allowed_host: Annotated[
            list[str] | None,
            typer.Option(
                "--allowed-host",
                help="A host name visitors use to reach the dashboard (repeatable; '*.example.org' for a domain). "
                "127.0.0.1, localhost, ::1 and --host are always allowed; a request naming another Host is refused.",
            ),
        ] = None,
        operate_db: Annotated[
            Path | None,
            typer.Option(
                "--operate-db",
                help="The operate store of `evfleet serve`: live depot page, and sign-in with its accounts.",
            ),
        ] = None,
    ) -> None:
        """Start the live dashboard (Streamlit + Plotly) at http://HOST:PORT (default scenario: 500 EVs, today)."""
        import os

        if operate_db is not None:
            from evfleet._common.errors import InputError
            from evfleet.operate.access import ENV_OPERATE_DB

            if not operate_db.is_file():
                raise InputError(f"option '--operate-db' must be an existing operate store (value {str(operate_db)!r})")
            os.environ[ENV_OPERATE_DB] = str(operate_db.resolve())  # read by the dashboard (same process)
        from evfleet.operate.access import ENV_OPERATE_DB, has_accounts

        db = os.environ.get(ENV_OPERATE_DB)
        check_address(port, host, accounts=bool(db) and Path(db).is_file() and has_accounts(db))
        extra = check_allowed_hosts(allowed_host or [])
        allowed_hosts(host)  # a bad EVFLEET_DASHBOARD_ALLOWED_HOSTS is an error before the server starts
        if extra:  # read by the server (same process) when it starts
            before = [h for h in os.environ.get(ENV_DASHBOARD_ALLOWED_HOSTS, "").split(",") if h.strip()]
            os.environ[ENV_DASHBOARD_ALLOWED_HOSTS] = ",".join(before + extra)
        if no_store:
            os.environ["EVFLEET_LIVE_STORE"] = "0"  # read by the dashboard (same process) when a live runner starts
        from evfleet.dashboard.launch import run_server

        typer.echo(f"evfleet dashboard: http://{host}:{port}  (Ctrl+C to stop)")
        typer.echo(f"accepted Host names: {', '.join(allowed_hosts(host))}  (more with --allowed-host)")
        run_server(str(app_path()), port, host)
