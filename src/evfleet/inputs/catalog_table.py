"""The vehicle catalogue table: its columns and plausibility ranges, row validation, files (no sources here).

Units: battery energy [kWh], charge/discharge power [kW], registrations [count].

The shipped catalogue is ``data/catalog/models.csv`` (battery-electric cars and vans of 2024-2026 plus EV2Gym's
models, every number with a source or marked ``assumption``; see :mod:`evfleet.inputs.catalog_sources` and
``docs/catalog.md``). EV2Gym's specification files (MIT licence, see ``data/ev2gym/LICENSE``) give the numbers of
its models; names that differ only in spelling ("Peugeot 208" / "Peugeot E-208") are normalised.
:func:`load_catalog` returns the nine :data:`CATALOG_COLUMNS`; the sources, bidirectional capability and DC
curve are in :func:`evfleet.inputs.catalog_sources.load_catalog_details`.

References
----------
Orfanoudakis et al., "EV2Gym: A Flexible V2G Simulator for EV Smart Charging Research and Benchmarking",
IEEE Trans. Intelligent Transportation Systems (2024); data from the ``ev2gym`` 2.0.0 package.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError

__all__ = [
    "CATALOG_COLUMNS",
    "CATALOG_RANGES",
    "CatalogError",
    "closest_model_names",
    "data_path",
    "merge_catalog",
    "normalise_model_name",
    "read_catalog_file",
    "unknown_model_hint",
    "validate_catalog_rows",
]

#: Column name -> (dtype, unit/description). The schema is data: it is validated on load and documented.
CATALOG_COLUMNS: dict[str, tuple[str, str]] = {
    "model": ("str", "model name, unique"),
    "registrations": ("float", "registrations [count], used as popularity weight"),
    "battery_kwh": ("float", "usable battery capacity [kWh]"),
    "ac_charge_kw": ("float", "maximum AC charging power [kW]"),
    "dc_charge_kw": ("float", "maximum DC charging power [kW]"),
    "ac_discharge_kw": ("float", "maximum AC discharging (V2G) power [kW]"),
    "dc_discharge_kw": ("float", "maximum DC discharging (V2G) power [kW]"),
    "v2g": ("bool", "vehicle can export to the grid (V2G), only where a source says so"),
    "source": ("str", "where the row's numbers come from (reference ids; 'assumption: <columns>')"),
}

_NUMERIC = [
    "registrations",
    "battery_kwh",
    "ac_charge_kw",
    "dc_charge_kw",
    "ac_discharge_kw",
    "dc_discharge_kw",
]
#: Plausibility ranges of catalogue numbers [unit of the column] (user rows and the shipped catalogue).
CATALOG_RANGES: dict[str, tuple[float, float]] = {
    "registrations": (0.0, 1e9),
    "battery_kwh": (1.0, 1000.0),
    "ac_charge_kw": (0.0, 50.0),
    "dc_charge_kw": (0.0, 1000.0),
    "ac_discharge_kw": (0.0, 50.0),
    "dc_discharge_kw": (0.0, 1000.0),
}

_EV2GYM_FILES = ("ev_specs_v2g_enabled2024.json", "ev_specs.json", "ev_specs_ev_plus_phev.json")


class CatalogError(InputError):
    """A catalogue file or row is invalid; the message names file, row, column and value."""


def normalise_model_name(name: str) -> str:
    """Canonical spelling of a model name ("Peugeot E-208" -> "Peugeot 208").

    Lower-level spelling differences between the EV2Gym files (a leading "E-"/"e-" on the model part, repeated
    spaces, case of the make) are removed; the canonical form keeps the make capitalised as in the source.
    """
    text = re.sub(r"\s+", " ", str(name)).strip()
    parts = text.split(" ", 1)
    if len(parts) == 2:
        make, rest = parts
        rest = re.sub(r"^[eE]-(?=\d)", "", rest)  # "E-208" -> "208"
        text = f"{make} {rest}"
    return text


def closest_model_names(name: str, models: list[str] | pd.Series, n: int = 3) -> list[str]:
    """Up to ``n`` catalogue names closest to an unknown ``name`` (best first): names that start with it or contain
    it as whole words ("Renault 5" -> "Renault 5 E-Tech"), then difflib's closest spellings."""
    names = [str(m) for m in models]
    key = normalise_model_name(str(name)).lower().strip()
    if not key:
        return []
    words = re.compile(r"(?:^|\s)" + re.escape(key) + r"(?:\s|$)")
    contains = sorted((m for m in names if words.search(m.lower()) or m.lower().startswith(key)), key=len)
    lower = {m.lower(): m for m in names}
    fuzzy = [lower[m] for m in difflib.get_close_matches(key, list(lower), n=n, cutoff=0.5)]
    return list(dict.fromkeys([*contains, *fuzzy]))[:n]


def unknown_model_hint(name: str, models: list[str] | pd.Series) -> str:
    """ "; did you mean 'A', 'B'?" for an unknown model ``name`` ("" when nothing is close)."""
    close = closest_model_names(name, models)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def data_path(*parts: str) -> Path:
    return Path(str(resources.files("evfleet").joinpath("data", *parts)))


