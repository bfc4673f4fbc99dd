"""Generate a synthetic but realistic :class:`~evfleet.scenario.Scenario` from a few parameters.

Units: power [kW], energy [kWh], PV peak [kWp], SOC fraction 0-1, hours [h] local time.

Arrivals, stays and energy needs come from the EV2Gym distributions (ElaadNL data, MIT licence) for the
``workplace`` and ``mixed`` profiles, or from a depot schedule (vehicles back in the evening, out in the morning).
Every default below that is not from a cited source is an assumption and is listed in ``docs/model.md``.
The same parameters and seed always give the identical scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evfleet._common.errors import InputError
from evfleet.inputs.catalog import sample_models
from evfleet.inputs.catalog_sources import apply_ev2gym_v2g_2024, load_catalog_details
from evfleet.inputs.charging_curve import GENERIC_END_FRAC, GENERIC_TAPER_SOC, session_taper
from evfleet.inputs.fleet_mix import DEFAULT_FLEET_MIX, fleet_mix, mix_counts
from evfleet.inputs.site import CASABLANCA, SiteLocation, base_load_profile_kw, pv_profile_kw
from evfleet.inputs.tariffs import DEFAULT_TARIFF, load_tariff, tariff_record
from evfleet.scenario import FORMAT, Scenario, ScenarioError, scenario_from_dict
from evfleet.scenario_schema import CHARGER_TYPES  # name -> (rated power [kW], current type, phases)

__all__ = [
    "CHARGER_TYPES",
    "ScenarioParams",
    "automatic_site_values",
    "check_charger_mix_sums_to_one",
    "generate_scenario",
]

PROFILES = ("depot", "workplace", "mixed")
_DEFAULT_START_HOUR = {"depot": 12, "workplace": 0, "mixed": 12}


@dataclass(frozen=True)
class ScenarioParams:
    """Generation parameters (defaults in brackets are assumptions unless a source is given).

    ``import_limit_kw``, ``pv_kwp`` and ``base_load_peak_kw`` default to values that scale with the fleet:
    ``base_load_peak_kw = 50 + 0.3 N``, ``import_limit_kw = base_load_peak_kw + 5 N``, ``pv_kwp = 0.4 N``.

    The fleet is ``composition`` (model -> count) when given, else the named ``fleet_mix``
    (:mod:`evfleet.inputs.fleet_mix`: ``morocco_depot`` by default, ``ev2gym_nl`` for EV2Gym's Dutch mix).
    Arrival SOC: ``soc_target - E / battery`` with the session's energy need ``E`` drawn from EV2Gym's energy
    distribution truncated to ``[0, (soc_target - soc_arrival_floor) * battery]`` (inverse transform of the
    truncated CDF: no clipping, so no spike of sessions at the floor).
    ``export_limit_kw`` defaults to 0: under Law 82-21 a site sells surplus only after a request to the network
    operator, capped (fr.le360.ma, June 2025); set it for a site that has that agreement. ``tariff`` defaults to
    ONEE MT Tarif Général (``onee_mt_general``, secondary-sourced); ``subscribed_power_kva`` [kVA] is the
    contract's subscribed power (default: the tariff's value, else the import limit, kW taken as kVA: an
    assumption); the scenario carries the tariff's billing terms under ``tariff`` (``docs/model.md``).
    ``transformer_kva`` [kVA], when given, is written to ``site.electrical.transformer_kva`` so that the
    power-quality model uses that rating whatever the import limit (``None``: the model derives it);
    :func:`automatic_site_values` gives the values the automatic ones resolve to.
    """

    vehicles: int = 500
    seed: int = 0
    start: str | None = None  # ISO date (or datetime); default today
    start_hour: int | None = None  # local hour of the first step; default by profile (depot/mixed 12, workplace 0)
    timezone: str = "Africa/Casablanca"
    days: int = 1
    step_minutes: int = 15
    profile: str = "depot"
    composition: dict[str, int] | None = None
    fleet_mix: str = DEFAULT_FLEET_MIX
    soc_arrival_floor: float = 0.10
    bidirectional_share: float = 0.5
    charger_mix: dict[str, float] = field(default_factory=lambda: {"ac7.4": 0.1, "ac11": 0.6, "ac22": 0.2, "dc50": 0.1})
    soc_target: float = 0.85
    soc_min: float = 0.20
    soc_max: float = 0.90
    import_limit_kw: float | None = None
    export_limit_kw: float | None = None
    pv_kwp: float | None = None
    base_load_peak_kw: float | None = None
    transformer_kva: float | None = None
    base_load_shape: str = "depot"
    tariff: str = DEFAULT_TARIFF
    subscribed_power_kva: float | None = None
    degradation_mad_per_kwh: float = 0.40
    charge_efficiency: float = 0.93
    discharge_efficiency: float = 0.93
    latitude: float = CASABLANCA.latitude
    longitude: float = CASABLANCA.longitude
    name: str | None = None
    catalog_file: str | None = None
    # What-if (assumption): every model of EV2Gym's ev_specs_v2g_enabled2024.json can export to the grid.
    v2g_ready_2024: bool = False

    def validate(self) -> None:
        """Raise :class:`ScenarioError` naming the first bad parameter and its value.

        Every field is checked for its type first (``true``/``false`` is not a number, a number is finite), then
        for its range: latitude [-90, 90], longitude [-180, 180], known charger types with finite shares >= 0
        whose sum is positive (the shares are weights, normalised to sum 1), known profiles and step lengths.
        """

        def bad(name: str, what: str) -> ScenarioError:
            return ScenarioError(f"parameter '{name}' {what} (value {getattr(self, name)!r})")

        for name in _INT_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if not _is_int(value):
                raise bad(name, "must be an integer")
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if not _is_number(value):
                raise bad(name, "must be a finite number")
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if not isinstance(value, str):
                raise bad(name, "must be a text")
        if not isinstance(self.v2g_ready_2024, bool):
            raise bad("v2g_ready_2024", "must be true or false")
        if not 1 <= self.vehicles <= 100_000:
            raise bad("vehicles", "must be within 1-100000")
        if self.seed < 0:
            raise bad("seed", "must be >= 0")
        if not 1 <= self.days <= 366:
            raise bad("days", "must be within 1-366")
        if self.step_minutes not in (1, 2, 3, 5, 10, 15, 20, 30, 60):
            raise bad("step_minutes", "must divide an hour (1, 2, 3, 5, 10, 15, 20, 30 or 60)")
        if self.profile not in PROFILES:
            raise bad("profile", f"must be one of {', '.join(PROFILES)}")
        if self.start_hour is not None and not 0 <= self.start_hour <= 23:
            raise bad("start_hour", "must be within 0-23")
        try:
            fleet_mix(self.fleet_mix)
        except InputError as exc:
            raise ScenarioError(str(exc)) from None
        for name in ("soc_target", "soc_min", "soc_max", "bidirectional_share", "soc_arrival_floor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise bad(name, "must be within 0-1 (a fraction, not %)")
        if self.soc_min > self.soc_max:
            raise bad("soc_min", "must be <= soc_max")
        if self.soc_target > self.soc_max:
            raise bad("soc_target", "must be <= soc_max")
        if self.soc_arrival_floor > self.soc_target:
            raise bad("soc_arrival_floor", "must be <= soc_target")
        if self.subscribed_power_kva is not None and not (
            isinstance(self.subscribed_power_kva, int | float)
            and not isinstance(self.subscribed_power_kva, bool)
            and np.isfinite(self.subscribed_power_kva)
            and self.subscribed_power_kva > 0
        ):
            raise bad("subscribed_power_kva", "must be a number > 0 kVA")
        for name in ("import_limit_kw", "export_limit_kw", "pv_kwp", "base_load_peak_kw"):
            val = getattr(self, name)
            if val is not None and not val >= 0:
                raise bad(name, "must be a number >= 0")
        if self.transformer_kva is not None and not (np.isfinite(self.transformer_kva) and self.transformer_kva > 0):
            raise bad("transformer_kva", "must be a number > 0")
        if self.degradation_mad_per_kwh < 0:
            raise bad("degradation_mad_per_kwh", "must be >= 0")
        for name in ("charge_efficiency", "discharge_efficiency"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise bad(name, "must be within (0, 1]")
        if not -90.0 <= self.latitude <= 90.0:
            raise bad("latitude", "must be within [-90, 90] degrees")
        if not -180.0 <= self.longitude <= 180.0:
            raise bad("longitude", "must be within [-180, 180] degrees")
        self._validate_charger_mix()
        self._validate_composition()

    def _validate_charger_mix(self) -> None:
        mix = self.charger_mix
        if not isinstance(mix, Mapping) or not mix:
            raise ScenarioError(f"parameter 'charger_mix' must name at least one charger type (value {mix!r})")
        for key, share in mix.items():
            if key not in CHARGER_TYPES:
                raise ScenarioError(
                    f"parameter 'charger_mix' names unknown charger type {key!r}; known: {', '.join(CHARGER_TYPES)}"
                )
            if not _is_number(share) or share < 0:
                raise ScenarioError(f"parameter 'charger_mix[{key}]' must be a finite number >= 0 (value {share!r})")
        total = float(sum(float(v) for v in mix.values()))
        if not (np.isfinite(total) and total > 0):
            raise ScenarioError(f"parameter 'charger_mix' shares must sum to a positive finite number (value {mix!r})")

    def _validate_composition(self) -> None:
        comp = self.composition
        if comp is None:
            return
        if not isinstance(comp, Mapping):
            raise ScenarioError(f"parameter 'composition' must be a mapping of model -> count (value {comp!r})")
        for model, count in comp.items():
            if not isinstance(model, str) or not model.strip():
                raise ScenarioError(f"parameter 'composition' names a model that is not a text (value {model!r})")
            if not _is_int(count) or count < 0:
                raise ScenarioError(f"parameter 'composition[{model}]' must be an integer >= 0 (value {count!r})")
        total = sum(int(c) for c in comp.values())
        if total != self.vehicles:
            raise ScenarioError(
                f"parameter 'composition' counts sum to {total}, expected {self.vehicles} vehicles (value {comp!r})"
            )


_INT_FIELDS = ("vehicles", "seed", "days", "step_minutes", "start_hour")
_FLOAT_FIELDS = (
    "bidirectional_share", "soc_target", "soc_min", "soc_max", "import_limit_kw", "export_limit_kw", "pv_kwp",
    "base_load_peak_kw", "degradation_mad_per_kwh", "charge_efficiency", "discharge_efficiency", "latitude",
    "longitude",
)  # fmt: skip
_TEXT_FIELDS = ("start", "timezone", "profile", "base_load_shape", "tariff", "name", "catalog_file")
_OPTIONAL_FIELDS = frozenset(
    {"start", "start_hour", "import_limit_kw", "export_limit_kw", "pv_kwp", "base_load_peak_kw", "name",
     "catalog_file"}
)  # fmt: skip


def _is_int(value: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: object) -> bool:
    """A finite int or float (Python or numpy), not a bool."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(float(value)))
    )


