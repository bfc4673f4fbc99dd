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
from evfleet.dashboard.guard import DEFAULT_ALLOWED_HOSTS, GuardMiddleware, security_headers, streamlit_index_html

__all__ = [
    "ENV_DASHBOARD_ALLOWED_HOSTS",
    "ENV_DASHBOARD_MAX_SESSIONS",
    "ENV_DASHBOARD_PASSWORD",
    "MAX_UPLOAD_MB",
    "MAX_UPLOAD_SESSIONS",
    "WARM_MODULES",
    "allowed_hosts",
    "app_path",
    "check_address",
    "check_allowed_hosts",
    "check_upload_sessions",
    "dashboard_command",
    "is_loopback",
    "max_upload_sessions",
    "run_server",
    "server_args",
    "server_config",
    "streamlit_app",
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
#: Host names accepted in a request's ``Host`` header besides this machine's (127.0.0.1, localhost, ::1) and the
#: bound address: comma-separated (``evfleet dashboard --allowed-host H`` adds to it). Any other Host is refused
#: (HTTP 403, WebSocket refused) - the DNS-rebinding defence.
ENV_DASHBOARD_ALLOWED_HOSTS = "EVFLEET_DASHBOARD_ALLOWED_HOSTS"
#: Most charging sessions (vehicles) an uploaded scenario may hold in the dashboard (default
#: :data:`MAX_UPLOAD_SESSIONS`); the CLI's own bound (``scenario_schema``) is larger.
ENV_DASHBOARD_MAX_SESSIONS = "EVFLEET_DASHBOARD_MAX_SESSIONS"
MAX_UPLOAD_SESSIONS = 5000


def is_loopback(host: str) -> bool:
    """True for an address of this machine only (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(port: int, host: str, accounts: bool = False) -> None:
    """Raise :class:`InputError` naming a bad ``--port`` or ``--host``, or a non-loopback ``--host`` with no
    authentication: neither evfleet accounts (``accounts``: an operate store with users, ``--operate-db``) nor a
    dashboard password (``EVFLEET_DASHBOARD_PASSWORD``)."""
    if not 1 <= port <= 65535:
        raise InputError(f"option '--port' must be within 1-65535 (value {port!r})")
    if not host or any(c.isspace() for c in host):
        raise InputError(f"option '--host' must be a host name or address (value {host!r})")
    if not is_loopback(host) and not accounts and not os.environ.get(ENV_DASHBOARD_PASSWORD):
        raise InputError(
            f"option '--host' {host!r} makes the dashboard reachable from other machines: sign-in is required "
            f"first: --operate-db with evfleet accounts, or {ENV_DASHBOARD_PASSWORD} set to a password (visitors "
            "must give it); or bind 127.0.0.1"
        )


def check_allowed_hosts(hosts: list[str] | tuple[str, ...], field: str = "--allowed-host") -> list[str]:
    """The host names of ``--allowed-host`` / :data:`ENV_DASHBOARD_ALLOWED_HOSTS`, lower case; raise
    :class:`InputError` naming one that is not a host name, an address or a ``*.domain`` pattern."""
    out = []
    for raw in hosts:
        h = raw.strip().lower()
        name = h[2:] if h.startswith("*.") else h.strip("[]")
        if h != "*" and (not name or len(h) > 253 or not all(c.isalnum() or c in "-.:_" for c in name)):
            raise InputError(f"option {field!r} must be a host name, an address or '*.domain' (value {raw!r})")
        out.append(h)
    return out


def allowed_hosts(host: str, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The Host allowlist of a server bound to ``host``: this machine's names, the bound address (unless it is
    a wildcard such as 0.0.0.0), :data:`ENV_DASHBOARD_ALLOWED_HOSTS` and ``extra``."""
    env = [h for h in os.environ.get(ENV_DASHBOARD_ALLOWED_HOSTS, "").split(",") if h.strip()]
    hosts = list(DEFAULT_ALLOWED_HOSTS)
    bound = host.strip("[]").lower()
    if bound not in ("0.0.0.0", "::", ""):
        hosts.append(bound)
    hosts += check_allowed_hosts(env, ENV_DASHBOARD_ALLOWED_HOSTS) + check_allowed_hosts(list(extra))
    return list(dict.fromkeys(hosts))


def max_upload_sessions() -> int:
    """Most sessions an uploaded scenario may hold (:data:`ENV_DASHBOARD_MAX_SESSIONS`, default
    :data:`MAX_UPLOAD_SESSIONS`); raise :class:`InputError` naming a bad setting."""
    raw = os.environ.get(ENV_DASHBOARD_MAX_SESSIONS, "").strip()
    if not raw:
        return MAX_UPLOAD_SESSIONS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"setting {ENV_DASHBOARD_MAX_SESSIONS} must be a positive integer (value {raw!r})")
    return value


