"""The report of a market-mode folder: a ``critmin solve`` of a market scenario (prices, welfare, flows, the goal's
certificates, who pays, its frontier and the backcast) and the market analyses (frontier, stress, sweep,
sensitivity), in the :class:`~engine.report.content.Report` shape, so Markdown, HTML and the workbook render them
unchanged. Every figure is read from the folder's tables and ``summary.json``, as written: nothing is recomputed.
"""

from __future__ import annotations

import math

import pandas as pd

from engine.figures.labels import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.read_folder import ResultsFolder
from engine.report.analyses import _num
from engine.report.content import Report, Section, Table, _plot

DOMINATED = ("ga", "ge")
TOP_ROWS = 25


def _signed_usd(v: float) -> str:
    text = usd(abs(v))
    return text if text == "USD 0" else ("+" if v > 0 else "-") + text


def _price(v: float) -> str:
    return f"{v:,.0f}"


def _change(v: float) -> str:
    return f"{v:+.2f}%"


def _names(folder: ResultsFolder) -> Names:
    inputs = folder.inputs if folder.kind == "market" else folder.summary.get("inputs")
    return Names(inputs if isinstance(inputs, str) else None)


# ----------------------------------------------------------------------------------------------- a solve
def headline(folder: ResultsFolder, names: Names) -> list[tuple[str, str]]:
    s = folder.summary
    description = str(folder.scenario.get("description") or "").strip()
    buyer = s.get("buyer_region", "USA")
    items = [("Scenario", folder.name + (f" — {description}" if description else "")),
             ("Status", f"Solved to optimality by {s.get('solver', 'HiGHS')}: market mode, the spatial price "
                        f"equilibrium of {', '.join(s.get('regions', []))} (total surplus maximised); buyer region "
                        f"{buyer}."),
             ("Money", str(s.get("money", "")) + ".")]
    b = s.get("buyer") or {}
    if b:
        items.append((f"{buyer} exposure to China",
                      f"{pct(b.get('exposure_pct'))} of its reference demand (China-attributed tonnes plus reference "
                      f"tonnes it does not consume, the mean over mineral-years); share of supply "
                      f"{pct(b.get('share_of_supply_mean_pct'))}; it consumes {tonnes(b.get('consumption_t', 0.0))} t "
                      f"over the horizon and leaves {tonnes(b.get('unconsumed_t', 0.0))} reference tonnes "
                      f"unconsumed."))
    goal = s.get("goal")
    if goal:
        spend = goal.get("buyer_spend_uncapped_pv_usd") or 0.0
        change = goal.get("buyer_welfare_change_pv_usd") or 0.0
        items.append(("Goal", f"China share of {buyer}'s supply at most {goal['share_of_supply_max']:.1%} in every "
                              f"mineral-year; binding in {goal.get('binding_mineral_years')} mineral-years. {buyer}'s "
                              f"welfare changes by {_signed_usd(change)} against the uncapped equilibrium"
                              + (f" ({-change / spend:.2%} of its uncapped spend, {usd(spend)})." if spend else ".")))
    else:
        items.append(("Goal", "None (market_goal unset): the market's own equilibrium."))
    return items


def prices_section(folder: ResultsFolder, names: Names) -> Section:
    from engine.analysis.market_plots import prices_figure

    s = folder.summary
    first = (s.get("prices_first_year") or {})
    by = first.get("by_mineral_usd_per_t") or {}
    regions = list(s.get("regions", []))
    rows = [[name.capitalize(), _price(v.get("reference_price_usd_per_t", float("nan"))),
             *[_num(v.get(r), _price) for r in regions]] for name, v in by.items()]
    table = Table(["Mineral", "Reference", *regions], rows, ["l"] + ["r"] * (len(regions) + 1),
                  title=f"Market prices {first.get('year', '')}, USD/t",
                  note="The dual of each region's balance row in that year's money; prices.csv gives the interval "
                       "each price holds over and what sets each end. Reference: minerals.csv (USGS).")
    paragraphs = []
    prices = folder.table("prices")
    if prices is not None and set(DOMINATED) & set(prices["mineral"]):
        paragraphs.append("A competitive equilibrium understates prices where one seller dominates (gallium, "
                          "germanium: China holds most capacity and can price above cost).")
    plots = []
    if prices is not None:
        minerals = sorted(prices["mineral"].unique())
        p = _plot("market_prices", "Prices by year", "Each mineral's price per region and year (USD/t in that "
                  "year's money); China red, the buyer region bold.",
                  prices_figure(prices, minerals, names.Mineral, s.get("buyer_region", "USA")))
        plots = [p] if p else []
    return Section("Prices", paragraphs, [table], plots)