# --- EV2Gym distributions -------------------------------------------------------------------------------------


def _csv(name: str) -> pd.DataFrame:
    path = Path(str(resources.files("evfleet").joinpath("data", "ev2gym", name)))
    return pd.read_csv(path, encoding="utf-8-sig")


@cache
def _arrival_pmf(column: str) -> np.ndarray:
    """Probability of arrival in each 15-min slot of the day (96 slots), weekday file."""
    df = _csv("distribution-of-arrival.csv")
    p = df[column].to_numpy(dtype=float)
    return p / p.sum()


@cache
def _ccdf(name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, P(X > x)) from an EV2Gym 'percentage of charging events' file; x in kWh or h."""
    df = _csv(name)
    x = df.iloc[:, 0].to_numpy(dtype=float)
    s = np.clip(df[column].to_numpy(dtype=float) / 100.0, 0, 1)
    s = np.minimum.accumulate(s)  # enforce a non-increasing survival function
    return x, s


@cache
def _mean_stay_h(column: str) -> tuple[np.ndarray, np.ndarray]:
    """(arrival hour, mean stay [h]) from mean-session-length-per.csv, sorted, empty cells dropped."""
    df = _csv("mean-session-length-per.csv")
    hours = pd.to_timedelta(df.iloc[:, 0] + ":00").dt.total_seconds().to_numpy() / 3600.0
    vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(vals)
    order = np.argsort(hours[ok])
    return hours[ok][order], vals[ok][order]


def _stay_h(column: str, arrival_h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    xp, fp = _mean_stay_h(column)
    mu = np.interp(arrival_h, xp, fp)
    return np.clip(rng.normal(mu, 0.2 * mu), 0.5, 24.0)  # EV2Gym: stay ~ N(mu, 0.2 mu)


# --- generation ------------------------------------------------------------------------------------------------


def _start_timestamp(p: ScenarioParams) -> pd.Timestamp:
    hour = _DEFAULT_START_HOUR[p.profile] if p.start_hour is None else p.start_hour
    if p.start is None:
        day = datetime.now(tz=pd.Timestamp.now(tz=p.timezone).tz).date()
    else:
        try:
            ts = pd.Timestamp(p.start)
        except (ValueError, TypeError):
            raise ScenarioError(f"parameter 'start' is not an ISO date (value {p.start!r})") from None
        if ts.hour or ts.minute:
            return ts.tz_localize(p.timezone) if ts.tzinfo is None else ts.tz_convert(p.timezone)
        day = ts.date()
    try:
        return pd.Timestamp(datetime.combine(day, datetime.min.time())).replace(hour=hour).tz_localize(p.timezone)
    except Exception as exc:
        raise ScenarioError(f"parameter 'timezone' or 'start' is invalid ({p.timezone!r}, {day}): {exc}") from exc


def _truncated_energy_kwh(u: np.ndarray, column: np.ndarray, max_kwh: np.ndarray) -> np.ndarray:
    """Energy needs [kWh] by inverse transform of EV2Gym's distribution ``column`` truncated to ``[0, max_kwh]``:
    ``F^-1(u F(max_kwh))`` with ``u`` uniform in [0, 1) (a continuous law on the interval, no mass at its end)."""
    out = np.zeros(len(u))
    cap = np.maximum(max_kwh, 0.0)
    for col in np.unique(column):
        sel = column == col
        x, s = _ccdf("distribution-of-energy-demand.csv", str(col))
        f = 1.0 - s
        f_u, idx = np.unique(f, return_index=True)
        f_max = np.interp(cap[sel], x[idx], f_u)
        out[sel] = np.minimum(np.interp(u[sel] * f_max, f_u, x[idx]), cap[sel])
    return out


def _sessions(p: ScenarioParams, start: pd.Timestamp, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Arrival/departure hours (from horizon start), the energy-need draw ``energy_u`` (uniform) and the EV2Gym
    energy column ``energy_col`` of each session."""
    n, days = p.vehicles, p.days
    horizon_h = 24.0 * days
    start_h = start.hour + start.minute / 60.0
    vehicle = np.repeat(np.arange(n), days)
    day = np.tile(np.arange(days), n)
    m = n * days
    kind = np.zeros(m, dtype=np.int8)  # 0 depot, 1 workplace, 2 public
    if p.profile == "workplace":
        kind[:] = 1
    elif p.profile == "mixed":
        kind = np.repeat(rng.choice([0, 1, 2], size=n, p=[0.5, 0.25, 0.25]).astype(np.int8), days)
    u = rng.random((6, m))

    arr_tod = np.empty(m)
    stay = np.empty(m)
    energy_col = np.empty(m, dtype=object)
    energy_u = np.empty(m)
    # Depot schedule (assumption): back ~ N(18:30, 1 h) clipped 15-23 h, out ~ N(07:00, 45 min) clipped 5-10 h.
    d = kind == 0
    arr_tod[d] = np.clip(18.5 + rng.normal(0, 1.0, d.sum()), 15.0, 23.0)
    dep_tod = np.clip(7.0 + rng.normal(0, 0.75, d.sum()), 5.0, 10.0)
    stay[d] = dep_tod + 24.0 - arr_tod[d]
    energy_col[d], energy_u[d] = "private", u[0, d]
    for k, arr_col, stay_col, e_col in (
        (1, "workplace", "work", "workplace"),
        (2, "public", "public", "public"),
    ):
        sel = kind == k
        slots = rng.choice(96, size=sel.sum(), p=_arrival_pmf(arr_col))
        arr_tod[sel] = (slots + u[1, sel]) * 0.25
        stay[sel] = _stay_h(stay_col, arr_tod[sel], rng)
        energy_col[sel], energy_u[sel] = e_col, u[2, sel]
    # Place each session in its day of the horizon: time of day mapped relative to the horizon start.
    arrival_h = day * 24.0 + np.mod(arr_tod - start_h, 24.0)
    departure_h = np.minimum(arrival_h + stay, horizon_h)
    return {"vehicle": vehicle, "arrival_h": arrival_h, "departure_h": departure_h, "energy_u": energy_u,
            "energy_col": energy_col}  # fmt: skip


