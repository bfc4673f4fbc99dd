"""Site electrical model for the power-quality assessment: inputs, charger types, spectra and limit tables.

Units: power [kW], apparent power [kVA]/[MVA], voltage [kV] line-to-line, impedance [%] of the transformer
rating, frequency [Hz]/[mHz], temperature [°C], harmonic currents [% of the fundamental].

Every default below is an **assumption** (a typical value, not a measured one) unless a source is named; users
change them through a JSON/YAML file (:func:`load_site_electrical`) or the ``site.electrical`` object of a
scenario file (:meth:`SiteElectrical.from_scenario`). Validation names the field and the value.

References
----------
IEEE Std 519-2014, "Recommended Practice and Requirements for Harmonic Control in Electric Power Systems",
Tables 1 and 2 (``data/power_quality/ieee519_limits.json``).
IEC 60076-7:2018, "Power transformers - Part 7: Loading guide for mineral-oil-immersed power transformers".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet._common.structured import read_structured_file

__all__ = [
    "CABLE_REACTANCE_OHM_PER_M",
    "DEFAULT_CHARGER_TYPES",
    "HARMONICS",
    "H_MAX",
    "IEEE519_EDITIONS",
    "PHASE_ASSIGNMENTS",
    "RESISTIVITY_OHM_MM2_PER_M",
    "SUMMATIONS",
    "ChargerType",
    "Ieee519Limits",
    "SiteElectrical",
    "SpectrumModel",
    "load_ieee519_limits",
    "load_site_electrical",
    "load_spectra",
    "mapping_from_file",
]

H_MAX = 50
#: Harmonic orders assessed (2..50), as in IEEE 519-2014 Table 2.
HARMONICS = np.arange(2, H_MAX + 1)
PHASE_ASSIGNMENTS = ("wiring", "round_robin", "balanced", "single")
#: Harmonic summation across devices: ``iec`` (IEC TR 61000-3-6 exponents 1 / 1.4 / 2) or ``correlated`` (α = 1).
SUMMATIONS = ("iec", "correlated")
#: Conductor resistivity [Ω·mm²/m] at the operating temperature used for voltage-drop calculations (the values of
#: the French/IEC voltage-drop practice, 1.25 x the 20 °C value: NF C 15-100 §525 / IEC 60364-5-52 Annex G).
RESISTIVITY_OHM_MM2_PER_M = {"cu": 0.0225, "al": 0.036}
#: Cable reactance per metre [Ω/m] (the usual 0.08 mΩ/m of IEC 60364-5-52 Annex G when unknown).
CABLE_REACTANCE_OHM_PER_M = 0.08e-3
#: Standard transformer ratings [kVA] used when ``transformer_kva`` is not given (IEC R10-style series).
STANDARD_KVA = (100, 160, 250, 400, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000,
                12500, 16000, 20000, 25000, 31500, 40000, 50000, 63000)  # fmt: skip


@dataclass(frozen=True)
class ChargerType:
    """A charger type: rated power [kW], number of phases (1 or 3), AC/DC, and its spectrum model name.

    For AC chargers the converter is the vehicle's on-board charger, so a session's loading is measured against
    ``min(rated_kw, max_charge_kw)``; for DC chargers against ``rated_kw`` (the off-board converter).
    """

    rated_kw: float
    phases: int
    current: str
    model: str


#: Default charger types (names as in :data:`evfleet.inputs.generate.CHARGER_TYPES`).
DEFAULT_CHARGER_TYPES: dict[str, ChargerType] = {
    "ac7.4": ChargerType(7.4, 1, "AC", "ac_1ph"),
    "ac11": ChargerType(11.0, 3, "AC", "ac_3ph"),
    "ac22": ChargerType(22.0, 3, "AC", "ac_3ph"),
    "dc50": ChargerType(50.0, 3, "DC", "dc"),
    "dc150": ChargerType(150.0, 3, "DC", "dc"),
}


@dataclass(frozen=True, eq=False)
class SpectrumModel:
    """Harmonic and reactive-power model of one device class (a model estimate unless ``source`` says otherwise).

    ``spectrum_pct`` (49,): harmonic current of order h = 2..50 at full load [% of the fundamental];
    at loading x the spectrum is ``spectrum_pct * max(x, min_loading) ** -loading_exponent``.
    Displacement PF vs loading: ``np.interp(x, dpf_loading, dpf)``; ``q_sign`` +1 inductive, -1 capacitive.
    """

    name: str
    spectrum_pct: np.ndarray
    loading_exponent: float
    min_loading: float
    dpf_loading: np.ndarray
    dpf: np.ndarray
    q_sign: float
    source: str
    description: str = ""

    @property
    def thd_full_load_pct(self) -> float:
        """Current THD at full load [%]: sqrt(sum of squares) of the spectrum."""
        return float(np.sqrt(np.sum(self.spectrum_pct**2)))


def _bad(name: str, value: Any, what: str, origin: str = "") -> ValueError:
    where = f"{origin}: " if origin else ""
    return ValueError(f"{where}field '{name}' {what} (value {value!r})")


def _number(value: Any, name: str, origin: str, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False) -> float:  # fmt: skip
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise _bad(name, value, "must be a finite number", origin)
    v = float(value)
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise _bad(name, value, f"must be {'>' if lo_open else '>='} {lo:g}", origin)
    if hi is not None and v > hi:
        raise _bad(name, value, f"must be <= {hi:g}", origin)
    return v


def _spectrum_from_mapping(name: str, raw: Mapping[str, Any], origin: str) -> SpectrumModel:
    pre = f"models.{name}"
    if not isinstance(raw, Mapping):
        raise _bad(pre, raw, "must be an object", origin)
    spec_raw = raw.get("spectrum_pct")
    if not isinstance(spec_raw, Mapping):
        raise _bad(f"{pre}.spectrum_pct", spec_raw, "must be an object {h: percent}", origin)
    spec = np.zeros(H_MAX - 1)
    for key, val in spec_raw.items():
        try:
            h = int(key)
        except (TypeError, ValueError):
            raise _bad(f"{pre}.spectrum_pct", key, "keys must be harmonic orders 2-50", origin) from None
        if not 2 <= h <= H_MAX:
            raise _bad(f"{pre}.spectrum_pct", key, "keys must be harmonic orders 2-50", origin)
        spec[h - 2] = _number(val, f"{pre}.spectrum_pct[{h}]", origin, 0.0, 1000.0)
    beta = _number(raw.get("loading_exponent", 0.0), f"{pre}.loading_exponent", origin, 0.0, 5.0)
    xmin = _number(raw.get("min_loading", 0.1), f"{pre}.min_loading", origin, 0.0, 1.0, lo_open=True)
    xs = raw.get("dpf_loading", [0.0, 1.0])
    ys = raw.get("dpf", [1.0, 1.0])
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys) or len(xs) < 1:
        raise _bad(f"{pre}.dpf", ys, "and dpf_loading must be lists of equal length", origin)
    xa = np.array([_number(x, f"{pre}.dpf_loading[{i}]", origin, 0.0, 10.0) for i, x in enumerate(xs)])
    ya = np.array([_number(y, f"{pre}.dpf[{i}]", origin, 0.0, 1.0, lo_open=True) for i, y in enumerate(ys)])
    if np.any(np.diff(xa) <= 0):
        raise _bad(f"{pre}.dpf_loading", xs, "must be strictly increasing", origin)
    q_sign = raw.get("q_sign", 1)
    if q_sign not in (1, -1):
        raise _bad(f"{pre}.q_sign", q_sign, "must be 1 (inductive) or -1 (capacitive)", origin)
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _bad(f"{pre}.source", source, "must name a source or say 'assumption'", origin)
    spec.setflags(write=False)
    return SpectrumModel(name, spec, beta, xmin, xa, ya, float(q_sign), source, str(raw.get("description", "")))


def _data_path(name: str) -> Path:
    return Path(str(resources.files("evfleet").joinpath("data", "power_quality", name)))


def mapping_from_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML (``.yaml``/``.yml``) file into a mapping; errors name the file."""
    p = Path(path)
    data = read_structured_file(p)
    if not isinstance(data, Mapping):
        raise InputError(f"{p}: field '<root>' must be an object (value {type(data).__name__!r})")
    return dict(data)


