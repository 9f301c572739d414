"""critmin from Python: every command as a function returning a typed result, and a session for fast what-ifs.

A scenario is given as a shipped name (``"baseline"``), a path to a YAML file, a mapping (``{"extends":
"baseline", ...}``) or an already loaded scenario; it is validated exactly as ``critmin validate`` validates it,
with the same messages. Each result holds pandas DataFrames, the ``summary`` that its ``summary.json`` holds (and
``--json`` prints), ``text`` (what the command prints), ``plot()`` (the report's figure) and ``write(folder)``.

>>> import engine as cm
>>> plan = cm.solve("baseline")
>>> round(plan.summary["dependence"]["exposure"]["overall_pct"], 2)
14.54
>>> plan.flows.columns[:3].tolist()
['scen', 'mineral', 'year']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy modules load on first use, so ``import engine`` stays light
    import pandas as pd
    from matplotlib.figure import Figure

    from engine.analysis.compare import Comparison as _Comparison
    from engine.analysis.explain import Explanation
    from engine.analysis.frontier_run import FrontierRun
    from engine.analysis.market_explain import MarketExplanation
    from engine.analysis.robust import RobustResult
    from engine.analysis.stress import StressResult
    from engine.analysis.sweep import SweepRun
    from engine.analysis.worstcase import WorstCaseResult
    from engine.inputs.scenario import LoadedScenario
    from engine.run import RunResult

ScenarioLike = Any  # str | Path | dict | LoadedScenario | None
ProgressCallback = Callable[[int, int], None]


# ----------------------------------------------------------------------------------------------- scenarios
def load(scenario: ScenarioLike = None, *, inputs: Path | str | None = None, name: str = "inline",
         **overrides: Any) -> LoadedScenario:
    """A scenario, validated as the CLI validates it: a shipped name, a YAML path, a mapping (``extends``
    honoured, ``name`` defaulting to ``name``) or a loaded scenario; ``overrides`` replace top-level keys and are
    checked too. ``None`` is the shipped baseline.

    >>> cheap = load({"extends": "baseline", "objective": {"budget": "+5%"}}, name="plus5")
    >>> cheap.name, str(cheap.scenario.objective.budget)
    ('plus5', '+5% over least cost')
    >>> load("baseline", objective={"minimise": "cheapest"})
    Traceback (most recent call last):
    engine.errors.InputError: Scenario 'baseline' is not valid:
      (scenario), objective.minimise: got 'cheapest'; expected 'dependence' or 'cost'
    """
    from engine.inputs.scenario import LoadedScenario, load_scenario, scenario_from_dict, with_overrides

    folder = Path(inputs) if inputs is not None else None
    if isinstance(scenario, LoadedScenario):
        loaded = scenario
    elif isinstance(scenario, dict):
        loaded = scenario_from_dict(scenario, name=name, inputs=folder)
    else:
        loaded = load_scenario(scenario, inputs=folder)
    return with_overrides(loaded, **overrides) if overrides else loaded


def override(scenario: ScenarioLike, **changes: Any) -> LoadedScenario:
    """The scenario with top-level keys replaced (plain values as in YAML, or schema objects), validated.

    >>> override("baseline", objective={"budget": "+10%"}).scenario.objective.budget.premium
    0.1
    """
    from engine.inputs.scenario import with_overrides

    return with_overrides(load(scenario), **changes)


def mineral_codes(scenario: ScenarioLike, minerals: Iterable[str], option: str = "--mineral") -> list[str]:
    """Minerals given as codes or names ('lithium', 'Li') as the scenario's codes; an InputError names one that
    is not modelled.

    >>> mineral_codes("baseline", ["lithium", "GA"])
    ['li', 'ga']
    """
    from engine.inputs.selection import modelled_minerals

    return modelled_minerals(option, minerals, load(scenario))


def _names(loaded: LoadedScenario) -> Any:
    from engine.inputs.names import Names

    return Names(loaded.dataset.folder)


# ----------------------------------------------------------------------------------------------------- solve
@dataclass
class Solution:
    """One solved plan: its tables as DataFrames, its summary, and the figures of its report."""

    run: RunResult

    @property
    def scenario(self) -> LoadedScenario:
        return self.run.loaded

    @property
    def summary(self) -> dict:
        """What ``summary.json`` holds (and ``critmin solve --json`` prints)."""
        return self.run.summary

    @property
    def status(self) -> str:
        return self.run.plan.status.value

    @property
    def ok(self) -> bool:
        return self.run.ok

    def _table(self, name: str) -> pd.DataFrame:
        import pandas as pd

        tables = self.run.tables
        if tables is None:
            return pd.DataFrame()
        return dict(tables.items()).get(name, pd.DataFrame())

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the results folder, by name (flows, dependence, costs, shortfall, builds, …)."""
        return dict(self.run.tables.items()) if self.run.tables is not None else {}

    flows = property(lambda self: self._table("flows"), doc="flows.csv: tonnes bought or built per source.")
    dependence = property(lambda self: self._table("dependence"),
                          doc="dependence.csv: China exposure and share of supply per year.")
    costs = property(lambda self: self._table("costs"), doc="costs.csv: cost by component.")
    shortfall = property(lambda self: self._table("shortfall"), doc="shortfall.csv: unmet demand and its value.")
    builds = property(lambda self: self._table("builds"), doc="builds.csv: JV and licensing capacity built.")
    duals = property(lambda self: self._table("duals"), doc="duals.csv: shadow prices of binding rows and bounds, "
                     "for analysts (the policies' impacts are in policies.csv).")
    policies = property(lambda self: self._table("policies"), doc="policies.csv: what each policy does to the whole "
                        "plan (removed, re-solved at the same budget): binds or slack.")
    policy_years = property(lambda self: self._table("policy_years"), doc="policy_years.csv: each policy's "
                            "mineral-years, with its removal's unmet change and one-unit relaxations.")
    stockpile = property(lambda self: self._table("stockpile"), doc="stockpile.csv: purchases, draws, stock.")

    @property
    def text(self) -> str:
        """The printout of ``critmin solve``."""
        from engine.outputs.display import render_summary

        ds = self.run.loaded.dataset
        names = {k: v.split("(")[0].strip().lower() for k, v in zip(ds.minerals["mineral"], ds.minerals["name"],
                                                                    strict=True)}
        return render_summary(self.summary, names, _names(self.run.loaded).countries)

    def plot(self, kind: str = "dependence", mineral: str | None = None) -> Figure | None:
        """A figure of the report: ``dependence`` (by year, per mineral), ``sourcing`` (of ``mineral``),
        ``costs``, ``builds`` or ``stockpile``; None when the plan has nothing to show."""
        from engine.figures import plots

        s, names = self.scenario.scenario, _names(self.scenario)
        minerals = self.summary["scenario"]["minerals"]
        if kind == "dependence":
            return plots.dependence_figure(self.dependence, minerals, names, s.dependence.country,
                                           s.objective.aggregate, s.objective.weights, s.buyer)
        if kind == "sourcing":
            code = mineral_codes(self.scenario, [mineral or minerals[0]])[0]
            return plots.sourcing_figure(self.flows, self.dependence, code, names, s.buyer, s.dependence.country)
        if kind == "costs":
            return plots.costs_figure(self.costs, minerals, names, s.base_year)
        if kind == "builds":
            return plots.builds_figure(self.builds, minerals, names, (s.horizon.start, s.horizon.end))
        if kind == "stockpile":
            return plots.stockpile_figure(self.stockpile if len(self.stockpile) else None, self.dependence,
                                          minerals, names)
        raise ValueError(f"kind: '{kind}'; expected dependence, sourcing, costs, builds or stockpile")

    def write(self, folder: Path | str, force: bool = False) -> Path:
        """The results folder ``critmin solve --out FOLDER`` writes (atomically)."""
        from engine.outputs.files import check_writable
        from engine.outputs.run_folder import write_results

        folder = Path(folder)
        check_writable(folder, force, self.scenario.input_paths)
        written = write_results(self.run, folder, force=force)
        self.run.summary["results_folder"] = str(folder)
        return written


