"""The dashboard's one locale layer (no Streamlit): numbers, dates, Plotly layouts, tables and CSV downloads in
English or French.

Every figure the dashboard shows goes through here, so that a French page never shows an English decimal point
or month name:

* numbers: :func:`fmt_number` (3 significant figures by default, ``12,300`` / ``12 300``; the French thousands
  separator is a narrow no-break space U+202F, the decimal mark a comma), :func:`fmt_int`, :func:`fmt_pct`,
  :func:`fmt_kw`, :func:`fmt_kwh`, :func:`fmt_mad` (money: ``k``/``M`` above 100,000 / 10 million);
* dates: :func:`fmt_date` (``2026-12-02`` / ``02/12/2026``), :func:`fmt_datetime`, :func:`fmt_time`,
  :func:`fmt_period` (a history day or month: ``12/2026`` in French);
* Plotly: :func:`apply_plotly_locale` sets ``layout.separators`` (the decimal and thousands marks of every tick
  and hover label) and, on date axes, tick and hover formats with no month names in French; :func:`wrap_label`
  puts a long title or side label on two lines (Plotly clips them at the chart's edge, French ones first);
* tables: :func:`display_frame` turns number columns into locale text in French (Streamlit's number columns
  only know the browser's locale; English keeps numbers, formatted by ``st.column_config``);
* downloads: :func:`csv_text` in the standard dialect (``,`` separator, ``.`` decimal) or the French Excel
  dialect (``;`` separator, ``,`` decimal, UTF-8 with BOM so that Excel reads the accents);
* number inputs: :func:`fmt_input` (the text a number box shows: ``57,5`` in French, no thousands separator) and
  :func:`parse_number` (reads ``57,5`` or ``57.5``, ``1 234,5``, a ``−`` minus; refuses anything else and values
  out of range with :class:`NumberInputError` naming the field); the Streamlit widget built on them is
  :func:`evfleet.dashboard.l10n_widgets.num_input`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError

__all__ = [
    "CSV_DIALECTS",
    "FR_THOUSANDS",
    "NumberInputError",
    "apply_plotly_locale",
    "csv_bytes",
    "csv_text",
    "display_frame",
    "fmt_date",
    "fmt_datetime",
    "fmt_input",
    "fmt_int",
    "fmt_kw",
    "fmt_kwh",
    "fmt_mad",
    "fmt_number",
    "fmt_pct",
    "fmt_period",
    "fmt_time",
    "header_width",
    "parse_number",
    "plotly_separators",
    "round_sig",
    "wrap_label",
]

#: French thousands separator (narrow no-break space): a number never breaks across lines.
FR_THOUSANDS = "\u202f"
DASH = "–"
_NUMBER_RE = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
#: most decimals a significant-figure number shows (smaller magnitudes are shown as 0)
MAX_DECIMALS = 4
#: CSV dialect -> (field separator, decimal mark, encoding)
CSV_DIALECTS: dict[str, tuple[str, str, str]] = {
    "standard": (",", ".", "utf-8"),
    "excel_fr": (";", ",", "utf-8-sig"),
}


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def round_sig(x: float, sig: int = 3) -> float:
    """``x`` rounded to ``sig`` significant figures (0 stays 0)."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, sig - 1 - math.floor(math.log10(abs(x))))


def _decimals_for(x: float, sig: int) -> int:
    """Decimals that show ``sig`` significant figures of ``x`` (none for numbers of ``sig`` digits or more)."""
    if x == 0:
        return 0
    return max(0, sig - 1 - math.floor(math.log10(abs(x))))


def _localise(text: str, lang: str) -> str:
    if lang == "fr":
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", FR_THOUSANDS).replace("-", "−")
    return text


