"""Import a user's fleet, site series, tariffs and catalogue additions, validated row by row with pydantic.

Units: power [kW], prices [MAD/kWh], frequency [Hz], SOC fraction 0-1 (``"35%"`` is accepted and means 0.35),
times ISO 8601 (local time of the site when no UTC offset is given) or ``HH:MM`` with ``--date``.

Every file is validated completely before anything is stored: a bad file raises :class:`ImportValidationError`
naming the file, line, column and value of the first problem and how many more there are. File formats are
documented in ``docs/store.md``.

References: pydantic v2 (https://docs.pydantic.dev); time-weighted resampling of interval averages (the energy of
each interval is preserved).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.text import csv_read_cell, csv_safe_cell
from evfleet.inputs.catalog import load_catalog, normalise_model_name, read_catalog_file, unknown_model_hint
from evfleet.inputs.generate import CHARGER_TYPES
from evfleet.inputs.tariffs import load_tariff

__all__ = [
    "FLEET_MODEL_COLUMNS",
    "FLEET_VEHICLE_COLUMNS",
    "SERIES_COLUMNS",
    "ImportProblem",
    "ImportValidationError",
    "ParsedImport",
    "fleet_composition",
    "fleet_to_csv",
    "parse_catalog",
    "parse_decimal",
    "parse_fleet",
    "parse_series",
    "parse_tariff",
    "series_to_csv",
]

FLEET_VEHICLE_COLUMNS = ("vehicle_id", "model", "arrival", "departure", "soc_arrival", "soc_target", "charger")
FLEET_OPTIONAL_COLUMNS = ("bidirectional",)
FLEET_MODEL_COLUMNS = ("model", "count")
#: Site series columns: name -> (required?, unit/description, (min, max)).
SERIES_COLUMNS: dict[str, tuple[str, tuple[float, float]]] = {
    "base_load_kw": ("non-EV site load [kW]", (0.0, 1e7)),
    "pv_kw": ("PV production [kW]", (0.0, 1e7)),
    "price_import_mad_per_kwh": ("import price [MAD/kWh]", (0.0, 1e3)),
    "price_export_mad_per_kwh": ("export price [MAD/kWh]", (0.0, 1e3)),
    "frequency_hz": ("grid frequency [Hz]", (45.0, 55.0)),
}
_SERIES_ALIASES = {"price_mad_per_kwh": "price_import_mad_per_kwh", "price": "price_import_mad_per_kwh"}
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class ImportProblem:
    """One validation problem: file, line (1 = header), column, value and what is wrong."""

    file: str
    line: int
    column: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.file}: line {self.line}, column '{self.column}': {self.message} (value {self.value!r})"


class ImportValidationError(InputError):
    """A file failed validation; ``problems`` lists every problem, the message names the first one."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        more = len(problems) - 1
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        super().__init__(f"{problems[0]}{suffix}; nothing was imported")


@dataclass(frozen=True)
class ParsedImport:
    """A validated file: ``kind``, normalised ``payload`` (JSON-ready), row count, source path and sha256."""

    kind: str
    payload: dict[str, Any]
    n_rows: int
    source_file: str
    source_sha256: str
    notes: tuple[str, ...] = ()


# --- CSV reading ------------------------------------------------------------------------------------------------