def solve(scenario: ScenarioLike = None, *, solver: str = "highs", time_limit: float | None = None,
          log: bool = False, export: Sequence[Path] = (), impacts: bool = True) -> Solution:
    """Solve a scenario (``critmin solve``): the plan, its tables and its summary. ``impacts`` False skips the
    policy table's re-solves (``critmin solve --no-impacts``: every policy ``not computed`` in policies.csv).

    >>> plan = solve({"extends": "baseline", "objective": {"budget": "+5%"}})
    >>> plan.status, plan.summary["cost"]["premium_pct"] <= 5.0001
    ('optimal', True)
    """
    from engine.console import release_collection
    from engine.run import run_scenario

    loaded = load(scenario)
    release_collection()  # the start-up of a `critmin solve` is over (engine.console)
    if _is_market(loaded):
        return market_solve(loaded, time_limit=time_limit, log=log)
    return Solution(run_scenario(loaded, solver=solver, time_limit=time_limit, log=log, export=export,
                                 impacts=impacts))


# ----------------------------------------------------------------------------------------------- market mode
def _is_market(loaded: LoadedScenario) -> bool:
    return loaded.scenario.market != "none"


NOT_IN_MARKET = {
    "robust": "its first stage (JV builds and stockpiles chosen before the disruption) needs stockpiles, which the "
              "market model does not have yet",
    "worstcase": "in a market the worst case becomes bilevel (the restricting country's moves change every "
                 "region's prices and supply)",
}
"""Why ``robust`` and ``worstcase`` refuse a market scenario (a later step of market mode)."""


def refuse_in_market(command: str, loaded: LoadedScenario) -> None:
    """``robust`` and ``worstcase`` stop, in one line, on a ``market: equilibrium`` scenario."""
    if _is_market(loaded):
        from engine.errors import InputError

        raise InputError(f"'critmin {command}' is not yet supported in market mode (scenario '{loaded.name}' has "
                         f"market: {loaded.scenario.market}): {NOT_IN_MARKET[command]}; a later step")


@dataclass
class MarketPlan:
    """``critmin solve`` of a market scenario (``engine.market.solve_market``): prices, welfare, flows, and with a
    goal its certificates, who pays and frontier; the backcast attached as the command attaches it."""

    result: Any  # engine.market.MarketResult

    status = property(lambda self: "optimal")
    ok = property(lambda self: True)
    summary = property(lambda self: self.result.summary, doc="What summary.json holds.")
    text = property(lambda self: self.result.text, doc="The printout of ``critmin solve``.")
    prices = property(lambda self: self.result.prices, doc="prices.csv")
    welfare = property(lambda self: self.result.welfare, doc="welfare.csv")
    flows = property(lambda self: self.result.flows, doc="market_flows.csv")
    certificates = property(lambda self: self.result.goal.certificates if self.result.goal else None,
                            doc="certificates.csv (None without a goal)")
    who_pays = property(lambda self: self.result.goal.who_pays if self.result.goal else None,
                        doc="who_pays.csv (None without a goal)")

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.outputs.files import check_writable

        check_writable(Path(folder), force, self.result.loaded.input_paths)
        return self.result.write(Path(folder), force=force)


