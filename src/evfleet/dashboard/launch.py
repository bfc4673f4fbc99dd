"""Start the Streamlit server in this process, warming the heavy imports and the default scenario meanwhile.

Running Streamlit in-process (rather than as a child ``streamlit run``) lets a warm-up thread import plotly,
pvlib and the simulator and generate the default scenario while the server starts, so the first page a user
opens does not pay for them (measured in ``docs/dashboard.md``).
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import sys
import threading
from pathlib import Path

from evfleet._common.errors import InputError

__all__ = [
    "ENV_DASHBOARD_PASSWORD",
    "MAX_UPLOAD_MB",
    "WARM_MODULES",
    "app_path",
    "check_address",
    "dashboard_command",
    "is_loopback",
    "run_server",
    "server_args",
    "warm_up",
]

#: The dashboard's heavy modules, imported by the warm-up thread while the server starts (not at import time, so
#: that ``evfleet --help`` and the server's start stay fast).
WARM_MODULES: tuple[str, ...] = (
    "evfleet.dashboard.state",
    "evfleet.dashboard.views",
    "evfleet.dashboard.analysis_views",
    "evfleet.dashboard.fleet_views",
)


def app_path() -> Path:
    """The dashboard's Streamlit script inside the installed package."""
    return Path(__file__).resolve().parent / "app.py"


#: A password the dashboard asks for before showing anything (required to bind an address other than this
#: machine's: the dashboard has no accounts of its own yet).
ENV_DASHBOARD_PASSWORD = "EVFLEET_DASHBOARD_PASSWORD"
#: Largest file a visitor may upload [MB] (scenarios, fleets).
MAX_UPLOAD_MB = 16


def is_loopback(host: str) -> bool:
    """True for an address of this machine only (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(port: int, host: str) -> None:
    """Raise :class:`InputError` naming a bad ``--port`` or ``--host``, or a non-loopback ``--host`` without a
    dashboard password (``EVFLEET_DASHBOARD_PASSWORD``)."""
    if not 1 <= port <= 65535:
        raise InputError(f"option '--port' must be within 1-65535 (value {port!r})")
    if not host or any(c.isspace() for c in host):
        raise InputError(f"option '--host' must be a host name or address (value {host!r})")
    if not is_loopback(host) and not os.environ.get(ENV_DASHBOARD_PASSWORD):
        raise InputError(
            f"option '--host' {host!r} makes the dashboard reachable from other machines: set "
            f"{ENV_DASHBOARD_PASSWORD} to a password first (visitors must give it), or bind 127.0.0.1"
        )


def dashboard_command(port: int = 8501, host: str = "127.0.0.1") -> list[str]:
    """The command line that starts the dashboard server as a child process (tests, benchmark)."""
    check_address(port, host)
    return [sys.executable, "-m", "evfleet.cli", "dashboard", "--port", str(port), "--host", host]


def server_args(app: str, port: int, host: str) -> list[str]:
    """Arguments of ``streamlit run`` with the project's settings."""
    return [
        "run",
        app,
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
        "--client.showErrorDetails",
        "none",  # visitors see a generic message; the details go to the server's log
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
    ]


def warm_up() -> None:
    """Import the dashboard's modules, fill the shared caches for the default page and build a figure once."""
    try:
        import logging

        import plotly.io as pio

        # outside a script run Streamlit logs "missing ScriptRunContext" for each cached call: expected here
        logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
        logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
        state, views = (importlib.import_module(m) for m in WARM_MODULES[:2])
        for name in WARM_MODULES[2:]:
            importlib.import_module(name)

        state.warm_default_caches(500)
        sc = state.generated_check({**state.default_params(), "vehicles": 500})
        pio.to_json(views.load_curve_figure(sc.times, {"site_kw": sc.base_load_kw}, sc.tou_period, 1.0, "en"))
    except Exception:  # a warm-up failure must never stop the server; the page will report real errors
        pass


def run_server(app: str, port: int, host: str) -> None:
    """Run ``streamlit run app`` in this process (blocks until the server stops)."""
    from streamlit.web import cli as stcli

    threading.Thread(target=warm_up, name="evfleet-warm-up", daemon=True).start()
    stcli.main.main(args=server_args(app, port, host), prog_name="streamlit", standalone_mode=False)