def welfare_section(folder: ResultsFolder) -> Section:
    welfare = folder.summary.get("welfare") or {}
    rows = [[r, usd(w.get("consumer_surplus_pv_usd")), usd(w.get("producer_surplus_pv_usd")),
             usd(w.get("government_revenue_pv_usd")), usd(w.get("welfare_pv_usd"))] for r, w in welfare.items()]
    return Section("Welfare", ["Consumer surplus on each region's demand curve, producer surplus of the capacity its "
                               "countries own by equity, government revenue (tariffs and the goal's certificates). "
                               "Consumer surplus is large in level (the first step of each curve is valued at ten "
                               "times the reference price): compare changes, not levels."],
                   [Table(["Region", "Consumer", "Producer", "Government", "Welfare"], rows, ["l", "r", "r", "r", "r"],
                          title="Welfare by region, USD present value")])


def flows_section(folder: ResultsFolder, names: Names) -> Section:
    s = folder.summary
    imports = s.get("buyer_imports_first_year") or {}
    buyer = s.get("buyer_region", "USA")
    rows = [[mineral.capitalize(), "; ".join(f"{names.country(o)} {tonnes(v['tonnes_t'])} t ({v['share']:.0%})"
                                             for o, v in origins.items())]
            for mineral, origins in (imports.get("by_mineral") or {}).items()]
    tables = [Table(["Mineral", "Origins (t, share of the mineral's deliveries)"], rows, ["l", "l"],
                    title=f"{buyer} deliveries {imports.get('year', '')} by origin")]
    flows = folder.table("market_flows")
    if flows is not None:
        first = flows[flows["year"] == flows["year"].min()]
        trade = first.groupby(["mineral", "home_region", "region"], as_index=False)["tonnes"].sum()
        regions = sorted(trade["region"].unique())
        pivot = trade.pivot_table(index=["mineral", "home_region"], columns="region", values="tonnes",
                                  aggfunc="sum", fill_value=0.0)
        rows = [[names.Mineral(m), h, *[tonnes(float(pivot.loc[(m, h)].get(r, 0.0))) for r in regions]]
                for m, h in pivot.index]
        tables.append(Table(["Mineral", "From (home region)", *[f"to {r}" for r in regions]], rows,
                            ["l", "l"] + ["r"] * len(regions),
                            title=f"Trade {int(first['year'].min())}, t (market_flows.csv)"))
    return Section("Flows", [], tables)


def who_pays_section(folder: ResultsFolder) -> Section:
    wp = folder.table("who_pays")
    if wp is None:
        return Section("Who pays", ["This scenario sets no goal (market_goal), so nobody pays for one: who pays "
                                    "compares every region's welfare without and with the buyer's goal. Solve a "
                                    "scenario with market_goal for it."])
    rows = [[str(r.region), usd(r.welfare_uncapped_pv_usd), usd(r.welfare_goal_pv_usd),
             _signed_usd(r.consumer_surplus_change_pv_usd), _signed_usd(r.producer_surplus_change_pv_usd),
             _signed_usd(r.government_revenue_change_pv_usd), _signed_usd(r.welfare_change_pv_usd),
             _change(r.price_change_pct)] for r in wp.itertuples(index=False)]
    goal = folder.summary.get("goal") or {}
    return Section("Who pays", [f"Every region's welfare without the goal (the uncapped equilibrium) and with it "
                                f"(theta {goal.get('share_of_supply_max', float('nan')):.3f}), the change of each "
                                f"part, and the change in the cost of its uncapped consumption at the goal's prices."],
                   [Table(["Region", "Welfare without the goal", "With the goal", "Consumer change",
                           "Producer change", "Government change", "Welfare change", "Price change"], rows,
                          ["l"] + ["r"] * 7, title="Who pays for the goal (USD present value)")])