def _read_csv(path: Path, data: bytes | None = None) -> tuple[list[str], list[tuple[int, dict[str, str]]], str]:
    """Header (lower-case, stripped), rows with their file line numbers, and the file's sha256.

    The separator is sniffed among ``,``, ``;`` and tab (French Excel writes ``;``). ``data`` is the file's content
    when it was uploaded rather than read from ``path`` (which then only names it in messages).
    """
    if data is None and not path.exists():
        raise InputFileNotFoundError(f"{path}: file not found")
    raw = path.read_bytes() if data is None else data
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportValidationError(
            [ImportProblem(str(path), 1, "-", raw[exc.start : exc.start + 8], "not UTF-8 text")]
        ) from None
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportValidationError([ImportProblem(str(path), 1, "-", "", "the file is empty")]) from None
    header = [h.strip().lower() for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num
    for cells in reader:
        start_line = line + 1
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            rows.append((start_line, {"__width__": str(len(cells))}))
            continue
        rows.append((start_line, {h: csv_read_cell(c.strip()) for h, c in zip(header, cells, strict=True)}))
    return header, rows, hashlib.sha256(raw).hexdigest()


def _check_header(path: Path, header: list[str], required: tuple[str, ...]) -> list[ImportProblem]:
    problems = []
    seen: set[str] = set()
    for h in header:
        if h in seen:
            problems.append(ImportProblem(str(path), 1, h, h, "column appears twice"))
        seen.add(h)
    for col in required:
        if col not in header:
            problems.append(ImportProblem(str(path), 1, col, ",".join(header), f"required column '{col}' is missing"))
    return problems


def _validate_rows(
    path: Path,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    model: type[BaseModel],
    context: Mapping[str, Any],
) -> tuple[list[tuple[int, BaseModel]], list[ImportProblem]]:
    good: list[tuple[int, BaseModel]] = []
    problems: list[ImportProblem] = []
    fields = set(model.model_fields)
    for line, row in rows:
        if "__width__" in row:
            problems.append(
                ImportProblem(
                    str(path),
                    line,
                    "-",
                    row["__width__"],
                    f"row has a different number of cells than the header ({len(header)})",
                )
            )
            continue
        data = {k: v for k, v in row.items() if k in fields}
        try:
            good.append((line, model.model_validate(data, context=dict(context))))
        except ValidationError as exc:
            order = {name: i for i, name in enumerate(header)}
            errs = sorted(exc.errors(), key=lambda e: order.get(str(e["loc"][0]) if e["loc"] else "", 99))
            for err in errs:
                col = str(err["loc"][0]) if err["loc"] else "-"
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(ImportProblem(str(path), line, col, row.get(col, err.get("input")), msg))
    return good, problems


# --- field types --------------------------------------------------------------------------------------------------


def parse_decimal(text: str) -> float:
    """A number written with a decimal point or a decimal comma ("0,35", "1 234,5", "1.234,5", "1,234.5").

    Spaces (also no-break) are thousands separators; with both marks the last one is the decimal mark; a single
    comma alone is a decimal comma. Raises ``ValueError`` for anything else.
    """
    t = re.sub(r"[\s\u00a0\u202f]", "", str(text))
    if "," in t and "." in t:
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif t.count(",") == 1:
        t = t.replace(",", ".")
    return float(t)


def _soc(value: Any) -> float:
    text = str(value).strip()
    if text == "":
        raise InputError("is empty")
    pct = text.endswith("%")
    try:
        num = parse_decimal(text.rstrip("%").strip())
    except ValueError:
        raise InputError("is not a number (a fraction 0-1, or a percentage like '35%')") from None
    if not np.isfinite(num):
        raise InputError("is not a finite number")
    if pct:
        if not 0.0 <= num <= 100.0:
            raise InputError("must be within 0-100 %")
        return num / 100.0
    if not 0.0 <= num <= 1.0:
        hint = " (write percentages with '%', e.g. '35%')" if 1.0 < num <= 100.0 else ""
        raise InputError(f"must be a fraction within 0-1{hint}")
    return num


def _count(value: Any) -> int:
    text = str(value).strip()
    try:
        num = parse_decimal(text)
    except ValueError:
        raise InputError("is not a whole number") from None
    if not (np.isfinite(num) and float(num).is_integer()):
        raise InputError("is not a whole number")
    return int(num)


def _bool(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "oui"}:
        return True
    if text in {"0", "false", "no", "n", "non", ""}:
        return False
    raise InputError("must be yes/no (or true/false)")


def _finite(value: Any) -> float:
    text = str(value).strip()
    if text == "":
        raise InputError("is empty")
    try:
        num = parse_decimal(text)
    except ValueError:
        raise InputError("is not a number") from None
    if not np.isfinite(num):
        raise InputError("is not a finite number")
    return num


def _parse_time(text: str, info: ValidationInfo) -> pd.Timestamp:
    """An aware timestamp from ISO text (local site time if no offset) or ``HH:MM`` on ``context['date']``."""
    ctx = info.context or {}
    tz = ctx.get("timezone", "Africa/Casablanca")
    text = str(text).strip()
    if text == "":
        raise InputError("is empty")
    m = _TIME_OF_DAY.match(text)
    if m:
        day = ctx.get("date")
        if day is None:
            raise InputError("is a time of day: give the date with --date YYYY-MM-DD, or write full dates")
        naive = datetime.combine(day, datetime.min.time()).replace(
            hour=int(m[1]), minute=int(m[2]), second=int(m[3] or 0)
        )
        ts = pd.Timestamp(naive)
        return ts.tz_localize(tz)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError("is not a time (ISO 8601 like 2026-03-02T18:30 or 2026-03-02 18:30+01:00, or HH:MM)") from None
    ts = pd.Timestamp(parsed)
    try:
        return ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)
    except Exception as exc:  # non-existent/ambiguous local time at a DST change
        raise InputError(f"is not a valid local time in {tz}: {exc}") from None


