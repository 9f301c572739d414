"""The report's figures, each drawn from the tables of a results folder.

- sourcing: per mineral, tonnes per year by country where refined and by the owner's home country;
- dependence: per mineral, China exposure by year (attributed plus unmet tonnes, % of demand), optimised against
  least-cost;
- builds: the JV and licence build schedule (construction, then operation), one row per option;
- costs: present value by mineral and component, and spending per year by component;
- frontier: the cost premium against dependence for each target, and the marginal cost per percentage point.

Every function returns a matplotlib Figure (Agg backend) or None when the folder lacks the data it needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from engine.figures.labels import MODES, Names, component, mode
from engine.figures.style import (
    CHINA_RED,
    COMPONENT_COLOURS,
    LEAST_COST,
    MODE_COLOURS,
    OPTIMISED,
    OTHERS,
    UNMET,
    country_colour,
    new_figure,
    percent_formatter,
    styled,
    tonnes_formatter,
    usd_formatter,
    usd_scale,
)
from engine.outputs.display import usd

SMALL_SHARE = 0.015  # countries below this share of a mineral's supply over the horizon go into "Others"


def _mean_over_scen(frame: pd.DataFrame, keys: list[str], value: str) -> pd.Series:
    """Sum of ``value`` by ``keys``, averaged over disruption scenarios (equal weights)."""
    n_scen = max(int(frame["scen"].nunique()), 1) if "scen" in frame else 1
    return frame.groupby(keys)[value].sum() / n_scen


def _years(dependence: pd.DataFrame) -> list[int]:
    return sorted(int(y) for y in dependence["year"].unique())


# ---------------------------------------------------------------------------------------------- sourcing
def _stack_order(totals: pd.Series, buyer: str, china: str) -> list[str]:
    """China at the bottom, then the buyer, then the rest by size; rest of world last."""
    rest = [c for c in totals.sort_values(ascending=False, kind="stable").index if c not in (china, buyer, "ROW")]
    return [c for c in (china, buyer) if c in totals.index] + rest + (["ROW"] if "ROW" in totals.index else [])


def _sourcing_panel(ax: Axes, table: pd.DataFrame, years: list[int], order: list[str], unmet: pd.Series,
                    names: Names, title: str, unit: str) -> None:
    bottom = np.zeros(len(years))
    x = np.arange(len(years))
    for code in [*order, "Others"]:
        if code not in table.columns:
            continue
        values = table[code].reindex(years, fill_value=0.0).to_numpy()
        colour = OTHERS if code == "Others" else country_colour(code)
        label = "Other countries (each < 1.5%)" if code == "Others" else names.country(code)
        ax.bar(x, values, bottom=bottom, color=colour, width=0.75, label=label, edgecolor="white", linewidth=0.4)
        bottom += values
    short = unmet.reindex(years, fill_value=0.0).to_numpy()
    if short.sum() > 0:
        ax.bar(x, short, bottom=bottom, color=UNMET, width=0.75, edgecolor="#444444", hatch="///", linewidth=0.6,
               label="Unmet demand")
        bottom += short
    ax.set_title(title, loc="left")
    ax.set_xticks(x, [str(y) for y in years])
    ax.tick_params(axis="x", labelrotation=0 if len(years) <= 12 else 45)
    ax.set_ylabel(f"{unit} per year")
    top = float(bottom.max()) if len(bottom) else 1.0
    ax.set_ylim(0, top * 1.05 if top > 0 else 1.0)
    ax.yaxis.set_major_formatter(tonnes_formatter())


@styled
def sourcing_figure(flows: pd.DataFrame, dependence: pd.DataFrame, mineral: str, names: Names, buyer: str = "USA",
                    china: str = "CHN", owners: pd.DataFrame | None = None) -> Figure | None:
    """Where the buyer gets one mineral, year by year: by country where refined, and by the owners' home country
    (``owners``: the results' owner table, each delivery's tonnes split by equity share; without it, as in a
    folder written before it existed, each delivery's largest owner from ``flows``)."""
    f = flows[flows["mineral"] == mineral]
    dep = dependence[dependence["mineral"] == mineral]
    if dep.empty:
        return None
    years = _years(dep)
    unmet = _mean_over_scen(dep, ["year"], "shortfall_t")
    o = f if owners is None else owners[owners["mineral"] == mineral]
    by = {col: _mean_over_scen(frame, ["year", col], "tonnes").unstack(col, fill_value=0.0) if len(frame) else
          pd.DataFrame(index=years) for col, frame in (("location", f), ("owner", o))}
    totals = pd.concat([by[c].sum() for c in by], axis=1).max(axis=1) if len(f) else pd.Series(dtype=float)
    supply = float(max(by["location"].to_numpy().sum(), 1e-12))
    keep = {c for c, v in totals.items() if v >= SMALL_SHARE * supply or c in (china, buyer)}
    for col, table in by.items():
        small = [c for c in table.columns if c not in keep]
        if small:
            table = table.drop(columns=small).assign(Others=table[small].sum(axis=1))
        by[col] = table
    order = _stack_order(totals[totals.index.isin(keep)], buyer, china)
    unit = names.unit(mineral)
    fig = new_figure(11.0, 4.4)
    axes = fig.subplots(1, 2, sharey=True)
    _sourcing_panel(axes[0], by["location"], years, order, unmet, names, "By country where it is refined", unit)
    _sourcing_panel(axes[1], by["owner"], years, order, unmet, names,
                    "By owners' home country (split by equity)" if owners is not None
                    else "By home country of the refiner's largest owner", unit)
    axes[1].set_ylabel("")
    axes[1].tick_params(axis="y", labelleft=True)
    found: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(lab, h)
    # the legend in stacking order (China first), whichever panel the country appears in
    stacked = [names.country(c) for c in order]
    labels = sorted(found, key=lambda lab: stacked.index(lab) if lab in stacked
                    else len(stacked) + (lab == "Unmet demand"))
    if labels:
        fig.legend([found[lab] for lab in labels], labels, loc="outside lower center", ncol=min(len(labels), 7))
    fig.suptitle(f"{names.Mineral(mineral)}: where the {names.country(buyer)} buys, by country, {unit} per year")
    return fig


# ---------------------------------------------------------------------------------------------- dependence
def overall_by_year(dependence: pd.DataFrame, column: str, aggregate: str = "mean",
                    weights: dict[str, float] | None = None, prices: dict[str, float] | None = None) -> pd.Series:
    """The objective's aggregate per year: the weighted mean over minerals (``value``: each mineral weighted by the
    value of its demand that year, ``prices`` USD per tonne), or the worst mineral (``max``, ``leximin``)."""
    dep = dependence[dependence["demand_t"] > 0]
    per = dep.groupby(["mineral", "year"])[column].mean().unstack("mineral")
    if aggregate in ("max", "leximin"):
        return per.max(axis=1)
    w = pd.Series({m: float((weights or {}).get(m, 1.0)) for m in per.columns})
    if aggregate == "value":
        demand = dep.groupby(["mineral", "year"])["demand_t"].mean().unstack("mineral")[per.columns]
        value = demand * (w * pd.Series({m: float((prices or {}).get(m, 1.0)) for m in per.columns}))
        return (per * value).sum(axis=1) / value.where(per.notna()).sum(axis=1)
    return (per * w).sum(axis=1) / w.sum()


def _dependence_panel(ax: Axes, years: list[int], optimised: pd.Series, least: pd.Series, title: str,
                      shortfall: pd.Series | None = None) -> None:
    opt = optimised.reindex(years).to_numpy(dtype=float)
    ref = least.reindex(years).to_numpy(dtype=float)
    short = (shortfall.reindex(years, fill_value=0.0).to_numpy(dtype=float) if shortfall is not None
             else np.zeros(len(years)))
    unmet = short > 0.005
    for year in np.asarray(years)[unmet]:  # a year with unmet demand: its tonnes count in the exposure
        ax.axvspan(year - 0.5, year + 0.5, color="#f4cccc", alpha=0.6, linewidth=0, zorder=0,
                   label="Demand left unmet (counted in the exposure)")
    line = opt
    ax.plot(years, line, color=OPTIMISED, marker="o", markersize=3.5, linewidth=2, label="Optimised plan", zorder=3)
    if not np.all(np.isnan(ref)):
        ax.plot(years, ref, color=LEAST_COST, linestyle="--", marker="o", markersize=3, label="Least-cost plan")
        ax.fill_between(years, line, ref, where=ref >= line, color=OPTIMISED, alpha=0.08, linewidth=0,
                        interpolate=True, label="Cut in exposure")
    ax.set_title(title, loc="left")
    values = np.concatenate([opt, ref])
    values = values[np.isfinite(values)]
    peak = float(values.max()) if values.size else 0.0
    # each panel on its own scale (at least 0-10%; 0-100% from 80%, higher only for a plan that buys more than
    # demand, into a stockpile), so small shares stay readable and no point is cut off
    top = (max(100.0, float(np.ceil(peak / 10.0) * 10.0)) if peak > 80
           else max(10.0, float(np.ceil(peak * 1.15 / 5.0) * 5.0)))
    ax.set_ylim(0, top * 1.04)
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(percent_formatter())
    step = 1 if len(years) <= 6 else 2
    ax.set_xticks(years[::step], [str(y) for y in years[::step]])
    ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)