@cache
def _load_spectra_cached(path: str) -> dict[str, SpectrumModel]:
    data = mapping_from_file(path)
    models = data.get("models")
    if not isinstance(models, Mapping) or not models:
        raise _bad("models", models, "must be a non-empty object", path)
    return {str(k): _spectrum_from_mapping(str(k), v, path) for k, v in models.items()}


def load_spectra(path: str | Path | None = None) -> dict[str, SpectrumModel]:
    """Spectrum models by name from ``path`` (default: the shipped ``charger_spectra.json``, all assumptions)."""
    return dict(_load_spectra_cached(str(path or _data_path("charger_spectra.json"))))


IEEE519_EDITIONS = ("2014", "2022")


@dataclass(frozen=True, eq=False)
class Ieee519Limits:
    """IEEE 519 Table 1 (voltage) and Table 2 (current) of one ``edition`` as arrays; see ``ieee519_limits.json``.

    ``even_rule``: ``((max_h, factor), ...)`` in increasing ``max_h``: an even order h gets ``factor`` x the odd
    limit of its band (2014: 25 % everywhere; 2022: 50 % for h <= 6, 100 % above). ``generation_share``: the share
    of generation capacity in the average load from which the edition refers the site to IEEE 1547 / 2800
    (``None``: no such note, 2014), ``generation_text`` its words.
    """

    edition: str
    voltage: tuple[dict[str, Any], ...]
    ratio_edges: np.ndarray
    ratio_labels: tuple[str, ...]
    h_edges: np.ndarray
    h_labels: tuple[str, ...]
    odd_limits_pct: np.ndarray  # (5 ratio rows, 5 harmonic bands)
    tdd_pct: np.ndarray
    even_rule: tuple[tuple[int, float], ...]
    even_rule_text: str
    current_clause: str
    source: str
    generation_share: float | None = None
    generation_text: str = ""

    @property
    def even_factor(self) -> float:
        """The even-harmonic factor of the lowest orders (2014: 0.25; 2022: 0.5 for h <= 6)."""
        return float(self.even_rule[0][1])

    def even_factors(self, h: np.ndarray = HARMONICS) -> np.ndarray:
        """Factor of the odd limit applied to each order (1 for odd orders)."""
        h = np.asarray(h)
        edges = np.array([m for m, _ in self.even_rule])
        fac = np.array([f for _, f in self.even_rule])
        even = fac[np.minimum(np.searchsorted(edges, h, side="left"), len(fac) - 1)]
        return np.where(h % 2 == 0, even, 1.0)

    def ratio_row(self, isc_il: float) -> int:
        """Table 2 row for I_SC/I_L: ``<20``, ``20-50``, ``50-100``, ``100-1000``, ``>1000`` (lower edge inclusive)."""
        if not isc_il > 0:
            raise InputError(f"field 'isc_il' must be > 0 (value {isc_il!r})")
        return int(np.searchsorted(self.ratio_edges, isc_il, side="right"))

    def current_limits_pct(self, isc_il: float, h: np.ndarray = HARMONICS) -> np.ndarray:
        """Limit of each harmonic current [% of I_L]: odd orders from Table 2, even orders by the edition's rule."""
        h = np.asarray(h)
        row = self.odd_limits_pct[self.ratio_row(isc_il)]
        band = np.searchsorted(self.h_edges, h, side="right")
        return row[band] * self.even_factors(h)

    def tdd_limit_pct(self, isc_il: float) -> float:
        """TDD limit [%] for I_SC/I_L (Table 2)."""
        return float(self.tdd_pct[self.ratio_row(isc_il)])

    def voltage_limits(self, kv: float) -> dict[str, Any]:
        """Table 1 row for a bus of ``kv`` line-to-line: ``individual_pct``, ``thd_pct``, ``clause``."""
        for row in self.voltage:
            if kv <= row["max_kv"]:
                return row
        raise InputError(f"field 'pcc voltage' must be <= 69 kV for the tabulated IEEE 519 limits (value {kv!r})")


