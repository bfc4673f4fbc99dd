"""``evfleet compare`` (several strategies on one scenario against both baselines) and ``evfleet year`` (a year
from representative days).

Writes ``DIR/comparison.csv`` and ``DIR/comparison.md`` (formats in docs/strategies.md) and prints the table.
Units: money [MAD], power [kW], energy [kWh], runtime [s].
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evfleet._common.errors import InputError
from evfleet.cli._common import check_store, print_table, run_options, strategy_params, user_errors, with_frequency

__all__ = ["register", "register_year"]


def register(app: typer.Typer) -> None:
    """Add ``compare`` and ``year`` to ``app``."""
    register_year(app)

    @app.command()
    @user_errors
    def compare(
        scenario: Annotated[Path, typer.Argument(help="Scenario file (JSON) or multi-depot fleet file.")],
        out: Annotated[Path, typer.Option(help="Output directory for comparison.csv and comparison.md.")],
        strategies: Annotated[str, typer.Option(help='"all" or a comma list of strategy names.')] = "all",
        mode: Annotated[
            str, typer.Option(help="offline (perfect foresight) or online (receding horizon).")
        ] = "offline",
        v2g: Annotated[bool, typer.Option("--v2g/--no-v2g", help="Allow discharging to the grid.")] = True,
        forecast_noise: Annotated[float, typer.Option(help="Online mode: relative forecast error (0-1).")] = 0.0,
        horizon_h: Annotated[float, typer.Option(help="Online mode: look-ahead [h].")] = 24.0,
        seed: Annotated[int, typer.Option(help="Seed of forecast noise and synthetic frequency.")] = 0,
        reserve_price: Annotated[
            float | None, typer.Option(help="grid_support: FCR reserve price [MAD/kW/h] (default 0.15).")
        ] = None,
        frequency_csv: Annotated[
            Path | None, typer.Option(help="CSV with a frequency_hz column (and optional time) for grid_support.")
        ] = None,
        v2g_value: Annotated[
            bool,
            typer.Option(
                "--v2g-value/--no-v2g-value",
                help="With V2G: run each strategy again without V2G for "
                "v2g_value_mad (its cost without V2G minus its cost with V2G).",
            ),
        ] = True,
        no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep the runs in the run store.")] = False,
        db: Annotated[
            str | None, typer.Option(help="Run store: SQLite path or SQLAlchemy URL (default $EVFLEET_DB).")
        ] = None,
        workers: Annotated[int | None, typer.Option(help="Fleet files: local Dask workers (0 = no Dask).")] = None,
        scheduler: Annotated[str | None, typer.Option(help="Fleet files: Dask scheduler address.")] = None,
    ) -> None:
        """Run every strategy on the same scenario (or on each depot of a fleet file); compare against both baselines
        (uncontrolled and timer), the headline against the cheaper one."""
        from evfleet._common.ids import utc_now
        from evfleet.analysis.compare import CLI_COLUMNS, headline_text, resolve_strategies, write_comparison
        from evfleet.analysis.compare import compare as run_compare
        from evfleet.batch.depots import is_fleet_file
        from evfleet.scenario import load_scenario

        try:
            names = resolve_strategies(strategies)
        except ValueError as exc:
            raise InputError(f"option '--strategies': {exc}") from None
        opts = run_options(mode, v2g, forecast_noise, horizon_h, seed)
        if is_fleet_file(scenario):  # multi-depot fleet (docs/sweep.md): every depot in parallel on Dask
            from evfleet.cli.depots import compare_fleet_command

            if frequency_csv is not None:
                raise InputError(
                    f"option '--frequency-csv' is not supported with a fleet file (value {str(frequency_csv)!r})"
                )
            return compare_fleet_command(scenario, out, ",".join(names), opts, workers, scheduler,
                                         strategy_params(reserve_price, seed), db=db, store=not no_store)  # fmt: skip
        sc = with_frequency(load_scenario(scenario), frequency_csv)
        check_store(db, no_store)
        started_at = utc_now()
        comp = run_compare(sc, names, opts, strategy_params(reserve_price, seed), v2g_value=v2g_value)
        paths = write_comparison(comp, out)
        print_table(comp.table.to_dict(orient="records"), CLI_COLUMNS)
        typer.echo(f"headline: {headline_text(comp)}".replace("`", ""))
        for row in comp.table[comp.table["nothing_to_do"]].itertuples(index=False):
            typer.echo(f"nothing to do: {row.strategy}: {row.nothing_to_do_reason}")
        typer.echo(f"wrote {paths['csv']} and {paths['md']}")
        if not no_store:
            from evfleet.store.runs import store_comparison

            comparison_id, _ = store_comparison(comp, db=db, started_at=started_at)
            typer.echo(f"stored comparison {comparison_id} (see `evfleet history --comparisons`)")


def register_year(app: typer.Typer) -> None:
    """Add ``year`` to ``app``."""

    @app.command()
    @user_errors
    def year(
        scenario_params: Annotated[
            Path,
            typer.Argument(help="JSON object of scenario parameters (as `scenario new`), or a generated scenario."),
        ],
        out: Annotated[Path, typer.Option(help="Output directory for year.json, year_days.csv, year_annual.csv.")],
        strategies: Annotated[str, typer.Option(help="Comma list of strategies besides both baselines.")] = (
            "price_optimization"
        ),
        calendar_year: Annotated[int, typer.Option("--year", help="Calendar year of the representative days.")] = 2026,
        weekend_fleet_share: Annotated[
            float, typer.Option(help="Share of the fleet working on a weekend day (0-1; an assumption).")
        ] = 0.5,
        demand_charge_mad_per_kw_month: Annotated[
            float, typer.Option(help="Power charge [MAD/kW/month] on each month's called power (default 0).")
        ] = 0.0,
        mode: Annotated[str, typer.Option(help="offline or online.")] = "offline",
        v2g: Annotated[bool, typer.Option("--v2g/--no-v2g", help="Allow discharging to the grid.")] = True,
    ) -> None:
        """A year from representative days (each season's weekdays and weekends, Ramadan), power charge monthly."""
        from evfleet.analysis.compare import resolve_strategies
        from evfleet.analysis.year import YearOptions, load_scenario_params, run_year, write_year

        try:
            names = resolve_strategies(strategies)
        except ValueError as exc:
            raise InputError(f"option '--strategies': {exc}") from None
        params = load_scenario_params(scenario_params)
        opts = YearOptions(
            year=calendar_year,
            strategies=tuple(names),
            weekend_fleet_share=weekend_fleet_share,
            demand_charge_mad_per_kw_month=demand_charge_mad_per_kw_month,
            mode=mode,
            v2g=v2g,
        )
        run_options(mode, v2g, 0.0, 24.0, 0)  # validates the mode like `run`
        result = run_year(params, opts)
        paths = write_year(result, out)
        cols = ["strategy", "energy_cost_mad", "power_charge_mad", "total_mad", "savings_mad", "savings_vs_timer_mad",
                "savings_vs_best_baseline_mad", "max_called_power_kw", "nothing_to_do", "cost_status"]  # fmt: skip
        print_table(result.annual.to_dict(orient="records"), [c for c in cols if c in result.annual.columns])
        h = result.headline
        if h["strategy"] is not None:
            typer.echo(f"headline: {h['strategy']} saves {h['savings_mad']:,.0f} MAD ({h.get('cost_status')}) a year "
                       f"against {h['baseline']}, the cheaper baseline")  # fmt: skip
        typer.echo("day types: " + ", ".join(f"{d.key} {d.date} x{d.days}" for d in result.day_types))
        typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
