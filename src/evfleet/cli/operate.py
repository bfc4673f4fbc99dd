"""``evfleet serve`` (the OCPP central system, control loop and REST API) and ``evfleet depot-sim`` (a simulated
depot of OCPP stations). See ``docs/operate.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evfleet.cli._common import user_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``depot-sim`` commands to ``app``."""

    @app.command()
    @user_errors
    def serve(
        config: Annotated[
            Path | None, typer.Option(help="Depot file (YAML): site limits, control, stations...")
        ] = None,
        host: Annotated[
            str, typer.Option(help="Address to bind (other than loopback needs 'auth: true').")
        ] = "127.0.0.1",
        ocpp_port: Annotated[int, typer.Option(help="OCPP WebSocket port (ws://HOST:PORT/ocpp/{station_id}).")] = 9000,
        api_port: Annotated[int, typer.Option(help="REST API port (http://HOST:PORT/api/v1, /docs).")] = 8000,
        db: Annotated[
            Path | None, typer.Option(help="Operate store (SQLite file; default: operate.db beside the run store).")
        ] = None,
        log_level: Annotated[str, typer.Option(help="Log level: debug, info, warning, error.")] = "info",
    ) -> None:
        """Run the depot's central system: OCPP 1.6J/2.0.1 server, control loop and REST API (Ctrl+C stops)."""
        import asyncio
        import logging

        from evfleet.operate.config import load_config
        from evfleet.operate.server import OperateServer, serve_until_stopped

        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("evfleet.operate.ocpp").setLevel(logging.WARNING)  # the per-frame log stays quiet
        cfg = load_config(config)
        for port, name in ((ocpp_port, "--ocpp-port"), (api_port, "--api-port")):
            if not 0 <= port <= 65535:
                raise typer.BadParameter(f"must be within 0-65535 (value {port})", param_hint=name)
        server = OperateServer(cfg, db, host, ocpp_port, api_port)
        if server.warning:
            typer.echo(server.warning, err=True)

        def ready(ports: object) -> None:
            p = server.ports
            assert p is not None
            scheme = "wss" if cfg.ocpp.tls_cert else "ws"
            typer.echo(
                f"evfleet serve: OCPP {scheme}://{host}:{p.ocpp}/ocpp/{{station_id}}  "
                f"API http://{host}:{p.api}/api/v1  "
                f"(docs http://{host}:{p.api}/docs; store {server.db_path}; Ctrl+C to stop)",
                err=False,
            )

        asyncio.run(serve_until_stopped(server, ready))

    @app.command("depot-sim")
    @user_errors
    def depot_sim(
        stations: Annotated[int, typer.Option(help="Number of simulated stations.")] = 10,
        csms: Annotated[
            str, typer.Option(help="Central system URL, without the station id.")
        ] = "ws://127.0.0.1:9000/ocpp",
        ocpp: Annotated[str, typer.Option(help="OCPP version of the stations: 1.6 or 2.0.1.")] = "1.6",
        scenario: Annotated[Path | None, typer.Option(help="Scenario file (evfleet scenario new) to replay.")] = None,
        speed: Annotated[float, typer.Option(help="Scenario seconds per wall-clock second.")] = 60.0,
        evses: Annotated[int, typer.Option(help="EVSEs (one connector each) per station.")] = 2,
        evse_kw: Annotated[float, typer.Option(help="Rating of each EVSE [kW].")] = 22.0,
        password: Annotated[str, typer.Option(help="The stations' password (Basic auth).")] = "depot-sim-password",
        register_api: Annotated[
            str | None,
            typer.Option(
                "--register", help="Register stations, vehicles and ID tokens at this API first (http://...)."
            ),
        ] = None,
        api_token: Annotated[str | None, typer.Option(help="API token for --register when auth is on.")] = None,
        meter_interval: Annotated[float, typer.Option(help="Wall seconds between meter values.")] = 10.0,
        duration: Annotated[float | None, typer.Option(help="Stop after this many wall seconds.")] = None,
        iso15118: Annotated[bool, typer.Option(help="2.0.1: send NotifyEVChargingNeeds (ISO 15118).")] = True,
        ca: Annotated[
            Path | None, typer.Option(help="wss:// (security profile 2): the CA certificate (PEM) to trust.")
        ] = None,
    ) -> None:
        """Emulate a depot of OCPP charge points replaying a scenario's vehicles against --csms."""
        import asyncio
        import contextlib
        import logging

        from evfleet.inputs.generate import generate_scenario
        from evfleet.operate.depot_sim import SimDepot, register_depot
        from evfleet.scenario import load_scenario

        logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        sc = load_scenario(scenario) if scenario else generate_scenario(vehicles=stations * evses, seed=0)
        tls = None
        if csms.startswith("wss://"):
            import ssl

            from evfleet._common.errors import InputError

            if ca is not None and not ca.is_file():
                raise InputError(f"option '--ca' must be a PEM file (value {str(ca)!r})")
            tls = ssl.create_default_context(cafile=str(ca) if ca else None)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
        depot = SimDepot(
            sc,
            stations,
            csms,
            version=ocpp,
            evses_per_station=evses,
            evse_kw=evse_kw,
            speed=speed,
            password=password,
            meter_interval_s=meter_interval,
            iso15118=iso15118,
            ssl=tls,
        )
        if register_api:
            counts = register_depot(depot, register_api, api_token)
            typer.echo(f"registered at {register_api}: {counts}")
        typer.echo(f"depot-sim: {stations} OCPP {ocpp} stations x {evses} EVSEs -> {csms}; {sc.n_vehicles} sessions")

        async def main() -> None:
            await depot.start()
            try:
                await depot.run(duration, report_every_s=10.0)
            finally:
                await depot.stop()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
        typer.echo(f"depot-sim: done: {depot.plugged} plugged, {depot.unplugged} unplugged, {depot.skipped} skipped")