@styled
def dependence_figure(dependence: pd.DataFrame, minerals: list[str], names: Names, country: str = "CHN",
                      aggregate: str = "mean", weights: dict[str, float] | None = None,
                      buyer: str = "USA", overall: tuple[float | None, float | None] | None = None,
                      prices: dict[str, float] | None = None) -> Figure | None:
    """China exposure by year (tonnes attributed plus tonnes unmet, % of demand; ``results.Measures``), one
    panel per mineral plus the overall aggregate."""
    if dependence.empty:
        return None
    years = _years(dependence)
    panels = [m for m in minerals if m in set(dependence["mineral"])]
    n = len(panels) + 1
    cols = 3 if n > 4 else n
    rows = -(-n // cols)
    fig = new_figure(11.0, 2.9 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True)).ravel()
    has_ref = dependence["least_cost_china_exposure_pct"].notna().any()
    for ax, m in zip(axes, panels, strict=False):
        dep = dependence[dependence["mineral"] == m]
        opt = dep.groupby("year")["china_exposure_pct"].mean()
        ref = dep.groupby("year")["least_cost_china_exposure_pct"].mean()
        means = f"mean {ref.mean():.1f}% → {opt.mean():.1f}%" if has_ref else f"mean {opt.mean():.1f}%"
        _dependence_panel(ax, years, opt, ref, f"{names.Mineral(m)} ({means})",
                          dep.groupby("year")["shortfall_t"].mean())
    ax = axes[len(panels)]
    opt = overall_by_year(dependence, "china_exposure_pct", aggregate, weights, prices)
    ref = (overall_by_year(dependence, "least_cost_china_exposure_pct", aggregate, weights, prices) if has_ref
           else opt * np.nan)
    word = {"max": "worst", "leximin": "worst mineral", "value": "value-weighted mean"}.get(aggregate, "mean")
    if overall is not None and overall[1] is not None:
        word += f" {overall[0]:.1f}% → {overall[1]:.1f}%" if overall[0] is not None else f" {overall[1]:.1f}%"
    _dependence_panel(ax, years, opt, ref, f"All minerals ({word})",
                      dependence.groupby("year")["shortfall_t"].sum())
    for extra in axes[n:]:
        extra.set_visible(False)
    for i, a in enumerate(axes[:n]):
        if i % cols == 0:
            a.set_ylabel("% of demand")
        a.tick_params(axis="x", labelbottom=True)
    found: dict[str, object] = {}
    for a in axes[:n]:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            found.setdefault(lab, h)
    fig.legend(list(found.values()), list(found), loc="outside lower center", ncol=len(found))
    fig.suptitle(f"Exposure of {names.country(buyer)} demand to {names.country(country)} (attributed plus unmet "
                 f"tonnes), by year: optimised plan against the least-cost plan")
    return fig