def market_solve(scenario: ScenarioLike = None, *, time_limit: float | None = None, log: bool = False,
                 backcast: bool = True) -> MarketPlan:
    """The market equilibrium of a ``market: equilibrium`` scenario, as ``critmin solve`` computes and prints it
    (``solve`` calls this for a market scenario)."""
    from engine.market import solve_market

    loaded = load(scenario)
    result = solve_market(loaded, log=log, time_limit=time_limit)
    if backcast:
        from engine.analysis.market_backcast import market_backcast

        result.add_backcast(market_backcast(result))
    return MarketPlan(result)


MARKET_ANALYSES = {
    # kind: (module, render, summary, write, table attribute)
    "frontier": ("engine.analysis.market_frontier", "render_market_frontier", "market_frontier_summary",
                 "write_market_frontier", "table"),
    "stress": ("engine.analysis.market_stress", "render_market_stress", "market_stress_summary",
               "write_market_stress", "table"),
    "sensitivity": ("engine.analysis.market_sensitivity", "render_market_sensitivity", "market_sensitivity_summary",
                    "write_market_sensitivity", "table"),
}


@dataclass
class MarketAnalysis:
    """A market-mode ``frontier``, ``stress`` or ``sensitivity``: the face of the single-buyer results (``status``,
    ``table``, ``summary``, ``json()``, ``text``, ``plot()``, ``write(folder)``)."""

    result: Any
    kind: str

    def _call(self, which: int, *args: Any) -> Any:
        import importlib

        spec = MARKET_ANALYSES[self.kind]
        return getattr(importlib.import_module(spec[0]), spec[which])(self.result, *args)

    status = property(lambda self: self.result.status)
    table = property(lambda self: getattr(self.result, MARKET_ANALYSES[self.kind][4]), doc="The analysis's table.")
    summary = property(lambda self: self._call(2), doc="What the folder's summary.json holds.")
    text = property(lambda self: self._call(1), doc="The printout.")

    def json(self) -> dict:
        """``--json``: the summary and the table."""
        return {**self.summary, "table": self.table.to_dict(orient="records")}

    def plot(self) -> Figure | None:
        from engine.analysis import market_plots

        if self.kind == "frontier":
            return market_plots.frontier_figure(self.table, self.result.buyer, self.result.regions,
                                                self.result.loaded.name)
        if self.kind == "stress":
            from engine.analysis.market_stress import shock_label

            return market_plots.stress_figure(self.table, self.result.buyer,
                                              lambda row: shock_label(self.result, row), self.result.loaded.name)
        return None

    def write(self, folder: Path | str, force: bool = False) -> Path:
        return self._call(3, Path(folder), force)


# ------------------------------------------------------------------------------------------------ analyses
@dataclass
class Frontier:
    """``critmin frontier``: cost against a tightening dependence cap."""

    run: FrontierRun

    status = property(lambda self: self.run.status)
    table = property(lambda self: self.run.table, doc="frontier.csv: one row per cap.")
    text = property(lambda self: __import__("engine.analysis.frontier_run", fromlist=["x"]).render_frontier(
        self.run), doc="The printout of ``critmin frontier``.")

    @property
    def summary(self) -> dict:
        from engine.analysis.frontier_run import frontier_summary

        return frontier_summary(self.run)

    def json(self) -> dict:
        """``critmin frontier --json``: the summary and the table."""
        return {**self.summary, "frontier": self.table.to_dict(orient="records")}

    def plot(self) -> Figure | None:
        from engine.figures.plots import frontier_figure

        loaded = self.run.loaded
        return frontier_figure(self.table, _names(loaded), loaded.scenario.dependence.country, scenario=loaded.name)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.frontier_run import write_frontier

        return write_frontier(self.run, Path(folder), force=force)


def frontier(scenario: ScenarioLike = None, *, points: int | None = None, minerals: Sequence[str] = (),
             caps: Sequence[float] | str | None = None, solver: str = "highs",
             progress: ProgressCallback | None = None) -> Frontier | MarketAnalysis:
    """The price of independence (``critmin frontier``); ``minerals``: codes, names or ``each``; ``points``
    default 11. A market scenario gives the frontier of its goal θ (``points`` default ``market_goal.points``;
    ``caps``: values of θ in percent), with prices and certificate prices per point.

    >>> f = frontier("baseline", points=3)
    >>> len(f.table), float(f.table["premium_usd"].iloc[0])
    (3, 0.0)
    """
    from engine.analysis.frontier_run import parse_caps, run_frontier

    loaded = load(scenario)
    parsed = parse_caps(caps) if isinstance(caps, str) or caps is None else [float(c) for c in caps]
    if _is_market(loaded):
        from engine.analysis.market_frontier import market_frontier

        _market_options(solver=solver, minerals=minerals)
        return MarketAnalysis(market_frontier(loaded, points=points, caps=parsed, progress=progress), "frontier")
    points = 11 if points is None else points
    chosen = [m if m == "each" else mineral_codes(loaded, [m], "minerals")[0] for m in minerals]
    return Frontier(run_frontier(loaded, points=points, minerals=chosen, caps=parsed, solver=solver,
                                 progress=progress))


