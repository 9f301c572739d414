"""A sample's model changed from the model built once equals a fresh build of that sample, bit for bit; its
headline numbers from vectors equal the tables' definitions, bit for bit; and a runner's rows do not depend on the
order it runs samples in.

Seeded random samples of shipped scenarios, with uncertainty that scales capacity by country, by source id and
everywhere, demand and cost for every mineral and for one, and shocks by location and by owner; and a variant of
the baseline with the policies whose rows are shares of demand (dependence cap, domestic target, content rule,
country cap) and an export quota.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import PlanMetrics
from engine.analysis.sampling import _universe, sample_factors, scenario_set
from engine.analysis.sweep import SampleRunner
from engine.formulation import build_model
from engine.formulation.disruptions import ScenarioSet
from engine.formulation.variants import SampleModels, model_differences
from engine.inputs.scenario import load_scenario, with_overrides
from engine.outputs.results import (
    attributed_by_group,
    build_table,
    dependence_metric,
    expected_total,
    per_mineral,
    share_terms,
    total_cost_pv,
    unmet_value,
    unmet_value_pv,
)
from engine.plan.hierarchy import PlanSession
from engine.solvers import SolverOptions, make_backend


def _uncertain(loaded):
    """The scenario with uncertainty on every kind of factor and shocks by location and by owner."""
    cap = loaded.dataset.capacity
    source = str(cap.loc[cap["mineral"] == "co", "source_id"].iloc[0])
    shocks = [{"name": "chn_owned_li", "country": "CHN", "by": "owner", "minerals": ["li"], "share": 0.4,
               "years": "2028+", "probability": 0.6},
              {"name": "idn_ni", "country": "IDN", "minerals": ["ni"], "share": 0.5, "probability": 0.7},
              {"name": "chn_all", "country": "CHN", "share": 0.8, "years": "2030-2032", "probability": 0.5}]
    uncertainty = {"demand": {"all": {"dist": "normal", "mean": 1.0, "sd": 0.2},
                              "li": {"dist": "uniform", "low": 0.7, "high": 1.4}},
                   "capacity": {"CHN": {"dist": "uniform", "low": 0.5, "high": 1.0},
                                source: {"dist": "triangular", "low": 0.2, "mode": 0.6, "high": 1.0},
                                "all": {"dist": "lognormal", "mean": 0.0, "sd": 0.1}},
                   "cost": {"all": {"dist": "lognormal", "mean": 0.0, "sd": 0.2},
                            "ni": {"dist": "uniform", "low": 0.9, "high": 1.3}}}
    return with_overrides(loaded, uncertainty=uncertainty, shocks=shocks)


def _share_policies(loaded):
    """The baseline plus every policy whose rows move with demand, and an export quota."""
    extra = [{"name": "cap_chn", "type": "dependence_cap", "max_share": 0.9, "minerals": ["co", "ni"]},
             {"name": "home", "type": "domestic_target", "min_share": 0.05, "minerals": ["li"], "years": "2031+"},
             {"name": "home_ga", "type": "domestic_target", "min_capacity_t": 1.0, "minerals": ["ga"],
              "years": "2034+"},
             {"name": "content", "type": "content_rule", "share": {2027: 0.1, 2030: 0.2}, "minerals": ["li"]},
             {"name": "caps", "type": "country_cap", "max_share": 0.8, "minerals": ["co"]},
             {"name": "quota", "type": "export_ban", "exporter": "IDN", "minerals": ["ni"], "allowed_share": 1.0,
              "quota_t": 100000.0}]
    policies = [p.model_dump(mode="json", exclude_none=True) for p in loaded.scenario.policies]
    return with_overrides(loaded, policies=policies + extra)


SCENARIOS = ["baseline", "ga_ge_ban", "jv_quid_pro_quo", "crma_caps", "ira_content", "share_policies"]


@pytest.fixture(scope="module")
def uncertain_scenarios():
    out = {}
    for name in SCENARIOS:
        loaded = load_scenario("baseline" if name == "share_policies" else name)
        if name == "share_policies":
            loaded = _share_policies(loaded)
        out[name] = _uncertain(loaded)
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_changed_model_equals_a_fresh_build(uncertain_scenarios, name):
    loaded = uncertain_scenarios[name]
    models = SampleModels(loaded)
    assert models.fallback is None
    universe = _universe(loaded)
    rng = np.random.default_rng(len(name))
    for index in rng.choice(1000, size=2, replace=False):
        sample, records = scenario_set(loaded, [int(index)], seed=int(rng.integers(100)), universe=universe)
        assert models.supports(sample) is None
        assert model_differences(models.model(sample), build_model(loaded, sample)) == [], records


@pytest.mark.parametrize("name", ["baseline", "share_policies", "jv_quid_pro_quo"])
def test_a_sample_given_as_arrays_is_its_set_of_tables(uncertain_scenarios, name):
    """``sample_factors`` (a sweep's path: an availability grid, factors per mineral) changes the model exactly as
    the sample's tables (``scenario_set``) do, and equals their fresh build; its tables are those tables."""
    loaded = uncertain_scenarios[name]
    models = SampleModels(loaded)
    universe = _universe(loaded)
    rng = np.random.default_rng(7 + len(name))
    for index in rng.choice(1000, size=2, replace=False):
        seed = int(rng.integers(100))
        arrays, record = sample_factors(loaded, int(index), seed, universe=universe)
        tables, records = scenario_set(loaded, [int(index)], seed, universe=universe)
        assert record == records[0]
        changed = models.model(arrays)
        assert model_differences(changed, models.model(tables)) == [], record
        assert model_differences(changed, build_model(loaded, tables)) == [], record
        for frame in ("table", "availability", "demand", "cost"):  # what a fresh build of ``arrays`` reads
            assert getattr(arrays, frame).equals(getattr(tables, frame)), frame


def test_a_sample_has_its_own_arrays_only_for_the_columns_it_names(uncertain_scenarios):
    """``SAMPLE_OWN`` is what ``share_terms`` reads of a sample (the rest it takes from the base model): every other
    column of a changed model's tables is the base model's, value for value."""
    from engine.formulation.variants import SAMPLE_OWN

    loaded = uncertain_scenarios["jv_quid_pro_quo"]
    models = SampleModels(loaded, probe=False)
    model = models.model(sample_factors(loaded, 5, 2)[0])
    for table, own in (("demand", SAMPLE_OWN["demand"]), ("supply", SAMPLE_OWN["flow"]),
                       ("jv_output", SAMPLE_OWN["jv_out"])):
        frame, base = getattr(model, table), getattr(models.base, table)
        assert list(frame.columns) == list(base.columns)
        differ = {c for c in frame.columns if not frame[c].equals(base[c])}
        assert differ and differ <= set(own), table


def test_one_samples_scenario_table_is_the_equiprobable_table():
    from engine.analysis.sampling import _equiprobable, _scenario_table

    for index in (0, 7, 123):
        table, expected = _scenario_table([index]), _equiprobable([index])
        assert table.equals(expected) and table.dtypes.equals(expected.dtypes) and table.index.equals(expected.index)
    assert _scenario_table([0]) is not _scenario_table([0])


def test_availability_grid_multiplies_factors_in_row_order():
    """A grid cell is the product of its (id, year)'s availability rows in row order, a NaN factor skipped, as
    ``apply_availability``'s group product: checked against it on seeded rows with repeated ids."""
    from engine.analysis.sampling import _Draws, _grid, _tables, _universe_of

    rng = np.random.default_rng(11)
    ids = pd.DataFrame({"id": ["a", "b", "a", "c"], "mineral": "li", "location": "X"})
    universe = _universe_of(ids, pd.DataFrame(), ["li"], [2030, 2031, 2032], np.ones(4, dtype=bool))
    for _ in range(20):
        capacity = rng.choice([1.0, 0.3, 1.7, np.nan, 0.0], size=4) * rng.uniform(0.5, 1.5)
        shocks = [(np.array([0, 1]), [2031, 2032], float(rng.uniform())), (np.array([2, 3]), [2030], 0.25)]
        draws = _Draws(capacity, shocks[:int(rng.integers(3))], {}, {}, {})
        grid = _grid(universe, draws)
        rows = _tables(universe, [0], [draws])[0].availability
        for i, name in enumerate(universe.grid_ids):
            for j, year in enumerate(universe.years):
                part = rows[(rows["id"] == name) & (rows["year"] == year)]["factor"].to_numpy() if len(rows) else []
                expected = 1.0
                for value in part:
                    expected = expected if np.isnan(value) else expected * value
                assert grid[i, j] == expected, (name, year)


def test_differences_are_found(uncertain_scenarios):
    loaded = uncertain_scenarios["baseline"]
    models = SampleModels(loaded, probe=False)
    sample, _ = scenario_set(loaded, [3], 1)
    changed = models.model(sample)
    assert model_differences(changed, models.base) != []  # a sample is not the undisrupted model
    upper = changed.lp.variables["flow"].upper.copy()
    upper[5] *= 1 + 1e-15
    changed.lp.variables["flow"].upper = upper
    assert model_differences(changed, build_model(loaded, sample)) == ["column upper bounds"]


def test_what_cannot_be_changed_is_built_afresh(uncertain_scenarios):
    loaded = uncertain_scenarios["baseline"]
    two, _ = scenario_set(loaded, [0, 1], 1)
    models = SampleModels(loaded)
    assert models.supports(two) == "more than one scenario"
    undated = ScenarioSet(availability=pd.DataFrame({"scen": [0], "id": ["x"], "factor": [0.5]}))
    assert models.supports(undated) == "availability rows without a year"
    worst = with_overrides(loaded, objective={**loaded.scenario.objective.model_dump(mode="json"),
                                              "aggregate": "max"})
    models = SampleModels(worst)
    assert models.fallback == "the dependence objective is the maximum: its rows' coefficients are 1/demand"
    sample, _ = scenario_set(worst, [2], 1)
    assert model_differences(models.model(sample), build_model(worst, sample)) == []
    arrays, _ = sample_factors(worst, 2, 1)  # built afresh from its tables, made when read
    assert models.supports(arrays) == models.fallback
    assert model_differences(models.model(arrays), build_model(worst, sample)) == []


@pytest.mark.parametrize("name", ["baseline", "share_policies"])
def test_metric_vectors_are_the_tables_numbers(uncertain_scenarios, name):
    loaded = uncertain_scenarios[name]
    models = SampleModels(loaded, probe=False)
    metrics = PlanMetrics(models.base)
    for index in (4,):
        sample, _ = scenario_set(loaded, [index], 5)
        model = models.model(sample)
        fresh = build_model(loaded, sample)
        share_terms(model, models.base)
        plan = PlanSession(fresh, make_backend(None, SolverOptions())).solve()
        x = plan.x
        assert total_cost_pv(model, x) == total_cost_pv(fresh, x)
        assert unmet_value_pv(model, x) == expected_total(fresh, unmet_value(fresh, x), "value_pv_usd")
        dep = attributed_by_group(fresh, x)
        expected = {"exposure_pct": dependence_metric(fresh, dep),
                    "share_of_supply_pct": dependence_metric(fresh, dep, "china_share_of_supply_pct"),
                    "shortfall_t": float(dep["shortfall_t"].sum()),
                    **{f"exposure_{m}_pct": v for m, v in per_mineral(dep, "china_exposure_pct",
                                                                         fresh.minerals).items()},
                    **{f"shortfall_{m}_t": float(v) for m, v in dep.groupby("mineral")["shortfall_t"].sum().items()},
                    "jv_capacity_tpy": float(build_table(fresh, x)["capacity_tpy"].sum())}
        assert metrics.row(model, x) == expected


def test_rows_do_not_depend_on_the_order_samples_run_in(uncertain_scenarios):
    loaded = uncertain_scenarios["baseline"]
    runner = SampleRunner(loaded, 3)
    forward = {i: runner.run(i) for i in (0, 1, 2)}
    backward = {i: runner.run(i) for i in (2, 0, 1)}
    for i in forward:
        forward[i].pop("seconds")
        backward[i].pop("seconds")
        assert json.dumps(forward[i], sort_keys=True) == json.dumps(backward[i], sort_keys=True)
