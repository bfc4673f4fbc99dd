"""The steps of the grid-quality pipeline one by one, on a case small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evfleet._common.errors import InputError
from evfleet.gridquality import steps
from evfleet.gridquality.layout import FleetLayout
from evfleet.gridquality.site import HARMONICS, SiteElectrical, SpectrumModel

V_PH = 230.0  # a 6.9 kW single-phase charger at full load draws exactly 30 A
H3 = int(np.flatnonzero(HARMONICS == 3)[0])


def _model(name: str, h3_pct: float, dpf: float = 1.0) -> SpectrumModel:
    spectrum = np.zeros(HARMONICS.size)
    spectrum[H3] = h3_pct
    return SpectrumModel(name, spectrum, 0.0, 0.1, np.array([0.0, 1.0]), np.array([dpf, dpf]), 1.0, "assumption: test")


SPECTRA = {"hand": _model("hand", 10.0), "base_load": _model("base_load", 0.0), "pv_inverter": _model("pv", 0.0)}


def _layout(slots: list[int]) -> FleetLayout:
    """Sessions on the ``hand`` model: slot 0..2 = L1..L3 (1-phase, 6.9 kW), 3 = three-phase (20.7 kW)."""
    n = len(slots)
    three = np.asarray(slots) == 3
    return FleetLayout(
        charger=np.full(n, "x", dtype=object),
        model_names=("hand",),
        model_idx=np.zeros(n, dtype=np.int64),
        slot=np.asarray(slots, dtype=np.int64),
        n_phases=np.where(three, 3, 1),
        p_ref_kw=np.where(three, 20.7, 6.9),
    )


def test_two_single_phase_chargers_on_one_phase_by_hand() -> None:
    """Two 6.9 kW chargers on L2 at full load, unity PF, h3 = 10 %: I_1 = 30 A each, α(3) = 1 so I_3 = 3 + 3 A."""
    p = np.array([[6.9, 3.45], [6.9, 0.0]])
    dev = steps.device_loading(p, _layout([1, 1]))
    np.testing.assert_allclose(dev.loading, [[1.0, 0.5], [1.0, 0.0]])
    dpf, q = steps.device_power_factor(dev, SPECTRA)
    assert np.all(dpf == 1.0) and np.all(q == 0.0)
    i1, g = steps.device_currents(dev, dpf, SPECTRA, V_PH)
    np.testing.assert_allclose(i1, [[30.0, 15.0], [30.0, 0.0]])
    np.testing.assert_allclose(g, i1)  # no loading dependence (β = 0)
    groups = steps.group_sums(dev, q, g)
    assert list(groups.group_ids) == [1] and groups.p_kw.shape == (1, 2)
    base, pv = np.zeros(2), np.zeros(2)
    fund = steps.phase_fundamentals(groups, base, pv, 0.9, V_PH)
    np.testing.assert_allclose(fund.i1_a, [[0.0, 0.0], [60.0, 15.0], [0.0, 0.0]], atol=1e-12)
    ih = steps.harmonic_currents(groups, SPECTRA, base, fund.q_base_kvar, pv, 0.0, V_PH)
    np.testing.assert_allclose(ih[1, :, H3], [6.0, 1.5])
    assert ih.sum() == pytest.approx(7.5)
    site = steps.site_power(fund, np.sqrt((ih**2).sum(axis=2)), V_PH)
    np.testing.assert_allclose(site.p_kw, [13.8, 3.45])
    np.testing.assert_allclose(site.pf, [1.0, 1.0])
    np.testing.assert_allclose(site.pf_true, [1.0 / math.sqrt(1.01)] * 2)  # THD_i 10 %


def test_a_three_phase_group_is_spread_on_every_phase() -> None:
    dev = steps.device_loading(np.array([[20.7]]), _layout([3]))
    dpf, q = steps.device_power_factor(dev, SPECTRA)
    _, g = steps.device_currents(dev, dpf, SPECTRA, V_PH)
    groups = steps.group_sums(dev, q, g)
    np.testing.assert_allclose(steps.on_phases(groups.p_kw, groups, 1.0 / 3.0)[0, :, 0], [6.9, 6.9, 6.9])
    np.testing.assert_allclose(steps.on_phases(groups.g_pow[1.0], groups, 1.0)[0, :, 0], [30.0, 30.0, 30.0])


def test_demand_current_and_its_basis() -> None:
    """I_L is the site's: max_demand_kva, else the tariff's subscribed power, else the transformer rating."""
    el = SiteElectrical(max_demand_kva=690.0)
    assert steps.demand_current(el, 1250.0, 500.0, V_PH) == (1000.0, "max_demand_kva = 690 kVA (site input)", 690.0)
    i_l, basis, s_kva = steps.demand_current(SiteElectrical(), 1250.0, 345.0, V_PH)
    assert i_l == pytest.approx(500.0) and s_kva == 345.0 and "subscribed power" in basis
    i_l, basis, s_kva = steps.demand_current(SiteElectrical(), 1380.0, None, V_PH)
    assert i_l == pytest.approx(2000.0) and s_kva == 1380.0 and basis.startswith("the transformer rating")


def test_frequency_series_sources() -> None:
    el = SiteElectrical()
    given = steps.frequency_series(3, 15, {}, {}, el, np.array([50.0, 50.1, 49.9]))
    np.testing.assert_allclose(given.deviation_mhz, [0.0, 100.0, -100.0], atol=1e-9)
    assert given.source == "a user-supplied series"
    assert steps.frequency_series(3, 15, {"frequency_hz": np.full(3, 50.0)}, {}, el).source.startswith("the scen")
    synthetic = steps.frequency_series(3, 15, {}, {"seed": 4}, el)
    assert "seed 4" in synthetic.source and synthetic.hz.shape == (3,)
    with pytest.raises(InputError, match=r"field 'frequency_hz' must be 3 finite values \(value shape \(2,\)\)"):
        steps.frequency_series(3, 15, {}, {}, el, np.array([50.0, 50.0]))


def test_grid_support_run() -> None:
    assert steps.grid_support_run("grid_support", None) == (True, {})
    assert steps.grid_support_run("peak_shaving", {"fcr_band_kw": 5.0, "cost": 1}) == (True, {"fcr_band_kw": 5.0})
    assert steps.grid_support_run("peak_shaving", {"cost": 1}) == (False, {})
