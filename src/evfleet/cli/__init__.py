"""The ``evfleet`` command line: ``app`` (Typer) and ``main`` (the console-script entry point).

``core`` defines the base commands (catalogue, tariffs, scenarios, run, demo); each module of
:data:`COMMAND_MODULES` adds its own with ``register(app)``. Every command module imports the heavy layers inside
its command functions, so that ``evfleet --help`` stays fast.
"""

from __future__ import annotations

from evfleet.cli import compare, core, dashboard, gridquality, operate, plan, store, sweep
from evfleet.cli._common import app

__all__ = ["COMMAND_MODULES", "app", "main"]

#: The modules that add commands to ``app`` (each defines ``register(app: typer.Typer) -> None``).
COMMAND_MODULES: list[str] = [m.__name__ for m in (gridquality, store, compare, dashboard, sweep, operate, plan)]

assert core.app is app  # the base commands are registered on import of ``core``
for _module in (gridquality, store, compare, dashboard, sweep, operate, plan):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