def _ev2gym_rows(path: Path) -> list[dict]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    v2g_file = path.name == "ev_specs_v2g_enabled2024.json"
    for name, spec in raw.items():
        ac_dis = float(spec.get("max_ac_discharge_power", 0) or 0)
        dc_dis = float(spec.get("max_dc_discharge_power", 0) or 0)
        if v2g_file:
            v2g = ac_dis > 0 or dc_dis > 0
        else:
            v2g = str(spec.get("ac_v2g", "no")).lower() == "yes" or str(spec.get("dc_v2g", "no")).lower() == "yes"
        rows.append(
            {
                "model": normalise_model_name(name),
                "registrations": float(spec.get("number_of_registrations", 0) or 0),
                "battery_kwh": float(spec["battery_capacity"]),
                "ac_charge_kw": float(spec.get("max_ac_charge_power", 0) or 0),
                "dc_charge_kw": float(spec.get("max_dc_charge_power", 0) or 0),
                "ac_discharge_kw": ac_dis,
                "dc_discharge_kw": dc_dis,
                "v2g": bool(v2g),
                "source": f"EV2Gym 2.0.0 {path.name}",
            }
        )
    return rows


def _coerce_bool(value: object) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "oui"}:
        return True
    if text in {"0", "false", "no", "n", "non", ""}:
        return False
    return None


def validate_catalog_rows(rows: list[Mapping], origin: str) -> pd.DataFrame:
    """Validate user catalogue rows; raise :class:`CatalogError` naming ``origin``, row, column and value.

    Rows are numbered from 1 (for a CSV, row 1 is the first data line, i.e. file line 2).
    """
    out = []
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        unknown = set(row) - set(CATALOG_COLUMNS)
        if unknown:
            col = sorted(unknown)[0]
            raise CatalogError(f"{origin}: row {i}: unknown column {col!r} (value {row[col]!r})")
        name = row.get("model")
        if name is None or str(name).strip() == "" or (isinstance(name, float) and np.isnan(name)):
            raise CatalogError(f"{origin}: row {i}: column 'model' is empty (value {name!r})")
        rec: dict = {"model": normalise_model_name(str(name))}
        if rec["model"].lower() in seen:
            raise CatalogError(f"{origin}: row {i}: column 'model' duplicates an earlier row (value {name!r})")
        seen.add(rec["model"].lower())
        for col in _NUMERIC:
            value = row.get(col, 0.0)
            try:
                num = float(value)
            except (TypeError, ValueError):
                raise CatalogError(f"{origin}: row {i}: column {col!r} is not a number (value {value!r})") from None
            lo, hi = CATALOG_RANGES[col]
            if not np.isfinite(num) or not lo <= num <= hi:
                raise CatalogError(
                    f"{origin}: row {i}: column {col!r} must be within [{lo:g}, {hi:g}] (value {value!r})"
                )
            rec[col] = num
        if rec["ac_charge_kw"] <= 0 and rec["dc_charge_kw"] <= 0:
            raise CatalogError(f"{origin}: row {i}: column 'ac_charge_kw' and 'dc_charge_kw' are both 0")
        v2g_raw = row.get("v2g", rec["ac_discharge_kw"] > 0 or rec["dc_discharge_kw"] > 0)
        v2g = _coerce_bool(v2g_raw)
        if v2g is None:
            raise CatalogError(f"{origin}: row {i}: column 'v2g' is not yes/no (value {v2g_raw!r})")
        if v2g and rec["ac_discharge_kw"] <= 0 and rec["dc_discharge_kw"] <= 0:
            raise CatalogError(
                f"{origin}: row {i}: column 'v2g' is yes but both discharge powers are 0 (value {v2g_raw!r})"
            )
        rec["v2g"] = v2g
        src = row.get("source")
        rec["source"] = str(src) if src is not None and str(src).strip() and str(src) != "nan" else origin
        out.append(rec)
    return pd.DataFrame(out, columns=list(CATALOG_COLUMNS))


def read_catalog_file(path: str | Path) -> pd.DataFrame:
    """Read and validate a user catalogue file (CSV or JSON, columns of :data:`CATALOG_COLUMNS`)."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            rows = frame.to_dict(orient="records")
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # EV2Gym style {model: {...}} or {"models": [...]}
                data = data.get("models", [{"model": k, **v} for k, v in data.items()])
            if not isinstance(data, list):
                raise CatalogError(f"{path}: expected a list of rows or an object of models")
            rows = data
        else:
            raise CatalogError(f"{path}: unsupported catalogue format {suffix!r} (use .csv or .json)")
    except (json.JSONDecodeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot parse: {exc}") from exc
    if not rows:
        raise CatalogError(f"{path}: no rows")
    if "model" not in rows[0]:
        raise CatalogError(f"{path}: row 1: missing required column 'model'")
    return validate_catalog_rows(rows, str(path))


def merge_catalog(base: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Add ``extra`` rows to ``base``; a model already present is overridden by the extra row."""
    keys = extra["model"].str.lower()
    kept = base[~base["model"].str.lower().isin(set(keys))]
    out = pd.concat([kept, extra], ignore_index=True)
    return out.sort_values("registrations", ascending=False, kind="stable").reset_index(drop=True)
