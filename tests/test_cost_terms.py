"""The analyses' total cost comes from the cost table's own sums, without building the table: on shipped models
and a three-scenario sample set, over seeded random points (builds on and off, noise below a gram), it is the
cost table's expected present value to the last bit; and the terms kept on the model follow a replaced table."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from engine.analysis.sampling import scenario_set
from engine.formulation import build_model
from engine.inputs.scenario import load_scenario
from engine.outputs.results import clean, cost_components, expected_total, total_cost_pv, unmet_value, unmet_value_pv


@functools.cache
def _model(name: str, samples: int):
    loaded = load_scenario(name)
    return build_model(loaded, scenario_set(loaded, list(range(samples)), 5)[0]) if samples else build_model(loaded)


def _points(model, seed: int, n: int = 4):
    rng = np.random.default_rng(seed)
    builds = model.block_cols("build")
    for _ in range(n):
        x = rng.uniform(0, 500, model.lp.n_cols) * (rng.random(model.lp.n_cols) < 0.3)
        x[rng.random(model.lp.n_cols) < 0.05] = 1e-9  # below a gram: cleaned to zero
        x[builds] = np.where(rng.random(builds.size) < 0.5, 0.0, rng.uniform(0, 5000, builds.size))
        yield x


@pytest.mark.parametrize("name,samples", [("baseline", 0), ("ga_ge_ban", 0), ("jv_quid_pro_quo", 3)])
def test_total_cost_is_the_cost_tables_expected_value_to_the_last_bit(name, samples):
    model = _model(name, samples)
    assert len(model.builds)  # the annuities are exercised
    for x in _points(model, seed=len(name) + samples):
        table = cost_components(model, x)
        assert total_cost_pv(model, x) == expected_total(model, table, "pv_usd")
        assert "jv_capex" in set(table["component"])


def test_no_build_means_no_capex_and_a_replaced_table_is_followed():
    model = build_model(load_scenario("baseline"))
    x = np.zeros(model.lp.n_cols)
    x[model.block_cols("flow")] = 1.0
    table = cost_components(model, x)
    assert "jv_capex" not in set(table["component"])
    before = total_cost_pv(model, x)
    assert before == expected_total(model, table, "pv_usd")
    model.supply = model.supply.assign(unit_cost_usd_per_t=model.supply["unit_cost_usd_per_t"] * 2)
    after = total_cost_pv(model, x)
    assert after > before and after == expected_total(model, cost_components(model, x), "pv_usd")


@pytest.mark.parametrize("name,samples", [("baseline", 0), ("jv_quid_pro_quo", 3)])
def test_unmet_value_is_its_definition_on_the_demand_table(name, samples):
    """The unmet value's terms kept on the model (value per tonne, discount, probability of each demand row) give
    Σ probability × (tonnes unmet × value per tonne) × discount of the demand table, to the last bit, and follow a
    replaced demand table."""
    model = _model(name, samples)
    short_cols = model.block_cols("short")

    def defined(model, x):
        d = model.demand
        prob = d["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy(dtype=float)
        value = clean(x[short_cols]) * d["unmet_value_usd_per_t"].to_numpy()
        return float((value * model.discount(d["year"]) * prob).sum())

    for x in _points(model, seed=3 + samples):
        assert unmet_value_pv(model, x) == defined(model, x) > 0
        assert list(unmet_value(model, x)["value_pv_usd"]) == list(
            clean(x[short_cols]) * model.demand["unmet_value_usd_per_t"].to_numpy()
            * model.discount(model.demand["year"]))
    x = next(_points(model, seed=9))
    changed = dataclasses.replace(model)  # the same tables, its own cache
    before = unmet_value_pv(changed, x)
    changed.demand = model.demand.assign(unmet_value_usd_per_t=model.demand["unmet_value_usd_per_t"] * 3)
    assert unmet_value_pv(changed, x) == defined(changed, x) > before


def test_resource_cost_and_transfers_by_hand(tmp_path):
    """A 5% tariff on China's gallium (40 t at 100 USD/t, least cost): purchases 4,000 at producers' prices are
    resource cost, the 200 of tariff a transfer; together the cost of supply, 4,200; the objective's choice stated."""
    from engine.inputs.dataset import load_dataset
    from engine.inputs.scenario import scenario_from_dict
    from engine.outputs.summary import OBJECTIVE_COUNTS
    from engine.run import run_scenario
    from tests.conftest import tiny_scenario, write_dataset

    ds = load_dataset(write_dataset(tmp_path / "inputs"))
    loaded = scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}, policies=[
        {"type": "tariff", "name": "five", "origin": "CHN", "ad_valorem": 0.05}]), ds)
    cost = run_scenario(loaded).summary["cost"]
    assert cost["resource_pv_usd"] == pytest.approx(4000.0)
    assert cost["transfers_pv_usd"] == pytest.approx(200.0)
    assert cost["transfers_by_component_pv_usd"]["tariff"] == pytest.approx(200.0)
    assert cost["resource_pv_usd"] + cost["transfers_pv_usd"] == pytest.approx(cost["total_pv_usd"])
    assert cost["objective_counts"] == OBJECTIVE_COUNTS