def fmt_number(x: float | int | None, lang: str = "en", sig: int | None = 3, decimals: int | None = None) -> str:
    """A number for display: ``sig`` significant figures (``10,696`` -> ``10,700``, ``0.50712`` -> ``0.507``,
    ``25.3``) with thousands separators, at most :data:`MAX_DECIMALS` decimals (``1.6e-12`` -> ``0``);
    ``decimals`` fixes the decimals instead. French: ``10 700``, ``0,507`` (narrow no-break space, decimal
    comma, minus sign U+2212). ``None``/NaN/inf -> ``–``."""
    if _missing(x):
        return DASH
    v = float(x)
    if decimals is None:
        if sig is None:
            decimals = 0
        elif abs(v) < 0.5 * 10**-MAX_DECIMALS:
            v, decimals = 0.0, 0  # solver noise (1e-12 kWh) is zero on screen
        else:
            v = round_sig(v, sig)
            decimals = min(_decimals_for(v, sig), MAX_DECIMALS)
    text = f"{v:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0"
    return _localise(text, lang)


def fmt_int(n: float | int | None, lang: str = "en") -> str:
    """A count, exact, with thousands separators (``1,234`` / ``1 234``)."""
    return fmt_number(None if _missing(n) else round(float(n)), lang, decimals=0)


def fmt_pct(x: float | None, lang: str = "en", sig: int | None = 3, decimals: int | None = None) -> str:
    """A percentage (``x`` already in %): ``12.5 %`` / ``12,5 %`` (narrow no-break space before ``%``)."""
    if _missing(x):
        return DASH
    return fmt_number(x, lang, sig, decimals) + "\u202f%"


def _with_unit(text: str, unit: str, with_unit: bool) -> str:
    return f"{text}\u00a0{unit}" if with_unit and text != DASH else text


def fmt_kw(x: float | None, lang: str = "en", with_unit: bool = True, sig: int = 3) -> str:
    """Power [kW], 3 significant figures: ``2,300 kW`` / ``2 300 kW``."""
    return _with_unit(fmt_number(x, lang, sig), "kW", with_unit)


def fmt_kwh(x: float | None, lang: str = "en", with_unit: bool = True, sig: int = 3) -> str:
    """Energy [kWh], 3 significant figures."""
    return _with_unit(fmt_number(x, lang, sig), "kWh", with_unit)


def mad_scale(x: float | None) -> tuple[float, str]:
    """(divisor, unit) that keeps an amount of money short: MAD below 100,000, k MAD below 10 million, else M MAD."""
    a = 0.0 if _missing(x) else abs(float(x))
    if a >= 1e7:
        return 1e6, "M MAD"
    if a >= 1e5:
        return 1e3, "k MAD"
    return 1.0, "MAD"


def fmt_mad(x: float | None, lang: str = "en", with_unit: bool = True, sig: int = 3) -> str:
    """Money [MAD], 3 significant figures, scaled: ``10,700 MAD``, ``350 k MAD``, ``15.2 M MAD``."""
    if _missing(x):
        return DASH
    div, unit = mad_scale(x)
    return _with_unit(fmt_number(float(x) / div, lang, sig), unit, with_unit)


def _ts(x: Any) -> pd.Timestamp:
    return x if isinstance(x, pd.Timestamp) else pd.Timestamp(x)


def fmt_date(x: date | datetime | pd.Timestamp | str, lang: str = "en") -> str:
    """A date: ``2026-12-02`` (en, ISO) / ``02/12/2026`` (fr)."""
    return _ts(x).strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d")


def fmt_datetime(x: datetime | pd.Timestamp | str, lang: str = "en") -> str:
    """A local date and time: ``2026-12-02 06:30`` / ``02/12/2026 06:30`` (the time as given, no conversion)."""
    return _ts(x).strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")


def fmt_period(period: str, lang: str = "en") -> str:
    """A history period, a day ``2026-12-02`` or a month ``2026-12``: as it is in English (ISO), ``02/12/2026`` /
    ``12/2026`` in French; anything else as it is."""
    if lang != "fr":
        return period
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
        return fmt_date(period, lang)
    if re.fullmatch(r"\d{4}-\d{2}", period):
        return f"{period[5:7]}/{period[:4]}"
    return period


def fmt_time(x: datetime | pd.Timestamp | str, lang: str = "en") -> str:
    """A time of day, 24-hour clock in both languages: ``06:30``."""
    return _ts(x).strftime("%H:%M")


