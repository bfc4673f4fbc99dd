"""The sourced vehicle catalogue: every number with its source, validation (``evfleet catalog --check``), lookups.

Units: battery energy [kWh], charge/discharge power [kW], AC phases [count], taper knee SOC and end power
[fraction 0-1], registrations [count] (a popularity weight).

Data: ``data/catalog/models.csv`` (one row per model; each number has a ``<column>_src`` column holding reference
ids from ``data/catalog/references.csv``, separated by ``;``, or the word ``assumption``) and
``data/catalog/references.csv`` (id, kind, publisher, title, url, date read). The EV2Gym models keep EV2Gym's
numbers (MIT licence, see ``data/ev2gym/LICENSE``). Policy and columns: ``docs/catalog.md``.

A model is V2G-capable (``v2g`` yes) only where a cited source says it can export to the grid; vehicle-to-home
(``v2h``) and vehicle-to-load (``v2l``) are recorded but do not make it V2G. EV2Gym's 2024 "V2G-enabled" file is
a what-if, applied only by :func:`apply_ev2gym_v2g_2024` (scenario option ``v2g_ready_2024``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet.inputs.catalog_table import (
    CATALOG_COLUMNS,
    CATALOG_RANGES,
    CatalogError,
    data_path,
    merge_catalog,
    normalise_model_name,
    read_catalog_file,
    unknown_model_hint,
)
from evfleet.inputs.charging_curve import GENERIC_END_FRAC, GENERIC_TAPER_SOC

__all__ = [
    "BIDIRECTIONAL",
    "DETAIL_COLUMNS",
    "NUMBER_SOURCES",
    "apply_ev2gym_v2g_2024",
    "check_catalog",
    "load_catalog_details",
    "load_references",
    "model_sources",
]

ASSUMPTION = "assumption"
#: Bidirectional capability: export to the grid, to a home/building only, to plugged-in loads only, or none found.
BIDIRECTIONAL = ("v2g", "v2h", "v2l", "none")

#: Number column -> the column holding its source (reference ids or ``assumption``).
NUMBER_SOURCES: dict[str, str] = {
    "registrations": "popularity_source",
    "battery_kwh": "battery_kwh_src",
    "ac_charge_kw": "ac_charge_kw_src",
    "ac_phases": "ac_phases_src",
    "dc_charge_kw": "dc_charge_kw_src",
    "ac_discharge_kw": "ac_discharge_kw_src",
    "dc_discharge_kw": "dc_discharge_kw_src",
    "dc_taper_soc": "dc_taper_soc_src",
    "dc_taper_end_frac": "dc_taper_end_frac_src",
}

#: Columns of ``models.csv`` (plus the derived ``source``): name -> (dtype, unit/description).
DETAIL_COLUMNS: dict[str, tuple[str, str]] = {
    "model": ("str", "model name, unique after normalisation"),
    "make": ("str", "manufacturer"),
    "body": ("str", "car or van (light commercial vehicle)"),
    "powertrain": ("str", "bev (battery-electric) or phev (plug-in hybrid, EV2Gym rows only)"),
    "registrations": ("float", "popularity weight [count]; EV2Gym registrations where they exist, user-editable"),
    "popularity_source": ("str", "source of the popularity weight"),
    "battery_kwh": ("float", "usable battery capacity [kWh] (nominal where the source gives only that)"),
    "battery_kwh_src": ("str", "source of battery_kwh"),
    "ac_charge_kw": ("float", "maximum AC charging power (on-board charger) [kW]"),
    "ac_charge_kw_src": ("str", "source of ac_charge_kw"),
    "ac_phases": ("int", "AC phases used at ac_charge_kw [1 or 3]"),
    "ac_phases_src": ("str", "source of ac_phases"),
    "dc_charge_kw": ("float", "peak DC charging power [kW] (0 = no DC charging)"),
    "dc_charge_kw_src": ("str", "source of dc_charge_kw"),
    "ac_discharge_kw": ("float", "AC power the vehicle can export through a bidirectional charger [kW]"),
    "ac_discharge_kw_src": ("str", "source of ac_discharge_kw"),
    "dc_discharge_kw": ("float", "DC power the vehicle can export through a bidirectional charger [kW]"),
    "dc_discharge_kw_src": ("str", "source of dc_discharge_kw"),
    "bidirectional": ("str", "v2g, v2h, v2l or none (none = no source found)"),
    "protocol": ("str", "how it discharges: CHAdeMO, ISO 15118, AC bidirectional, V2L adapter, ..."),
    "bidirectional_src": ("str", "source of bidirectional/protocol"),
    "v2g": ("bool", "vehicle can export to the grid (only with a source saying so)"),
    "dc_taper_soc": ("float", "knee of the DC curve: SOC above which DC power tapers [fraction 0-1]"),
    "dc_taper_soc_src": ("str", "source of dc_taper_soc"),
    "dc_taper_end_frac": ("float", "DC power at 100 % SOC as a fraction of dc_charge_kw [fraction 0-1]"),
    "dc_taper_end_frac_src": ("str", "source of dc_taper_end_frac"),
    "notes": ("str", "free text: variant, caveats"),
    "source": ("str", "summary of the row's sources (derived)"),
}

_FLOATS = [c for c, (t, _) in DETAIL_COLUMNS.items() if t == "float"]
_RANGES: dict[str, tuple[float, float]] = {
    **CATALOG_RANGES,  # the same plausibility ranges as user catalogue rows
    "dc_taper_soc": (0.0, 1.0),
    "dc_taper_end_frac": (0.0, 1.0),
}
#: Largest single-phase on-board charger rating [kW] (40 A x 240 V): above it a one-phase row is a unit error.
_MAX_SINGLE_PHASE_KW = 9.6
_REFERENCE_COLUMNS = ("id", "kind", "publisher", "title", "url", "date_read", "supports")


def _default_paths(models: str | Path | None, refs: str | Path | None) -> tuple[Path, Path]:
    return (Path(models) if models else data_path("catalog", "models.csv"),
            Path(refs) if refs else data_path("catalog", "references.csv"))  # fmt: skip


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot parse: {exc}") from exc


def load_references(path: str | Path | None = None) -> pd.DataFrame:
    """The reference table (``id, kind, publisher, title, url, date_read, supports``), indexed by ``id``."""
    df = _read_csv(_default_paths(None, path)[1])
    return df.set_index("id", drop=False)


def _source_ids(value: str) -> list[str] | None:
    """Reference ids of a source cell, or ``None`` for an assumption."""
    text = str(value).strip()
    if text.lower().startswith(ASSUMPTION):
        return None
    return [s.strip() for s in text.split(";") if s.strip()]


def _check_references(refs: pd.DataFrame, origin: str) -> list[str]:
    problems = []
    missing = [c for c in _REFERENCE_COLUMNS if c not in refs.columns]
    if missing:
        return [f"{origin}: missing column {missing[0]!r}"]
    seen: set[str] = set()
    for i, row in enumerate(refs.to_dict(orient="records"), start=1):
        rid = row["id"].strip()
        if not rid or rid.lower().startswith(ASSUMPTION) or ";" in rid:
            problems.append(f"{origin}: row {i}: column 'id' is empty or reserved (value {rid!r})")
        if rid in seen:
            problems.append(f"{origin}: row {i}: column 'id' duplicates an earlier row (value {rid!r})")
        seen.add(rid)
        if not re.match(r"^https?://\S+$", row["url"].strip()):
            problems.append(f"{origin}: row {i} ({rid}): column 'url' is not an http(s) address (value {row['url']!r})")
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", row["date_read"].strip()):
            problems.append(
                f"{origin}: row {i} ({rid}): column 'date_read' is not an ISO date (value {row['date_read']!r})"
            )
        if not row["title"].strip():
            problems.append(f"{origin}: row {i} ({rid}): column 'title' is empty")
    return problems


def _check_models(df: pd.DataFrame, ref_ids: set[str], origin: str) -> list[str]:
    problems: list[str] = []
    required = [c for c in DETAIL_COLUMNS if c != "source"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        return [f"{origin}: missing column {missing[0]!r} (required: {', '.join(required)})"]
    seen: dict[str, int] = {}
    for i, row in enumerate(df.to_dict(orient="records"), start=1):
        name = str(row["model"]).strip()
        where = f"{origin}: row {i} ({name or '?'})"

        def bad(col: str, what: str, row: dict = row, where: str = where) -> None:
            problems.append(f"{where}: column {col!r} {what} (value {row[col]!r})")

        if not name:
            bad("model", "is empty")
            continue
        key = normalise_model_name(name).lower()
        if key in seen:
            bad("model", f"duplicates row {seen[key]} after name normalisation")
        seen.setdefault(key, i)
        nums: dict[str, float] = {}
        for col in [*_FLOATS, "ac_phases"]:
            try:
                nums[col] = float(row[col])
            except ValueError:
                bad(col, "is not a number")
                continue
            lo, hi = _RANGES.get(col, (1.0, 3.0))
            if not np.isfinite(nums[col]) or not lo <= nums[col] <= hi:
                bad(col, f"must be within [{lo:g}, {hi:g}] (unit: {DETAIL_COLUMNS[col][1]})")
        for col, src_col in NUMBER_SOURCES.items():
            ids = _source_ids(row[src_col])
            if ids is None:
                continue
            if not ids:
                bad(src_col, f"is empty: give reference ids or '{ASSUMPTION}' for {col}")
            for rid in ids:
                if rid not in ref_ids:
                    bad(src_col, f"names unknown reference {rid!r} (see references.csv)")
        for col, allowed in (
            ("body", ("car", "van")),
            ("powertrain", ("bev", "phev")),
            ("bidirectional", BIDIRECTIONAL),
        ):
            if row[col] not in allowed:
                bad(col, f"must be one of {', '.join(allowed)}")
        if row["v2g"] not in ("yes", "no"):
            bad("v2g", "must be yes or no")
        if "ac_phases" in nums and nums["ac_phases"] not in (1.0, 3.0):
            bad("ac_phases", "must be 1 or 3")
        if nums.get("ac_phases") == 1.0 and nums.get("ac_charge_kw", 0.0) > _MAX_SINGLE_PHASE_KW:
            bad("ac_charge_kw", f"exceeds {_MAX_SINGLE_PHASE_KW} kW on one phase (kW/W or phase mix-up?)")
        if nums.get("ac_charge_kw", 1.0) <= 0 and nums.get("dc_charge_kw", 1.0) <= 0:
            bad("ac_charge_kw", "and 'dc_charge_kw' are both 0")
        v2g = row["v2g"] == "yes"
        if v2g != (row["bidirectional"] == "v2g"):
            bad("v2g", f"must be yes exactly when bidirectional is v2g (bidirectional {row['bidirectional']!r})")
        if v2g and _source_ids(row["bidirectional_src"]) is None:
            bad("bidirectional_src", "must cite a source saying the model exports to the grid when v2g is yes")
        if v2g and nums.get("ac_discharge_kw", 0.0) <= 0 and nums.get("dc_discharge_kw", 0.0) <= 0:
            bad("v2g", "is yes but both discharge powers are 0")
        if row["bidirectional"] in ("v2g", "v2h") and not str(row["protocol"]).strip():
            bad("protocol", "is empty: name how the vehicle discharges (e.g. CHAdeMO, ISO 15118-20, AC bidirectional)")
        if row["powertrain"] == "bev" and nums.get("battery_kwh", 100.0) < 10.0:
            bad("battery_kwh", "is below 10 kWh for a battery-electric model (Wh instead of kWh?)")
    return problems


def check_catalog(models_path: str | Path | None = None, references_path: str | Path | None = None) -> list[str]:
    """Validate a catalogue file and its references; return the problems (empty list = valid).

    Checks columns, units and ranges, allowed values, duplicates after name normalisation, that every number has
    a source (known reference ids) or ``assumption``, and the V2G policy (``v2g`` yes only with a cited
    bidirectional source and a discharge power). Defaults to the shipped files.
    """
    mpath, rpath = _default_paths(models_path, references_path)
    try:
        refs = _read_csv(rpath)
        models = _read_csv(mpath)
    except CatalogError as exc:
        return [str(exc)]
    problems = _check_references(refs, str(rpath))
    ref_ids = set(refs["id"].str.strip()) if "id" in refs.columns else set()
    problems += _check_models(models, ref_ids, str(mpath))
    if not len(models):
        problems.append(f"{mpath}: no rows")
    return problems


def _derived_source(row: dict, refs: pd.DataFrame) -> str:
    ids: list[str] = []
    assumed: list[str] = []
    for col, src_col in NUMBER_SOURCES.items():
        found = _source_ids(row[src_col])
        if found is None:
            assumed.append(col)
        else:
            ids += [i for i in found if i not in ids]
    found = _source_ids(row["bidirectional_src"])
    if found:
        ids += [i for i in found if i not in ids]
    text = "; ".join(ids)
    if assumed:
        text += ("; " if text else "") + "assumption: " + ", ".join(assumed)
    return text


@cache
def _shipped_details() -> pd.DataFrame:
    problems = check_catalog()
    if problems:
        raise CatalogError("shipped catalogue is invalid: " + "; ".join(problems[:3]))
    mpath, rpath = _default_paths(None, None)
    df = _read_csv(mpath)
    refs = load_references(rpath)
    df["source"] = [_derived_source(r, refs) for r in df.to_dict(orient="records")]
    df["model"] = df["model"].map(normalise_model_name)
    for col in _FLOATS:
        df[col] = df[col].astype(float)
    df["ac_phases"] = df["ac_phases"].astype(int)
    df["v2g"] = df["v2g"] == "yes"
    df = df[list(DETAIL_COLUMNS)]
    return df.sort_values("registrations", ascending=False, kind="stable").reset_index(drop=True)


def _fill_user_rows(extra: pd.DataFrame) -> pd.DataFrame:
    """Detail columns for user rows: their ``source`` text stands for every number's source."""

    out = extra.copy()
    src = out["source"].astype(str)
    defaults: dict[str, Any] = {"make": "", "body": "car", "powertrain": "bev", "ac_phases": 3, "protocol": "",
                                "notes": "user catalogue row", "dc_taper_soc": GENERIC_TAPER_SOC,
                                "dc_taper_end_frac": GENERIC_END_FRAC}  # fmt: skip
    for col, val in defaults.items():
        if col not in out.columns:
            out[col] = val
    if "bidirectional" not in out.columns:
        out["bidirectional"] = np.where(out["v2g"].astype(bool), "v2g", "none")
    for src_col in [*NUMBER_SOURCES.values(), "bidirectional_src"]:
        if src_col not in out.columns:
            out[src_col] = "user: " + src
    return out[list(DETAIL_COLUMNS)]


