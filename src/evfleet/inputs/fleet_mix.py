"""Named fleet compositions for generated scenarios (``data/fleet_mixes/fleet_mixes.json``, ``docs/model.md``).

A mix is either a list of entries (catalogue model, role such as ``van``/``taxi``/``pool car``, share of the fleet,
status and source of the entry) or ``by: registrations`` (models drawn in proportion to the catalogue's
``registrations``, EV2Gym's Dutch mix). :func:`mix_counts` turns the shares into vehicle counts that sum to the
fleet size by the largest-remainder rule, so each model's count is within one vehicle of ``share * n``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet.inputs.catalog_table import data_path

__all__ = ["DEFAULT_FLEET_MIX", "FleetMix", "fleet_mix", "fleet_mix_names", "mix_counts"]

DEFAULT_FLEET_MIX = "morocco_depot"


@dataclass(frozen=True)
class FleetMix:
    """A named composition. ``entries`` (model, role, share, status, source); empty when ``by_registrations``."""

    id: str
    name: str
    status: str
    note: str
    by_registrations: bool
    entries: tuple[dict[str, Any], ...]

    def model_shares(self) -> dict[str, float]:
        """Model -> share of the fleet (roles summed), in file order."""
        out: dict[str, float] = {}
        for e in self.entries:
            out[e["model"]] = out.get(e["model"], 0.0) + float(e["share"])
        return out

    def role_shares(self) -> dict[str, float]:
        """Role -> share of the fleet."""
        out: dict[str, float] = {}
        for e in self.entries:
            out[e["role"]] = out.get(e["role"], 0.0) + float(e["share"])
        return out


@cache
def _raw() -> dict[str, Any]:
    return json.loads(data_path("fleet_mixes", "fleet_mixes.json").read_text(encoding="utf-8"))


def fleet_mix_names() -> list[str]:
    """The shipped mix ids, the default first."""
    mixes = list(_raw()["mixes"])
    return sorted(mixes, key=lambda m: m != DEFAULT_FLEET_MIX)


def fleet_mix(mix_id: str) -> FleetMix:
    """The shipped mix ``mix_id``; an unknown id raises :class:`InputError` naming it and the known ones."""
    mixes = _raw()["mixes"]
    if mix_id not in mixes:
        raise InputError(f"parameter 'fleet_mix' must be one of {', '.join(fleet_mix_names())} (value {mix_id!r})")
    m = mixes[mix_id]
    entries = tuple(dict(e) for e in m.get("entries", []))
    total = sum(float(e["share"]) for e in entries)
    if entries and abs(total - 1.0) > 1e-9:
        raise InputError(f"fleet mix {mix_id!r}: shares must sum to 1 (value {total!r})")
    return FleetMix(mix_id, m["name"], m["status"], m.get("note", ""), m.get("by") == "registrations", entries)


def mix_counts(shares: dict[str, float], n: int) -> dict[str, int]:
    """Counts per model summing to ``n`` (largest remainder: each within one of ``share * n``; ties in order)."""
    names = list(shares)
    s = np.array([shares[k] for k in names], dtype=float)
    exact = s / s.sum() * n
    counts = np.floor(exact).astype(np.int64)
    left = int(n - counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:left]] += 1
    return {k: int(c) for k, c in zip(names, counts, strict=True)}
