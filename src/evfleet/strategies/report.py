"""What a strategy reports about one run: :class:`StrategyReport` (typed sections, one per kind of strategy).

Units: power [kW], energy [kWh], money [MAD], time [s] for runtimes, reserve price [MAD/kW/h].

A run's report has the sections its strategy filled: ``solve`` (an offline solve), ``online`` (receding-horizon
re-plans), ``reserve`` (grid support's frequency-containment band); ``None`` where not reported. The field names are
the report keys: :meth:`StrategyReport.to_dict` gives the flat dict whose scalar values become the ``strategy_*``
KPIs of ``kpis.json`` (same keys, same order as always), and :meth:`StrategyReport.from_dict` reads it back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evfleet._common.errors import InputError

__all__ = ["OnlineReport", "ReserveReport", "SolveReport", "StrategyReport"]


@dataclass(frozen=True)
class SolveReport:
    """One offline solve: objective value [objective units], HiGHS model status, build and solve times [s], model
    size, and the battery energy the plan leaves unmet [kWh]."""

    objective: float
    solver_status: str
    build_s: float
    solve_s: float
    n_variables: int
    n_constraints: int
    planned_unmet_kwh: float


@dataclass(frozen=True)
class OnlineReport:
    """The receding-horizon re-plans of a run: how many, mean and longest wall time of one (block, solve, plan) [s]."""

    online_replans: int
    online_replan_mean_s: float
    online_replan_max_s: float


@dataclass(frozen=True)
class ReserveReport:
    """Grid support's frequency-containment reserve over the run.

    ``reserve_mean_kw``/``reserve_max_kw``: the fleet's reserved symmetric band [kW]; ``reserve_value_mad``: price
    x reserved kW·h; ``fcr_energy_up_kwh``: delivered to the grid by lowering charge or discharging,
    ``fcr_energy_down_kwh``: absorbed [kWh]; ``pointe_import_kwh``: the planned import in the ``pointe`` period
    (offline; ``None`` online); ``frequency_source``: ``scenario`` or ``synthetic_ou``; ``fcr_projection_max_kw``:
    the largest activation [kW] the physics cut; ``reserve_block_h`` the FCR product length [h] (the pooled band
    is constant in each block) and ``reserve_min_offer_kw`` the smallest pooled offer of a block [kW]. The
    delivered energies, the source and the cut are measured by the simulator with the realised frequency (``None``
    in the strategy's own report); for a strategy of its own that plans a band without reporting one, the
    simulator's figures are the whole section.
    """

    reserve_price_mad_per_kw_h: float | None = None
    reserve_mean_kw: float | None = None
    reserve_max_kw: float | None = None
    reserve_value_mad: float | None = None
    fcr_energy_up_kwh: float | None = None
    fcr_energy_down_kwh: float | None = None
    pointe_import_kwh: float | None = None
    frequency_source: str | None = None
    fcr_projection_max_kw: float | None = None
    reserve_block_h: float | None = None
    reserve_min_offer_kw: float | None = None


_SECTIONS: tuple[tuple[str, type], ...] = (("reserve", ReserveReport), ("solve", SolveReport), ("online", OnlineReport))


@dataclass
class StrategyReport:
    """The report of one run (a fresh one per run: :meth:`evfleet.strategies.base.Strategy.start_run`).

    ``projection_max_kw``: the largest adjustment [kW] :func:`~evfleet.strategies.optim.diagnostics.project_to_physics`
    made to a solver plan (tolerance level for an exact model; ``None`` without a solver). ``unmet_reason_by_vehicle``
    maps a *scenario* vehicle index (``ChargingProblem.vehicle_index``) to the binding limit the strategy names for
    its unmet energy (``stay_too_short``, ``soc_window``, ``site_limit``, ``frequency_response``, ...); the
    simulator's :func:`~evfleet.simulation.simulate.unmet_reasons` uses it.
    """

    reserve: ReserveReport | None = None
    solve: SolveReport | None = None
    online: OnlineReport | None = None
    projection_max_kw: float | None = None
    unmet_reason_by_vehicle: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The flat report: the sections' fields in order, then ``projection_max_kw`` and the unmet reasons.

        This is what runs store: its scalar values are the ``strategy_*`` KPIs. A field reported as ``None`` is
        kept (``pointe_import_kwh`` online), an absent section or an unset value is left out.
        """
        out: dict[str, Any] = {}
        for attr, _cls in _SECTIONS:
            section = getattr(self, attr)
            if section is not None:
                values = dataclasses.asdict(section)
                if attr == "reserve":  # unset figures are left out (the planned pointe import is None online)
                    values = {k: v for k, v in values.items() if v is not None or k == "pointe_import_kwh"}
                out.update(values)
        if self.projection_max_kw is not None:
            out["projection_max_kw"] = self.projection_max_kw
        if out or self.unmet_reason_by_vehicle:
            out["unmet_reason_by_vehicle"] = dict(self.unmet_reason_by_vehicle)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrategyReport:
        """The report of a flat dict as :meth:`to_dict` writes it (e.g. the ``strategy_*`` KPIs, prefix removed).

        Raises :class:`InputError` naming an unknown key or a section's missing key.
        """
        rest = dict(data)
        kwargs: dict[str, Any] = {}
        for attr, section_cls in _SECTIONS:
            fields = dataclasses.fields(section_cls)
            names = [f.name for f in fields]
            if not any(n in rest for n in names):
                continue
            required = [f.name for f in fields if f.default is dataclasses.MISSING]
            missing = [n for n in required if n not in rest]
            if missing:
                raise InputError(f"field {missing[0]!r} of the strategy report is required with {names[0]!r} "
                                 f"(value missing)")  # fmt: skip
            kwargs[attr] = section_cls(**{n: rest.pop(n) for n in names if n in rest})
        if "projection_max_kw" in rest:
            kwargs["projection_max_kw"] = rest.pop("projection_max_kw")
        if "unmet_reason_by_vehicle" in rest:
            kwargs["unmet_reason_by_vehicle"] = {int(k): str(v) for k, v in rest.pop("unmet_reason_by_vehicle").items()}
        if rest:
            key = next(iter(rest))
            raise InputError(f"field {key!r} is not a strategy report key (value {rest[key]!r})")
        return cls(**kwargs)