def _market_options(solver: str = "highs", minerals: Sequence[str] = ()) -> None:
    """Options market mode does not take, refused in one line: another solver (the equilibrium is solved by HiGHS
    in-process), a frontier per mineral (the goal caps every mineral at once)."""
    from engine.errors import InputError

    if solver != "highs":
        raise InputError(f"--solver {solver}: market mode is solved by HiGHS in-process only; leave --solver out")
    if minerals:
        raise InputError("--mineral: market mode's goal caps the China share of every mineral at once; a frontier "
                         "per mineral is not built yet")


@dataclass
class Explained:
    """``critmin explain``: why demand goes unmet, mineral-year by mineral-year (no figure: read ``text`` or
    ``years``)."""

    result: Explanation

    status = property(lambda self: self.result.status)

    @property
    def years(self) -> pd.DataFrame:
        """One row per mineral-year explained: demand, shortfall, capacity, exportable, eligible, shortage."""
        import pandas as pd

        return pd.DataFrame([{"mineral": s.mineral, "year": s.year, "demand_t": s.demand_t,
                              "shortfall_t": s.shortfall_t, "capacity_t": s.capacity_t,
                              "exportable_t": s.exportable_t, "eligible_t": s.eligible_t,
                              "jv_online_tpy": s.jv_online_tpy, "shortage_t": s.shortage_t}
                             for s in self.result.stories],
                            columns=["mineral", "year", "demand_t", "shortfall_t", "capacity_t", "exportable_t",
                                     "eligible_t", "jv_online_tpy", "shortage_t"])

    @property
    def relaxations(self) -> pd.DataFrame:
        """The smallest relaxations that restore supply: mineral, year, policy, what, tonnes."""
        import pandas as pd

        return pd.DataFrame([{"mineral": s.mineral, "year": s.year, "policy": p, "what": w, "tonnes": t}
                             for s in self.result.stories for p, w, t in s.relaxations],
                            columns=["mineral", "year", "policy", "what", "tonnes"])

    @property
    def summary(self) -> dict:
        """``critmin explain --json``."""
        from engine.outputs.files import stamped

        r = self.result
        stories = []
        for s in r.stories:
            story = {k: v for k, v in s.__dict__.items() if k not in ("removed", "supply_after", "relaxations")}
            story["mineral_name"] = r.names.get(s.mineral, s.mineral)
            story["removed_by_policy"] = [{"policy": p, "countries": c, "tonnes": t} for p, c, t in s.removed]
            story["supply_after"] = [{"step": step, "max_supply_t": t} for step, t in s.supply_after]
            story["relaxations"] = [{"policy": p, "what": w, "tonnes": t} for p, w, t in s.relaxations]
            stories.append(story)
        return stamped({"scenario": r.scenario, "status": r.status, "message": r.message, "explained": stories,
                        "conflicting_rows": list(r.iis)})

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.explain import render

        return render(self.result)


@dataclass
class MarketExplained:
    """``critmin explain`` of a market scenario: per mineral-year of the buyer region, its price and what sets it,
    where its tonnes come from and why not from cheaper plants, the policies at work and the goal's certificate
    price (``engine.analysis.market_explain``; every figure as ``critmin solve`` writes it)."""

    result: MarketExplanation
    folder: Any = None  # the dataset folder (country and option names)

    status = property(lambda self: "optimal")

    @property
    def years(self) -> pd.DataFrame:
        """One row per mineral-year explained: price, its interval and what sets each end, consumption."""
        import pandas as pd

        return pd.DataFrame([{"mineral": s.mineral, "year": s.year, "region": s.region, "price_usd_per_t":
                              s.price_usd_per_t, "price_low_usd_per_t": s.low.value, "price_high_usd_per_t":
                              s.high.value, "low_set_by": s.low.set_by, "high_set_by": s.high.set_by,
                              "price_at": s.set_by, "set_by": s.setter, "consumed_t": s.consumed_t,
                              "reference_t": s.reference_t, "unconsumed_t": s.unconsumed_t}
                             for s in self.result.stories])

    @property
    def sources(self) -> pd.DataFrame:
        """The buyer region's deliveries per mineral-year and plant (tonnes, location, owner, attribution, cost)."""
        import pandas as pd

        return pd.DataFrame([{"mineral": s.mineral, "year": s.year, "source_id": r.source_id, "location": r.location,
                              "owner": r.owner, "attribution": r.attribution, "tonnes": r.tonnes,
                              "delivered_cost_usd_per_t": r.delivered, "certificate_usd_per_t": r.certificate,
                              "rent_usd_per_t": r.rent}
                             for s in self.result.stories for r in s.sources])

    @property
    def summary(self) -> dict:
        """``critmin explain --json``."""
        from engine.analysis.market_explain import market_explanation_json
        from engine.outputs.files import stamped

        return stamped({"status": self.status, **market_explanation_json(self.result)})

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.market_explain import render_market

        return render_market(self.result, self.folder)


def explain(scenario: ScenarioLike = None, *, minerals: Sequence[str] = (), years: Sequence[int] = (),
            solver: str = "highs", progress: ProgressCallback | None = None) -> Explained | MarketExplained:
    """Why demand goes unmet (``critmin explain``); ``minerals`` as codes or names. A market scenario: why the
    buyer region pays its price and buys where it buys (``MarketExplained``; by default the first year, every
    mineral)."""
    from engine.analysis.explain import explain as explain_scenario
    from engine.inputs.selection import check_years

    loaded = load(scenario)
    for year in years:
        check_years("years", year, loaded)
    codes = mineral_codes(loaded, minerals, "minerals")
    if _is_market(loaded):
        from engine.analysis.market_explain import explain_market

        _market_options(solver=solver)
        explained = MarketExplained(explain_market(loaded, minerals=codes, years=list(years)), loaded.dataset.folder)
        if progress is not None:
            progress(1, 1)
        return explained
    return Explained(explain_scenario(loaded, solver=solver, minerals=codes, years=list(years), progress=progress))