@cache
def load_ieee519_limits(edition: str = "2022") -> Ieee519Limits:
    """The shipped IEEE 519 limit tables of ``edition`` (``2022``, default, or ``2014``)."""
    d = mapping_from_file(_data_path("ieee519_limits.json"))
    eds = d["editions"]
    if edition not in eds:
        raise InputError(f"field 'ieee519_edition' must be one of {', '.join(eds)} (value {edition!r})")
    e = eds[edition]
    c = e["current"]
    note = e.get("generation_note")
    return Ieee519Limits(
        edition=edition,
        voltage=tuple(sorted(e["voltage"], key=lambda r: r["max_kv"])),
        ratio_edges=np.asarray(c["ratio_edges"], dtype=float),
        ratio_labels=tuple(c["ratio_labels"]),
        h_edges=np.asarray(c["h_edges"], dtype=float),
        h_labels=tuple(c["h_labels"]),
        odd_limits_pct=np.asarray(c["odd_limits_pct"], dtype=float),
        tdd_pct=np.asarray(c["tdd_pct"], dtype=float),
        even_rule=tuple((int(r["max_h"]), float(r["factor"])) for r in c["even_rule"]),
        even_rule_text=str(c["even_rule_text"]),
        current_clause=str(c["clause"]),
        source=str(e["source"]),
        generation_share=None if note is None else float(note["threshold_share"]),
        generation_text="" if note is None else str(note["text"]),
    )