# ---------------------------------------------------------------------------------------------- builds
def _build_rows(builds: pd.DataFrame, minerals: list[str]) -> list[tuple[str, str | None, pd.DataFrame | None]]:
    """(label, mineral header or None, the option's builds) rows, grouped by mineral, options by first start."""
    rows: list[tuple[str, str | None, pd.DataFrame | None]] = []
    order = [m for m in minerals if m in set(builds["mineral"])] + sorted(set(builds["mineral"]) - set(minerals))
    for m in order:
        part = builds[builds["mineral"] == m]
        rows.append(("", m, None))
        first = part.groupby("option_id")["year_started"].min().sort_values(kind="stable")
        for option in first.index:
            rows.append((option, None, part[part["option_id"] == option].sort_values("year_started")))
    return rows


def _deal_text(build: pd.Series) -> str:
    """'licence from CHN, in USA', 'CHN partner 20%, in USA' or 'in CAN'."""
    partner, host = str(build["partner"]), str(build["host"])
    if build["mode"] == "licensing":
        return f"licence from {partner}, in {host}"
    if partner == host or build["mode"] == "domestic":
        return f"in {host}"
    return f"{partner} partner {100 * float(build['partner_equity_share']):.0f}%, in {host}"


def _capacity_text(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}/yr" if value >= 20 else f"{value:,.1f} {unit}/yr"