def certificates_section(folder: ResultsFolder, names: Names) -> Section | None:
    c = folder.table("certificates")
    if c is None:
        return None
    rows = []
    for m, g in c.groupby("mineral", sort=True):
        bind = g[g["binding"].astype(bool)]
        if bind.empty:
            rows.append([names.Mineral(str(m)), "0", "slack in every year", "", ""])
            continue
        lo, hi = bind["certificate_price_usd_per_t"].min(), bind["certificate_price_usd_per_t"].max()
        theta = float(g["theta"].iloc[0])
        rows.append([names.Mineral(str(m)), str(len(bind)), f"{bind['year'].min()}-{bind['year'].max()}",
                     _price(lo) + (f"-{_price(hi)}" if hi > lo else ""),
                     _price(lo * (1 - theta)) + (f"-{_price(hi * (1 - theta))}" if hi > lo else "")])
    return Section("Certificates", ["The goal's dual as a certificate price: a charge of lambda(a - theta) per "
                                    "tonne delivered to the buyer region (lambda(1 - theta) on a China tonne, a credit "
                                    "of lambda*theta on others); 0 where the cap is slack. Per mineral-year in "
                                    "certificates.csv."],
                   [Table(["Mineral", "Binding years", "Years", "Certificate price (USD/t)",
                           "Charge on a China tonne (USD/t)"], rows, ["l", "r", "l", "r", "r"])])


def frontier_table(table: pd.DataFrame, buyer: str) -> Table:
    others = [c.removeprefix("welfare_change_").removesuffix("_pv_usd") for c in table.columns
              if c.startswith("welfare_change_") and c != f"welfare_change_{buyer}_pv_usd"]
    rows = []
    for r in table.to_dict("records"):
        mark = " (chosen)" if r.get("chosen") in (True, "True") else ""
        rows.append([f"{r['theta']:.3f}{mark}", pct(r["exposure_pct"]), pct(r["share_of_supply_mean_pct"]),
                     _signed_usd(r[f"welfare_change_{buyer}_pv_usd"]), _price(r["certificate_max_usd_per_t"]),
                     *[_signed_usd(r[f"welfare_change_{o}_pv_usd"]) for o in others]])
    return Table(["Theta", "Exposure", "Share of supply", f"Welfare change {buyer}", "Largest certificate (USD/t)",
                  *[f"Welfare change {o}" for o in others]], rows, ["l"] + ["r"] * (4 + len(others)),
                 title="The frontier of the goal", note="Welfare changes against the uncapped equilibrium, USD "
                 "present value; exposure: China-attributed plus unconsumed reference tonnes, % of the reference.")


def backcast_section(folder: ResultsFolder, names: Names) -> Section | None:
    b = folder.table("backcast")
    if b is None:
        return None
    rows = [[names.Mineral(str(r.mineral)), str(r.period), _num(r.distance_market_pp, lambda v: f"{v:.1f}"),
             _num(r.distance_least_cost_pp, lambda v: f"{v:.1f}"), str(r.closer)] for r in b.itertuples(index=False)]
    return Section("Backcast", ["The equilibrium's first-year US imports by origin against observed trade "
                                "(observed_trade.csv), beside the single-buyer least-cost plan's: half the L1 "
                                "distance between the share vectors, points (a lower bound where the source groups "
                                "origins as 'other')."],
                   [Table(["Mineral", "Observed", "Market", "Least cost", "Closer"], rows, ["l", "l", "r", "r", "l"])])


def market_solve_report(folder: ResultsFolder) -> Report:
    names = _names(folder)
    s = folder.summary
    sections = [prices_section(folder, names), welfare_section(folder), flows_section(folder, names),
                who_pays_section(folder)]
    for extra in (certificates_section(folder, names), backcast_section(folder, names)):
        if extra is not None:
            sections.append(extra)
    frontier = folder.table("frontier")
    if frontier is not None:
        sections.append(Section("Frontier of the goal", tables=[frontier_table(frontier, s.get("buyer_region",
                                                                                              "USA"))]))
    version = (s.get("versions") or {}).get("critmin-engine", "")
    footer = f"Generated by critmin {version} from {folder.path}."
    return Report(f"critmin report: scenario '{folder.name}' (market mode)", "", headline(folder, names), sections,
                  [str(n) for n in folder.notes], footer)


