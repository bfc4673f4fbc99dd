"""The numerical tolerances of evfleet, in one place (units in the names).

- ``POWER_EPS_KW``: a setpoint differing from the applied power by more than this was clipped; a site power beyond
  a limit by more than this is over the limit.
- ``UNMET_TOL_KWH``: a vehicle leaving with less than this below its target counts as served.
- ``ENERGY_EPS_KWH``: energy below this is numerical noise (reported as 0).
- ``ENERGY_TOL_KWH``: two battery energies closer than this are equal (reachability of a target, curtailment seen).
- ``QP_NOISE_KW``: interior-point QP solutions leave up to ~1e-6 kW on variables that are 0 at the optimum; discharge
  below this is dropped so no phantom V2G is reported.
"""

from __future__ import annotations

__all__ = ["ENERGY_EPS_KWH", "ENERGY_TOL_KWH", "POWER_EPS_KW", "QP_NOISE_KW", "UNMET_TOL_KWH"]

POWER_EPS_KW = 1e-6
UNMET_TOL_KWH = 1e-3
ENERGY_EPS_KWH = 1e-9
ENERGY_TOL_KWH = 1e-6
QP_NOISE_KW = 1e-4
