"""The vehicle catalogue: the shipped, sourced models plus a user's additions, and fleet sampling from it.

The table's schema, validation and file reading are in :mod:`evfleet.inputs.catalog_table`; the per-number sources,
bidirectional capability and DC charging curve in :mod:`evfleet.inputs.catalog_sources`. This module is the API the
rest of evfleet uses (``docs/catalog.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet.inputs.catalog_sources import load_catalog_details
from evfleet.inputs.catalog_table import (
    CATALOG_COLUMNS,
    CATALOG_RANGES,
    CatalogError,
    closest_model_names,
    data_path,
    merge_catalog,
    normalise_model_name,
    read_catalog_file,
    unknown_model_hint,
    validate_catalog_rows,
)

__all__ = [
    "CATALOG_COLUMNS",
    "CATALOG_RANGES",
    "CatalogError",
    "closest_model_names",
    "data_path",
    "load_catalog",
    "lookup_models",
    "merge_catalog",
    "normalise_model_name",
    "read_catalog_file",
    "sample_models",
    "unknown_model_hint",
    "validate_catalog_rows",
]


def load_catalog(extra: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The vehicle catalogue as a DataFrame (one row per model), optionally with user additions/overrides.

    Columns are exactly :data:`CATALOG_COLUMNS`, sorted by registrations (descending). The shipped rows come from
    ``data/catalog/models.csv``; ``v2g`` is the sourced capability (EV2Gym's 2024 V2G file is only a what-if,
    see :func:`evfleet.inputs.catalog_sources.apply_ev2gym_v2g_2024`).
    """

    return load_catalog_details(extra)[list(CATALOG_COLUMNS)].reset_index(drop=True)


def lookup_models(catalog: pd.DataFrame, names: list[str] | np.ndarray) -> np.ndarray:
    """Row indices of ``names`` in ``catalog``; raise :class:`CatalogError` naming the first unknown model."""
    index = {m.lower(): i for i, m in enumerate(catalog["model"])}
    out = np.empty(len(names), dtype=np.int64)
    for j, name in enumerate(names):
        key = normalise_model_name(str(name)).lower()
        if key not in index:
            hint = unknown_model_hint(str(name), catalog["model"])
            raise CatalogError(f"unknown model {name!r}{hint} (see `evfleet catalog` for the known models)")
        out[j] = index[key]
    return out


def sample_models(
    catalog: pd.DataFrame,
    n: int,
    rng: np.random.Generator,
    composition: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Catalogue row indices for ``n`` vehicles.

    With ``composition`` (model -> count, counts summing to ``n``) the fleet is exactly that; otherwise models
    are drawn with probability proportional to registrations.
    """
    if composition:
        total = sum(int(c) for c in composition.values())
        if total != n:
            raise CatalogError(f"composition counts sum to {total}, expected {n} vehicles")
        for name, count in composition.items():
            if int(count) < 0:
                raise CatalogError(f"composition: count for {name!r} is negative (value {count!r})")
        names = [m for m, c in composition.items() for _ in range(int(c))]
        idx = lookup_models(catalog, names)
        return idx[rng.permutation(n)]
    weights = catalog["registrations"].to_numpy(dtype=float)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    return rng.choice(len(catalog), size=n, p=weights / weights.sum())
