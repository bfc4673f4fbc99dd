"""Reading JSON and YAML input files with bounds: a size limit and no YAML aliases (no "billion laughs").

A YAML anchor/alias (``&a`` / ``*a``) lets a 1 KB file expand to gigabytes in memory; evfleet's input files never
need them, so they are refused with a clear error. Files larger than :data:`MAX_INPUT_FILE_BYTES` are refused too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from evfleet._common.errors import InputError, InputFileNotFoundError

__all__ = ["ENV_MAX_INPUT_FILE_BYTES", "MAX_INPUT_FILE_BYTES", "load_yaml", "read_structured_file"]

#: The largest JSON/YAML input file read [bytes]; ``EVFLEET_MAX_INPUT_FILE_BYTES`` sets another bound.
MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024
ENV_MAX_INPUT_FILE_BYTES = "EVFLEET_MAX_INPUT_FILE_BYTES"


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(
                f"YAML aliases (*{event.anchor}) are not supported in evfleet input files (line "
                f"{event.start_mark.line + 1}); write the value out"
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.YAMLError(
                f"YAML anchors (&{event.anchor}) are not supported in evfleet input files (line "
                f"{event.start_mark.line + 1}); write the value out"
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, origin: str = "<yaml>") -> Any:
    """Parse YAML ``text`` safely (no aliases); raise :class:`InputError` naming ``origin``."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: not valid YAML: {exc}") from None


def _max_bytes() -> int:
    raw = os.environ.get(ENV_MAX_INPUT_FILE_BYTES, "").strip()
    if not raw:
        return MAX_INPUT_FILE_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{ENV_MAX_INPUT_FILE_BYTES} must be a whole number of bytes (value {raw!r})") from None
    if value < 1:
        raise InputError(f"{ENV_MAX_INPUT_FILE_BYTES} must be >= 1 (value {raw!r})")
    return value


def read_structured_file(path: str | os.PathLike[str], as_yaml: bool | None = None) -> Any:
    """The parsed content of a JSON or YAML file; errors name the file (and the bound).

    ``as_yaml``: ``None`` decides by the suffix (``.yaml``/``.yml`` are YAML, anything else JSON); ``True`` always
    YAML (a superset of JSON), ``False`` always JSON.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError(f"{p}: file not found")
    if not p.is_file():
        raise InputError(f"{p}: not a file")
    size, limit = p.stat().st_size, _max_bytes()
    if size > limit:
        raise InputError(f"{p}: file of {size:,} bytes is larger than the bound of {limit:,} bytes")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if as_yaml or (as_yaml is None and p.suffix.lower() in (".yaml", ".yml")):
        return load_yaml(text, str(p))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}: not valid JSON: {exc}") from None