@styled
def builds_figure(builds: pd.DataFrame, minerals: list[str], names: Names, horizon: tuple[int, int]) -> Figure | None:
    """The JV and licence schedule: construction (hatched) then operation (solid), coloured by deal."""
    if builds is None or builds.empty:
        return None
    start, end = horizon
    rows = _build_rows(builds, minerals)
    fig = new_figure(11.0, 0.27 * len(rows) + 1.6)
    ax = fig.subplots()
    labels, notes = [], []
    expansions = False
    for i, (label, header, part) in enumerate(rows):
        if part is None:
            labels.append(names.Mineral(header or ""))
            notes.append("")
            if i:
                ax.axhline(i - 0.5, color="#999999", linewidth=0.6)
            continue
        labels.append(label)
        first = part.iloc[0]
        colour = MODE_COLOURS.get(str(first["mode"]), "#888888")
        s0, on0 = int(first["year_started"]), min(int(first["year_online"]), end + 1)
        ax.barh(i, on0 - s0, left=s0, height=0.6, color="white", edgecolor=colour, hatch="////", linewidth=0.8)
        if on0 <= end:
            ax.barh(i, end + 1 - on0, left=on0, height=0.6, color=colour, edgecolor="none")
        later = part.iloc[1:]
        if len(later):
            expansions = True
            ax.plot(later["year_started"].to_numpy() + 0.5, [i] * len(later), linestyle="none", marker="D",
                    markersize=3.5, color="black")
        text = _capacity_text(float(part["capacity_tpy"].sum()), names.unit(str(first["mineral"])))
        extra = f", {len(part)} starts" if len(part) > 1 else ""
        notes.append(f"{text} ({_deal_text(first)}{extra})")
    ax.set_yticks(range(len(rows)), labels)
    for tick, (_label, header, _part) in zip(ax.get_yticklabels(), rows, strict=True):
        if header is not None:
            tick.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(start - 0.1, end + 1.1)
    right = ax.twinx()  # the capacity and the deal, as labels on the right (the layout makes room for them)
    right.set_ylim(ax.get_ylim())
    right.set_yticks(range(len(rows)), notes, fontsize=8)
    right.tick_params(axis="y", length=0)
    right.grid(False)
    right.spines["right"].set_visible(False)
    years = list(range(start, end + 1))
    ax.set_xticks([y + 0.5 for y in years], [str(y) for y in years])
    ax.set_xticks(range(start, end + 2), minor=True)
    ax.tick_params(axis="x", which="major", length=0)
    ax.grid(axis="x", which="minor", color="#eeeeee")
    ax.grid(axis="x", which="major", visible=False)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"Year (solid bars run to the end of the horizon, {end})")
    used = [m for m in MODES if m in set(builds["mode"])]
    used += sorted(set(builds["mode"].astype(str)) - set(MODES))
    handles = [Patch(facecolor=MODE_COLOURS.get(m, "#888888"), label=mode(m)) for m in used]
    handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="////", label="Under construction"))
    if expansions:
        handles.append(ax.plot([], [], linestyle="none", marker="D", markersize=4, color="black",
                               label="Expansion started")[0])
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4))
    fig.suptitle("Joint ventures and licences: when each is started, built and running")
    return fig


