"""Start the Streamlit server in this process, warming the heavy imports and the default scenario meanwhile.

Running Streamlit in-process (rather than as a child ``streamlit run``) lets a warm-up thread import plotly,
pvlib and the simulator and generate the default scenario while the server starts, so the first page a user
opens does not pay for them (measured in ``docs/dashboard.md``).
"""

from __future__ import annotations

import threading

__all__ = ["run_server", "server_args", "warm_up"]


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
    ]


def warm_up() -> None:
    """Import the dashboard's modules, fill the shared caches for the default page and build a figure once."""
    try:
        import logging

        import plotly.io as pio

        # outside a script run Streamlit logs "missing ScriptRunContext" for each cached call: expected here
        logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
        logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
        from evfleet.dashboard import analysis_views, fleet_views, state, views  # noqa: F401

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