@dataclass
class Stress:
    """``critmin stress``: N-1 and named shocks against the base plan."""

    result: StressResult

    status = property(lambda self: self.result.status)
    table = property(lambda self: self.result.table, doc="stress.csv: one row per shock, worst first.")

    @property
    def summary(self) -> dict:
        from engine.analysis.stress_run import stress_summary

        return stress_summary(self.result)

    def json(self) -> dict:
        """``critmin stress --json``: the summary and every shock."""
        return {**self.summary, "shocks": self.table.to_dict(orient="records")}

    @property
    def text(self) -> str:
        from engine.analysis.stress_run import render_stress

        return render_stress(self.result)

    def plot(self) -> Figure | None:
        from engine.figures.analysis_plots import stress_figure
        from engine.figures.labels import Names

        return stress_figure(self.table, Names(), self.result.scenario)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.stress_run import write_stress

        return write_stress(self.result, Path(folder), force=force)


def stress(scenario: ScenarioLike = None, *, named_only: bool = False, solver: str = "highs",
           progress: ProgressCallback | None = None) -> Stress | MarketAnalysis:
    """N-1 and named supply shocks against the base plan (``critmin stress``); in market mode against the base
    equilibrium, each re-solved in the market (``engine.analysis.market_stress``)."""
    from engine.analysis.stress import stress as stress_scenario
    from engine.inputs.selection import check_named_shocks

    loaded = load(scenario)
    if named_only:
        check_named_shocks("named_only", loaded)
    if _is_market(loaded):
        from engine.analysis.market_stress import market_stress

        _market_options(solver=solver)
        return MarketAnalysis(market_stress(loaded, include_n_minus_one=not named_only, progress=progress),
                              "stress")
    return Stress(stress_scenario(loaded, solver=solver, include_n_minus_one=not named_only, progress=progress))


@dataclass
class Sweep:
    """``critmin sweep``: Monte Carlo over the scenario's uncertainty (its folder is written as it runs)."""

    run: SweepRun

    samples = property(lambda self: self.run.table, doc="samples.csv: one row per sample.")
    interrupted = property(lambda self: self.run.interrupted)

    @property
    def percentiles(self) -> pd.DataFrame:
        """percentiles.csv: P5, P50, P95 and mean of every metric."""
        from engine.analysis.sweep import percentiles

        return percentiles(self.run.table)

    @property
    def summary(self) -> dict:
        """The sweep folder's ``summary.json`` (``critmin sweep --json``)."""
        import json

        return json.loads((self.run.folder / "summary.json").read_text(encoding="utf-8"))

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.sweep_report import render_sweep

        return render_sweep(self.run)

    def plot(self) -> Figure | None:
        from engine.figures.analysis_plots import sweep_figure

        loaded = self.run.loaded
        if _is_market(loaded):
            return None  # the percentiles are the result (percentiles.csv)
        minerals = list(loaded.scenario.minerals or loaded.dataset.minerals["mineral"])
        return sweep_figure(self.samples, minerals, _names(loaded))


def sweep(scenario: ScenarioLike = None, folder: Path | str | None = None, *, samples: int = 100, seed: int = 1,
          workers: int = 1, scheduler: str | None = None, solver: str = "highs", resume: bool = False,
          force: bool = False, progress: ProgressCallback | None = None) -> Sweep:
    """Monte Carlo over the scenario's uncertainty (``critmin sweep``), written to ``folder`` (default
    ``results/<scenario>-sweep``) as it runs, so an interrupted sweep resumes with ``resume=True``."""
    from engine.analysis.sweep import check_folder, check_runner, run_sweep

    loaded = load(scenario)
    target = Path(folder) if folder is not None else Path("results") / f"{loaded.name}-sweep"
    if _is_market(loaded):
        _market_options(solver=solver)
    check_runner(solver, scheduler)
    check_folder(target, loaded, samples, seed, resume, force)
    return Sweep(run_sweep(loaded, target, samples=samples, seed=seed, workers=workers, scheduler=scheduler,
                           solver=solver, resume=resume, force=force, progress=progress))


@dataclass
class Robust:
    """``critmin robust``: the two-stage stochastic plan against the deterministic one."""

    result: RobustResult

    status = property(lambda self: self.result.status)
    builds = property(lambda self: self.result.builds, doc="builds.csv: the robust plan's first stage.")
    deterministic_builds = property(lambda self: self.result.deterministic_builds)

    @property
    def evaluation(self) -> pd.DataFrame:
        """evaluation.csv: each plan tested on fresh scenarios."""
        from engine.analysis.robust_run import comparison

        return comparison(self.result)

    @property
    def summary(self) -> dict:
        from engine.analysis.robust_run import robust_summary

        return robust_summary(self.result)

    def json(self) -> dict:
        """``critmin robust --json``: the summary and the evaluation table."""
        return {**self.summary, "evaluation": self.evaluation.to_dict(orient="records")}

    @property
    def text(self) -> str:
        from engine.analysis.robust_run import render_robust

        return render_robust(self.result)

    def plot(self, minerals: Sequence[str] | None = None) -> Figure | None:
        from engine.figures.analysis_plots import robust_figure
        from engine.figures.labels import Names

        both = [f for f in (self.builds, self.deterministic_builds) if len(f) and "mineral" in f]
        chosen = list(minerals) if minerals else sorted({m for f in both for m in f["mineral"]})
        return robust_figure(self.builds, self.deterministic_builds, chosen, Names())

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.robust_run import write_robust

        return write_robust(self.result, Path(folder), force=force)


