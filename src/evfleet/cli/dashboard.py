"""``evfleet dashboard``: start the Streamlit dashboard on this machine.

It runs Streamlit (in this process, see :mod:`evfleet.dashboard.launch`) on the package's ``dashboard/app.py``
with the project's settings (bound to ``--host``, default 127.0.0.1; no file watcher; no usage statistics;
headless), so it works from any directory with no set-up. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app_path", "check_address", "dashboard_command", "register"]


def app_path() -> Path:
    """The dashboard's Streamlit script inside the installed package."""
    return Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


def check_address(port: int, host: str) -> None:
    """Raise ``ValueError`` naming a bad ``--port`` or ``--host``."""
    if not 1 <= port <= 65535:
        raise ValueError(f"option '--port' must be within 1-65535 (value {port!r})")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"option '--host' must be a host name or address (value {host!r})")


def dashboard_command(port: int = 8501, host: str = "127.0.0.1") -> list[str]:
    """The command line that starts the dashboard server as a child process (tests, benchmark)."""
    check_address(port, host)
    return [sys.executable, "-m", "evfleet.cli", "dashboard", "--port", str(port), "--host", host]


def register(app: typer.Typer) -> None:
    """Add the ``dashboard`` command to ``app``."""
    from evfleet.cli.core import user_errors  # here, not at module level: evfleet.cli.core imports this module

    @app.command()
    @user_errors
    def dashboard(
        port: Annotated[int, typer.Option(help="TCP port of the web server.")] = 8501,
        host: Annotated[str, typer.Option(help="Address to bind (default: this machine only).")] = "127.0.0.1",
        no_store: Annotated[
            bool, typer.Option("--no-store", help="Do not keep the live sessions' history in the run store.")
        ] = False,
    ) -> None:
        """Start the live dashboard (Streamlit + Plotly) at http://HOST:PORT (default scenario: 500 EVs, today)."""
        check_address(port, host)
        if no_store:
            import os

            os.environ["EVFLEET_LIVE_STORE"] = "0"  # read by the dashboard (same process) when a live runner starts
        from evfleet.dashboard.launch import run_server

        typer.echo(f"evfleet dashboard: http://{host}:{port}  (Ctrl+C to stop)")
        run_server(str(app_path()), port, host)