# ----------------------------------------------------------------------------------------------- analyses
def _generic(frame: pd.DataFrame, names: Names, title: str) -> Table:
    """A table as written, codes in words, numbers formatted by their column's unit, the first ``TOP_ROWS`` rows."""
    from engine.report.exports import _unit_of, header

    shown = frame.head(TOP_ROWS)
    formats = {"usd": lambda v: f"{v:,.0f}", "pct": lambda v: f"{v:,.2f}", "t": tonnes, "share": lambda v: f"{v:.3f}",
               "year": lambda v: f"{v:.0f}"}
    rows = []
    for record in shown.to_dict("records"):
        cells = []
        for column, value in record.items():
            unit = _unit_of(column)
            if column == "mineral" and isinstance(value, str):
                cells.append(names.Mineral(value))
            elif unit in formats and not isinstance(value, str | bool):
                cells.append(_num(value, formats[unit]))
            else:
                cells.append("" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value))
        rows.append(cells)
    align = ["r" if _unit_of(c) in formats else "l" for c in shown.columns]
    more = f" (the first {TOP_ROWS} of {len(frame)})" if len(frame) > TOP_ROWS else ""
    return Table([header(c, names) for c in shown.columns], rows, align, title=title + more)


def market_analysis_report(folder: ResultsFolder) -> Report:
    """A market frontier, stress, sweep or sensitivity folder: its summary and tables."""

    names = _names(folder)
    s = folder.summary
    kind = folder.kind.removeprefix("market_")
    buyer = s.get("buyer_region", "USA")
    head = [("Scenario", folder.name), ("Mode", "market mode (spatial price equilibrium)")]
    if s.get("money"):
        head.append(("Money", str(s["money"])))
    for key, label in (("rule", "Goal"), ("budget", "Goal" if kind == "sweep" else "Budget")):
        if s.get(key):
            head.append((label, str(s[key])))
    sections = []
    shown: set[str] = set()
    if kind == "frontier" and folder.table("frontier") is not None:
        sections += frontier_sections(folder, names, buyer)
        shown |= {"frontier", "frontier_prices", "frontier_certificates"}
    if kind == "stress" and folder.table("stress") is not None:
        table = folder.table("stress")
        base = s.get("base") or {}
        head.append(("Base", f"{base.get('shocks', len(table))} shocks against the base equilibrium ({buyer} exposure "
                             f"{pct(base.get('buyer_exposure_pct'))}); each re-solved warm."))
        sections += stress_sections(folder, names, buyer, s.get("regions") or [])
        shown.add("stress")
    if kind == "sweep" and folder.table("percentiles") is not None:
        sections.append(sweep_section(folder, names, buyer))
        shown |= {"percentiles", "samples"}
    if kind == "sensitivity" and folder.table("sensitivity") is not None:
        sections.append(sensitivity_section(folder, names, buyer))
        shown.add("sensitivity")
    for name in folder.tables:
        if name not in shown:
            sections.append(Section(name.replace("_", " ").capitalize(),
                                    tables=[_generic(folder.tables[name], names, f"{name}.csv")]))
    version = (s.get("versions") or {}).get("critmin-engine", "")
    return Report(f"critmin report: market {kind}, scenario '{folder.name}'", "", head, sections,
                  [str(n) for n in folder.notes], f"Generated by critmin {version} from {folder.path}.")


