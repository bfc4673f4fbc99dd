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
    """Import the dashboard's modules and build the default scenario and a figure once (warms module caches)."""
    try:
        import plotly.io as pio

        from evfleet.dashboard import analysis_views, fleet_views, views  # noqa: F401
        from evfleet.dashboard.state import default_params
        from evfleet.generate import ScenarioParams, generate_scenario
        from evfleet.simulate import simulate

        sc = generate_scenario(ScenarioParams(vehicles=500, **default_params()))
        res = simulate(sc)
        pio.to_json(views.load_curve_figure(sc.times, {"site_kw": res.site_kw}, sc.tou_period, 1.0, "en"))
    except Exception:  # a warm-up failure must never stop the server; the page will report real errors
        pass


def run_server(app: str, port: int, host: str) -> None:
    """Run ``streamlit run app`` in this process (blocks until the server stops)."""
    from streamlit.web import cli as stcli

    threading.Thread(target=warm_up, name="evfleet-warm-up", daemon=True).start()
    stcli.main.main(args=server_args(app, port, host), prog_name="streamlit", standalone_mode=False)