# --- Plotly ----------------------------------------------------------------------------------------------------


def plotly_separators(lang: str) -> str:
    """Plotly's ``layout.separators``: the decimal mark then the thousands separator."""
    return "," + FR_THOUSANDS if lang == "fr" else ".,"


#: tick formats of a date axis by zoom (Plotly ``tickformatstops``; ``dtickrange`` in ms): no month names in French
_DAY_MS = 86_400_000
DATE_TICKS = {
    "en": [
        {"dtickrange": [None, _DAY_MS], "value": "%H:%M<br>%b %d"},
        {"dtickrange": [_DAY_MS, None], "value": "%b %d"},
    ],
    "fr": [
        {"dtickrange": [None, _DAY_MS], "value": "%H:%M<br>%d/%m"},
        {"dtickrange": [_DAY_MS, None], "value": "%d/%m"},
    ],
}
DATE_HOVER = {"en": "%Y-%m-%d %H:%M", "fr": "%d/%m/%Y %H:%M"}


def _is_dates(values: Any) -> bool:
    if values is None:
        return False
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return True
    if arr.dtype == object and arr.size:
        return isinstance(arr.flat[0], datetime | np.datetime64 | date)
    return False


def apply_plotly_locale(fig: Any, lang: str) -> Any:
    """Set the figure's number separators and, on every date x axis, locale tick and hover formats. Returns it."""
    fig.update_layout(separators=plotly_separators(lang))
    axes: set[str] = set()
    for tr in fig.data:
        if _is_dates(getattr(tr, "x", None)):
            ref = getattr(tr, "xaxis", None) or "x"
            axes.add("xaxis" + ref[1:])
    for name in axes:
        fig.layout[name].update(tickformatstops=DATE_TICKS["fr" if lang == "fr" else "en"],
                                hoverformat=DATE_HOVER["fr" if lang == "fr" else "en"])  # fmt: skip
    # shared x axes of subplots: the other date axes follow the one that holds the traces
    if axes:
        for key in fig.layout:
            if key.startswith("xaxis") and key not in axes and getattr(fig.layout[key], "matches", None):
                fig.layout[key].update(tickformatstops=DATE_TICKS["fr" if lang == "fr" else "en"])
    return fig


def wrap_label(text: str, width: int = 14) -> str:
    """``text`` on two lines (``<br>`` at the space nearest its middle) when longer than ``width`` characters:
    a chart's side labels (polar axis) are clipped by the chart's edge at 1280 px, not wrapped."""
    if len(text) <= width or " " not in text:
        return text
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:cut] + "<br>" + text[cut + 1 :]


# --- tables ----------------------------------------------------------------------------------------------------


#: table header text: width of a character [px] (the fleet table's "Batterie (kWh)" is 82 px wide in headless
#: Chromium, 5.9 px a character; 6.5 leaves room for wider letters) and the room beside the text (cell padding) [px]
HEADER_CHAR_PX, HEADER_PAD_PX = 6.5, 24


def header_width(label: str, min_px: int = 74) -> int:
    """Width [px] of a table column whose header ``label`` is read whole (``min_px`` at least): a column given a
    fixed width cuts a longer header, and the French headers are the longer ones."""
    return max(min_px, round(HEADER_CHAR_PX * len(label)) + HEADER_PAD_PX)


def display_frame(
    df: pd.DataFrame,
    lang: str,
    decimals: Mapping[str, int | None] | None = None,
    sig: int | None = 3,
    skip: Iterable[str] = (),
) -> pd.DataFrame:
    """The table to show: unchanged in English (``st.column_config`` formats the numbers); in French, every
    number column (but booleans and ``skip``) as locale text: integer columns exact (``1 234``), float columns
    to ``decimals[col]`` decimals when given, else ``sig`` significant figures. Missing values -> ``–``."""
    if lang != "fr":
        return df
    decimals = dict(decimals or {})
    skip = set(skip)
    out = df.copy()
    for col in df.columns:
        s = df[col]
        if col in skip or pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if pd.api.types.is_integer_dtype(s):
            out[col] = [fmt_int(x, lang) for x in s]
        elif col in decimals:
            out[col] = [fmt_number(x, lang, decimals=decimals[col]) for x in s]
        else:
            out[col] = [fmt_number(x, lang, sig) for x in s]
    return out


