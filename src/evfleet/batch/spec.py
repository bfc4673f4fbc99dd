"""Sweep specification: parse and validate a YAML spec and expand it into points.

Units follow the parameter names: power [kW], PV peak [kWp], prices [MAD/kWh], horizon [h].

A spec has up to three sections (format in ``docs/sweep.md``)::

    base: {vehicles: 200, days: 1}          # `evfleet scenario new` options and run options, or scenario: FILE
    grid:                                   # lists, crossed (cartesian product, in the order written)
      strategy: [uncontrolled, price_optimization]
      seed: [1, 2, 3]
      v2g: [false, true]
    random:                                 # optional: random draws, crossed with the grid
      draws: 10
      rng_seed: 7                           # seed of the draws (``seed: 7`` works too)
      seed: {randint: [0, 10000]}           # the scenario seed, drawn
      pv_kwp: {uniform: [0, 300]}
      vehicles: {randint: [50, 500]}
      tariff: {choice: [onee_mt_trihoraire, onee_bt_bihoraire]}

Keys are the ``scenario new`` options (dash or underscore spelling) and the run options ``strategy, mode, v2g,
horizon_h, forecast_noise, forecast_seed``. Every error names the key and the value.

A point is keyed by ``point_id``: the SHA-256 of its canonical scenario description (generation parameters, or
the base file's content hash plus its overrides), its run options and the evfleet version. Because generation is
deterministic, the same parameters give the same scenario content; each result row also records the generated
scenario's own ``scenario_hash``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet._common.structured import read_structured_file
from evfleet._common.version import __version__
from evfleet.inputs.generate import ScenarioParams
from evfleet.inputs.overrides import OVERRIDE_KEYS
from evfleet.scenario import ScenarioError
from evfleet.strategies import REGISTRY

__all__ = [
    "RUN_DEFAULTS",
    "RUN_KEYS",
    "SCENARIO_KEYS",
    "SpecError",
    "SweepPoint",
    "SweepSpec",
    "expand_points",
    "load_spec",
    "parse_spec",
    "scenario_path",
]


class SpecError(InputError):
    """A sweep or fleet specification is invalid; the message names the key and the value."""


#: Run options and their defaults (``forecast_seed`` is the seed of the online forecast noise).
RUN_DEFAULTS: dict[str, Any] = {
    "strategy": "uncontrolled",
    "mode": "offline",
    "v2g": True,
    "horizon_h": 24.0,
    "forecast_noise": 0.0,
    "forecast_seed": 0,
}
RUN_KEYS = tuple(RUN_DEFAULTS)
SCENARIO_KEYS = tuple(f.name for f in fields(ScenarioParams))


def _keys_of_type(type_name: str) -> set[str]:
    """ScenarioParams fields annotated ``type_name`` (or ``type_name | None``): new fields are typed automatically."""
    return {f.name for f in fields(ScenarioParams) if str(f.type).split(" | ")[0] == type_name}


_INT_KEYS = _keys_of_type("int") | {"forecast_seed"}
_FLOAT_KEYS = _keys_of_type("float") | {"horizon_h", "forecast_noise"}
_BOOL_KEYS = _keys_of_type("bool") | {"v2g"}
_MAPPING_KEYS = {"composition": int, "charger_mix": float}
_NULLABLE = {f.name for f in fields(ScenarioParams) if str(f.type).endswith("| None")}
_SECTIONS = ("base", "grid", "random")
_DISTRIBUTIONS = ("uniform", "randint", "choice")


@dataclass(frozen=True)
class SweepPoint:
    """One point: what to generate (or which overrides to apply to the base file) and how to run it."""

    index: int
    point_id: str
    scenario: dict[str, Any]
    run: dict[str, Any]

    @property
    def label(self) -> str:
        """Short text naming the varied values (for progress and error messages)."""
        return ", ".join(f"{k}={v}" for k, v in {**self.scenario, **self.run}.items())


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec. ``base`` and ``grid`` use canonical (underscore) keys."""

    base: dict[str, Any]
    grid: dict[str, list[Any]]
    random: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    draws: int = 0
    random_seed: int = 0
    scenario_file: Path | None = None
    origin: str = "<spec>"

    @property
    def keys(self) -> list[str]:
        """Every parameter key the spec sets (for the result columns), in spec order."""
        return list(dict.fromkeys([*self.base, *self.grid, *self.random]))

    @property
    def sets_start(self) -> bool:
        return "start" in self.keys

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"base": dict(self.base), "grid": dict(self.grid)}
        if self.scenario_file is not None:
            out["base"]["scenario"] = str(self.scenario_file)
        if self.draws:
            out["random"] = {"draws": self.draws, "rng_seed": self.random_seed, **self.random}
        return out