def robust(scenario: ScenarioLike = None, *, scenarios: int | None = None, evaluation: int | None = None,
           risk: str | None = None, alpha: float | None = None, seed: int | None = None,
           solver: str = "highs", progress: ProgressCallback | None = None) -> Robust:
    """The two-stage stochastic plan (``critmin robust``); the keywords override the scenario's ``robust:``."""
    from engine.analysis.robust import robust as robust_plan

    loaded = load(scenario)
    refuse_in_market("robust", loaded)
    changes = {k: v for k, v in {"scenarios": scenarios, "evaluation": evaluation, "risk": risk, "alpha": alpha,
                                 "seed": seed}.items() if v is not None}
    if changes:
        loaded = override(loaded, robust={**loaded.scenario.robust.model_dump(mode="json"), **changes})
    return Robust(robust_plan(loaded, solver=solver, progress=progress))


@dataclass
class WorstCase:
    """``critmin worstcase``: the min-max plan against k restriction moves."""

    result: WorstCaseResult

    status = property(lambda self: self.result.status)
    regret = property(lambda self: self.result.regret, doc="regret.csv")
    moves = property(lambda self: self.result.move_damage, doc="moves.csv: the moves that hurt most.")

    @property
    def table(self) -> pd.DataFrame:
        """worstcase.csv: one row per k."""
        from engine.analysis.worstcase_run import headline

        return headline(self.result)

    @property
    def summary(self) -> dict:
        from engine.analysis.worstcase_run import summary

        return summary(self.result)

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.worstcase_run import render_worstcase

        return render_worstcase(self.result)

    def plot(self) -> Figure | None:
        from engine.figures.analysis_plots import worstcase_figure

        return worstcase_figure(self.table, self.result.country_name, self.result.scenario)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.worstcase_run import write_worstcase

        return write_worstcase(self.result, Path(folder), force=force)


def worstcase(scenario: ScenarioLike = None, *, k: int | None = None, country: str | None = None,
              by: Sequence[str] | str | None = None, share: float | None = None, start_years: str | None = None,
              owner_threshold: float | None = None, cut_jv_output: bool | None = None,
              minerals: Sequence[str] = (), method: str = "auto", solver: str = "highs",
              progress: Callable[[str], None] | None = None) -> WorstCase:
    """The plan that minimises the worst case over k restriction moves (``critmin worstcase``); ``minerals``
    (codes or names) the country may restrict, default every modelled one."""
    from engine.analysis.worstcase import settings_with
    from engine.analysis.worstcase import worstcase as solve_worstcase
    from engine.inputs.scenario import with_overrides

    loaded = load(scenario)
    refuse_in_market("worstcase", loaded)
    if isinstance(by, str):
        by = [b.strip() for b in by.split(",")]
    settings = settings_with(loaded, {}, k=k, country=country, share=share, owner_threshold=owner_threshold,
                             cut_jv_output=cut_jv_output, start_years=start_years,
                             minerals=list(minerals) if minerals else None,
                             by=None if by is None else list(by))
    loaded = with_overrides(loaded, worstcase=settings)
    return WorstCase(solve_worstcase(loaded, solver=solver, method=method, progress=progress))


@dataclass
class Comparison:
    """``critmin compare``: runs side by side."""

    result: _Comparison

    table = property(lambda self: self.result.table, doc="The comparison table (one row per metric).")

    @property
    def summary(self) -> dict:
        """``critmin compare --json``."""
        from engine.analysis.compare import comparison_json
        from engine.outputs.files import stamped

        return stamped(comparison_json(self.result))

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.compare import render_comparison

        return render_comparison(self.result)

    def plot(self) -> Figure | None:
        from engine.figures.analysis_plots import compare_figure
        from engine.figures.labels import Names

        runs = self.result.runs
        minerals = list(dict.fromkeys(m for r in runs if r.ok for m in r.summary["scenario"]["minerals"]))
        return compare_figure([(r.label, r.summary) for r in runs], minerals, Names())

    def write_csv(self, path: Path | str, force: bool = False) -> Path:
        from engine.analysis.compare import check_csv_target, write_comparison_csv

        check_csv_target(Path(path), force)
        return write_comparison_csv(self.result, Path(path), force=force)


def compare_runs(runs: Sequence[str | Path], *, top: int = 5, solver: str = "highs",
                 budget: str = "hold") -> Comparison | MarketComparisonResult:
    """Results folders or scenarios side by side (``critmin compare``); scenarios are solved, nothing written, at the
    first run's budget in USD (``budget="hold"``) or each at its own (``"own"``). (Not ``compare``:
    ``engine.analysis.compare`` is the module that does the work.)"""
    from engine.analysis.compare import compare as compare_runs
    from engine.analysis.market_compare import check_modes, compare_market

    arguments = [str(r) for r in runs]
    if len(arguments) >= 2 and check_modes(arguments):
        _market_options(solver=solver)
        return MarketComparisonResult(compare_market(arguments))
    return Comparison(compare_runs(arguments, top=top, solver=solver, budget=budget))