def csv_text(df: pd.DataFrame, dialect: str = "standard") -> str:
    """A table as CSV text: ``standard`` (``,`` and ``.``) or ``excel_fr`` (``;`` and ``,``); no index."""
    if dialect not in CSV_DIALECTS:
        raise InputError(f"field 'dialect' must be one of {', '.join(CSV_DIALECTS)} (value {dialect!r})")
    sep, dec, _ = CSV_DIALECTS[dialect]
    return df.to_csv(index=False, sep=sep, decimal=dec)


def csv_bytes(df: pd.DataFrame, dialect: str = "standard") -> bytes:
    """:func:`csv_text` encoded for the dialect (UTF-8 with a BOM for French Excel)."""
    return csv_text(df, dialect).encode(CSV_DIALECTS[dialect][2] if dialect in CSV_DIALECTS else "utf-8")


# --- number inputs ---------------------------------------------------------------------------------------------


class NumberInputError(InputError):
    """A number box holds no acceptable number; ``reason`` is ``number``, ``integer``, ``range`` or ``required``."""

    def __init__(self, message: str, field: str, text: str, reason: str) -> None:
        super().__init__(message)
        self.field, self.text, self.reason = field, text, reason


def fmt_input(x: float | int | None, lang: str = "en", decimals: int | None = None) -> str:
    """The text a number box shows for ``x``: no thousands separator, ``decimals`` decimals when given, else the
    shortest text of ``x`` to 10 significant figures (``57,5``, ``0,05``, ``150000``); ``None`` -> ``""``."""
    if x is None:
        return ""
    v = float(x)
    if isinstance(x, int | np.integer) and not isinstance(x, bool):
        text = str(int(x))
    elif decimals is not None:
        text = f"{v:.{decimals}f}"
    else:
        text = np.format_float_positional(float(f"{v:.10g}"), trim="-")
    if text in ("-0", "-0.0") or (text.startswith("-") and float(text) == 0):
        text = text[1:]
    return text.replace(".", ",") if lang == "fr" else text


_SPACES = (" ", "\u00a0", FR_THOUSANDS, "\u2009")


def parse_number(
    text: str,
    lang: str = "en",
    field: str = "value",
    min_value: float | None = None,
    max_value: float | None = None,
    integer: bool = False,
    optional: bool = False,
) -> float | int | None:
    """The number typed in a box: ``57,5`` or ``57.5`` (both languages), spaces as thousands separators, ``−`` or
    ``-`` minus. Empty -> ``None`` when ``optional``. Raises :class:`NumberInputError` naming ``field`` and the
    text for anything else (``1,234.5`` is refused: one decimal mark only), a non-integer where ``integer``, and a
    value outside ``[min_value, max_value]``."""
    raw = "" if text is None else str(text)
    s = raw.strip()
    for sp in _SPACES:
        s = s.replace(sp, "")
    s = s.replace("\u2212", "-")
    if not s:
        if optional:
            return None
        raise NumberInputError(f"field {field!r} needs a number (value {raw!r})", field, raw, "required")
    if s.count(",") + s.count(".") > 1 or not _NUMBER_RE.fullmatch(s):
        raise NumberInputError(f"field {field!r} must be a number (value {raw!r})", field, raw, "number")
    v = float(s.replace(",", "."))
    if not math.isfinite(v):
        raise NumberInputError(f"field {field!r} must be a finite number (value {raw!r})", field, raw, "number")
    if integer:
        if v != int(v):
            raise NumberInputError(f"field {field!r} must be a whole number (value {raw!r})", field, raw, "integer")
        v = int(v)
    if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
        lo = "-inf" if min_value is None else min_value
        hi = "inf" if max_value is None else max_value
        raise NumberInputError(f"field {field!r} must be within {lo}-{hi} (value {raw!r})", field, raw, "range")
    return v