def _canonical_key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise SpecError(f"{where}: key {key!r} must be a text name")
    name = key.strip().lstrip("-").replace("-", "_")
    if name not in SCENARIO_KEYS and name not in RUN_KEYS:
        known = ", ".join(sorted({*SCENARIO_KEYS, *RUN_KEYS}))
        raise SpecError(f"{where}: unknown key {key!r}; known keys: {known}")
    return name


def scenario_path(value: Any, base_dir: Path | None, label: str) -> Path:
    """An existing scenario file named in a spec, relative to ``base_dir``; ``label`` names the field in errors."""
    if not isinstance(value, str):
        raise SpecError(f"{label} must be a file path (value {value!r})")
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise SpecError(f"{label} file not found (value {value!r})")
    return path


def coerce_value(key: str, value: Any, where: str) -> Any:
    """Check and normalise one parameter value; raise :class:`SpecError` naming ``where`` and the value."""

    def bad(what: str) -> SpecError:
        return SpecError(f"{where}: {what} (value {value!r})")

    if value is None:
        if key in _NULLABLE:
            return None
        raise bad("must not be empty")
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise bad("must be an integer")
        return int(value)
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise bad("must be a number")
        return float(value)
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if key in _MAPPING_KEYS:
        cast = _MAPPING_KEYS[key]
        if isinstance(value, str):  # the CLI spelling "a:1,b:2"
            try:
                value = {k.strip(): v.strip() for k, v in (item.rsplit(":", 1) for item in value.split(","))}
            except ValueError:
                raise bad('must be a mapping or "NAME:VALUE,..."') from None
        if not isinstance(value, dict) or not value:
            raise bad('must be a mapping or "NAME:VALUE,..."')
        if any(isinstance(v, bool) for v in value.values()):  # true is not a count or a share
            raise bad(f"values must be {cast.__name__} numbers, not true/false")
        if cast is int and any(isinstance(v, float) and np.isfinite(v) and v != int(v) for v in value.values()):
            raise bad("values must be whole numbers")
        try:
            return {str(k): cast(v) for k, v in value.items()}
        except (TypeError, ValueError, OverflowError):
            raise bad(f"values must be {cast.__name__} numbers") from None
    if key == "start":
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str):
            raise bad("must be an ISO date")
        try:
            np.datetime64(value[:10])
        except ValueError:
            raise bad("must be an ISO date") from None
        return value
    if key == "strategy":
        if value not in REGISTRY:
            raise SpecError(f"{where}: unknown strategy (value {value!r}); known: {', '.join(REGISTRY)}")
        return value
    if key == "mode":
        if value not in ("offline", "online"):
            raise bad("must be 'offline' or 'online'")
        return value
    if not isinstance(value, str):
        raise bad("must be text")
    return value


def _parse_distribution(key: str, value: Any, where: str) -> dict[str, list[Any]]:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in _DISTRIBUTIONS:
        raise SpecError(
            f"{where}: must be one of {{uniform: [LOW, HIGH]}}, {{randint: [LOW, HIGH]}}, {{choice: [...]}} "
            f"(value {value!r})"
        )
    kind, args = next(iter(value.items()))
    if not isinstance(args, list) or not args:
        raise SpecError(f"{where}.{kind}: must be a non-empty list (value {args!r})")
    if kind == "choice":
        return {kind: [coerce_value(key, a, f"{where}.choice") for a in args]}
    if len(args) != 2:
        raise SpecError(f"{where}.{kind}: must be [LOW, HIGH] (value {args!r})")
    if kind == "uniform" and key not in _FLOAT_KEYS:
        raise SpecError(f"{where}: uniform draws need a numeric key, {key!r} is not (value {value!r})")
    if kind == "randint" and key not in _INT_KEYS:
        raise SpecError(f"{where}: randint draws need an integer key, {key!r} is not (value {value!r})")
    lo, hi = (coerce_value(key, a, f"{where}.{kind}") for a in args)
    if not lo <= hi:
        raise SpecError(f"{where}.{kind}: LOW must be <= HIGH (value {args!r})")
    return {kind: [lo, hi]}