# ---------------------------------------------------------------------------------------------- costs
@styled
def costs_figure(costs: pd.DataFrame, minerals: list[str], names: Names, base_year: int | None = None,
                 headline: str = "", shortfall: pd.Series | None = None) -> Figure | None:
    """Each mineral's cost by component, as shares (left), and spending per year by component (right); years
    with unmet demand (``shortfall``: tonnes by year) are marked, since their spending buys less than demand."""
    if costs is None or costs.empty:
        return None
    pv = _mean_over_scen(costs, ["mineral", "component"], "pv_usd").unstack("component", fill_value=0.0)
    per_year = _mean_over_scen(costs, ["year", "component"], "usd").unstack("component", fill_value=0.0)
    components = [c for c in COMPONENT_COLOURS if c in pv.columns and abs(pv[c]).sum() > 0]
    components += [c for c in pv.columns if c not in components and abs(pv[c]).sum() > 0]
    order = [m for m in minerals if m in pv.index] + [m for m in pv.index if m not in minerals]
    pv = pv.reindex(order)
    fig = new_figure(11.0, 4.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    totals = pv[components].sum(axis=1)
    y = np.arange(len(order))
    base = np.zeros(len(order))
    safe = totals.where(totals.abs() > 0, 1.0).to_numpy()
    for c in components:  # each mineral's own mix, in shares: gallium's USD 0.1 bn shows as clearly as lithium's
        values = 100.0 * pv[c].to_numpy() / safe
        left.barh(y, values, left=base, color=COMPONENT_COLOURS.get(c, "#888888"), label=component(c), height=0.6)
        base += values
    for i, total in enumerate(totals.to_numpy()):
        left.text(101.5, i, usd(float(total)), va="center", fontsize=8)
    left.set_yticks(y, [names.Mineral(m) for m in order])
    left.set_ylim(len(order) - 0.5, -0.5)
    left.set_xlim(0, 128)
    left.set_xticks([0, 25, 50, 75, 100])
    left.xaxis.set_major_formatter(percent_formatter())
    left.grid(axis="x", color="#dddddd")
    left.grid(axis="y", visible=False)
    when = f" at {base_year}" if base_year else ""
    left.set_xlabel(f"Share of the mineral's cost (total: present value{when})")
    left.set_title("Each mineral's cost by component", loc="left")
    per_year = per_year.reindex(columns=components, fill_value=0.0)
    div2, word2 = usd_scale(float(per_year.sum(axis=1).max()))
    bottom = np.zeros(len(per_year))
    years = [int(v) for v in per_year.index]
    for c in components:
        values = per_year[c].to_numpy() / div2
        right.bar(years, values, bottom=bottom, color=COMPONENT_COLOURS.get(c, "#888888"), width=0.75)
        bottom += values
    right.set_xticks(years, [str(v) for v in years])
    right.tick_params(axis="x", labelrotation=0 if len(years) <= 11 else 45, labelsize=8.5)
    right.set_ylabel(f"USD {word2} per year")
    right.yaxis.set_major_formatter(usd_formatter(1))
    right.set_title("Spending per year by component (not discounted)", loc="left")
    if shortfall is not None:
        short = shortfall.reindex(years, fill_value=0.0).to_numpy(dtype=float)
        hit = short > 0.005
        if hit.any():
            right.plot(np.asarray(years)[hit], bottom[hit] + float(bottom.max()) * 0.04, linestyle="none",
                       marker="v", markersize=7, color=CHINA_RED)
            right.set_ylim(top=float(bottom.max()) * 1.12)
            left.plot([], [], linestyle="none", marker="v", markersize=7, color=CHINA_RED,
                      label="Year with unmet demand")
    handles, labels = left.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == "Year with unmet demand")  # the marker last
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center",
               ncol=max(1, min(len(labels), 6)))
    fig.suptitle("What the optimised plan costs" + (f": {headline}" if headline else ""))
    return fig


# ---------------------------------------------------------------------------------------------- frontier


