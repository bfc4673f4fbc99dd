"""The ``evfleet`` command line: ``app`` (Typer) and ``main`` (the console-script entry point)."""

from evfleet.cli.core import app, main

__all__ = ["app", "main"]
