"""Printing and writing a market calibration (``critmin calibrate`` on a ``market: equilibrium`` scenario)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.analysis.backcast import REST, least_cost_backcast, top_shares
from engine.analysis.market_backcast import DefaultDecision, MarketBackcast
from engine.analysis.market_calibrate import MarketCalibration
from engine.inputs.names import Names
from engine.outputs.display import tonnes
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions

FILES = "route_costs.csv, calibration.csv, backcast.csv, price_backcast.csv, summary.json"


def _distance(value: float | None, bound: bool) -> str:
    return "n/a" if value is None else f"{'>= ' if bound else ''}{value:.1f}"


def _pp(value: float | None) -> float | None:
    return None if value is None else round(value, 6) + 0.0


def _shares(shares: dict[str, float]) -> str:
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{k} {v:.6f}" for k, v in ranked)


@dataclass
class MarketCalibrationReport:
    """A market calibration with the single-buyer least-cost plan's backcast beside it (for item 7's rule on the
    calibrated equilibrium): the printout, the files and the summary."""

    result: MarketCalibration
    least_cost: MarketBackcast  # the calibrated equilibrium's backcast, with the least-cost plan's distances

    @property
    def status(self) -> str:
        return self.result.status

    def decision(self) -> DefaultDecision:
        """Item 7's rule applied to the calibrated equilibrium (the shipped default is decided on the uncalibrated
        one: ``critmin solve models/market.yaml``)."""
        return self.least_cost.decision()

    # ------------------------------------------------------------------ tables
    def backcast_table(self) -> pd.DataFrame:
        """``backcast.csv``: per observed mineral, the distance before and after calibration (points)."""
        r = self.result
        rows = []
        for b, a in zip(r.before, r.after, strict=True):
            o = b.observation
            rows.append({"mineral": o.mineral, "period": o.period, "measure": o.measure, "year": r.year,
                         "distance_before_pp": _pp(b.distance_pp), "distance_after_pp": _pp(a.distance_pp),
                         "lower_bound": b.lower_bound, "observed_shares": _shares(o.shares),
                         "before_shares": _shares(b.planned), "after_shares": _shares(a.planned)})
        return pd.DataFrame(rows, columns=["mineral", "period", "measure", "year", "distance_before_pp",
                                           "distance_after_pp", "lower_bound", "observed_shares", "before_shares",
                                           "after_shares"])

    def price_table(self) -> pd.DataFrame:
        """``price_backcast.csv``: per mineral and region with an observed price, the first-year price before and
        after calibration against the observed range."""
        r = self.result
        after = {(p.mineral, p.region): p for p in r.prices_after}
        rows = []
        for b in r.prices_before:
            a = after[(b.mineral, b.region)]
            rows.append({"mineral": b.mineral, "region": b.region, "year": b.year,
                         "price_before_usd_per_t": b.price_usd_per_t, "price_after_usd_per_t": a.price_usd_per_t,
                         "observed_year": b.observed_year, "observed_low_usd_per_t": b.low_usd_per_t,
                         "observed_high_usd_per_t": b.high_usd_per_t, "inside_before": b.inside,
                         "inside_after": a.inside, "off_before_pct": round(b.off_pct, 6) + 0.0,
                         "off_after_pct": round(a.off_pct, 6) + 0.0})
        return pd.DataFrame(rows, columns=["mineral", "region", "year", "price_before_usd_per_t",
                                           "price_after_usd_per_t", "observed_year", "observed_low_usd_per_t",
                                           "observed_high_usd_per_t", "inside_before", "inside_after",
                                           "off_before_pct", "off_after_pct"])

    def steps_table(self) -> pd.DataFrame:
        """``route_costs.csv``: every stepped route's steps (``width_t`` blank: no limit)."""
        steps = self.result.steps.copy()
        steps["width_t"] = steps["width_t"].where(np.isfinite(steps["width_t"]))
        return steps

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"route_costs.csv": self.steps_table(), "calibration.csv": self.result.groups,
                "backcast.csv": self.backcast_table(), "price_backcast.csv": self.price_table()}

    # ------------------------------------------------------------------ summary and printout
    def json(self) -> dict:
        return self.summary

    @property
    def summary(self) -> dict:
        r = self.result
        loaded = r.loaded
        lp = r.lp
        return stamped({
            "scenario": loaded.name, **provenance(loaded), "status": r.status, "message": r.message,
            "market": "equilibrium", "first_year": r.year, "margin": r.margin,
            "method": "increasing route costs (positive mathematical programming): share rows on the buyer "
                      "region's first-year imports give each origin group's add-on; every import route of a fitted "
                      "mineral then costs add-on - margin up to its first-year tonnes and add-on + margin beyond",
            "backcast": self.backcast_table().to_dict(orient="records"),
            "groups": r.groups.to_dict(orient="records"),
            "prices": self.price_table().to_dict(orient="records"),
            "prices_inside_before": sum(p.inside for p in r.prices_before),
            "prices_inside_after": sum(p.inside for p in r.prices_after), "prices_compared": len(r.prices_after),
            "routes_stepped": int(r.steps[["source_id", "region"]].drop_duplicates().shape[0]),
            "calibrated_default_mode": self.decision().summary(),
            "model": None if lp is None else {"columns": int(lp.matrix.shape[1]), "rows": int(lp.matrix.shape[0]),
                                              "nonzeros": int(lp.matrix.nnz)},
            "versions": versions()})

    @property
    def text(self) -> str:
        r = self.result
        loaded = r.loaded
        names = Names(loaded.dataset.folder)
        buyer = r.lp.buyer_region if r.lp is not None else loaded.scenario.buyer
        lines = [f"Market calibration of scenario '{loaded.name}': increasing route costs on {buyer}'s import routes "
                 f"that make the equilibrium's {r.year} imports reproduce observed trade (observed_trade.csv)"]
        if r.status != "optimal":
            lines.append(f"  Not solved ({r.status}): {r.message}")
            return "\n".join(lines)
        lines += ["", f"  Backcast {r.year}: distance to observed imports, points, before and after calibration",
                  f"  {'mineral':<11}{'before':>9}{'after':>9}   observed / calibrated equilibrium"]
        groups = r.groups
        for b, a in zip(r.before, r.after, strict=True):
            m = b.observation.mineral
            g = groups[groups["mineral"] == m]
            notes = []
            out = [names.country(x) for x in g.loc[~g["reachable"], "group"]]
            if out:
                notes.append(f"out of reach in {r.year}: {', '.join(out)} can deliver nothing to {buyer}")
            capped = [names.country(x) for x in g.loc[g["capped"], "group"]]
            if capped:
                notes.append(f"held at its capacity: {', '.join(capped)}")
            if not g["fitted"].any() and not out:
                notes.append("nothing to fit")
            observed, now = top_shares(b.observation.shares, 4, names.country), top_shares(a.planned, 4, names.country)
            lines.append(f"  {names.mineral(m):<11}{_distance(b.distance_pp, b.lower_bound):>9}"
                         f"{_distance(a.distance_pp, a.lower_bound):>9}   {observed} / {now}"
                         + (f"  ({'; '.join(notes)})" if notes else ""))
        lines += ["", f"  Route-cost add-ons ({r.year} money, USD/t): each import route costs add-on - margin up to "
                      "its first-year tonnes in the calibration LP, add-on + margin beyond",
                  f"  {'mineral':<11}{'origin':<16}{'observed':>9}{'target':>8}{'add-on':>11}{'margin':>9}"
                  f"{'first-year t':>14}"]
        fitted = groups[groups["fitted"] & groups["reachable"]]
        for row in fitted.itertuples(index=False):
            origin = "other origins" if row.group == REST else names.country(row.group)
            lines.append(f"  {names.mineral(row.mineral):<11}{origin:<16}{100 * row.observed_share:>8.1f}%"
                         f"{100 * row.target_share:>7.1f}%{row.add_on_usd_per_t:>+11,.0f}{row.margin_usd_per_t:>9,.0f}"
                         f"{tonnes(row.calibration_lp_t):>14}")
        routes = r.steps[["source_id", "region"]].drop_duplicates().shape[0]
        lines.append(f"  ({routes} import routes stepped; the add-ons average 0 over each mineral's target mix; margin "
                     f"{100 * r.margin:g}% of the reference price; route_costs.csv lists every step)")
        lines += ["", f"  Prices {r.year} against observed prices (USD/t; market/observed_prices.csv)",
                  f"  {'mineral':<11}{'region':<8}{'uncalibrated':>14}{'calibrated':>13}  {'observed':<24}calibrated"]
        after = {(p.mineral, p.region): p for p in r.prices_after}
        for b in r.prices_before:
            a = after[(b.mineral, b.region)]
            lines.append(f"  {names.mineral(b.mineral):<11}{b.region:<8}{b.price_usd_per_t:>14,.0f}"
                         f"{a.price_usd_per_t:>13,.0f}  {f'{b.observed_year} {b.range_text}':<24}{a.verdict}")
        lines.append(f"  ({sum(p.inside for p in r.prices_after)} of {len(r.prices_after)} inside the observed range "
                     f"after calibration, {sum(p.inside for p in r.prices_before)} before)")
        d = self.decision()
        verdict = ("both conditions hold" if d.market_default else
                   "; ".join(([f"the least-cost plan is still closer for {', '.join(d.imports_failing)}"]
                              if not d.imports_as_close else ["imports at least as close on every mineral"])
                             + ([f"{len(d.prices_outside)} of {len(r.prices_after)} prices outside their range"]
                                if not d.prices_inside else [])))
        lines += ["", f"  Item 7's rule on the calibrated equilibrium: {verdict} (the shipped default is decided on "
                      "the uncalibrated one)"]
        return "\n".join(lines)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        def fill(tmp: Path) -> None:
            for name, frame in self.tables().items():
                write_csv(frame, tmp / name)
            write_json(self.summary, tmp / "summary.json")

        return write_folder_atomically(Path(folder), fill, force=force, inputs=self.result.loaded.input_paths)


def market_calibration_report(result: MarketCalibration, solver: str | None = None) -> MarketCalibrationReport:
    """The report of ``result``, with the least-cost plan's backcast (solved here) beside the calibrated one."""
    least_cost = []
    if result.after:
        planned, _ = least_cost_backcast(result.loaded, solver)
        by_mineral = {b.observation.mineral: b for b in planned}
        least_cost = [by_mineral[b.observation.mineral] for b in result.after]
    return MarketCalibrationReport(result, MarketBackcast(year=result.year, market=result.after,
                                                          least_cost=least_cost, prices=result.prices_after))


__all__ = ["FILES", "MarketCalibrationReport", "market_calibration_report"]