def check_upload_sessions(n_sessions: int, what: str = "uploaded scenario") -> None:
    """Raise :class:`InputError` when an upload holds more sessions than the dashboard takes."""
    bound = max_upload_sessions()
    if n_sessions > bound:
        raise InputError(
            f"{what}: {n_sessions} sessions is more than the dashboard takes (at most {bound}, set by "
            f"{ENV_DASHBOARD_MAX_SESSIONS}); run it with the CLI (`evfleet run`) instead"
        )


def dashboard_command(port: int = 8501, host: str = "127.0.0.1") -> list[str]:
    """The command line that starts the dashboard server as a child process (tests, benchmark)."""
    check_address(port, host)
    return [sys.executable, "-m", "evfleet.cli", "dashboard", "--port", str(port), "--host", host]


def server_config(port: int, host: str) -> dict[str, str | int | bool]:
    """Streamlit's settings for the dashboard (option name -> value)."""
    return {
        "server.port": port,
        "server.address": host,
        "server.headless": True,
        "server.fileWatcherType": "none",
        "browser.gatherUsageStats": False,
        "client.toolbarMode": "viewer",
        "theme.base": "light",
        "client.showErrorDetails": "none",  # visitors see a generic message; the details go to the server's log
        "server.maxUploadSize": MAX_UPLOAD_MB,
        "server.enableCORS": True,  # a WebSocket from another origin is refused
        "server.enableXsrfProtection": True,
    }


def server_args(app: str, port: int, host: str) -> list[str]:
    """Arguments of ``streamlit run`` with the project's settings (without the guard: see :func:`run_server`)."""
    args = ["run", app]
    for name, value in server_config(port, host).items():
        args += [f"--{name}", str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def streamlit_app(app: str, hosts: list[str]) -> object:
    """``st.App(app)`` behind :class:`evfleet.dashboard.guard.GuardMiddleware` (Host allowlist ``hosts``,
    security headers on every HTTP response)."""
    import streamlit as st
    from starlette.middleware import Middleware

    guard = Middleware(GuardMiddleware, allowed_hosts=hosts, headers=security_headers(streamlit_index_html()))
    return st.App(app, middleware=[guard])


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

        background = importlib.import_module("evfleet.dashboard.background")
        if background.precompute_enabled():  # the background's worker processes import while the page loads
            importlib.import_module("evfleet.dashboard.solver_process").start(background.lanes())
        state.warm_default_caches(500)
        sc = state.generated_check({**state.default_params(), "vehicles": 500})
        pio.to_json(views.load_curve_figure(sc.times, {"site_kw": sc.base_load_kw}, sc.tou_period, 1.0, "en"))
    except Exception:  # a warm-up failure must never stop the server; the page will report real errors
        pass


def run_server(app: str, port: int, host: str) -> None:
    """Serve the Streamlit script ``app`` in this process behind the guard (blocks until the server stops).

    The Host allowlist is :func:`allowed_hosts` (``evfleet dashboard --allowed-host`` adds to
    :data:`ENV_DASHBOARD_ALLOWED_HOSTS` before calling this); Streamlit's own ``server.allowedHosts`` gets the
    same list, so its WebSocket check agrees.
    """
    hosts = allowed_hosts(host)
    config: dict[str, object] = {**server_config(port, host), "server.allowedHosts": hosts}
    application = streamlit_app(app, hosts)
    threading.Thread(target=warm_up, name="evfleet-warm-up", daemon=True).start()
    sys.argv = [app]  # App.run anchors the script's directory (sys.path, .streamlit/) on sys.argv[0]
    try:
        application.run(config=config)  # type: ignore[attr-defined]
    finally:  # the background's worker processes end with the server (they also watch for its death)
        solver_process = sys.modules.get("evfleet.dashboard.solver_process")
        if solver_process is not None:
            solver_process.stop()
