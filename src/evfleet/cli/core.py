"""The ``evfleet`` command line: catalogue, tariffs, scenarios, runs and the demo.

Every command that takes user input reports bad input as ``error: ...`` naming the field and value, and exits
with status 2; nothing already written is modified by a failed command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from evfleet._common.errors import InputError
from evfleet._common.version import __version__
from evfleet.cli._common import (
    ENV_DEBUG,
    app,
    check_store,
    parse_mapping,
    print_kpis,
    print_table,
    run_options,
    scenario_app,
    strategy_params,
    user_errors,
    utc_now,
    with_frequency,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal failure (also EVFLEET_DEBUG=1).")
    ] = False,
) -> None:
    if debug:
        os.environ[ENV_DEBUG] = "1"


@app.command()
@user_errors
def catalog(
    sort: Annotated[str, typer.Option(help="Column to sort by (descending for numbers).")] = "registrations",
    fmt: Annotated[str, typer.Option("--format", help="Output format: table, csv or json.")] = "table",
    extra: Annotated[Path | None, typer.Option(help="Your own catalogue CSV/JSON to add or override models.")] = None,
    detail: Annotated[
        bool, typer.Option(help="All columns: sources of every number, bidirectional capability, DC curve.")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Validate the catalogue (units, ranges, duplicates, sources) and exit.")
    ] = False,
    models: Annotated[
        Path | None, typer.Option(help="With --check: a catalogue file in the shipped format to check instead.")
    ] = None,
    references: Annotated[Path | None, typer.Option(help="With --check: the references file to check against.")] = None,
) -> None:
    """Print the vehicle catalogue (sourced models and your additions), or check it with --check."""
    from evfleet.inputs.catalog import CATALOG_COLUMNS
    from evfleet.inputs.catalog_sources import DETAIL_COLUMNS, check_catalog, load_catalog_details

    if check:
        problems = check_catalog(models, references)
        if extra is not None:
            try:
                load_catalog_details(extra)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise InputError(f"catalogue check failed ({len(problems)} problem(s)):\n  " + "\n  ".join(problems))
        df = load_catalog_details(extra) if models is None else None
        if df is None:
            typer.echo(f"ok: {models} is a valid catalogue")
            return
        src_cols = [c for c in df.columns if c.endswith("_src") or c == "popularity_source"]
        cells = df[src_cols].to_numpy().ravel()
        assumed = sum(str(x).lower().startswith("assumption") for x in cells)
        bev = int((df["powertrain"] == "bev").sum())
        typer.echo(
            f"ok: {len(df)} models ({bev} battery-electric), {int(df['v2g'].sum())} V2G-capable by source; "
            f"{len(cells) - assumed} numbers sourced, {assumed} marked assumption"
        )
        return
    df = load_catalog_details(extra) if detail else load_catalog_details(extra)[list(CATALOG_COLUMNS)]
    columns = DETAIL_COLUMNS if detail else CATALOG_COLUMNS
    if sort not in columns:
        raise InputError(f"option '--sort': unknown column {sort!r}; columns: {', '.join(columns)}")
    numeric = columns[sort][0] in ("float", "int", "bool")
    df = df.sort_values(sort, ascending=not numeric, kind="stable")
    if fmt == "csv":
        from evfleet._common.text import csv_safe_frame

        sys.stdout.write(csv_safe_frame(df).to_csv(index=False))
    elif fmt == "json":
        typer.echo(df.to_json(orient="records", indent=2, force_ascii=False))
    elif fmt == "table":
        shown = ["model", "registrations", "battery_kwh", "ac_charge_kw", "dc_charge_kw", "ac_discharge_kw",
                 "dc_discharge_kw", "v2g"] + (["bidirectional", "protocol"] if detail else [])  # fmt: skip
        rows = df[shown].to_dict(orient="records")
        for row in rows:  # 0 = no registration figure found (docs/catalog.md): shown blank, not as a count
            row["registrations"] = row["registrations"] or None
        print_table(rows)
        typer.echo("registrations: Dutch registrations from EV2Gym (a popularity weight); blank: no figure found")
    else:
        raise InputError(f"option '--format' must be table, csv or json (value {fmt!r})")


@app.command()
@user_errors
def tariffs(
    name: Annotated[str | None, typer.Argument(help="A tariff id or file to show in full.")] = None,
) -> None:
    """List the shipped tariffs, or show one with its prices, status and sources."""
    from evfleet.inputs.tariffs import list_tariffs, load_tariff

    if name is None:
        rows = []
        for tid in list_tariffs():
            t = load_tariff(tid)
            prices = ", ".join(f"{p} {t.price_of(p):.4g}" for p in t.period_names)
            vat = f"incl. {t.billing['vat_pct']:g} % VAT" if t.billing["prices_include_vat"] else "before VAT"
            vat = "as written; /1: energy only" if t.format == "evfleet.tariff/1" else vat
            rows.append({"id": tid, "periods (MAD/kWh)": f"{prices} ({vat})", "status": t.status,
                         "power charge (MAD/kVA/year)": t.billing["power_charge_mad_per_kva_year"],
                         "name": t.name})  # fmt: skip
        print_table(rows)
        return
    typer.echo(json.dumps(load_tariff(name).to_dict(), indent=2, ensure_ascii=False))


@scenario_app.command("new")
@user_errors
def scenario_new(
    out: Annotated[Path, typer.Option(help="Scenario file to write (JSON).")],
    vehicles: Annotated[int, typer.Option(help="Number of vehicles (50-2,000 typical).")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the identical file.")] = 0,
    start: Annotated[str | None, typer.Option(help="Start date (ISO, default today in the site's zone).")] = None,
    start_hour: Annotated[int | None, typer.Option(help="Local hour of the first step (default by profile).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Africa/Casablanca",
    days: Annotated[int, typer.Option(help="Horizon in days.")] = 1,
    step_minutes: Annotated[int, typer.Option(help="Step length in minutes.")] = 15,
    profile: Annotated[str, typer.Option(help="depot, workplace or mixed.")] = "depot",
    composition: Annotated[
        str | None, typer.Option(help='Fleet as "MODEL:COUNT,..." exactly (default: --fleet-mix).')
    ] = None,
    fleet_mix: Annotated[
        str,
        typer.Option(
            help="Named fleet composition: morocco_depot (vans, taxis, pool cars) or ev2gym_nl "
            "(EV2Gym's Dutch mix by registrations); see docs/model.md."
        ),
    ] = "morocco_depot",
    soc_arrival_floor: Annotated[
        float, typer.Option(help="Lowest arrival SOC of the generated sessions (0-1; truncated draw, no clipping).")
    ] = 0.10,
    bidirectional_share: Annotated[float, typer.Option(help="Share of bidirectional chargers (0-1).")] = 0.5,
    charger_mix: Annotated[str | None, typer.Option(help='Charger shares, e.g. "ac11:0.7,dc50:0.3".')] = None,
    soc_target: Annotated[float, typer.Option(help="Target SOC at departure (0-1).")] = 0.85,
    soc_min: Annotated[float, typer.Option(help="SOC floor, also the V2G floor (0-1).")] = 0.20,
    soc_max: Annotated[float, typer.Option(help="SOC ceiling (0-1).")] = 0.90,
    import_limit_kw: Annotated[float | None, typer.Option(help="Site import limit [kW].")] = None,
    export_limit_kw: Annotated[float | None, typer.Option(help="Site export limit [kW].")] = None,
    pv_kwp: Annotated[float | None, typer.Option(help="PV peak power [kWp].")] = None,
    base_load_peak_kw: Annotated[float | None, typer.Option(help="Peak of the non-EV site load [kW].")] = None,
    tariff: Annotated[str, typer.Option(help="Tariff id (see `evfleet tariffs`) or file.")] = "onee_mt_general",
    subscribed_power_kva: Annotated[
        float | None, typer.Option(help="Subscribed power of the contract [kVA] (default: the import limit).")
    ] = None,
    degradation_mad_per_kwh: Annotated[float, typer.Option(help="Battery wear cost per kWh discharged.")] = 0.40,
    catalog_file: Annotated[Path | None, typer.Option("--catalog", help="Extra catalogue CSV/JSON.")] = None,
    name: Annotated[str | None, typer.Option(help="Scenario name.")] = None,
    assume_ev2gym_v2g_2024: Annotated[
        bool,
        typer.Option(
            "--assume-ev2gym-v2g-2024",
            help="What-if (assumption): treat EV2Gym's 2024 V2G-ready models (Tesla Model 3 included) as V2G-capable.",
        ),
    ] = False,
) -> None:
    """Generate a scenario file from a few parameters (deterministic by seed)."""
    from evfleet.inputs.generate import ScenarioParams, generate_scenario
    from evfleet.scenario import save_scenario

    params = ScenarioParams(
        vehicles=vehicles,
        seed=seed,
        start=start,
        start_hour=start_hour,
        timezone=timezone,
        days=days,
        step_minutes=step_minutes,
        profile=profile,
        composition=parse_mapping(composition, "--composition", int),
        fleet_mix=fleet_mix,
        soc_arrival_floor=soc_arrival_floor,
        bidirectional_share=bidirectional_share,
        charger_mix=parse_mapping(charger_mix, "--charger-mix", float) or ScenarioParams().charger_mix,
        soc_target=soc_target,
        soc_min=soc_min,
        soc_max=soc_max,
        import_limit_kw=import_limit_kw,
        export_limit_kw=export_limit_kw,
        pv_kwp=pv_kwp,
        base_load_peak_kw=base_load_peak_kw,
        tariff=tariff,
        subscribed_power_kva=subscribed_power_kva,
        degradation_mad_per_kwh=degradation_mad_per_kwh,
        catalog_file=str(catalog_file) if catalog_file else None,
        name=name,
        v2g_ready_2024=assume_ev2gym_v2g_2024,
    )
    sc = generate_scenario(params)
    save_scenario(sc, out)
    typer.echo(f"wrote {out}: {sc.n_vehicles} sessions, {sc.n_steps} steps of {sc.step_minutes} min from {sc.start}")


@scenario_app.command("show")
@user_errors
def scenario_show(path: Annotated[Path, typer.Argument(help="Scenario file.")]) -> None:
    """Validate a scenario file and print a summary."""
    from evfleet.scenario import load_scenario

    sc = load_scenario(path)
    v = sc.vehicles
    rows = [
        {"field": "name", "value": sc.name},
        {"field": "start", "value": sc.start.isoformat()},
        {"field": "steps", "value": f"{sc.n_steps} x {sc.step_minutes} min"},
        {"field": "sessions", "value": sc.n_vehicles},
        {"field": "V2G-capable sessions", "value": int((v.max_discharge_kw > 0).sum())},
        {"field": "import limit kW", "value": sc.import_limit_kw},
        {"field": "base load peak kW", "value": float(sc.base_load_kw.max())},
        {"field": "PV peak kW", "value": float(sc.pv_kw.max())},
        {"field": "sha256", "value": sc.content_hash},
    ]
    print_table(rows)


@app.command()
@user_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (JSON) or multi-depot fleet file (docs/sweep.md).")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    strategy: Annotated[str, typer.Option(help="Strategy name.")] = "uncontrolled",
    mode: Annotated[str, typer.Option(help="offline (perfect foresight) or online (receding horizon).")] = "offline",
    v2g: Annotated[bool, typer.Option("--v2g/--no-v2g", help="Allow discharging to the grid.")] = True,
    forecast_noise: Annotated[float, typer.Option(help="Online mode: relative forecast error (0-1).")] = 0.0,
    horizon_h: Annotated[float, typer.Option(help="Online mode: look-ahead [h].")] = 24.0,
    seed: Annotated[int, typer.Option(help="Seed of the forecast noise.")] = 0,
    quiet: Annotated[bool, typer.Option(help="Do not print the KPI table.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep the run in the run store.")] = False,
    db: Annotated[
        str | None, typer.Option(help="Run store: SQLite path or SQLAlchemy URL (default $EVFLEET_DB).")
    ] = None,
    reserve_price: Annotated[
        float | None, typer.Option(help="grid_support: FCR reserve price [MAD/kW/h] (default 0.15).")
    ] = None,
    frequency_csv: Annotated[
        Path | None, typer.Option(help="grid_support: CSV with a frequency_hz column (and optional time).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Fleet files: local Dask workers (0 = no Dask).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Fleet files: Dask scheduler address.")] = None,
) -> None:
    """Run one strategy on a scenario (or each depot of a fleet file), write its output files and store the run."""
    from evfleet.batch.depots import is_fleet_file

    if is_fleet_file(scenario):  # multi-depot fleet: see docs/sweep.md
        from evfleet.cli.depots import run_fleet_command

        if frequency_csv is not None:
            raise InputError(
                f"option '--frequency-csv' is not supported with a fleet file (value {str(frequency_csv)!r})"
            )
        opts = run_options(mode, v2g, forecast_noise, horizon_h, seed)
        params = strategy_params(reserve_price, seed)
        return run_fleet_command(scenario, out, strategy, opts, workers, scheduler, quiet, db=db, store=not no_store,
                                 strategy_params=params)  # fmt: skip
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.results.run_files import write_run_outputs
    from evfleet.scenario import load_scenario
    from evfleet.simulation.simulate import simulate
    from evfleet.strategies import REGISTRY

    if strategy not in REGISTRY:
        raise InputError(f"option '--strategy': unknown strategy {strategy!r}; known: {', '.join(REGISTRY)}")

    sc = with_frequency(load_scenario(scenario), frequency_csv)
    params = strategy_params(reserve_price, seed).get(strategy, {})
    check_store(db, no_store)
    started_at = utc_now()
    result = simulate(sc, strategy, run_options(mode, v2g, forecast_noise, horizon_h, seed), **params)
    kpis = compute_kpis(result)
    write_run_outputs(result, out, kpis)
    if not quiet:
        print_kpis(kpis)
    typer.echo(f"wrote {out}/kpis.json, bill.json, trace.npz, site.csv, vehicles.csv, events.csv, scenario.json")
    if not no_store:
        from evfleet.store.runs import run_outputs_from_dir, store_run

        written = run_outputs_from_dir(out, started_at)  # store exactly what was written (incl. grid-quality files)
        run_id = store_run(
            result,
            written["kpis"] or kpis,
            db=db,
            started_at=started_at,
            events=written["events"],
            site=written["site"],
            bill=written["bill"],
        )
        typer.echo(f"stored run {run_id} (see `evfleet show {run_id}`)")


@app.command()
@user_errors
def bill(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory written by `evfleet run`.")],
    fmt: Annotated[str, typer.Option("--format", help="Output format: table or json.")] = "table",
) -> None:
    """Print the bill of a run (energy, power charge, overrun, cos φ penalty, fees, VAT), each item with its status.

    Reads ``RUN_DIR/bill.json``; a run directory without one (written before bills) is billed from its files.
    """
    from evfleet.cli.billing import bill_of_run_dir, bill_rows

    if fmt not in ("table", "json"):
        raise InputError(f"option '--format' must be table or json (value {fmt!r})")
    data = bill_of_run_dir(run_dir)
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(f"tariff {data['tariff']} ({data['tariff_status']}): {data['tariff_name']}")
    typer.echo(f"{data['days']:.4g} days; called power {data['called_power_kva']:,.1f} {data['demand_measure']} "
               f"(subscribed {data['subscribed_power_kva']:,.1f}); cos phi "
               f"{'-' if data['cos_phi'] is None else format(data['cos_phi'], '.4f')}")  # fmt: skip
    print_table(bill_rows(data), ["item", "mad", "status"])


@app.command()
@user_errors
def demo(
    vehicles: Annotated[int | None, typer.Option(help="Number of vehicles (default 500; 40 with --live).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Also write the run's files here.")] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Run the central system, a simulated depot and the dashboard together (Ctrl+C stops)."
        ),
    ] = False,
    stations: Annotated[int, typer.Option(help="--live: simulated stations (2 EVSEs of 22 kW each).")] = 20,
    speed: Annotated[float, typer.Option(help="--live: scenario seconds per wall-clock second.")] = 120.0,
    ocpp_port: Annotated[int, typer.Option(help="--live: OCPP port (0: a free one).")] = 9000,
    api_port: Annotated[int, typer.Option(help="--live: REST API port (0: a free one).")] = 8000,
    port: Annotated[int, typer.Option(help="--live: dashboard port (0: a free one).")] = 8501,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="--live: folder of the scenario and the operate store.")
    ] = None,
) -> None:
    """Generate a depot scenario, run the uncontrolled baseline and print its KPIs; with --live, run the depot."""
    if live:
        import tempfile

        from evfleet.operate.demo import plan_live_demo, run_live_demo

        folder = directory or Path(tempfile.mkdtemp(prefix="evfleet-demo-live-"))
        plan = plan_live_demo(
            folder, stations, vehicles or 40, speed, ocpp_port, api_port, port, seed=seed if seed else 1
        )
        raise typer.Exit(run_live_demo(plan, typer.echo))
    vehicles = 500 if vehicles is None else vehicles
    from evfleet.analysis.kpis import compute_kpis
    from evfleet.inputs.generate import generate_scenario
    from evfleet.results.run_files import write_run_outputs
    from evfleet.simulation.simulate import simulate

    sc = generate_scenario(vehicles=vehicles, seed=seed)
    typer.echo(f"scenario {sc.name}: {sc.n_vehicles} sessions, {sc.n_steps} steps of {sc.step_minutes} min")
    result = simulate(sc, "uncontrolled")
    kpis = compute_kpis(result)
    print_kpis(kpis)
    if out is not None:
        write_run_outputs(result, out, kpis)
        typer.echo(f"wrote {out}")