def generate_scenario(params: ScenarioParams | None = None, **overrides: object) -> Scenario:
    """Build a :class:`Scenario` from ``params`` (or keyword overrides of the defaults); deterministic by seed."""
    p = params if params is not None else ScenarioParams()
    if overrides:
        p = ScenarioParams(**{**asdict(p), **overrides})
    p.validate()
    rng = np.random.default_rng(p.seed)
    start = _start_timestamp(p)
    dt_h = p.step_minutes / 60.0
    n_steps = round(24 * p.days / dt_h)
    times = pd.date_range(start, periods=n_steps, freq=f"{p.step_minutes}min")

    # Fleet: models and chargers per physical vehicle.
    catalog = load_catalog_details(p.catalog_file)
    if p.v2g_ready_2024:
        catalog = apply_ev2gym_v2g_2024(catalog)
    mix = fleet_mix(p.fleet_mix)
    if p.composition:
        model_idx = sample_models(catalog, p.vehicles, rng, p.composition)
    elif mix.by_registrations:
        model_idx = sample_models(catalog, p.vehicles, rng)
    else:
        model_idx = sample_models(catalog, p.vehicles, rng, mix_counts(mix.model_shares(), p.vehicles))
    names = list(p.charger_mix)
    shares = np.array([p.charger_mix[k] for k in names], dtype=float)
    charger = np.array(names, dtype=object)[rng.choice(len(names), size=p.vehicles, p=shares / shares.sum())]
    bidi = rng.random(p.vehicles) < p.bidirectional_share
    cat = {c: catalog[c].to_numpy() for c in catalog.columns}
    rated = np.array([CHARGER_TYPES[c][0] for c in charger])
    is_dc = np.array([CHARGER_TYPES[c][1] == "DC" for c in charger])
    # A vehicle without DC charging (e.g. a PHEV) is given an 11 kW AC charger instead of a DC one.
    no_dc = is_dc & (cat["dc_charge_kw"][model_idx] <= 0)
    charger[no_dc], rated[no_dc], is_dc[no_dc] = "ac11", 11.0, False
    veh_charge = np.where(is_dc, cat["dc_charge_kw"][model_idx], cat["ac_charge_kw"][model_idx])
    veh_dis = np.where(is_dc, cat["dc_discharge_kw"][model_idx], cat["ac_discharge_kw"][model_idx])
    max_charge = np.minimum(veh_charge, rated)
    max_discharge = np.where(bidi & cat["v2g"][model_idx].astype(bool), np.minimum(veh_dis, rated), 0.0)
    battery = cat["battery_kwh"][model_idx].astype(float)
    # DC charging curve (docs/catalog.md): flat to the knee, linear taper to the end power at SOC 1.
    knee_v = np.nan_to_num(cat["dc_taper_soc"][model_idx].astype(float), nan=GENERIC_TAPER_SOC)
    end_v = np.nan_to_num(cat["dc_taper_end_frac"][model_idx].astype(float), nan=GENERIC_END_FRAC)
    knee_dc, end_dc = session_taper(cat["dc_charge_kw"][model_idx].astype(float), rated, knee_v, end_v)
    taper_soc = np.where(is_dc, knee_dc, 1.0)
    taper_end_kw = np.where(is_dc, np.minimum(end_dc, max_charge), max_charge.astype(float))

    # Sessions.
    s = _sessions(p, start, rng)
    v = s["vehicle"]
    arrival = np.floor(s["arrival_h"] / dt_h + 1e-9).astype(np.int64)
    departure = np.ceil(s["departure_h"] / dt_h - 1e-9).astype(np.int64)
    departure = np.clip(np.maximum(departure, arrival + 1), 1, n_steps)
    keep = arrival < n_steps
    m = int(keep.sum())
    cap_kwh = (p.soc_target - p.soc_arrival_floor) * battery[v[keep]]
    energy_kwh = _truncated_energy_kwh(s["energy_u"][keep], s["energy_col"][keep], cap_kwh)
    soc_arrival = np.clip(p.soc_target - energy_kwh / battery[v[keep]], p.soc_arrival_floor, p.soc_max)
    order = np.lexsort((v[keep], arrival[keep]))
    v_k = v[keep][order]

    def per_session(a: np.ndarray) -> list:
        return a[v_k].tolist()

    tariff = load_tariff(p.tariff)
    price_imp, price_exp, periods = tariff.price_series(times)
    auto = automatic_site_values(p)
    base_peak, import_limit = auto["base_load_peak_kw"], auto["import_limit_kw"]
    export_limit, pv_kwp = auto["export_limit_kw"], auto["pv_kwp"]
    location = SiteLocation(p.latitude, p.longitude, CASABLANCA.altitude_m, p.timezone)
    pv = pv_profile_kw(times, p.step_minutes, pv_kwp, location)
    base = base_load_profile_kw(times, base_peak, p.base_load_shape)

    params_record = {k: val for k, val in asdict(p).items() if val is not None}
    if not p.v2g_ready_2024:
        params_record.pop("v2g_ready_2024")
    params_record["start"] = start.isoformat()
    data = {
        "format": FORMAT,
        "name": p.name or f"{p.profile}-{p.vehicles}ev-{start.date().isoformat()}-seed{p.seed}",
        "start": start.isoformat(),
        "step_minutes": p.step_minutes,
        "n_steps": n_steps,
        "site": {
            "import_limit_kw": float(import_limit),
            "export_limit_kw": float(export_limit),
            "pv_kwp": float(pv_kwp),
            "latitude": p.latitude,
            "longitude": p.longitude,
            **({"electrical": {"transformer_kva": float(p.transformer_kva)}} if p.transformer_kva is not None else {}),
        },
        "degradation_mad_per_kwh": float(p.degradation_mad_per_kwh),
        "series": {
            "price_import_mad_per_kwh": price_imp.tolist(),
            "price_export_mad_per_kwh": price_exp.tolist(),
            "base_load_kw": base.tolist(),
            "pv_kw": pv.tolist(),
            "tou_period": [str(x) for x in periods],
        },
        "vehicles": {
            "id": [f"S{i:06d}" for i in range(m)],
            "model": per_session(cat["model"][model_idx]),
            "arrival_step": arrival[keep][order].tolist(),
            "departure_step": departure[keep][order].tolist(),
            "battery_kwh": per_session(battery),
            "soc_arrival": soc_arrival[order].tolist(),
            "soc_target": [p.soc_target] * m,
            "soc_min": [p.soc_min] * m,
            "soc_max": [p.soc_max] * m,
            "max_charge_kw": per_session(max_charge.astype(float)),
            "max_discharge_kw": per_session(max_discharge.astype(float)),
            "charge_efficiency": [p.charge_efficiency] * m,
            "discharge_efficiency": [p.discharge_efficiency] * m,
            "vehicle": [f"EV{i:05d}" for i in v_k],
            "charger": per_session(charger),
            "bidirectional_charger": per_session(bidi.astype(bool)),
        },
        "timezone": p.timezone,
        "tariff": tariff_record(tariff, p.subscribed_power_kva, import_limit),
        "generator": {"evfleet_params": params_record},
    }
    if is_dc.any():  # optional DC-curve fields (docs/catalog.md); AC sessions get knee 1 (no taper)
        data["vehicles"]["taper_soc"] = per_session(taper_soc.astype(float))
        data["vehicles"]["taper_end_kw"] = per_session(taper_end_kw.astype(float))
    return scenario_from_dict(data)