#: The most points a sweep may have (grid product x draws); ``EVFLEET_SWEEP_MAX_POINTS`` sets another bound.
MAX_SWEEP_POINTS = 10_000
ENV_SWEEP_MAX_POINTS = "EVFLEET_SWEEP_MAX_POINTS"


def max_sweep_points() -> int:
    """The bound on a sweep's number of points in force (:data:`MAX_SWEEP_POINTS` or the environment's)."""
    raw = os.environ.get(ENV_SWEEP_MAX_POINTS, "").strip()
    if not raw:
        return MAX_SWEEP_POINTS
    try:
        value = int(raw)
    except ValueError:
        raise SpecError(f"{ENV_SWEEP_MAX_POINTS} must be a whole number (value {raw!r})") from None
    if value < 1:
        raise SpecError(f"{ENV_SWEEP_MAX_POINTS} must be >= 1 (value {raw!r})")
    return value


def parse_spec(data: Any, origin: str = "<spec>", base_dir: Path | None = None) -> SweepSpec:
    """Validate a spec mapping (as loaded from YAML) and return a :class:`SweepSpec`."""
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: the spec must be a mapping with 'base' and/or 'grid' (value {data!r})")
    for key in data:
        if key not in _SECTIONS:
            raise SpecError(f"{origin}: unknown section {key!r}; sections: {', '.join(_SECTIONS)}")
    raw_base = data.get("base") or {}
    if not isinstance(raw_base, dict):
        raise SpecError(f"{origin}: 'base' must be a mapping (value {raw_base!r})")
    scenario_file = None
    base: dict[str, Any] = {}
    for key, value in raw_base.items():
        if key == "scenario":
            scenario_file = scenario_path(value, base_dir, f"{origin}: base.scenario")
            continue
        name = _canonical_key(key, f"{origin}: base")
        if name in base:
            raise SpecError(f"{origin}: base.{name} is given twice (value {value!r})")
        base[name] = coerce_value(name, value, f"{origin}: base.{key}")
    raw_grid = data.get("grid") or {}
    if not isinstance(raw_grid, dict):
        raise SpecError(f"{origin}: 'grid' must be a mapping of lists (value {raw_grid!r})")
    grid: dict[str, list[Any]] = {}
    for key, values in raw_grid.items():
        name = _canonical_key(key, f"{origin}: grid")
        if name in grid:
            raise SpecError(f"{origin}: grid.{name} is given twice (value {values!r})")
        if not isinstance(values, list) or not values:
            raise SpecError(f"{origin}: grid.{key} must be a non-empty list (value {values!r})")
        grid[name] = [coerce_value(name, v, f"{origin}: grid.{key}[{i}]") for i, v in enumerate(values)]
        if len({json.dumps(v, sort_keys=True) for v in grid[name]}) != len(grid[name]):
            raise SpecError(f"{origin}: grid.{key} lists a value twice (value {values!r})")
    raw_random = data.get("random") or {}
    if not isinstance(raw_random, dict):
        raise SpecError(f"{origin}: 'random' must be a mapping (value {raw_random!r})")
    draws = raw_random.get("draws", 0 if not raw_random else None)
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < (1 if raw_random else 0):
        raise SpecError(f"{origin}: random.draws must be an integer >= 1 (value {draws!r})")
    n_points = math.prod(len(v) for v in grid.values()) * max(int(draws or 0), 1)  # counted, never materialised
    limit = max_sweep_points()
    if n_points > limit:
        raise SpecError(
            f"{origin}: the sweep has {n_points:,} points, more than the bound of {limit:,} "
            f"(grid {' x '.join(str(len(v)) for v in grid.values()) or '1'}, draws {draws or 1}; "
            f"set {ENV_SWEEP_MAX_POINTS} to allow more)"
        )
    # The draws' own seed is ``rng_seed``; ``seed: INT`` is accepted for it too, while ``seed: {randint: ...}``
    # draws the scenario seed.
    seed_is_rng = "seed" in raw_random and not isinstance(raw_random["seed"], dict)
    if seed_is_rng and "rng_seed" in raw_random:
        raise SpecError(f"{origin}: give random.rng_seed or random.seed, not both (value {raw_random['seed']!r})")
    rseed = raw_random.get("seed", 0) if seed_is_rng else raw_random.get("rng_seed", 0)
    if isinstance(rseed, bool) or not isinstance(rseed, int) or rseed < 0:
        raise SpecError(f"{origin}: random.rng_seed must be an integer >= 0 (value {rseed!r})")
    rand: dict[str, dict[str, list[Any]]] = {}
    for key, value in raw_random.items():
        if key in ("draws", "rng_seed") or (key == "seed" and seed_is_rng):
            continue
        name = _canonical_key(key, f"{origin}: random")
        rand[name] = _parse_distribution(name, value, f"{origin}: random.{key}")
    if raw_random and not rand:
        raise SpecError(f"{origin}: random lists no parameter to draw (value {raw_random!r})")
    both = [k for k in rand if k in grid]
    if both:
        raise SpecError(f"{origin}: key {both[0]!r} is both in grid and random (value {grid[both[0]]!r})")
    if scenario_file is not None:
        allowed = {*OVERRIDE_KEYS, *RUN_KEYS}
        for section, keys in (("base", base), ("grid", grid), ("random", rand)):
            for key in keys:
                if key not in allowed:
                    raise SpecError(
                        f"{origin}: {section}.{key} cannot be applied to the base scenario file "
                        f"(allowed with 'scenario': {', '.join(sorted(allowed))})"
                    )
    return SweepSpec(
        base=base,
        grid=grid,
        random=rand,
        draws=int(draws or 0),
        random_seed=int(rseed),
        scenario_file=scenario_file,
        origin=origin,
    )


