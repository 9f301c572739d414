"""critmin explain on hand-built cases: it must name the policy that causes the shortfall, with the numbers.

Tiny gallium model, 2025, demand 40 t: CHN-GA 50 t available, DEU-GA 20 t, JPN-GA 10 t.
"""

from __future__ import annotations

import pytest

from engine.analysis.explain import explain, render
from engine.inputs.scenario import scenario_from_dict

from conftest import tiny_scenario


def explained(dataset, **overrides):
    loaded = scenario_from_dict(tiny_scenario(**overrides), dataset, name="case")
    result = explain(loaded)
    return result, render(result)


def test_export_ban_named_with_its_tonnes(tiny):
    ban = {"type": "export_ban", "name": "china_ban", "exporter": "CHN"}
    result, text = explained(tiny, policies=[ban])
    (story,) = result.stories
    assert (story.mineral, story.year, story.demand_t, story.shortfall_t) == ("ga", 2025, 40.0, pytest.approx(10.0))
    assert story.exportable_t == pytest.approx(80.0)
    assert story.removed == [("china_ban", "China", pytest.approx(50.0))]
    assert story.eligible_t == pytest.approx(30.0)
    assert [(p, t) for p, _, t in story.relaxations] == [("china_ban", pytest.approx(10.0))]
    assert "gallium 2025: demand 40 t; shortfall 10 t." in text
    assert "'china_ban' takes 50 t of capacity out (China)" in text
    assert story.caused_by == [("china_ban", pytest.approx(10.0))]  # without the ban, the 10 t are met
    assert "  - without 'china_ban', 10 t of it would be met" in text
    assert "'china_ban': let 10 t through from China (CHN-GA)" in text
    assert "demand[ga,2025,0]" in text  # the IIS cross-check names the demand row


def test_country_cap_bites_after_bans(tiny):
    # three suppliers each capped at 30% of supply can supply nothing: the cap, not capacity, is the cause
    cap = {"type": "country_cap", "name": "cap30", "max_share": 0.3}
    result, text = explained(tiny, objective={"minimise": "cost"}, policies=[cap])
    (story,) = result.stories
    assert story.shortfall_t == pytest.approx(40.0)
    assert story.removed == []  # a share rule removes no capacity …
    assert story.supply_after == [("no policies", pytest.approx(40.0)), ("+ cap30", pytest.approx(0.0))]
    assert {p for p, _, _ in story.relaxations} == {"cap30"}  # … but relaxing it is what restores supply
    assert "+ cap30: 0 t" in text


def test_nothing_to_explain(tiny):
    _, text = explained(tiny)
    assert text == "Scenario 'case': demand is met in every year; nothing to explain."


def test_infeasible_domestic_target_is_explained(tiny):
    # 10 t/yr of US capacity by 2025 with no US plant and no JV options: the plan is infeasible
    target = {"type": "domestic_target", "name": "onshore", "min_capacity_t": 10}
    result, text = explained(tiny, policies=[target])
    assert result.status == "infeasible"
    relaxed = [(p, t) for s in result.stories for p, _, t in s.relaxations]
    assert relaxed == [("onshore", pytest.approx(10.0))]
    assert "domestic_target:onshore" in text  # in the IIS
