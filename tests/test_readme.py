"""README.md's marked examples print what the code prints (tools/readme_examples.py runs them)."""

from __future__ import annotations

import pytest

from tools.readme_examples import README, UPDATE, diff, examples, refresh


@pytest.fixture(scope="module")
def drift() -> list[tuple[str, list[str], list[str]]]:
    return refresh(README.read_text(encoding="utf-8"))[1]


def test_readme_examples_print_what_the_code_prints(drift):
    assert not drift, "\n".join(diff(*d) for d in drift) + f"\nREADME.md examples drifted: {UPDATE}."


def test_the_examples_are_marked():
    names = [e.name for e in examples(README.read_text(encoding="utf-8").split("\n"))]
    assert names == ["solve", "explain", "worstcase", "calibrate", "python", "errors", "frontier", "session",
                     "market-backcast", "market-frontier", "market-stress", "market-sweep", "market-sensitivity",
                     "market-explain", "market-calibrate"]


def test_a_changed_figure_is_caught():
    """The check can fail: a figure off by a cent is reported and rewritten; a timing is neither."""
    block = ("<!-- example: sum -->\n```python\n>>> total = round(1.25 + 2.14, 2)\n>>> total\n{}\n"
             ">>> print('solved in {} s')\nsolved in {} s\n```\n<!-- /example -->")
    assert refresh(block.format("3.39", "0.02", "0.05"))[1] == []
    new, drifted = refresh(block.format("3.38", "0.02", "0.02"))
    assert [(name, now[2]) for name, _, now in drifted] == [("sum", "3.39")]
    assert new == block.format("3.39", "0.02", "0.02")