def load_spec(path: str | Path) -> SweepSpec:
    """Read a YAML (or JSON) spec file and validate it."""
    p = Path(path)
    if not p.is_file():
        raise InputFileNotFoundError(f"spec file not found: {p}")
    try:
        data = read_structured_file(p, as_yaml=True)
    except InputError as exc:
        raise SpecError(str(exc)) from None
    return parse_spec(data, origin=str(p), base_dir=p.parent)


def _draw(spec: SweepSpec) -> list[dict[str, Any]]:
    rng = np.random.default_rng(spec.random_seed)
    out: list[dict[str, Any]] = []
    for _ in range(spec.draws):
        point: dict[str, Any] = {}
        for key, dist in spec.random.items():
            kind, args = next(iter(dist.items()))
            if kind == "uniform":
                point[key] = float(rng.uniform(args[0], args[1]))
            elif kind == "randint":
                point[key] = int(rng.integers(args[0], args[1], endpoint=True))
            else:
                point[key] = args[int(rng.integers(len(args)))]
        out.append(point)
    return out


def point_id(scenario: dict[str, Any], run: dict[str, Any]) -> str:
    """Key of a point: SHA-256 (16 hex) of its canonical scenario description, run options and evfleet version."""
    text = json.dumps({"scenario": scenario, "run": run, "evfleet": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def expand_points(spec: SweepSpec, default_start: str | None = None, base_hash: str | None = None) -> list[SweepPoint]:
    """All points of the spec: grid (crossed, in spec order) x random draws, each validated.

    ``default_start`` pins the start date when the spec sets none (so that a rerun on another day resumes the same
    points); ``base_hash`` is the content hash of the base scenario file, if any.
    """

    grid_keys = list(spec.grid)
    combos = [dict(zip(grid_keys, values, strict=True)) for values in itertools.product(*spec.grid.values())]
    draws = _draw(spec) or [{}]
    points: list[SweepPoint] = []
    seen: dict[str, int] = {}
    for combo in combos:
        for draw in draws:
            values = {**spec.base, **combo, **draw}
            run = {k: values.get(k, RUN_DEFAULTS[k]) for k in RUN_KEYS}
            if spec.scenario_file is not None:
                scenario = {"base_scenario_hash": base_hash, **{k: v for k, v in values.items() if k in OVERRIDE_KEYS}}
            else:
                scenario = {k: v for k, v in values.items() if k in SCENARIO_KEYS}
                if "start" not in scenario and default_start is not None:
                    scenario["start"] = default_start
                try:
                    ScenarioParams(**scenario).validate()
                except (ScenarioError, TypeError) as exc:
                    raise SpecError(f"{spec.origin}: point {len(points) + 1} ({_label(values)}): {exc}") from None
            if run["horizon_h"] <= 0 or not 0 <= run["forecast_noise"] <= 1:
                raise SpecError(
                    f"{spec.origin}: point {len(points) + 1}: horizon_h must be > 0 and forecast_noise within 0-1 "
                    f"(values {run['horizon_h']!r}, {run['forecast_noise']!r})"
                )
            pid = point_id(scenario, run)
            if pid in seen:  # identical random draws, for instance
                continue
            seen[pid] = len(points)
            points.append(SweepPoint(index=len(points), point_id=pid, scenario=scenario, run=run))
    return points


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())
