"""What the benchmarks solve: the sizes, the scenario, and the single-stage objective.

The benchmark scenario is the shipped baseline's policies plus two share rules, so every constraint family that
scales with the data is present:

- ``section_301``: 25% tariff on deliveries refined in China (cost);
- ``china_ga_ge_licensing``: China's Ga/Ge exports at 45% of usual volume (bounds);
- ``crma_65``: at most 65% of any mineral-year from one foreign location country (rows over every delivery);
- ``dependence_cap``: China-attributed tonnes at most 50% of demand from 2028 (rows over attributed deliveries).

**Single stage** (what the peers also solve): minimise present-value cost plus unmet demand at its
value, ``SHORTFALL_WEIGHT`` (critmin's ``UNMET_DEMAND_PRICE_MULTIPLE``) × its reference price, under the caps.
One LP, one solve; it is not one of the hierarchy's stages (cost alone would be minimised by buying nothing),
but the hierarchy's first two stages in one objective.

**Hierarchy**: the scenario's full objective hierarchy (``minimise: dependence`` within ``+5%`` of least cost):
shortfall, least cost, least-cost reference, dependence, cost — five solves, warm on one solver object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE

SHORTFALL_WEIGHT = UNMET_DEMAND_PRICE_MULTIPLE  # the peers' weight on price × unmet tonnes (critmin's own value)
BUDGET = "+5%"
DEPENDENCE_CAP = 0.5
COUNTRY_CAP = 0.65
HORIZON_START = 2025


@dataclass(frozen=True)
class Size:
    """How far the generator grows the default data (see ``generator.py``)."""

    name: str
    facilities: int
    jv_copies: int
    horizon_end: int
    scenarios: int
    seed: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


SIZES: dict[str, Size] = {
    # not a benchmark: the smoke test's size
    "tiny": Size("tiny", facilities=2, jv_copies=1, horizon_end=2030, scenarios=2),
    "small": Size("small", facilities=4, jv_copies=2, horizon_end=2040, scenarios=4),  # ~70k non-zeros
    "medium": Size("medium", facilities=6, jv_copies=3, horizon_end=2040, scenarios=6),  # ~150k
    "large": Size("large", facilities=12, jv_copies=4, horizon_end=2045, scenarios=18),  # ~1.1M
    "xl": Size("xl", facilities=20, jv_copies=6, horizon_end=2050, scenarios=30),  # ~4M
}
DEFAULT_SIZES = ("small", "medium", "large", "market")  # "market": benchmarks/market.py's equilibrium LP


def bench_policies(horizon_start: int = HORIZON_START) -> list[dict]:
    return [
        {"name": "section_301", "type": "tariff", "origin": "CHN", "by": "location", "ad_valorem": 0.25,
         "years": f"{horizon_start}+"},
        {"name": "china_ga_ge_licensing", "type": "export_ban", "exporter": "CHN", "by": "location",
         "minerals": ["ga", "ge"], "allowed_share": 0.45, "years": f"{horizon_start}+"},
        {"name": "crma_65", "type": "country_cap", "max_share": COUNTRY_CAP, "by": "location"},
        {"name": "dependence_cap", "type": "dependence_cap", "max_share": DEPENDENCE_CAP, "years": "2028+"},
    ]


def bench_scenario(horizon_end: int) -> dict:
    """The benchmark scenario as a mapping (``engine.inputs.scenario.scenario_from_dict``)."""
    return {
        "description": "critmin benchmark: baseline policies + CRMA 65% country cap + 50% dependence cap",
        "buyer": "USA",
        "horizon": {"start": HORIZON_START, "end": horizon_end},
        "minerals": ["li", "ni", "co", "ga", "ge"],
        "objective": {"minimise": "dependence", "budget": BUDGET, "aggregate": "mean"},
        "dependence": {"country": "CHN", "basis": "combined", "licence_technology_factor": 0.0},
        "finance": {"discount_rate": 0.07, "asset_life_years": 20},
        "policies": bench_policies(),
    }


def single_stage_objective(lp) -> np.ndarray:
    """cost + the value of unmet demand (critmin's shortfall objective already carries SHORTFALL_WEIGHT)."""
    return lp.objective("cost") + lp.objective("shortfall")


def build_inputs(size: Size):
    """(dataset, scenario set, scenario mapping) for a size: the generated data every tool reads."""
    from benchmarks.generator import disruption_set, scaled_dataset
    from engine.inputs.scenario import load_scenario

    base = load_scenario("baseline").dataset
    dataset = scaled_dataset(base, facilities=size.facilities, jv_copies=size.jv_copies,
                             horizon_end=size.horizon_end, seed=size.seed)
    scenarios = disruption_set(dataset, size.scenarios, seed=size.seed)
    return dataset, scenarios, bench_scenario(size.horizon_end)