@dataclass(frozen=True)
class SiteElectrical:
    """Electrical inputs of a site (defaults are assumptions, see ``docs/grid-quality.md``).

    Transformer: ``transformer_kva`` [kVA] (``None``: the smallest standard rating >= ``import_limit_kw /
    sizing_pf``), ``mv_kv``/``lv_kv`` [kV], short-circuit impedance ``transformer_uk_pct`` [%] and its
    ``transformer_x_r``. Upstream MV network: ``mv_ssc_mva`` [MVA] short-circuit power and ``mv_x_r``.
    ``pcc_side`` ``"lv"`` (400 V busbar, default) or ``"mv"`` (20 kV terminals); ``pcc_ssc_mva`` [MVA] overrides
    the short-circuit power derived at the PCC. ``max_demand_kva`` [kVA] fixes I_L of IEEE 519 (``None``: the
    largest fundamental phase current of the run). Loads: ``base_load_pf`` displacement PF (lagging) of the
    non-EV load; PV at unity PF. Chargers: ``charger_types`` by name, ``default_charger`` for sessions without a
    ``charger`` field, 1-phase placement ``phase_assignment`` (``round_robin``, ``balanced``, ``single``) and
    explicit ``phase_map`` {session id or vehicle name: 1|2|3}. Flag levels: ``pf_limit`` (0.95),
    ``unbalance_limit_pct``
    [%] (3), ``loading_limit_pct`` [%] (100). Voltage: ``voltage_band_pct`` [%],
    ``source_voltage_offset_pct`` [%] of the source above nominal, ``background_thd_v_pct`` [%]. Frequency:
    ``nominal_hz`` [Hz], ``frequency_band_mhz`` [mHz], ``frequency_seed`` of the synthetic series. Transformer
    thermal model (IEC 60076-7, ONAN distribution transformer): ``ambient_c`` [°C], ``top_oil_rise_k`` [K],
    ``hot_spot_gradient_k`` [K] (H·g_r), ``loss_ratio`` R, exponents ``oil_exponent`` x and
    ``winding_exponent`` y, ``oil_time_constant_min`` [min], ``insulation`` (``normal`` or ``upgraded``).
    ``spectra_file`` replaces the shipped (assumed) spectra with your own.
    """

    transformer_kva: float | None = None
    sizing_pf: float = 0.9
    mv_kv: float = 20.0
    lv_kv: float = 0.4
    transformer_uk_pct: float = 6.0
    transformer_x_r: float = 6.0
    mv_ssc_mva: float = 250.0
    mv_x_r: float = 10.0
    pcc_side: str = "mv"
    pcc_ssc_mva: float | None = None
    max_demand_kva: float | None = None
    ieee519_edition: str = "2022"
    harmonic_summation: str = "iec"
    base_load_pf: float = 0.9
    pv_pf: float = 1.0
    capacitor_bank_step_kvar: float = 0.0
    capacitor_bank_steps: int = 0
    cos_phi_threshold: float | None = None
    vuf_limit_pct: float = 2.0
    three_phase_rotation: bool = True
    feeders: tuple[Mapping[str, Any], ...] = ()
    feeder_kw: float = 250.0
    feeder_length_m: float = 60.0
    feeder_mm2: float = 240.0
    feeder_material: str = "cu"
    cable_drop_limit_pct: float = 5.0
    charger_types: Mapping[str, ChargerType] = field(default_factory=lambda: dict(DEFAULT_CHARGER_TYPES))
    default_charger: str | None = None
    phase_assignment: str = "wiring"
    phase_map: Mapping[str, int] = field(default_factory=dict)
    voltage_band_pct: float = 10.0
    pf_limit: float = 0.95
    unbalance_limit_pct: float = 3.0
    loading_limit_pct: float = 100.0
    source_voltage_offset_pct: float = 0.0
    background_thd_v_pct: float = 0.0
    nominal_hz: float = 50.0
    frequency_band_mhz: float = 200.0
    frequency_seed: int = 0
    ambient_c: float = 30.0
    top_oil_rise_k: float = 55.0
    hot_spot_gradient_k: float = 23.0
    loss_ratio: float = 5.0
    oil_exponent: float = 0.8
    winding_exponent: float = 1.6
    oil_time_constant_min: float = 180.0
    insulation: str = "normal"
    spectra_file: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, origin: str = "") -> None:
        """Raise ``ValueError`` naming the first bad field and its value."""
        n = _number
        if self.transformer_kva is not None:
            n(self.transformer_kva, "transformer_kva", origin, 0.0, lo_open=True)
        n(self.sizing_pf, "sizing_pf", origin, 0.0, 1.0, lo_open=True)
        n(self.mv_kv, "mv_kv", origin, 1.0, 69.0, lo_open=True)
        n(self.lv_kv, "lv_kv", origin, 0.1, 1.0)
        n(self.transformer_uk_pct, "transformer_uk_pct", origin, 0.5, 30.0)
        n(self.transformer_x_r, "transformer_x_r", origin, 0.1, 100.0)
        n(self.mv_ssc_mva, "mv_ssc_mva", origin, 0.0, lo_open=True)
        n(self.mv_x_r, "mv_x_r", origin, 0.1, 100.0)
        if self.pcc_side not in ("lv", "mv"):
            raise _bad("pcc_side", self.pcc_side, "must be 'lv' or 'mv'", origin)
        if self.pcc_ssc_mva is not None:
            n(self.pcc_ssc_mva, "pcc_ssc_mva", origin, 0.0, lo_open=True)
        if self.max_demand_kva is not None:
            n(self.max_demand_kva, "max_demand_kva", origin, 0.0, lo_open=True)
        if self.ieee519_edition not in IEEE519_EDITIONS:
            raise _bad("ieee519_edition", self.ieee519_edition, f"must be one of {', '.join(IEEE519_EDITIONS)}", origin)
        if self.harmonic_summation not in SUMMATIONS:
            raise _bad("harmonic_summation", self.harmonic_summation, f"must be one of {', '.join(SUMMATIONS)}",
                       origin)  # fmt: skip
        n(self.base_load_pf, "base_load_pf", origin, 0.0, 1.0, lo_open=True)
        n(self.pv_pf, "pv_pf", origin, 0.0, 1.0, lo_open=True)
        n(self.capacitor_bank_step_kvar, "capacitor_bank_step_kvar", origin, 0.0, 1e6)
        if (
            not isinstance(self.capacitor_bank_steps, int)
            or isinstance(self.capacitor_bank_steps, bool)
            or not (0 <= self.capacitor_bank_steps <= 100)
        ):
            raise _bad("capacitor_bank_steps", self.capacitor_bank_steps, "must be an integer within 0-100", origin)
        if self.cos_phi_threshold is not None:
            n(self.cos_phi_threshold, "cos_phi_threshold", origin, 0.0, 1.0, lo_open=True)
        n(self.vuf_limit_pct, "vuf_limit_pct", origin, 0.0, 100.0, lo_open=True)
        if not isinstance(self.three_phase_rotation, bool):
            raise _bad("three_phase_rotation", self.three_phase_rotation, "must be true or false", origin)
        n(self.feeder_kw, "feeder_kw", origin, 0.0, 1e5, lo_open=True)
        n(self.cable_drop_limit_pct, "cable_drop_limit_pct", origin, 0.0, 50.0, lo_open=True)
        for i, fd in enumerate(self.cable_specs()):
            n(fd["length_m"], f"feeders[{i}].length_m", origin, 0.0, 10000.0)
            n(fd["cross_section_mm2"], f"feeders[{i}].cross_section_mm2", origin, 0.0, 10000.0, lo_open=True)
            if fd["material"] not in RESISTIVITY_OHM_MM2_PER_M:
                raise _bad(f"feeders[{i}].material", fd["material"], "must be 'cu' or 'al'", origin)
            p_ = fd["parallel"]
            if not isinstance(p_, int) or isinstance(p_, bool) or not 1 <= p_ <= 20:
                raise _bad(f"feeders[{i}].parallel", p_, "must be an integer within 1-20", origin)
        if not isinstance(self.charger_types, Mapping) or not self.charger_types:
            raise _bad("charger_types", self.charger_types, "must be a non-empty mapping", origin)
        for name, ct in self.charger_types.items():
            if not isinstance(ct, ChargerType):
                raise _bad(f"charger_types.{name}", ct, "must be a ChargerType", origin)
            n(ct.rated_kw, f"charger_types.{name}.rated_kw", origin, 0.0, lo_open=True)
            if ct.phases not in (1, 3):
                raise _bad(f"charger_types.{name}.phases", ct.phases, "must be 1 or 3", origin)
            if ct.current not in ("AC", "DC"):
                raise _bad(f"charger_types.{name}.current", ct.current, "must be 'AC' or 'DC'", origin)
            known = self.spectra()
            if ct.model not in known:
                raise _bad(f"charger_types.{name}.model", ct.model, f"must be one of {', '.join(known)}", origin)
        if self.default_charger is not None and self.default_charger not in self.charger_types:
            raise _bad("default_charger", self.default_charger, f"must be one of {', '.join(self.charger_types)}",
                       origin)  # fmt: skip
        if self.phase_assignment not in PHASE_ASSIGNMENTS:
            raise _bad("phase_assignment", self.phase_assignment, f"must be one of {', '.join(PHASE_ASSIGNMENTS)}",
                       origin)  # fmt: skip
        if not isinstance(self.phase_map, Mapping):
            raise _bad("phase_map", self.phase_map, "must be an object {id: 1|2|3}", origin)
        for key, ph in self.phase_map.items():
            if ph not in (1, 2, 3) or isinstance(ph, bool):
                raise _bad(f"phase_map.{key}", ph, "must be 1, 2 or 3", origin)
        n(self.voltage_band_pct, "voltage_band_pct", origin, 0.0, 50.0, lo_open=True)
        n(self.pf_limit, "pf_limit", origin, 0.0, 1.0)
        n(self.unbalance_limit_pct, "unbalance_limit_pct", origin, 0.0, 200.0, lo_open=True)
        n(self.loading_limit_pct, "loading_limit_pct", origin, 0.0, 1000.0, lo_open=True)
        n(self.source_voltage_offset_pct, "source_voltage_offset_pct", origin, -20.0, 20.0)
        n(self.background_thd_v_pct, "background_thd_v_pct", origin, 0.0, 50.0)
        if self.nominal_hz not in (50.0, 60.0):
            raise _bad("nominal_hz", self.nominal_hz, "must be 50 or 60", origin)
        n(self.frequency_band_mhz, "frequency_band_mhz", origin, 0.0, 5000.0, lo_open=True)
        if not isinstance(self.frequency_seed, int) or isinstance(self.frequency_seed, bool):
            raise _bad("frequency_seed", self.frequency_seed, "must be an integer", origin)
        n(self.ambient_c, "ambient_c", origin, -50.0, 60.0)
        n(self.top_oil_rise_k, "top_oil_rise_k", origin, 0.0, 150.0, lo_open=True)
        n(self.hot_spot_gradient_k, "hot_spot_gradient_k", origin, 0.0, 100.0)
        n(self.loss_ratio, "loss_ratio", origin, 0.0, 100.0)
        n(self.oil_exponent, "oil_exponent", origin, 0.0, 3.0)
        n(self.winding_exponent, "winding_exponent", origin, 0.0, 3.0)
        n(self.oil_time_constant_min, "oil_time_constant_min", origin, 0.0, 10000.0, lo_open=True)
        if self.insulation not in ("normal", "upgraded"):
            raise _bad("insulation", self.insulation, "must be 'normal' or 'upgraded'", origin)
        n(self.feeder_length_m, "feeder_length_m", origin, 0.0, 10000.0)
        n(self.feeder_mm2, "feeder_mm2", origin, 0.0, 10000.0, lo_open=True)
        if self.feeder_material not in RESISTIVITY_OHM_MM2_PER_M:
            raise _bad("feeder_material", self.feeder_material, "must be 'cu' or 'al'", origin)

    # -- derived quantities ---------------------------------------------------------------------------------
    def cable_specs(self) -> list[dict[str, Any]]:
        """The LV feeders given in ``feeders`` with every key filled (defaults ``feeder_length_m``,
        ``feeder_mm2``, ``feeder_material``, one cable per phase); empty: feeders are derived (``feeder_kw``)."""
        out = []
        known = ("length_m", "cross_section_mm2", "material", "parallel")
        if not isinstance(self.feeders, list | tuple):
            raise _bad("feeders", self.feeders, "must be a list of objects")
        for i, fd in enumerate(self.feeders):
            if not isinstance(fd, Mapping):
                raise _bad(f"feeders[{i}]", fd, "must be an object")
            extra = [k for k in fd if k not in known]
            if extra:
                raise _bad(f"feeders[{i}].{extra[0]}", fd[extra[0]], f"is not a known field; known: {', '.join(known)}")
            out.append(
                {
                    "length_m": fd.get("length_m", self.feeder_length_m),
                    "cross_section_mm2": fd.get("cross_section_mm2", self.feeder_mm2),
                    "material": fd.get("material", self.feeder_material),
                    "parallel": fd.get("parallel", 1),
                }
            )
        return out

    def spectra(self) -> dict[str, SpectrumModel]:
        """Spectrum models by name (shipped assumptions, or ``spectra_file``); must include base_load and pv."""
        models = load_spectra(self.spectra_file)
        for required in ("base_load", "pv_inverter"):
            if required not in models:
                raise _bad("spectra_file", self.spectra_file, f"must define model {required!r}")
        return models

    def rated_kva(self, import_limit_kw: float) -> float:
        """Transformer rating [kVA]: ``transformer_kva``, or the smallest standard rating >= limit / sizing_pf."""
        if self.transformer_kva is not None:
            return float(self.transformer_kva)
        need = import_limit_kw / self.sizing_pf
        for kva in STANDARD_KVA:
            if kva >= need:
                return float(kva)
        return float(math.ceil(need / 1000.0) * 1000.0)

    def pcc_kv(self) -> float:
        """Nominal line-to-line voltage of the PCC bus [kV]."""
        return self.lv_kv if self.pcc_side == "lv" else self.mv_kv

    def impedance_ohm(self, rated_kva: float) -> tuple[float, float]:
        """Thevenin resistance and reactance at the PCC per phase [Ω], referred to the LV side.

        Z_mv = V_lv² / S_sc,mv (upstream network), Z_T = uk · V_lv² / S_T; the LV PCC sees Z_mv + Z_T, the MV
        PCC Z_mv only. With ``pcc_ssc_mva`` the magnitude becomes V_lv² / S_sc,pcc keeping the derived X/R.
        """
        v2 = (self.lv_kv * 1e3) ** 2
        z_mv = v2 / (self.mv_ssc_mva * 1e6)
        r_mv = z_mv / math.sqrt(1 + self.mv_x_r**2)
        x_mv = r_mv * self.mv_x_r
        r, x = r_mv, x_mv
        if self.pcc_side == "lv":
            z_t = self.transformer_uk_pct / 100.0 * v2 / (rated_kva * 1e3)
            r_t = z_t / math.sqrt(1 + self.transformer_x_r**2)
            r, x = r + r_t, x + r_t * self.transformer_x_r
        if self.pcc_ssc_mva is not None:
            scale = (v2 / (self.pcc_ssc_mva * 1e6)) / math.hypot(r, x)
            r, x = r * scale, x * scale
        return r, x

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the format read by :func:`load_site_electrical`)."""
        d = asdict(self)
        d["charger_types"] = {k: asdict(v) for k, v in self.charger_types.items()}
        d["phase_map"] = dict(self.phase_map)
        d["feeders"] = [dict(f) for f in self.feeders]
        return d

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "") -> SiteElectrical:
        """Build from a mapping of field names; unknown fields and bad values raise ``ValueError``."""
        if not isinstance(data, Mapping):
            raise _bad("electrical", data, "must be an object", origin)
        names = {f.name for f in fields(cls)} | {"pcc"}
        unknown = [k for k in data if k not in names]
        if unknown:
            raise _bad(unknown[0], data[unknown[0]], f"is not a known field; known: {', '.join(sorted(names))}",
                       origin)  # fmt: skip
        kwargs = dict(data)
        if "pcc" in kwargs:  # the PCC choice, also accepted under the shorter name
            if "pcc_side" in kwargs and kwargs["pcc_side"] != kwargs["pcc"]:
                raise _bad("pcc", kwargs["pcc"], f"contradicts pcc_side ({kwargs['pcc_side']!r})", origin)
            kwargs["pcc_side"] = kwargs.pop("pcc")
        if isinstance(kwargs.get("feeders"), list):
            kwargs["feeders"] = tuple(kwargs["feeders"])
        if "charger_types" in kwargs:
            raw = kwargs["charger_types"]
            if not isinstance(raw, Mapping):
                raise _bad("charger_types", raw, "must be an object", origin)
            cts = dict(DEFAULT_CHARGER_TYPES)
            for name, spec in raw.items():
                if not isinstance(spec, Mapping):
                    raise _bad(f"charger_types.{name}", spec, "must be an object", origin)
                extra = [k for k in spec if k not in ("rated_kw", "phases", "current", "model")]
                if extra:
                    raise _bad(f"charger_types.{name}.{extra[0]}", spec[extra[0]], "is not a known field", origin)
                if str(name) not in cts:
                    missing = [k for k in ("rated_kw", "phases", "current", "model") if k not in spec]
                    if missing:
                        raise _bad(f"charger_types.{name}.{missing[0]}", None, "is required for a new charger type",
                                   origin)  # fmt: skip
                    cts[str(name)] = ChargerType(**spec)
                else:
                    cts[str(name)] = ChargerType(**{**asdict(cts[str(name)]), **spec})
            kwargs["charger_types"] = cts
        for key in ("phase_map",):
            if key in kwargs and kwargs[key] is None:
                kwargs[key] = {}
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise InputError(f"{origin}: {exc}" if origin else str(exc)) from None

    @classmethod
    def from_scenario(cls, scenario: Any) -> SiteElectrical:
        """Inputs from the scenario's ``site.electrical`` object (defaults where absent)."""
        raw = scenario.site_extra.get("electrical") if hasattr(scenario, "site_extra") else None
        if raw is None:
            return cls()
        return cls.from_mapping(raw, origin="scenario site.electrical")

    def with_changes(self, **changes: Any) -> SiteElectrical:
        """A validated copy with some fields changed."""
        return replace(self, **changes)


def load_site_electrical(path: str | Path) -> SiteElectrical:
    """Read a :class:`SiteElectrical` from a JSON or YAML file (an ``electrical`` key may wrap the fields)."""
    data = mapping_from_file(path)
    if set(data) == {"electrical"}:
        data = data["electrical"]
    spectra = data.get("spectra_file") if isinstance(data, Mapping) else None
    if isinstance(spectra, str) and not Path(spectra).is_absolute():
        data = {**data, "spectra_file": str(Path(path).parent / spectra)}
    return SiteElectrical.from_mapping(data, origin=str(path))