@dataclass
class MarketComparisonResult:
    """``critmin compare`` of market runs: the side-by-side table (the single-buyer comparison's shape)."""

    result: Any  # engine.analysis.market_compare.MarketComparison

    table = property(lambda self: self.result.table, doc="The comparison table (one row per figure).")

    @property
    def summary(self) -> dict:
        from engine.analysis.market_compare import market_comparison_json
        from engine.outputs.files import stamped

        return stamped(market_comparison_json(self.result))

    json = lambda self: self.summary  # noqa: E731

    @property
    def text(self) -> str:
        from engine.analysis.market_compare import render_market_comparison

        return render_market_comparison(self.result)

    def plot(self) -> Figure | None:
        return None

    def write_csv(self, path: Path | str, force: bool = False) -> Path:
        from engine.analysis.compare import check_csv_target, write_comparison_csv

        check_csv_target(Path(path), force)
        return write_comparison_csv(self.result, Path(path), force=force)


def make_report(results: Path | str, formats: str | Sequence[str] = ("md", "html"), *,
                out: Path | str | None = None, force: bool = False) -> Path:
    """A results folder of any command as a report (``critmin report``); returns the report folder. (Not
    ``report``: ``engine.report`` is the package that draws it.)"""
    from engine.report.build import build_report

    return build_report(Path(results), formats, out=None if out is None else Path(out), force=force)


# ---------------------------------------------------------------------------------------------- what-ifs
class Session:
    """A scenario loaded on a solver once, for fast what-ifs: change a budget, a demand, a source's exportable
    capacity or a policy's limit, and re-solve on the loaded model (no rebuild, no hand-over to the solver). Each
    change is validated as a scenario file is, and a re-solve gives the plan a cold ``solve`` of the changed
    scenario gives (``scenario`` holds it). Several plans can tie on every objective, and which one a solver ends
    on depends on where it starts: so the solver forgets its basis between solves, and a change of objective
    coefficients (a demand, a tariff, a cost) loads the model afresh.

    >>> s = Session("baseline")
    >>> base = s.solve()
    >>> exposure = lambda plan: plan.summary["dependence"]["exposure"]["overall_pct"]
    >>> exposure(s.set_budget("+5%").solve()) <= exposure(base)
    True
    >>> s.set_demand("lithium", 1.2).set_exportable("CHN", 0.5).set_policy("section_301", ad_valorem=0.5)
    Session('baseline', 4 changes)
    """

    def __init__(self, scenario: ScenarioLike = None, *, solver: str = "highs") -> None:
        self.scenario: LoadedScenario = load(scenario)  # the scenario as changed so far
        self.solver = solver
        self.warm = False  # whether the last solve re-used the loaded model (else it was loaded afresh)
        self._changes = 0
        self._plan_session: Any = None

    def __repr__(self) -> str:
        return f"Session({self.scenario.name!r}, {self._changes} change{'s' if self._changes != 1 else ''})"

    # what-ifs: each returns the session, so they chain
    def change(self, **overrides: Any) -> Session:
        """Replace top-level scenario keys (validated), e.g. ``change(objective={"minimise": "cost"})``."""
        self.scenario = override(self.scenario, **overrides)
        self._changes += 1
        return self

    def set_budget(self, budget: str | float) -> Session:
        """The budget: a premium over the least-cost plan (``"+5%"``) or USD (present value)."""
        return self.change(objective={**self.scenario.scenario.objective.model_dump(mode="json"), "budget": budget})

    def set_demand(self, mineral: str, scale: float) -> Session:
        """Scale a mineral's demand (code or name) in every year, on top of the scenario's own scaling."""
        code = mineral_codes(self.scenario, [mineral], "mineral")[0]
        data = self.scenario.scenario.data.model_dump(mode="json", exclude_none=True)
        data["demand_scale"] = {**data.get("demand_scale", {}), code: scale}
        return self.change(data=data)

    def set_exportable(self, where: str, share: float) -> Session:
        """The share of a country's (or a source id's) capacity the buyer may buy: a column bound."""
        data = self.scenario.scenario.data.model_dump(mode="json", exclude_none=True)
        data["exportable_share"] = {**data.get("exportable_share", {}), where: share}
        return self.change(data=data)

    def set_policy(self, name: str, **fields: Any) -> Session:
        """Change fields of a policy by name, e.g. a cap's ``max_share`` or a tariff's ``ad_valorem``."""
        from engine.errors import InputError, did_you_mean

        policies = [p.model_dump(mode="json", exclude_none=True) for p in self.scenario.scenario.policies]
        names = [p["name"] for p in policies]
        if name not in names:
            raise InputError(f"policy '{name}' is not in scenario '{self.scenario.name}'{did_you_mean(name, names)};"
                             f" its policies: {', '.join(names) or 'none'}")
        policies[names.index(name)].update(fields)
        return self.change(policies=policies)

    def solve(self, time_limit: float | None = None) -> Solution:
        """Solve the scenario as changed: on the loaded model when only bounds changed (a budget, an exportable
        share, a quota), else from a fresh load (``warm`` says which)."""
        import numpy as np

        from engine.formulation import build_model
        from engine.plan.hierarchy import PlanSession, objectives
        from engine.run import finish_run
        from engine.solvers import SolverOptions, make_backend

        started = time.perf_counter()
        model = build_model(self.scenario)
        self.warm = False
        if self._plan_session is not None and any(
                not np.array_equal(vector, self._plan_session.objectives[name])
                for name, vector in objectives(model).items()):
            self._plan_session = None  # new objective coefficients (a cost, a tariff): load afresh, as solve does
        if self._plan_session is not None:
            try:
                self._plan_session.update(model)
                self.warm = True
                self._plan_session.backend.reset_basis()  # a cold start: the plan a cold solve finds
            except ValueError:  # another structure or matrix: load it afresh
                self._plan_session = None
        if self._plan_session is None:
            backend = make_backend(self.solver, SolverOptions(time_limit=time_limit))
            self._plan_session = PlanSession(model, backend)
        plan = self._plan_session.solve(time_limit)
        return Solution(finish_run(self.scenario, model, self._plan_session, plan,
                                   {"solve_s": time.perf_counter() - started}, started))