# --- fleet --------------------------------------------------------------------------------------------------------


def known_models(catalog: pd.DataFrame) -> dict[str, int]:
    return {str(m).lower(): i for i, m in enumerate(catalog["model"])}


class _FleetRowBase(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("model", check_fields=False)
    @classmethod
    def _model_known(cls, value: str, info: ValidationInfo) -> str:

        ctx = info.context or {}
        name = normalise_model_name(value)
        catalog: pd.DataFrame = ctx["catalog"]
        idx = known_models(catalog).get(name.lower())
        if idx is None:
            hint = unknown_model_hint(value, catalog["model"])
            raise InputError(
                f"unknown model{hint} (see `evfleet catalog`, or add it with `evfleet import catalog FILE`)"
            )
        return str(catalog["model"].iloc[idx])


class FleetVehicleRow(_FleetRowBase):
    """One vehicle of a per-vehicle fleet file."""

    vehicle_id: Annotated[str, Field(min_length=1, max_length=200)]
    model: Annotated[str, Field(min_length=1)]
    arrival: str
    departure: str
    soc_arrival: Annotated[float, BeforeValidator(_soc)]
    soc_target: Annotated[float, BeforeValidator(_soc)]
    charger: str
    bidirectional: Annotated[bool, BeforeValidator(_bool)] = False

    @field_validator("arrival")
    @classmethod
    def _arrival(cls, value: str, info: ValidationInfo) -> str:
        return _parse_time(value, info).isoformat()

    @field_validator("departure")
    @classmethod
    def _departure(cls, value: str, info: ValidationInfo) -> str:
        dep = _parse_time(value, info)
        arr_text = info.data.get("arrival")
        if arr_text is not None:
            arr = pd.Timestamp(arr_text)
            if _TIME_OF_DAY.match(str(value).strip()) and dep <= arr:
                dep = (dep.tz_localize(None) + timedelta(days=1)).tz_localize(dep.tz)  # overnight stay
            if dep <= arr:
                raise InputError(f"departure must be after arrival ({arr.isoformat()})")
        return dep.isoformat()

    @field_validator("charger")
    @classmethod
    def _charger(cls, value: str, info: ValidationInfo) -> str:

        key = value.strip().lower()
        if key not in CHARGER_TYPES:
            raise InputError(f"unknown charger type; known: {', '.join(CHARGER_TYPES)}")
        model = info.data.get("model")
        if model is not None and CHARGER_TYPES[key][1] == "DC":
            catalog: pd.DataFrame = (info.context or {})["catalog"]
            row = catalog.iloc[known_models(catalog)[model.lower()]]
            if float(row["dc_charge_kw"]) <= 0:
                raise InputError(f"model {model!r} cannot charge on DC")
        return key


class FleetModelRow(_FleetRowBase):
    """One model line of a per-model fleet file."""

    model: Annotated[str, Field(min_length=1)]
    count: Annotated[int, BeforeValidator(_count), Field(ge=0, le=100_000)]


def parse_fleet(
    path: str | Path,
    *,
    catalog: pd.DataFrame | None = None,
    timezone: str = "Africa/Casablanca",
    date: str | None = None,
    data: bytes | None = None,
) -> ParsedImport:
    """Validate a fleet CSV (per vehicle or per model; see module docstring) into a normalised payload.

    ``catalog`` defaults to the shipped catalogue; ``date`` (YYYY-MM-DD) anchors ``HH:MM`` times. ``,``/``;``/tab
    separators and decimal commas are accepted. ``data``: the uploaded content (``path`` then only names it).
    """

    path = Path(path)
    catalog = load_catalog() if catalog is None else catalog
    header, rows, sha = _read_csv(path, data)
    ctx: dict[str, Any] = {"catalog": catalog, "timezone": timezone}
    if date is not None:
        try:
            ctx["date"] = datetime.fromisoformat(date).date()
        except ValueError:
            raise InputError(f"option '--date' is not a date YYYY-MM-DD (value {date!r})") from None
    try:
        pd.Timestamp("2020-01-01", tz=timezone)
    except Exception:
        raise InputError(f"option '--timezone' is not a known IANA time zone (value {timezone!r})") from None
    per_vehicle = "vehicle_id" in header
    required = FLEET_VEHICLE_COLUMNS if per_vehicle else FLEET_MODEL_COLUMNS
    problems = _check_header(path, header, required)
    if problems:
        raise ImportValidationError(problems)
    if not rows:
        raise ImportValidationError([ImportProblem(str(path), 2, "-", "", "no data rows")])
    model_cls = FleetVehicleRow if per_vehicle else FleetModelRow
    good, problems = _validate_rows(path, header, rows, model_cls, ctx)
    key = "vehicle_id" if per_vehicle else "model"
    first_line: dict[str, int] = {}
    for line, raw in rows:
        if "__width__" in raw or not raw.get(key):
            continue
        k = raw[key]
        k_norm = normalise_model_name(k).lower() if key == "model" else k
        if k_norm in first_line:
            problems.append(ImportProblem(str(path), line, key, k, f"duplicates line {first_line[k_norm]}"))
        else:
            first_line[k_norm] = line
    if not per_vehicle and not problems and sum(r.count for _, r in good) < 1:
        problems.append(ImportProblem(str(path), good[-1][0], "count", 0, "the counts sum to 0 vehicles"))
    if problems:
        problems.sort(key=lambda p: (p.line, header.index(p.column) if p.column in header else 99))
        raise ImportValidationError(problems)
    known = set(FLEET_VEHICLE_COLUMNS + FLEET_OPTIONAL_COLUMNS) if per_vehicle else set(FLEET_MODEL_COLUMNS)
    ignored = [h for h in header if h not in known]
    recs = [r.model_dump() for _, r in good]
    payload = {
        "format": "evfleet.fleet/1",
        "layout": "vehicles" if per_vehicle else "models",
        "timezone": timezone,
        "rows": recs,
    }
    notes = (f"ignored columns: {', '.join(ignored)}",) if ignored else ()
    return ParsedImport("fleet", payload, len(recs), str(path), sha, notes)


def fleet_composition(parsed: ParsedImport) -> dict[str, int]:
    """Vehicles per model of a parsed fleet (per-model counts, or per-vehicle rows counted by model)."""
    comp: dict[str, int] = {}
    for r in parsed.payload["rows"]:
        comp[r["model"]] = comp.get(r["model"], 0) + int(r.get("count", 1))
    return comp


def fleet_to_csv(payload: Mapping[str, Any]) -> str:
    """The normalised fleet as CSV text (re-importing it gives the same payload)."""
    rows = payload["rows"]
    cols = (
        list(FLEET_VEHICLE_COLUMNS + FLEET_OPTIONAL_COLUMNS)
        if payload["layout"] == "vehicles"
        else list(FLEET_MODEL_COLUMNS)
    )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow(
            [
                ("yes" if r[c] else "no")
                if isinstance(r[c], bool)
                else repr(r[c])
                if isinstance(r[c], float)
                else csv_safe_cell(r[c])
                for c in cols
            ]
        )
    return buf.getvalue()


# --- site series --------------------------------------------------------------------------------------------------


class SeriesRow(BaseModel):
    """One time stamp of a site series file; absent columns stay ``None``."""

    model_config = ConfigDict(extra="ignore")

    time: str
    base_load_kw: Annotated[float | None, BeforeValidator(_finite)] = None
    pv_kw: Annotated[float | None, BeforeValidator(_finite)] = None
    price_import_mad_per_kwh: Annotated[float | None, BeforeValidator(_finite)] = None
    price_export_mad_per_kwh: Annotated[float | None, BeforeValidator(_finite)] = None
    frequency_hz: Annotated[float | None, BeforeValidator(_finite)] = None

    @field_validator("time")
    @classmethod
    def _time(cls, value: str, info: ValidationInfo) -> str:
        if _TIME_OF_DAY.match(str(value).strip()):
            raise InputError("needs a date (ISO 8601 like 2026-03-02T18:30)")
        return _parse_time(value, info).isoformat()

    @field_validator(*SERIES_COLUMNS)
    @classmethod
    def _range(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        lo, hi = SERIES_COLUMNS[str(info.field_name)][1]
        if not lo <= value <= hi:
            raise InputError(f"must be within {lo:g}-{hi:g} {SERIES_COLUMNS[str(info.field_name)][0]}")
        return value


def parse_series(path: str | Path, *, timezone: str = "Africa/Casablanca") -> ParsedImport:
    """Validate a site series CSV: ``time`` plus any of :data:`SERIES_COLUMNS`; times strictly increasing."""
    path = Path(path)
    header, rows, sha = _read_csv(path)
    header = [_SERIES_ALIASES.get(h, h) for h in header]
    rows = [(line, {_SERIES_ALIASES.get(k, k): v for k, v in r.items()}) for line, r in rows]
    problems = _check_header(path, header, ("time",))
    cols = [h for h in header if h in SERIES_COLUMNS]
    if not problems and not cols:
        problems.append(
            ImportProblem(
                str(path),
                1,
                "-",
                ",".join(header),
                f"no series column; give at least one of {', '.join(SERIES_COLUMNS)}",
            )
        )
    if problems:
        raise ImportValidationError(problems)
    if len(rows) < 2:
        raise ImportValidationError([ImportProblem(str(path), 2, "time", len(rows), "needs at least 2 rows")])
    good, problems = _validate_rows(path, header, rows, SeriesRow, {"timezone": timezone})
    raw_time = {line: r.get("time") for line, r in rows}
    prev: tuple[int, pd.Timestamp] | None = None
    for line, rec in good:
        t = pd.Timestamp(rec.time)
        if prev is not None and t <= prev[1]:
            problems.append(
                ImportProblem(
                    str(path), line, "time", raw_time[line], f"must be after line {prev[0]} ({prev[1].isoformat()})"
                )
            )
        prev = (line, t)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ImportValidationError(problems)
    payload: dict[str, Any] = {"format": "evfleet.series/1", "timezone": timezone, "time": [r.time for _, r in good]}
    for c in cols:
        payload[c] = [getattr(r, c) for _, r in good]
    ignored = [h for h in header if h != "time" and h not in SERIES_COLUMNS]
    notes = (f"ignored columns: {', '.join(ignored)}",) if ignored else ()
    return ParsedImport("series", payload, len(good), str(path), sha, notes)


def series_to_csv(payload: Mapping[str, Any]) -> str:
    """The normalised series as CSV text."""
    cols = ["time", *[c for c in SERIES_COLUMNS if c in payload]]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for i in range(len(payload["time"])):
        writer.writerow([payload["time"][i], *[repr(payload[c][i]) for c in cols[1:]]])
    return buf.getvalue()


# --- tariff and catalogue -----------------------------------------------------------------------------------------


def parse_tariff(path: str | Path) -> ParsedImport:
    """Validate a tariff file (format ``evfleet.tariff/1``, JSON or YAML) with :func:`.tariffs.load_tariff`."""

    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: file not found")
    tariff = load_tariff(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return ParsedImport(
        "tariff", {"format": "evfleet.tariff/1", "tariff": tariff.to_dict()}, len(tariff.periods), str(path), sha
    )


def parse_catalog(path: str | Path) -> ParsedImport:
    """Validate catalogue additions with :func:`evfleet.inputs.catalog.read_catalog_file`."""

    path = Path(path)
    df = read_catalog_file(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = df.to_dict(orient="records")
    return ParsedImport("catalog", {"format": "evfleet.catalog/1", "rows": rows}, len(rows), str(path), sha)