def automatic_site_values(p: ScenarioParams) -> dict[str, float]:
    """The site values a scenario of ``p`` gets: the given ones, or the automatic ones (class docstring) [kW, kWp]."""
    base_peak = 50.0 + 0.3 * p.vehicles if p.base_load_peak_kw is None else float(p.base_load_peak_kw)
    import_limit = base_peak + 5.0 * p.vehicles if p.import_limit_kw is None else float(p.import_limit_kw)
    return {
        "base_load_peak_kw": float(base_peak),
        "import_limit_kw": float(import_limit),
        "export_limit_kw": float(0.0 if p.export_limit_kw is None else p.export_limit_kw),  # Law 82-21: 0
        "pv_kwp": float(0.4 * p.vehicles if p.pv_kwp is None else p.pv_kwp),
    }


def check_charger_mix_sums_to_one(mix: dict[str, float], tol: float = 1e-6) -> None:
    """Raise :class:`ScenarioError` naming ``charger_mix`` when its shares do not sum to 1 (within ``tol``).

    The generator itself normalises any positive mix (a CLI convenience); forms that ask for shares use this check so
    that a typing error (shares summing to 1.3) is refused instead of silently rescaled.
    """
    total = float(sum(float(v) for v in mix.values()))
    if abs(total - 1.0) > tol:
        parts = " + ".join(f"{k} {float(v):g}" for k, v in mix.items())
        raise ScenarioError(f"parameter 'charger_mix' shares must sum to 1 (value {total:g} = {parts})")


def today_iso(tz: str = "Africa/Casablanca") -> str:
    """Today's date in ``tz`` as ISO text."""
    return date.fromisoformat(pd.Timestamp.now(tz=tz).date().isoformat()).isoformat()