def frontier_sections(folder: ResultsFolder, names: Names, buyer: str) -> list[Section]:
    """A market frontier folder: the points, the figure, the buyer's first-year price and the largest certificate
    price per mineral at each theta."""
    from engine.analysis import market_plots

    table = folder.table("frontier")
    regions = [c.removeprefix("price_change_").removesuffix("_pct") for c in table.columns
               if c.startswith("price_change_")]
    p = _plot("market_frontier", "Frontier of the goal", f"Left: {buyer}'s welfare change against its exposure, one "
              f"point per theta. Right: every region's price change against the uncapped equilibrium.",
              market_plots.frontier_figure(table, buyer, regions, folder.name))
    tables = [frontier_table(table, buyer)]
    prices = folder.table("frontier_prices")
    if prices is not None:
        first = prices[(prices["region"] == buyer) & (prices["year"] == prices["year"].min())]
        pivot = first.pivot_table(index="theta", columns="mineral", values="price_usd_per_t", sort=True)
        pivot = pivot.sort_index(ascending=False)
        tables.append(Table(["Theta", *[names.Mineral(str(m)) for m in pivot.columns]],
                            [[f"{t:.3f}", *[_price(v) for v in row]] for t, row in pivot.iterrows()],
                            ["l"] + ["r"] * len(pivot.columns),
                            title=f"{buyer} price in {int(first['year'].min())} at each theta, USD/t",
                            note="Every region, mineral and year in frontier_prices.csv."))
    certificates = folder.table("frontier_certificates")
    if certificates is not None:
        pivot = certificates.pivot_table(index="theta", columns="mineral", values="certificate_price_usd_per_t",
                                         aggfunc="max", sort=True).sort_index(ascending=False)
        tables.append(Table(["Theta", *[names.Mineral(str(m)) for m in pivot.columns]],
                            [[f"{t:.3f}", *[_price(v) for v in row]] for t, row in pivot.iterrows()],
                            ["l"] + ["r"] * len(pivot.columns),
                            title="Largest certificate price over the years at each theta, USD/t",
                            note="Every mineral-year in frontier_certificates.csv."))
    return [Section("Frontier of the goal", tables=tables, plots=[p] if p else [])]


def stress_sections(folder: ResultsFolder, names: Names, buyer: str, regions: list[str]) -> list[Section]:
    """A market stress folder: the worst shocks for the buyer, every region's price and welfare change."""
    from engine.analysis import market_plots

    table = folder.table("stress")
    others = [r for r in regions if r != buyer] or [c.removeprefix("price_change_").removesuffix("_pct")
                                                    for c in table.columns if c.startswith("price_change_")
                                                    and c != f"price_change_{buyer}_pct"]

    def label(row: dict) -> str:
        return names.shock(str(row["kind"]), str(row["country"]), str(row["minerals"]), str(row["shock"]))

    p = _plot("market_stress", "Worst shocks", f"{buyer}'s welfare change (left) and its price change in the shocked "
              f"minerals (right), worst first.", market_plots.stress_figure(table, buyer, label, folder.name))
    top = table.head(TOP_ROWS).to_dict("records")
    buyer_rows = [[str(r["rank"]), label(r), _signed_usd(r[f"welfare_change_{buyer}_pv_usd"]),
                   _change(r[f"price_change_{buyer}_pct"]), _num(r["consumption_change_t"], tonnes),
                   _num(r["exposure_change_pp"], lambda v: f"{v:+.1f} pp")] for r in top]
    more = f" (the first {TOP_ROWS} of {len(table)}; all in stress.csv)" if len(table) > TOP_ROWS else ""
    region_rows = [[str(r["rank"]), label(r),
                    *[_change(r.get(f"price_change_{o}_pct", float("nan"))) for o in others],
                    *[_signed_usd(r.get(f"welfare_change_{o}_pv_usd", 0.0)) for o in others]] for r in top]
    return [Section("Shocks", ["Each shock cuts the plants it hits for every region and is re-solved in the market; "
                               "every figure a change against the base equilibrium. Price: the cost of the region's "
                               "base consumption of the shocked minerals at the shocked prices."],
                    [Table(["#", "Shock", f"Welfare change {buyer}", f"Price change {buyer}",
                            f"Consumption change {buyer} (t)", "Exposure change"], buyer_rows,
                           ["r", "l", "r", "r", "r", "r"], title=f"Worst shocks for {buyer}{more}")],
                    [p] if p else []),
            Section("Every region", tables=[Table(["#", "Shock", *[f"Price {o}" for o in others],
                                                   *[f"Welfare {o}" for o in others]], region_rows,
                                                  ["r", "l"] + ["r"] * (2 * len(others)),
                                                  title="Price and welfare change of every other region")])]


