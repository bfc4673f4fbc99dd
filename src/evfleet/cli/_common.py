"""What every command module shares: the Typer apps, error reporting, table printing and option parsing.

Kept light (no numerical imports) so that ``evfleet --help`` stays fast; the command modules import the heavy
layers inside their command functions.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import typer

from evfleet._common.errors import InputError, RunError
from evfleet._common.ids import utc_now

__all__ = [
    "ENV_DEBUG",
    "app",
    "check_store",
    "debug_enabled",
    "fail",
    "frequency_from_csv",
    "parse_mapping",
    "print_kpis",
    "print_table",
    "run_options",
    "scenario_app",
    "strategy_params",
    "user_errors",
    "utc_now",
    "with_frequency",
]

app = typer.Typer(
    name="evfleet",
    help="Energy management for electric-vehicle fleets: simulate, optimise and compare charging strategies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Create and inspect scenario files.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` to stderr (control characters escaped) and exit with ``code``."""
    from evfleet._common.text import terminal_safe  # deferred (pandas): `evfleet --help` stays fast

    typer.echo(f"error: {terminal_safe(message, keep_newlines=True)}", err=True)
    raise typer.Exit(code)


#: Environment variable that makes an internal failure print its traceback (same as ``evfleet --debug``).
ENV_DEBUG = "EVFLEET_DEBUG"


def debug_enabled() -> bool:
    """True when tracebacks of internal failures are wanted (``evfleet --debug`` or ``EVFLEET_DEBUG=1``)."""
    return os.environ.get(ENV_DEBUG, "").strip().lower() in ("1", "true", "yes", "on")


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """The error boundary of every command: one ``error:`` line and an exit status, never a traceback.

    - bad input (:class:`InputError`, and a file the user named that cannot be read or written): status 2;
    - a run that could not complete (:class:`RunError`, e.g. a solver failure) or a full disk: status 1;
    - anything else is a bug in evfleet: status 1 with a short message, the traceback with ``--debug``.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:  # a deliberate exit (click's Exit is a RuntimeError): keep its status
            raise
        except InputError as exc:  # bad input, named: status 2
            fail(str(exc))
        except RunError as exc:  # solver failures and other run-time errors: status 1
            fail(str(exc), code=1)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the machine, not the input: status 1
                fail(f"no space left on the device{where}; nothing was kept of the partial output", code=1)
            fail(f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc))
        except Exception as exc:
            if debug_enabled():
                raise
            fail(
                f"internal error {type(exc).__name__}: {exc} — a bug in evfleet, please report it "
                "(run again with --debug for the traceback)",
                code=1,
            )

    return wrapper


def check_store(db: str | None, no_store: bool) -> None:
    """Open (and close) the run store a command will write to, so a bad ``--db`` fails before any output exists."""
    if no_store:
        return
    from evfleet.store.runs import open_store

    open_store(db).close()


def parse_mapping(text: str | None, what: str, cast: Callable[[str], Any]) -> dict[str, Any] | None:
    """Parse ``"a:1,b:2"`` into ``{"a": cast("1"), ...}``; raise ``ValueError`` naming the bad item."""
    if not text:
        return None
    out: dict[str, Any] = {}
    for item in text.split(","):
        if ":" not in item:
            raise InputError(f"option '{what}': item {item!r} is not NAME:VALUE")
        key, val = item.rsplit(":", 1)
        try:
            out[key.strip()] = cast(val.strip())
        except ValueError:
            raise InputError(f"option '{what}': value of {key.strip()!r} is not a number (value {val!r})") from None
    return out


def print_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Print rows as an aligned text table."""
    from evfleet._common.text import terminal_safe  # deferred (pandas)

    if not rows:
        typer.echo("(no rows)")
        return
    columns = columns or list(rows[0])

    def fmt(x: Any) -> str:
        if isinstance(x, float):
            return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"
        return "" if x is None else terminal_safe(x)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(terminal_safe(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    typer.echo("  ".join("-" * w for w in widths))
    for row in cells:
        typer.echo("  ".join(v.rjust(w) if v[:1].isdigit() or v[:1] == "-" else v.ljust(w) for v, w in
                             zip(row, widths, strict=True)))  # fmt: skip


def print_kpis(kpis: dict[str, Any]) -> None:
    """Print KPIs as a table with units from the names; every MAD figure has the status of the bill's values
    (``bill_status``: sourced, secondary, inference or assumption) in the ``status`` column."""
    status = str(kpis.get("bill_status", "assumption"))
    rows = [{"kpi": k, "value": v, "status": status if k.endswith("_mad") else ""} for k, v in kpis.items()]
    print_table(rows, ["kpi", "value", "status"])


def run_options(mode: str, v2g: bool, forecast_noise: float, horizon_h: float, seed: int) -> Any:
    """The validated :class:`~evfleet.simulation.simulate.SimulationOptions` of the run options."""
    from evfleet.simulation.simulate import SimulationOptions

    opts = SimulationOptions(mode=mode, v2g=v2g, forecast_noise=forecast_noise, horizon_h=horizon_h, seed=seed)
    opts.validate()
    return opts


def strategy_params(reserve_price: float | None, seed: int) -> dict[str, dict[str, Any]]:
    """Per-strategy parameters from CLI options (only the ones given)."""
    gs: dict[str, Any] = {"seed": seed}
    if reserve_price is not None:
        if not reserve_price >= 0:
            raise InputError(f"option '--reserve-price' must be >= 0 MAD/kW/h (value {reserve_price!r})")
        gs["reserve_price"] = reserve_price
    return {"grid_support": gs}


def frequency_from_csv(scenario: Any, frequency_csv: Path) -> Any:
    """Per-step mean frequency [Hz] of the scenario's steps from a ``--frequency-csv`` file (both file shapes of
    :func:`evfleet.inputs.frequency.load_frequency_csv`); the one reader of ``run``, ``compare`` and ``grid-report``."""
    from evfleet.inputs.frequency import load_frequency_csv

    return load_frequency_csv(frequency_csv, scenario.n_steps, scenario.start, scenario.step_minutes)


def with_frequency(scenario: Any, frequency_csv: Path | None) -> Any:
    """The scenario with its ``frequency_hz`` series replaced by the CSV's per-step means (if a file is given)."""
    if frequency_csv is None:
        return scenario
    return scenario.replace(frequency_hz=frequency_from_csv(scenario, frequency_csv))
