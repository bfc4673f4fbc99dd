"""The evfleet version (also ``evfleet.__version__``); stored with every run, sweep and backup."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