def sweep_section(folder: ResultsFolder, names: Names, buyer: str) -> Section:
    """A market sweep: P5/P50/P95 of the rows its printout shows (every metric in percentiles.csv)."""
    from engine.analysis.market_sweep import percentile_rows

    stats = folder.table("percentiles").set_index("metric")
    samples = folder.table("samples")
    regions = sorted({c.split("_")[1] for c in stats.index if c.startswith("welfare_") and c.endswith("_pv_usd")
                      and c != "welfare_change_goal_pv_usd"})
    minerals = sorted({c.removeprefix("elasticity_") for c in (samples.columns if samples is not None else [])
                       if c.startswith("elasticity_")})
    formats = {"pct": pct, "t": tonnes, "usd": usd, "share": lambda v: f"{v:.3f}", "price": _price}
    rows = [[label, *[_num(stats.loc[metric, p], formats[unit]) for p in ("p5", "p50", "p95")]]
            for metric, label, unit in percentile_rows(stats, buyer, regions, minerals, names.mineral)]
    s = folder.summary
    return Section("Results over the samples", [f"{s.get('samples')} samples (seed {s.get('seed')}), "
                                                f"{s.get('optimal')} solved; each draws the scenario's uncertainty, "
                                                f"every curve's elasticity within its range and the trade cost "
                                                f"within its range, then solves the equilibrium."],
                   [Table(["Figure", "P5", "P50", "P95"], rows, ["l", "r", "r", "r"],
                          title="Percentiles over the samples", note="Every region's prices in percentiles.csv.")])


def sensitivity_section(folder: ResultsFolder, names: Names, buyer: str) -> Section:
    """A market sensitivity: the assumptions ranked, the buyer's welfare, price and exposure at each end."""
    table = folder.table("sensitivity")
    words = {"elasticity": names.mineral, "trade cost": names.mineral, "production cost": names.country}
    rows = [[str(r["rank"]), f"{r['family']}, {words.get(r['family'], str)(str(r['parameter']))}",
             str(r["setting_low"]), str(r["setting_high"]), _signed_usd(r["welfare_low_pv_usd"]),
             _signed_usd(r["welfare_high_pv_usd"]), _change(r["price_low_pct"]), _change(r["price_high_pct"]),
             f"{r['exposure_low_pp']:+.1f} / {r['exposure_high_pp']:+.1f} pp"]
            for r in table.head(TOP_ROWS).to_dict("records")]
    more = f" (the first {TOP_ROWS} of {len(table)})" if len(table) > TOP_ROWS else ""
    return Section("Assumptions ranked", ["Each market assumption alone at its low and high value, against the "
                                          "base; ranked by the swing in the buyer's welfare, then in its price. A "
                                          "region's own reference quantity and the elasticities change the demand "
                                          "curve itself, so they move consumer surplus in level."],
                   [Table(["#", "Assumption", "Low", "High", f"Welfare {buyer}, low", "high", "Price, low", "high",
                           "Exposure, low / high"], rows, ["r", "l", "l", "l", "r", "r", "r", "r", "r"],
                          title=f"Sensitivity{more}")])


def make_market_report(folder: ResultsFolder) -> Report:
    return market_solve_report(folder) if folder.kind == "market" else market_analysis_report(folder)


# ----------------------------------------------------------------------------------------------- compare
def make_market_comparison_report(comparison) -> Report:
    """``critmin compare --report`` of market runs: the side-by-side table by section, as the printout has it."""
    from engine.analysis.market_compare import SECTIONS, cell

    runs, table = comparison.runs, comparison.table
    head = [(r.label, ("solved here" if r.origin == "solved" else f"from {r.argument}")) for r in runs]
    head.append(("Goal", "Each run at its own goal (a cap theta, or its budget rule on its own frontier): no budget "
                         "is held across market runs."))
    sections = []
    for section, title in SECTIONS.items():
        part = table[table["section"] == section]
        if part.empty or part.iloc[:, 4:].isna().all().all():
            continue
        rows = [[f"{row.metric}" + (f" ({row.unit})" if row.unit else ""), *[cell(v, row.unit) for v in row[4:]]]
                for row in part.itertuples(index=False)]
        sections.append(Section(title, tables=[Table(["Figure", *comparison.labels], rows,
                                                     ["l"] + ["r"] * len(runs))]))
    return Report(f"critmin comparison of {len(runs)} market-mode runs", "", head, sections, [],
                  "Generated by critmin compare.")
