"""Folders written by results schema versions 1 and 2, read as version 3 (README, "Results schema version").

Before version 3 critmin reported one dependence figure, tonnes attributed as a share of all demand, in which a
tonne left unmet counted as not attributed and a purchase for stock as that year's supply. Version 3 reports two
measures instead (``results.Measures``): exposure, (attributed + unmet) / demand, and share of supply,
attributed / supplied. An older folder is read so that every reader finds the version 3 names:

- a solve folder's ``dependence.csv`` holds the tonnes the measures are made of, so the optimised plan's exposure
  and share of supply are recomputed from it when the plan used no stockpile (``supplied_t`` and ``china_t`` then
  mean what they mean now); with stock bought or drawn, and for the least-cost plan (whose unmet tonnes were not
  written), they are not recorded (NaN in the tables, null in the summary, "n/a" when shown). The old columns
  ``china_share_pct`` and ``least_cost_china_share_pct`` are dropped, as is the summary's old dependence section;
- an analysis folder's old dependence columns (``dependence_pct``, ``dependence_change_pp``, …) measured the old
  figure, which is neither measure: their version 3 columns are added as not recorded and the old ones dropped.

Each upgraded folder gets a note saying so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.outputs.results import MEASURE_UNITS

OLD_ANALYSIS_COLUMNS = {"dependence_pct": "exposure_pct", "dependence_change_pp": "exposure_change_pp",
                        "dependence_low_pp": "exposure_low_pp", "dependence_high_pp": "exposure_high_pp",
                        "dependence_swing_pp": "exposure_swing_pp"}
"""Columns of analysis tables before version 3, and the version 3 column each became (not recorded in old ones)."""

OLD_SUMMARY_KEYS = {"dependence_pct": "exposure_pct", "base_dependence_pct": "base_exposure_pct"}
"""Keys of analysis summaries (and of a stress summary's ``base``) before version 3 and their version 3 names."""


def upgrade(version: int, kind: str, summary: dict, tables: dict[str, pd.DataFrame], scenario: dict) -> list[str]:
    """Bring an older folder's summary and tables to version 3 in place; the notes to show with it."""
    if version >= 3:
        return []
    notes = []
    for name, frame in tables.items():
        tables[name] = upgrade_table(frame)
    for part in (summary, summary.get("base") if isinstance(summary.get("base"), dict) else {}):
        for old, new in OLD_SUMMARY_KEYS.items():
            if old in part:
                part.pop(old)
                part[new] = None
    dependence = tables.get("dependence")
    if kind == "solve" and dependence is not None and "china_t" in dependence:
        stockpile = tables.get("stockpile")
        stocked = stockpile is not None and not stockpile.empty and bool(
            (stockpile.get("put_t", pd.Series(dtype=float)).abs().sum() > 0)
            or (stockpile.get("draw_t", pd.Series(dtype=float)).abs().sum() > 0))
        tables["dependence"] = _dependence_table(dependence, recomputable=not stocked)
        if "dependence" in summary:
            summary["dependence"] = _dependence_summary(tables["dependence"], summary, scenario)
        notes.append(f"written by results schema version {version}, which reported dependence as a share of all "
                     f"demand; "
                     + ("exposure and share of supply recomputed from dependence.csv for the optimised plan, not "
                        "recorded for the least-cost plan" if not stocked else
                        "exposure and share of supply not recorded (the plan bought or drew stock, whose "
                        "attribution the folder does not hold)"))
    else:
        notes.append(f"written by results schema version {version}, which reported dependence as a share of all "
                     f"demand: exposure and share of supply not recorded")
    return notes


def upgrade_table(frame: pd.DataFrame) -> pd.DataFrame:
    """An analysis table with its pre-version 3 dependence columns, if any, replaced by not-recorded version 3
    columns (a frontier beside a solve folder may be older than the folder)."""
    old = [c for c in frame.columns if c in OLD_ANALYSIS_COLUMNS or (c.startswith("dependence_") and
                                                                      c.endswith("_pct"))]
    if not old:
        return frame
    out = frame.copy()
    for column in old:
        new = OLD_ANALYSIS_COLUMNS.get(column, "exposure_" + column.removeprefix("dependence_"))
        out.insert(out.columns.get_loc(column), new, np.nan)
    return out.drop(columns=old)


def _dependence_table(dep: pd.DataFrame, recomputable: bool) -> pd.DataFrame:
    """An old ``dependence.csv`` with the version 3 columns (``results.dependence_table``'s)."""
    out = dep.drop(columns=[c for c in ("china_share_pct", "least_cost_china_share_pct") if c in dep])
    demand, supplied = out["demand_t"].to_numpy(dtype=float), out["supplied_t"].to_numpy(dtype=float)
    china, short = out["china_t"].to_numpy(dtype=float), out["shortfall_t"].to_numpy(dtype=float)
    nan = np.full(len(out), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["china_exposure_pct"] = np.where(demand > 0, 100.0 * (china + short) / demand, np.nan) if recomputable \
            else nan
        out["china_share_of_supply_pct"] = np.where(supplied > 0, 100.0 * china / supplied, np.nan) if recomputable \
            else nan
    out["least_cost_china_exposure_pct"] = nan
    out["least_cost_china_share_of_supply_pct"] = nan
    return out


def _aggregate(values: pd.Series, minerals: pd.Series, weights: dict, aggregate: str) -> float | None:
    """The scenario's aggregate of a measure over rows where it is defined (mean with mineral weights, or max);
    disruption scenarios weigh alike (an old folder records no probabilities; a solve folder has one)."""
    ok = values.notna().to_numpy()
    if not ok.any():
        return None
    v = values.to_numpy(dtype=float)[ok]
    if aggregate == "max":
        return round(float(v.max()), 4)
    w = minerals[ok].map(lambda m: float(weights.get(m, 1.0))).to_numpy(dtype=float)
    return round(float((w * v).sum() / w.sum()), 4)


def _measure(dep: pd.DataFrame, column: str, weights: dict, aggregate: str) -> dict:
    """One measure's summary section (``summary.dependence_summary``'s shape), least-cost values not recorded."""
    t = dep[dep["demand_t"] > 0]
    means = t.groupby("mineral", sort=False)[column].mean()
    by_year: dict[str, dict[str, float | None]] = {}
    for row in dep.itertuples(index=False):
        value = getattr(row, column)
        by_year.setdefault(row.mineral, {})[str(row.year)] = None if pd.isna(value) else round(float(value), 4)
    return {"overall_pct": _aggregate(t[column], t["mineral"], weights, aggregate), "least_cost_overall_pct": None,
            "by_mineral": {m: {"optimised_pct": None if pd.isna(v) else round(float(v), 4), "least_cost_pct": None}
                           for m, v in means.items()},
            "by_mineral_year": by_year,
            "least_cost_by_mineral_year": {m: dict.fromkeys(years) for m, years in by_year.items()}}


def _dependence_summary(dep: pd.DataFrame, summary: dict, scenario: dict) -> dict:
    """The version 3 ``dependence`` section of an old solve summary, from its upgraded table."""
    sc = summary.get("scenario") or {}
    country = sc.get("dependence_on", "CHN")
    aggregate = sc.get("aggregate", "mean")
    weights = (scenario.get("objective") or {}).get("weights") or {}
    return {"country": country, "aggregate": aggregate,
            **{name: {"unit": MEASURE_UNITS[name].format(country=country),
                      **_measure(dep, column, weights, aggregate)}
               for name, column in (("exposure", "china_exposure_pct"),
                                    ("share_of_supply", "china_share_of_supply_pct"))}}