def frontier_x(frontier: pd.DataFrame, target: str) -> pd.Series:
    """The exposure a target's points are plotted at: the mineral's own, or the overall one for 'all'."""
    column = f"{target}_pct"
    if target != "all" and column in frontier.columns:
        return frontier[column]
    return frontier["exposure_pct"]


NOISE_USD = 1.0  # premiums and marginal costs below one dollar are solver noise (1e-8 of a USD 60 bn plan)


def _money_axis(ax: Axes, xs: np.ndarray, series: list[tuple[str, np.ndarray, dict]], unit: str) -> float:
    """Plot USD series on one scale; values below ``NOISE_USD`` count as 0, and an axis whose series all stay
    below it shows one tick and a note instead of ticks that all read 0.0000. Returns the scale's divisor."""
    cleaned = [(label, np.where(np.abs(v) < NOISE_USD, 0.0, v), style) for label, v, style in series]
    finite = np.concatenate([np.abs(v[np.isfinite(v)]) for _, v, _ in cleaned]) if cleaned else np.zeros(0)
    top = float(finite.max()) if finite.size else 0.0
    div, word = usd_scale(top if top > 0 else 1.0)
    for label, values, style in cleaned:
        ax.plot(xs, values / div, label=label, **style)
    if top == 0.0:
        ax.set_ylim(-0.1, 1.0)
        ax.set_yticks([0.0], ["0"])
        ax.text(0.5, 0.55, f"below USD {NOISE_USD:g} at every point", transform=ax.transAxes, ha="center",
                color="#555555", fontsize=8.5)
    else:
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        ax.yaxis.set_major_formatter(usd_formatter())
    ax.set_ylabel(f"USD {word} {unit}".replace("  ", " "))
    return div


def frontier_direction(ax: Axes) -> None:
    """The one frontier axis convention: dependence falls from left to right (more independence to the right),
    in frontier.png, frontier.svg and every report."""
    if not ax.xaxis_inverted():
        ax.invert_xaxis()


