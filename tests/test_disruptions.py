"""Availability factors of disruption scenarios: dated rows hit their year, undated rows every year."""

from __future__ import annotations

import pandas as pd

from engine.formulation.disruptions import apply_availability


def test_dated_and_undated_availability_rows():
    frame = pd.DataFrame({"scen": [0, 0, 0, 1], "id": ["a", "a", "b", "a"], "year": [2025, 2026, 2025, 2025],
                          "availability": 1.0})
    rows = pd.DataFrame({"scen": [0, 0, 1, 0], "id": ["a", "b", "a", "a"], "year": [2026, None, None, 2026],
                         "factor": [0.5, 0.2, 0.0, 0.5]})
    apply_availability(frame, rows)
    # a/2026 is hit twice (0.5 × 0.5); b in every year (0.2); a in scenario 1 in every year (0)
    assert frame["availability"].tolist() == [1.0, 0.25, 0.2, 0.0]
