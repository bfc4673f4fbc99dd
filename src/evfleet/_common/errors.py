"""The project's error types: what the command line reports as ``error: ...`` (every other exception is a bug).

- :class:`InputError` (a ``ValueError``): bad user input, naming the field and value; the CLI exits with status 2.
- :class:`InputFileNotFoundError` (also a ``FileNotFoundError``): a file named by the user does not exist.
- :class:`RunError` (a ``RuntimeError``): a run could not complete (solver failure, unreachable cluster); status 1.
"""

from __future__ import annotations

__all__ = ["EvfleetError", "InputError", "InputFileNotFoundError", "RunError"]


class EvfleetError(Exception):
    """Base class of every error evfleet raises on purpose."""


class InputError(EvfleetError, ValueError):
    """Bad input (a file, a field, an option): the message names where, the field and the value."""


class InputFileNotFoundError(InputError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class RunError(EvfleetError, RuntimeError):
    """A run could not complete for a reason other than its input (e.g. a solver failure)."""