def _frontier_row(left: Axes, right: Axes, part: pd.DataFrame, target: str, names: Names, country: str,
                  point: tuple[float, float] | None = None) -> None:
    x = frontier_x(part, target).to_numpy(dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    premium = part["premium_usd"].to_numpy(dtype=float)[order]
    div = _money_axis(left, xs, [("Premium over the least-cost plan", premium,
                                  {"marker": "o", "markersize": 4, "color": OPTIMISED, "linewidth": 2})],
                      "(present value)")
    if point is not None:  # the solved plan: its dependence and premium, on the same scale as the curve
        left.plot([point[0]], [point[1] / div], marker="*", markersize=15, color=CHINA_RED, linestyle="none",
                  label="The solved plan (operating point)", zorder=5)
        left.annotate(f"solved plan: {point[0]:.1f}%, {usd(point[1])}", (point[0], point[1] / div),
                      textcoords="offset points", xytext=(8, -14), fontsize=8.5, color=CHINA_RED)
    marginal = part["marginal_usd_per_pp"].to_numpy(dtype=float)[order]
    diff = (part["finite_difference_usd_per_pp"].to_numpy(dtype=float)[order]
            if "finite_difference_usd_per_pp" in part else np.full(len(xs), np.nan))
    _money_axis(right, xs, [("Marginal cost (dual of the cap)", marginal,
                             {"marker": "o", "markersize": 4, "color": OPTIMISED, "linewidth": 2}),
                            ("Average cost between neighbouring points", diff,
                             {"linestyle": ":", "marker": "x", "markersize": 5, "color": "#555555"})],
                "per percentage point")
    whose = "all minerals, mean" if target == "all" else names.mineral(target)
    title = "All minerals" if target == "all" else names.Mineral(target)
    for ax in (left, right):
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel(f"{names.country(country)}'s share, % ({whose}); falls to the right")
        ax.grid(axis="x", color="#eeeeee")
        frontier_direction(ax)
    left.set_title(f"{title}: premium over the least-cost plan", loc="left")
    right.set_title(f"{title}: cost of one more percentage point", loc="left")


@styled
def frontier_figure(frontier: pd.DataFrame, names: Names, country: str = "CHN",
                    point: tuple[float, float] | None = None, scenario: str = "") -> Figure | None:
    """The price of independence, one row per target: the premium against dependence (left) and the marginal
    cost per percentage point (right); ``point`` (dependence %, premium USD) marks the solved plan on the
    aggregate row."""
    if frontier is None or frontier.empty or "target" not in frontier.columns:
        return None
    if "status" in frontier.columns:  # points the sweep could not solve have no cost to plot
        frontier = frontier[frontier["status"].astype(str) == "optimal"]
        if frontier.empty:
            return None
    targets = list(dict.fromkeys(str(t) for t in frontier["target"]))
    targets = (["all"] if "all" in targets else []) + [t for t in targets if t != "all"]
    fig = new_figure(11.0, 3.3 * len(targets) + 0.9)
    axes = np.atleast_2d(fig.subplots(len(targets), 2))
    for (left, right), t in zip(axes, targets, strict=True):
        _frontier_row(left, right, frontier[frontier["target"].astype(str) == t], t, names, country,
                      point if t == "all" else None)
    handles, labels = axes[0][1].get_legend_handles_labels()
    if point is not None and "all" in targets:
        extra = axes[0][0].get_legend_handles_labels()
        handles, labels = handles + extra[0][1:], labels + extra[1][1:]
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    where = f", scenario '{scenario}'" if scenario else ""
    fig.suptitle(f"Price of independence from {names.country(country)}{where}: what each cut in dependence costs")
    return fig


# ---------------------------------------------------------------------------------------------- stockpile
@styled
def stockpile_figure(stockpile: pd.DataFrame | None, dependence: pd.DataFrame | None, minerals: list[str],
                     names: Names) -> Figure | None:
    """The strategic stockpile per mineral (its own panel and scale): the stock at the end of each year, tonnes
    bought in (up) and drawn (down), and the years with demand left unmet."""
    if stockpile is None or stockpile.empty:
        return None
    used = stockpile.groupby("mineral")[["put_t", "draw_t", "stock_t"]].sum().abs().sum(axis=1)
    present = [m for m in minerals if used.get(m, 0.0) > 0.005]
    if not present:
        return None
    fig = new_figure(11.0, 3.0 * -(-len(present) // 2) + 0.8)
    axes = np.atleast_1d(fig.subplots(-(-len(present) // 2), min(2, len(present)))).ravel()
    for ax, m in zip(axes, present, strict=False):
        part = stockpile[stockpile["mineral"] == m]
        years = sorted(int(y) for y in part["year"].unique())
        stock = _mean_over_scen(part, ["year"], "stock_t").reindex(years)
        put = _mean_over_scen(part, ["year"], "put_t").reindex(years)
        draw = _mean_over_scen(part, ["year"], "draw_t").reindex(years)
        if put.abs().sum() > 0.005:
            ax.bar(years, put.to_numpy(), width=0.35, color="#8ab17d", label="Bought into the stockpile")
        if draw.abs().sum() > 0.005:
            ax.bar(years, -draw.to_numpy(), width=0.35, color="#f4a261", label="Drawn from the stockpile")
        ax.plot(years, stock.to_numpy(), color=OPTIMISED, marker="o", markersize=3.5, linewidth=2,
                label="Stock at the end of the year")
        if dependence is not None:
            short = dependence[dependence["mineral"] == m].groupby("year")["shortfall_t"].mean()
            for year, tonnes in short.items():
                if tonnes > 0.005:
                    ax.axvspan(int(year) - 0.5, int(year) + 0.5, color="#f4cccc", alpha=0.6, linewidth=0,
                               zorder=0, label="Demand left unmet")
        ax.axhline(0, color="#999999", linewidth=0.6)
        ax.yaxis.set_major_formatter(tonnes_formatter())
        ax.set_ylabel(names.unit(m))
        ax.set_title(names.Mineral(m), loc="left")
        step = 1 if len(years) <= 6 else 2
        ax.set_xticks(years[::step], [str(y) for y in years[::step]])
    for extra in axes[len(present):]:
        extra.set_visible(False)
    found: dict[str, object] = {}
    for a in axes[:len(present)]:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            found.setdefault(lab, h)
    fig.legend(list(found.values()), list(found), loc="outside lower center", ncol=len(found))
    fig.suptitle("Strategic stockpile: stock, purchases and draws by year")
    return fig