__all__ = ["Comparison", "Explained", "Frontier", "MarketAnalysis", "MarketComparisonResult", "MarketPlan",
           "Robust", "Session", "Solution", "Stress", "Sweep", "WorstCase", "compare_runs", "explain", "frontier",
           "load", "make_report", "market_solve", "mineral_codes", "override", "robust", "solve", "stress", "sweep",
           "worstcase"]


@dataclass
class Sensitivity:
    """``critmin sensitivity``: one assumption at a time at its low and high value, ranked (a tornado)."""

    result: Any  # engine.analysis.sensitivity.SensitivityResult
    top: int = 15  # assumptions printed by ``text``

    status = property(lambda self: self.result.status)
    table = property(lambda self: self.result.table, doc="sensitivity.csv: one row per assumption, ranked.")

    @property
    def summary(self) -> dict:
        from engine.analysis.sensitivity_run import summary

        return summary(self.result)

    def json(self) -> dict:
        """``critmin sensitivity --json``: the summary, every assumption ranked."""
        return self.summary

    @property
    def text(self) -> str:
        from engine.analysis.sensitivity_run import render_sensitivity

        return render_sensitivity(self.result, self.top)

    def plot(self) -> Figure | None:
        from engine.analysis.sensitivity_run import sensitivity_plot

        return sensitivity_plot(self.result)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.sensitivity_run import write_sensitivity

        return write_sensitivity(self.result, Path(folder), force=force)


def sensitivity(scenario: ScenarioLike = None, *, step: float = 0.2, top: int = 15, budget: str = "hold",
                solver: str = "highs", progress: ProgressCallback | None = None) -> Sensitivity | MarketAnalysis:
    """Each assumption family at its low and high value, re-solved (``critmin sensitivity``); ``budget="hold"``
    plans every variant at the base plan's budget in USD, ``"own"`` each at its own budget rule::

        tornado = cm.sensitivity("baseline")
        tornado.table.head()
    """
    from engine.analysis.sensitivity import sensitivity as run_sensitivity

    if budget not in ("hold", "own"):
        from engine.errors import InputError

        raise InputError(f"budget={budget!r}: expected 'hold' (the base plan's budget in USD) or 'own'")
    loaded = load(scenario)
    if _is_market(loaded):
        from engine.analysis.market_sensitivity import market_sensitivity

        _market_options(solver=solver)
        result = market_sensitivity(loaded, step=step, budget=budget, progress=progress)
        result.top = top
        return MarketAnalysis(result, "sensitivity")
    return Sensitivity(run_sensitivity(loaded, solver=solver, step=step, budget=budget, progress=progress),
                       top)


@dataclass
class Calibration:
    """``critmin calibrate``: exportable-share moves that reproduce observed imports, and the overlay."""

    result: Any  # engine.analysis.calibrate.CalibrationResult

    status = property(lambda self: self.result.status)
    moves = property(lambda self: self.result.moves, doc="calibration.csv: each exportable-share move.")

    @property
    def backcast(self) -> pd.DataFrame:
        """backcast.csv: the distance to observed imports per mineral, before and after."""
        from engine.analysis.calibrate_run import backcast_table

        return backcast_table(self.result)

    @property
    def summary(self) -> dict:
        from engine.analysis.calibrate_run import summary

        return summary(self.result)

    def json(self) -> dict:
        """``critmin calibrate --json``: the summary with the backcast and the moves."""
        return self.summary

    @property
    def text(self) -> str:
        from engine.analysis.calibrate_run import render_calibration

        return render_calibration(self.result)

    def write(self, folder: Path | str, force: bool = False) -> Path:
        from engine.analysis.calibrate_run import write_calibration

        return write_calibration(self.result, Path(folder), force=force)


def calibrate(scenario: ScenarioLike = None, *, tolerance_pp: float = 5.0, rounds: int = 6,
              solver: str = "highs", margin: float | None = None) -> Any:
    """The smallest exportable-share moves that make the least-cost plan reproduce observed imports
    (``critmin calibrate``)::

        fit = cm.calibrate("baseline")
        fit.moves

    On a market scenario, increasing route costs that make the equilibrium reproduce them, before and after
    (``engine.analysis.market_calibrate``; ``margin``: the steps' distance from each add-on as a share of the
    reference price, default 0.01); it returns a ``MarketCalibrationReport`` (``.text``, ``.tables()``,
    ``.summary``, ``.write``)."""
    from engine.analysis.calibrate import calibrate as run_calibration
    from engine.errors import InputError

    loaded = load(scenario)
    if loaded.scenario.market != "none":
        from engine.analysis.market_calibrate import DEFAULT_MARGIN, calibrate_market
        from engine.analysis.market_calibrate_run import market_calibration_report

        return market_calibration_report(calibrate_market(loaded, margin=DEFAULT_MARGIN if margin is None
                                                          else margin), solver)
    if margin is not None:
        raise InputError("margin: applies to a market scenario only (market: equilibrium)")
    if loaded.dataset.tables["observed_trade"].empty:
        raise InputError(f"{loaded.dataset.folder / 'observed_trade.csv'}: no observed import shares to calibrate "
                         f"to (expected rows of mineral, period, origin, share, measure, form)")
    return Calibration(run_calibration(loaded, solver=solver, tolerance_pp=tolerance_pp, rounds=rounds))