def load_catalog_details(extra: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The catalogue with every column of :data:`DETAIL_COLUMNS` (sources, bidirectional, DC curve), sorted.

    The first nine columns are those of :func:`evfleet.inputs.catalog.load_catalog`; ``extra`` rows (a user file or
    frame) add or override models, their ``source`` standing for each number's source.
    """

    cat = _shipped_details().copy()
    if extra is not None:
        extra_df = extra if isinstance(extra, pd.DataFrame) else read_catalog_file(extra)
        cat = merge_catalog(cat, _fill_user_rows(extra_df))
    order = list(CATALOG_COLUMNS) + [c for c in DETAIL_COLUMNS if c not in CATALOG_COLUMNS]
    return cat[order]


def model_sources(model: str, catalog: pd.DataFrame | None = None) -> dict[str, Any]:
    """Where each number of ``model`` comes from (for the dashboard's hover/detail view).

    Returns ``{"model", "make", "notes", "v2g", "bidirectional", "protocol", "fields"}``; ``fields`` maps each
    number column to ``{"value", "unit", "status", "references", "text"}`` where ``status`` is ``sourced``,
    ``assumption`` or ``user`` and ``references`` lists ``{"id", "title", "publisher", "url", "date_read"}``.
    The capability (``bidirectional``) has an entry too. Raises :class:`CatalogError` for an unknown model.
    """
    cat = load_catalog_details() if catalog is None else catalog
    key = normalise_model_name(model).lower()
    hits = cat[cat["model"].str.lower() == key]
    if hits.empty:
        hint = unknown_model_hint(model, cat["model"])
        raise CatalogError(f"unknown model {model!r}{hint} (see `evfleet catalog` for the known models)")
    row = hits.iloc[0].to_dict()
    refs = load_references()

    def entry(value: Any, unit: str, src: str) -> dict[str, Any]:
        text = str(src)
        ids = _source_ids(text)
        if ids is None:
            status, items = "assumption", []
        elif text.startswith("user: "):
            status, items = "user", []
        else:
            status = "sourced"
            items = [{k: refs.loc[i, k] for k in ("id", "title", "publisher", "url", "date_read")}
                     for i in ids if i in refs.index]  # fmt: skip
        return {"value": value, "unit": unit, "status": status, "references": items, "text": text}

    fields = {col: entry(_plain(row[col]), DETAIL_COLUMNS[col][1], row[src]) for col, src in NUMBER_SOURCES.items()}
    fields["bidirectional"] = entry(row["bidirectional"], DETAIL_COLUMNS["bidirectional"][1], row["bidirectional_src"])
    return {
        "model": row["model"],
        "make": row["make"],
        "notes": row["notes"],
        "v2g": bool(row["v2g"]),
        "bidirectional": row["bidirectional"],
        "protocol": row["protocol"],
        "fields": fields,
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def apply_ev2gym_v2g_2024(catalog: pd.DataFrame) -> pd.DataFrame:
    """What-if (an assumption, not a fact): EV2Gym's 2024 "V2G-enabled" models can all export to the grid.

    Every model listed in EV2Gym's ``ev_specs_v2g_enabled2024.json`` (Tesla Model 3 included) gets ``v2g`` yes
    and that file's AC/DC discharge powers [kW]; its ``source`` says so. Other rows are unchanged.
    """
    raw = json.loads(data_path("ev2gym", "ev_specs_v2g_enabled2024.json").read_text(encoding="utf-8"))
    spec = {normalise_model_name(k).lower(): v for k, v in raw.items()}
    out = catalog.copy()
    hit = out["model"].str.lower().isin(set(spec))
    if not hit.any():
        return out
    rows = out.loc[hit, "model"].str.lower()
    out.loc[hit, "ac_discharge_kw"] = [float(spec[m].get("max_ac_discharge_power", 0) or 0) for m in rows]
    out.loc[hit, "dc_discharge_kw"] = [float(spec[m].get("max_dc_discharge_power", 0) or 0) for m in rows]
    out.loc[hit, "v2g"] = True
    note = "what-if: EV2Gym 2024 V2G-ready fleet (assumption, ev_specs_v2g_enabled2024.json)"
    out.loc[hit, "source"] = out.loc[hit, "source"].astype(str) + "; " + note
    return out
