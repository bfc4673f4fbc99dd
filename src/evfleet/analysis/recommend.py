"""Rank strategies on the operator's goals: cost, peak, readiness and V2G wear, with weights the user sets.

Units: money [MAD], power [kW], energy [kWh]; scores are 0-1 (1 = the best of the strategies compared).

For each goal the figure of each strategy comes from its simulated KPIs (``compute_kpis``):

==============  =====================  ==========================================================
goal            KPI (lower is better)  meaning
==============  =====================  ==========================================================
``cost``        ``net_cost_mad``       import cost - export revenue + battery degradation [MAD]
``peak``        ``peak_import_kw``     largest site import of one step [kW]
``readiness``   ``unmet_energy_kwh``   energy missing at departure, all sessions [kWh]
``v2g_wear``    ``energy_discharged_kwh``  energy the batteries gave back (V2G throughput) [kWh]
==============  =====================  ==========================================================

Score of a strategy on a goal: ``(worst - x) / (worst - best)`` over the strategies compared (1 for every
strategy when they all tie, within the tolerances of :mod:`evfleet._common.tolerances`). Total score:
``sum(w_g * score_g) / sum(w_g)``; rank 1 = highest total (ties keep registration order). The default weights
(:data:`DEFAULT_WEIGHTS`) are this project's assumption, not a standard: change them.

A strategy whose figures equal the uncontrolled baseline's on every goal is flagged ``same_as_baseline`` (it had
nothing to do on this scenario, e.g. ``load_balancing`` when the import limit never binds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evfleet._common.errors import InputError
from evfleet._common.tolerances import ENERGY_EPS_KWH, POWER_EPS_KW
from evfleet.strategies import REGISTRY

__all__ = [
    "DEFAULT_WEIGHTS",
    "GOALS",
    "GOAL_KPIS",
    "RECOMMENDATION_COLUMNS",
    "STRATEGY_SUMMARIES",
    "Recommendation",
    "recommend",
    "strategy_summary",
    "validate_weights",
]

GOALS = ("cost", "peak", "readiness", "v2g_wear")
#: goal -> KPI key (lower is better)
GOAL_KPIS: dict[str, str] = {
    "cost": "net_cost_mad",
    "peak": "peak_import_kw",
    "readiness": "unmet_energy_kwh",
    "v2g_wear": "energy_discharged_kwh",
}
#: Default weights (assumption of this project: cost first, then peak, readiness, wear).
DEFAULT_WEIGHTS: dict[str, float] = {"cost": 0.4, "peak": 0.3, "readiness": 0.2, "v2g_wear": 0.1}
#: Ties within these absolute tolerances score the same (money uses 0.01 MAD).
_TOLERANCE = {"cost": 0.01, "peak": POWER_EPS_KW, "readiness": ENERGY_EPS_KWH, "v2g_wear": ENERGY_EPS_KWH}

RECOMMENDATION_COLUMNS = [
    "rank",
    "strategy",
    "score",
    *(f"{g}_{k}" for g in GOALS for k in ("value", "score")),
    "same_as_baseline",
]

#: One sentence per strategy: what it does and when it helps, (English, French).
STRATEGY_SUMMARIES: dict[str, tuple[str, str]] = {
    "uncontrolled": (
        "Every vehicle charges at full power from arrival: the reference, best for readiness when the site has "
        "the capacity, worst for the peak.",
        "Chaque véhicule charge à pleine puissance dès son arrivée : la référence, la meilleure pour la "
        "disponibilité si le site a la capacité, la pire pour la pointe.",
    ),
    "load_balancing": (
        "Shares the power left under the import limit between the vehicles, the most urgent first: helps only when "
        "the import limit would otherwise be exceeded.",
        "Répartit la puissance disponible sous la limite d'import entre les véhicules, les plus urgents d'abord : "
        "n'aide que si la limite d'import serait sinon dépassée.",
    ),
    "peak_shaving": (
        "Plans charging to make the highest site import as low as possible: helps when the subscribed power or the "
        "transformer is the constraint.",
        "Planifie la charge pour que l'import maximal du site soit le plus bas possible : utile quand la puissance "
        "souscrite ou le transformateur est la contrainte.",
    ),
    "valley_filling": (
        "Flattens the site load curve by filling the night valley: helps the transformer and the grid when "
        "vehicles stay parked overnight.",
        "Aplatit la courbe de charge du site en remplissant le creux de la nuit : aide le transformateur et le "
        "réseau quand les véhicules restent garés la nuit.",
    ),
    "price_optimization": (
        "Charges when energy is cheapest under the time-of-use tariff (and discharges when V2G pays): helps the "
        "bill when vehicles stay long enough to wait for off-peak hours.",
        "Charge quand l'énergie est la moins chère selon le tarif horaire (et décharge quand le V2G rapporte) : "
        "réduit la facture quand les véhicules restent assez longtemps pour attendre les heures creuses.",
    ),
    "grid_support": (
        "Uses V2G to cut imports in the peak period and keeps a frequency reserve: helps when V2G-capable vehicles "
        "are plugged in during the evening peak.",
        "Utilise le V2G pour réduire l'import en heures de pointe et garde une réserve de fréquence : utile quand "
        "des véhicules V2G sont branchés pendant la pointe du soir.",
    ),
    "renewable_integration": (
        "Charges on the site's solar production and limits imports and exports: helps when the depot has PV and "
        "vehicles are parked during the day.",
        "Charge sur la production solaire du site et limite soutirage et injection : utile quand le dépôt a du "
        "photovoltaïque et que les véhicules sont garés en journée.",
    ),
    "timer": (
        "Each vehicle starts at full power when off-peak hours begin, as a plain charger timer would: a simple "
        "baseline that helps the bill when vehicles stay past the start of off-peak hours.",
        "Chaque véhicule démarre à pleine puissance au début des heures creuses, comme une simple minuterie de "
        "borne : une référence simple qui réduit la facture quand les véhicules restent après le début des heures "
        "creuses.",
    ),
}


def strategy_summary(name: str, lang: str = "en") -> str:
    """The one-sentence summary of strategy ``name`` in ``lang`` (``en``/``fr``).

    A strategy without a written summary gets its class's ``description`` (English), marked as such in French.
    """
    pair = STRATEGY_SUMMARIES.get(name)
    if pair is not None:
        return pair[1] if lang == "fr" else pair[0]
    desc = getattr(REGISTRY[name], "description", "") if name in REGISTRY else ""
    desc = desc or name
    return f"{desc} (description en anglais)" if lang == "fr" else desc


def validate_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weights for every goal (missing goals get 0 when some are given, defaults when none); raise naming a bad one."""
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    out: dict[str, float] = {}
    for key, value in weights.items():
        if key not in GOALS:
            raise InputError(f"field 'weights' names unknown goal {key!r}; known: {', '.join(GOALS)}")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise InputError(f"field 'weights.{key}' must be a number >= 0 (value {value!r})") from None
        if not (math.isfinite(w) and w >= 0):
            raise InputError(f"field 'weights.{key}' must be a number >= 0 (value {value!r})")
        out[key] = w
    for g in GOALS:
        out.setdefault(g, 0.0)
    if sum(out.values()) <= 0:
        raise InputError(f"field 'weights' must not all be 0 (value {dict(weights)!r})")
    return out


