"""Text that is safe where it goes: a terminal (no control sequences) or a spreadsheet cell (no formulas).

- :func:`terminal_safe` escapes every control character (ESC, BEL, CR, ...) as ``\\xNN``/``\\uNNNN``, so a
  scenario or model name cannot clear the screen, fake output or set the window title.
- :func:`csv_safe_frame` prefixes a text cell beginning with ``= + - @``, a tab or a carriage return with ``'``
  (OWASP "CSV injection"), so a spreadsheet never evaluates it as a formula; numbers are left as numbers.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "csv_read_cell", "csv_safe_cell", "csv_safe_frame", "terminal_safe"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(text: object, keep_newlines: bool = False) -> str:
    """``text`` with every control character escaped (newlines kept with ``keep_newlines``)."""
    out = []
    for ch in str(text):
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf") or ch in "\u2028\u2029":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def csv_safe_cell(value: Any) -> Any:
    """A text value beginning like a formula, prefixed with ``'``; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_read_cell(text: str) -> str:
    """The value :func:`csv_safe_cell` wrote (``'=x`` reads back as ``=x``); any other text unchanged."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def csv_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its text cells made formula-safe (a copy when anything changes; numeric columns untouched)."""
    text_cols = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]
    if not text_cols:
        return df
    out = df.copy()
    for c in text_cols:
        out[c] = out[c].map(csv_safe_cell).astype(df[c].dtype if df[c].dtype == object else object)
    return out