@dataclass(frozen=True)
class Recommendation:
    """Ranking of strategies (``table``: :data:`RECOMMENDATION_COLUMNS`, rank 1 first) under ``weights``."""

    table: pd.DataFrame
    weights: dict[str, float]

    @property
    def best(self) -> str:
        """The strategy ranked first."""
        return str(self.table["strategy"].iloc[0])


def recommend(
    kpis: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float] | None = None,
    baseline: str = "uncontrolled",
) -> Recommendation:
    """Rank the strategies of ``kpis`` (strategy -> its ``compute_kpis`` dict) on the goals (module docstring)."""
    if not kpis:
        raise InputError("field 'kpis' must hold at least one strategy's KPIs")
    w = validate_weights(weights)
    names = list(kpis)
    rows: dict[str, dict[str, object]] = {n: {"strategy": n} for n in names}
    for goal in GOALS:
        key = GOAL_KPIS[goal]
        values = {}
        for n in names:
            x = kpis[n].get(key)
            if x is None or not math.isfinite(float(x)):
                raise InputError(f"KPI {key!r} of strategy {n!r} is missing or not finite (value {x!r})")
            values[n] = float(x)
        best, worst = min(values.values()), max(values.values())
        span = worst - best
        for n in names:
            score = 1.0 if span <= _TOLERANCE[goal] else (worst - values[n]) / span
            rows[n][f"{goal}_value"] = values[n]
            rows[n][f"{goal}_score"] = score
    total_w = sum(w.values())
    for n in names:
        r = rows[n]
        total = sum(w[g] * float(r[f"{g}_score"]) for g in GOALS) / total_w  # type: ignore[arg-type]
        r["score"] = round(total, 12)  # rounding noise must not reorder equal scores
        same = (
            baseline in kpis
            and n != baseline
            and all(abs(float(r[f"{g}_value"]) - float(kpis[baseline][GOAL_KPIS[g]])) <= _TOLERANCE[g] for g in GOALS)
        )
        r["same_as_baseline"] = bool(same)
    order = sorted(names, key=lambda n: (-float(rows[n]["score"]), names.index(n)))  # type: ignore[arg-type]
    table = pd.DataFrame([rows[n] for n in order])
    table.insert(0, "rank", range(1, len(order) + 1))
    return Recommendation(table=table[RECOMMENDATION_COLUMNS].reset_index(drop=True), weights=w)
