"""Figures of the analysis folders (stress, sweep, robust) and of a comparison. Each returns a matplotlib Figure
or None when there is nothing to draw. Small minerals stay readable: every per-mineral quantity gets its own
panel and scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.figures.labels import Names
from engine.figures.style import (
    CHINA_RED,
    LEAST_COST,
    OPTIMISED,
    new_figure,
    percent_formatter,
    styled,
    tonnes_formatter,
    usd_formatter,
    usd_scale,
)

TOP_SHOCKS = 15


def value_column(frame: pd.DataFrame) -> str:
    """The value of unmet demand, present value: in a stress table the value added by the shock
    (``unmet_value_added_pv_usd``; stress folders written before results schema 3 hold the total after it,
    ``shortfall_value_pv_usd``, or before that ``shortfall_value_usd``); in a sweep or robust table its value."""
    return next((c for c in ("unmet_value_added_pv_usd", "shortfall_value_pv_usd") if c in frame),
                "shortfall_value_usd")


def unmet_column(frame: pd.DataFrame) -> str:
    """A stress table's unmet tonnes: added by the shock (``unmet_added_t``; before results schema 3 the total
    after it, ``shortfall_t``)."""
    return "unmet_added_t" if "unmet_added_t" in frame else "shortfall_t"


def jump_column(frame: pd.DataFrame) -> str:
    """A stress table's cost jump: in cost including unmet demand (``cost_with_unmet_jump_usd``; the cost of supply,
    ``cost_jump_usd``, in folders written before it)."""
    return "cost_with_unmet_jump_usd" if "cost_with_unmet_jump_usd" in frame else "cost_jump_usd"


def shock_label(row: pd.Series, names: Names) -> str:
    """'China cuts gallium, germanium' for an N-1 shock; the shock's own name for a named one (``Names.shock``)."""
    minerals = row.get("minerals", "")
    return names.shock(str(row.get("kind", "")), str(row.get("country", "")),
                       "" if minerals is None or minerals != minerals else str(minerals), str(row.get("shock", "")))


@styled
def stress_figure(table: pd.DataFrame, names: Names, scenario: str = "", top: int = TOP_SHOCKS) -> Figure | None:
    """The worst shocks: value of unmet demand (left, unmet tonnes written beside each bar) and the cost jump."""
    if table is None or table.empty:
        return None
    t = table[table["status"].astype(str) == "optimal"].head(top).iloc[::-1]
    if t.empty:
        return None
    labels = [shock_label(r, names) for _, r in t.iterrows()]
    value = t[value_column(t)].fillna(0.0).to_numpy(dtype=float)
    jump = t[jump_column(t)].fillna(0.0).to_numpy(dtype=float)
    # a panel only for a change that exists: the table's figures are already 0 within solver noise (beyond_noise)
    panels = [name for name, values in (("unmet", value), ("jump", jump)) if np.abs(values).max() > 0]
    if not panels:
        return None
    fig = new_figure(11.0 if len(panels) == 2 else 7.5, 0.36 * len(t) + 2.2)
    axes = fig.subplots(1, len(panels), sharey=True)
    axes = dict(zip(panels, np.atleast_1d(axes), strict=True))
    y = np.arange(len(t))
    if "unmet" in axes:
        left = axes["unmet"]
        div, word = usd_scale(float(value.max()) if value.max() > 0 else 1.0)
        left.barh(y, value / div, color=CHINA_RED, height=0.6)
        for i, (v, tonnes) in enumerate(zip(value, t[unmet_column(t)].fillna(0.0).to_numpy(dtype=float),
                                            strict=True)):
            text = f"+{tonnes:,.1f} t unmet" if tonnes >= 0.05 else "no more unmet"
            left.text(max(v, 0.0) / div, i, f"  {text}", va="center", fontsize=8, color="#333333")
        left.set_xlim(0, max(float(value.max()) / div, 1e-9) * 1.45 if value.max() > 0 else 1.0)
        left.set_xlabel(f"USD {word}".strip() + " PV (value of unmet demand, 10x reference price)")
        left.xaxis.set_major_formatter(usd_formatter())
        left.set_title("Unmet demand the shock adds", loc="left")
    if "jump" in axes:
        right = axes["jump"]
        div2, word2 = usd_scale(float(np.abs(jump).max()))
        right.barh(y, jump / div2, color=OPTIMISED, height=0.6)
        right.axvline(0, color="black", linewidth=0.8)
        right.set_xlabel(f"USD {word2} (present value)".replace("  ", " "))
        right.xaxis.set_major_formatter(usd_formatter())
        right.set_title("Cost jump, including unmet demand at its value", loc="left")
    first = axes[panels[0]]
    first.set_yticks(y, labels)
    for ax in axes.values():
        ax.grid(axis="x", color="#dddddd")
        ax.grid(axis="y", visible=False)
    dropped = {"unmet": "no shock adds unmet demand", "jump": "no shock changes cost"}
    missing = [dropped[name] for name in ("unmet", "jump") if name not in axes]
    note = ("changes against the base plan; changes within solver noise dropped (shown as 0)"
            + (f"; {', '.join(missing)}: that panel is not drawn" if missing else ""))
    where = f" for scenario '{scenario}'" if scenario else ""
    fig.suptitle(f"Worst supply shocks{where} (JV builds and stockpile as planned)\n{note}")
    return fig


SWEEP_PANELS = [("exposure_pct", "Exposure, all minerals", "%"),
                ("cost_with_unmet_pv_usd", "Cost incl. unmet demand (PV)", "usd"),
                ("premium_usd", "Premium over least cost", "usd"), ("shortfall_t", "Unmet demand", "t")]
"""The sweep figure's headline panels: cost is cost including unmet demand at its value (a folder written before
results schema 2 has none: the panel is hidden)."""


@styled
def sweep_figure(samples: pd.DataFrame, minerals: list[str], names: Names) -> Figure | None:
    """Each sample as a dot with P5, P50 and P95 marked, for the headline metrics; then dependence per mineral,
    each mineral on its own row so small shares stay visible."""
    if samples is None or samples.empty:
        return None
    ok = samples[samples["status"].astype(str) == "optimal"]
    if ok.empty:
        return None
    fig = new_figure(11.0, 6.6)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
    axes = top.subplots(1, len(SWEEP_PANELS))
    rng = np.random.default_rng(0)  # fixed jitter: the figure is the same on every run
    for ax, (column, title, unit) in zip(axes, SWEEP_PANELS, strict=True):
        if column not in ok:
            ax.set_visible(False)
            continue
        values = ok[column].to_numpy(dtype=float)
        div = 1.0
        if unit == "usd":
            div, word = usd_scale(float(np.abs(values).max()) or 1.0)
            ax.set_ylabel(f"USD {word}".strip())
            ax.yaxis.set_major_formatter(usd_formatter())
        elif unit == "%":
            ax.yaxis.set_major_formatter(percent_formatter())
        else:
            ax.set_ylabel("t")
            ax.yaxis.set_major_formatter(tonnes_formatter())
        jitter = rng.uniform(-0.18, 0.18, len(values))
        colours = np.where(ok["shortfall_t"].to_numpy(dtype=float) > 0.005, CHINA_RED, OPTIMISED)
        ax.scatter(jitter, values / div, s=14, c=colours, alpha=0.7, linewidths=0)
        for q, style in ((5, ":"), (50, "-"), (95, ":")):
            ax.axhline(np.percentile(values, q) / div, color=LEAST_COST, linestyle=style, linewidth=1)
        ax.set_xticks([])
        ax.set_xlim(-0.5, 0.5)
        ax.set_title(title, loc="left", fontsize=9)
        if column == "shortfall_t":
            n = int((values > 0.005).sum())
            ax.set_xlabel(f"{n} of {len(values)} samples\nleave demand unmet", color=CHINA_RED if n else "#555555")
            if values.max() <= 0.005:
                ax.set_ylim(-0.1, 1.0)
    present = [m for m in minerals if f"exposure_{m}_pct" in ok]
    if present:
        ax = bottom.subplots(1, 1)
        data = [ok[f"exposure_{m}_pct"].to_numpy(dtype=float) for m in present]
        parts = ax.boxplot(data, orientation="horizontal", whis=(5, 95), widths=0.55, patch_artist=True,
                           showfliers=True)
        for box in parts["boxes"]:
            box.set_facecolor("#dbe4f3")
        ax.set_yticks(range(1, len(present) + 1), [names.Mineral(m) for m in present])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel("Exposure to China: tonnes attributed plus tonnes unmet, % of demand, mean over years "
                      "(box: P25-P75, whiskers P5-P95)")
        ax.grid(axis="x", color="#dddddd")
        ax.grid(axis="y", visible=False)
        ax.set_title("Exposure by mineral across the samples", loc="left")
    fig.suptitle(f"Monte Carlo sweep: {len(ok)} samples (lines: P5, P50, P95; red dots: samples with unmet demand)")
    return fig


@styled
def robust_figure(builds: pd.DataFrame | None, deterministic: pd.DataFrame | None, minerals: list[str],
                  names: Names) -> Figure | None:
    """Capacity built by option, robust plan against deterministic plan; a panel per mineral on its own scale."""
    frames = {"Robust plan": builds, "Deterministic plan": deterministic}
    totals = {k: v.groupby(["mineral", "option_id"])["capacity_tpy"].sum() for k, v in frames.items()
              if v is not None and not v.empty}
    if not totals:
        return None
    both = pd.concat(totals, axis=1).fillna(0.0)
    present = [m for m in minerals if m in both.index.get_level_values(0)]
    present += [m for m in dict.fromkeys(both.index.get_level_values(0)) if m not in present]
    heights = [max(1, len(both.loc[m])) for m in present]
    fig = new_figure(11.0, 0.3 * sum(heights) + 0.9 * len(present) + 1.2)
    axes = np.atleast_1d(fig.subplots(len(present), 1, height_ratios=heights))
    for ax, m in zip(axes, present, strict=True):
        part = both.loc[m]
        y = np.arange(len(part))
        for i, (label, colour) in enumerate((("Robust plan", OPTIMISED), ("Deterministic plan", LEAST_COST))):
            if label in part:
                ax.barh(y + (i - 0.5) * 0.38, part[label].to_numpy(), height=0.38, color=colour,
                        label=label)
        ax.set_yticks(y, list(part.index), fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(tonnes_formatter())
        ax.set_xlabel(f"{names.unit(m)}/yr built")
        ax.set_title(names.Mineral(m), loc="left")
        ax.grid(axis="x", color="#dddddd")
        ax.grid(axis="y", visible=False)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle("Capacity built by option: the robust plan against the deterministic plan")
    return fig


@styled
def compare_figure(runs: list[tuple[str, dict]], minerals: list[str], names: Names) -> Figure | None:
    """Exposure per mineral for each run (a panel per mineral, each on its own scale), with the runs' unmet
    demand marked, then cost."""
    ok = [(label, s) for label, s in runs if "dependence" in s]
    if not ok:
        return None
    panels = [*minerals, "all", "cost"]
    cols = 4
    rows = -(-len(panels) // cols)
    fig = new_figure(11.0, 2.6 * rows + 1.0)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    x = np.arange(len(ok))
    labels = [label for label, _ in ok]
    colours = [OPTIMISED if i == 0 else "#6baed6" for i in range(len(ok))]
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "cost":
            values = np.array([s["cost"]["total_pv_usd"] for _, s in ok], dtype=float)
            div, word = usd_scale(float(values.max()))
            ax.bar(x, values / div, color=colours)
            ax.set_ylabel(f"USD {word}, PV")
            ax.yaxis.set_major_formatter(usd_formatter())
            ax.set_title("Cost (present value)", loc="left")
        else:
            if panel == "all":
                values = np.array([s["dependence"]["exposure"]["overall_pct"] for _, s in ok], dtype=float)
                short = np.array([s["shortfall"]["total_t"] for _, s in ok], dtype=float)
                title = "All minerals"
            else:
                values = np.array([(s["dependence"]["exposure"]["by_mineral"].get(panel) or {}).get("optimised_pct",
                                                                                        np.nan)
                                   for _, s in ok], dtype=float)
                short = np.array([s["shortfall"]["by_mineral_t"].get(panel, 0.0) for _, s in ok], dtype=float)
                title = names.Mineral(panel)
            ax.bar(x, np.nan_to_num(values), color=colours)
            top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
            ax.set_ylim(0, max(top * 1.3, 1.0))
            for i, (v, s) in enumerate(zip(values, short, strict=True)):
                if s > 0.005:  # unmet demand: the share is of demand, and part of demand is not met at all
                    ax.text(i, np.nan_to_num(v), f"{s:,.0f} t\nunmet" if s >= 10 else f"{s:,.1f} t\nunmet",
                            ha="center", va="bottom", fontsize=7.5, color=CHINA_RED)
            ax.yaxis.set_major_formatter(percent_formatter())
            ax.set_title(title, loc="left")
        ax.set_xticks(x, labels, rotation=30 if len(ok) > 2 else 0, ha="right" if len(ok) > 2 else "center",
                      fontsize=8)
    for extra in axes[len(panels):]:
        extra.set_visible(False)
    fig.suptitle("Exposure to China by mineral (attributed plus unmet tonnes, % of demand; each panel on its own "
                 "scale) and cost, run by run")
    return fig


def _added(t: pd.DataFrame, added: str, total: str) -> np.ndarray:
    """A worst-case column of changes against the base plan; folders written before it hold only the total, from
    which the k = 0 row's (the base plan's own) is taken."""
    if added in t:
        return t[added].fillna(0.0).to_numpy(dtype=float)
    values = t[total].fillna(0.0).to_numpy(dtype=float)
    return values - values[0]


@styled
def worstcase_figure(table: pd.DataFrame | None, country: str, scenario: str = "") -> Figure | None:
    """What the worst restriction set adds to the base plan's unmet demand against k (the deterministic plan and
    the robust plan for each k), and, in a second panel drawn only when there is one, what the robust plans change
    with no restriction (premium, exposure). None when no set adds unmet demand and no robust plan changes
    anything: there is no change to draw. ``country`` by name."""
    if table is None or table.empty:
        return None
    t = table.sort_values("k").reset_index(drop=True)
    det = _added(t, "deterministic_worst_unmet_value_added_pv_usd", "deterministic_worst_unmet_value_pv_usd")
    rob = _added(t, "worst_unmet_value_added_pv_usd", "worst_unmet_value_pv_usd")
    rob_t = _added(t, "worst_unmet_added_t", "worst_unmet_t")
    premium = t["premium_usd"].fillna(0.0).to_numpy(dtype=float) if "premium_usd" in t else np.zeros(len(t))
    exposure = (t["exposure_change_pp"].fillna(0.0).to_numpy(dtype=float) if "exposure_change_pp" in t
                else np.zeros(len(t)))
    exposure = np.where(np.abs(exposure) < 0.005, 0.0, exposure)
    damage = bool(np.abs(det).max() > 0 or np.abs(rob).max() > 0)
    cost = bool(len(t) > 1 and (np.abs(premium[1:]).max() > 0 or np.abs(exposure[1:]).max() > 0))
    if not damage and not cost:
        return None
    panels = [name for name, drawn in (("damage", damage), ("cost", cost)) if drawn]
    fig = new_figure(7.5 if len(panels) == 1 else 11.5, 4.4)
    axes = dict(zip(panels, np.atleast_1d(fig.subplots(1, len(panels))), strict=True))
    ks = t["k"].to_numpy()
    if damage:
        ax = axes["damage"]
        div, word = usd_scale(float(max(np.abs(det).max(), np.abs(rob).max())))
        same = bool(np.allclose(det, rob, rtol=1e-6, atol=0.5))
        if same:
            ax.plot(ks, det / div, marker="o", color=CHINA_RED,
                    label="deterministic plan (solve's) = robust plan: no plan lowers the worst case")
        else:
            ax.plot(ks, det / div, marker="o", color=CHINA_RED, label="deterministic plan (solve's)")
            ax.plot(ks, rob / div, marker="s", color=OPTIMISED, label="robust plan for each k")
        for k, value, added_t in zip(ks, rob, rob_t, strict=True):
            if k and added_t > 0:
                ax.annotate(f"+{added_t:,.0f} t unmet" if added_t >= 10 else f"+{added_t:,.2f} t unmet",
                            (k, value / div), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8,
                            color=OPTIMISED if not same else CHINA_RED)
        ax.set_xticks(ks)
        ax.set_xlim(ks.min() - 0.3, ks.max() + 0.4)
        ax.set_xlabel(f"restriction moves allowed to {country} (k)")
        ax.set_ylabel(f"unmet demand added, USD {word} PV".replace("  ", " ") + "\n(value at 10x reference price)")
        ax.yaxis.set_major_formatter(usd_formatter())
        top = float(max(det.max(), rob.max()) / div)
        ax.set_ylim(bottom=0, top=max(top * 1.3, 1e-9))
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title("Unmet demand the worst set adds to the base plan", loc="left")
    if cost:
        ax = axes["cost"]
        shown = ks > 0
        div, word = usd_scale(float(max(np.abs(premium[shown]).max(), 1.0)))
        ax.bar(ks[shown], premium[shown] / div, color=OPTIMISED, width=0.5)
        ax.set_ylim(top=max(float(premium[shown].max() / div), 0.0) * 1.15 or None)
        ax.axhline(0, color="black", linewidth=0.8)
        for k, value, pp in zip(ks[shown], premium[shown], exposure[shown], strict=True):
            ax.annotate(f"exposure {pp:+.2f} pp" if pp else "exposure unchanged", (k, value / div),
                        textcoords="offset points", xytext=(0, 4 if value >= 0 else -12), ha="center", fontsize=8)
        ax.set_xticks(ks[shown])
        ax.set_xlabel(f"restriction moves allowed to {country} (k)")
        ax.set_ylabel(f"premium, USD {word} PV".replace("  ", " ") + "\n(cost including unmet demand)")
        ax.yaxis.set_major_formatter(usd_formatter())
        ax.set_title("The robust plan with no restriction", loc="left")
    missing = ([] if damage else ["no restriction set adds unmet demand"]) + (
        [] if cost else ["no robust plan changes cost or exposure beyond solver noise"])
    note = "\n".join(["changes against the base plan (the scenario's own plan, no restriction)",
                      "changes within solver noise are dropped", *(f"{text}: not drawn" for text in missing)])
    where = f" for scenario '{scenario}'" if scenario else ""
    fig.suptitle(f"Worst case against k{where}\n{note}", x=0.01, ha="left", fontsize=9)
    return fig


TOP_ASSUMPTIONS = 15


def assumption_label(row: pd.Series, names: Names | None = None) -> str:
    """'delivered cost, China' (the family and the country, mineral or deal mode it moves: ``Names.assumption``)."""
    return (names or Names()).assumption(str(row["family"]), str(row["parameter"]))


@styled
def sensitivity_figure(table: pd.DataFrame | None, scenario: str = "", top: int = TOP_ASSUMPTIONS,
                       names: Names | None = None, budget: str = "") -> Figure | None:
    """Tornado: the change in dependence (pp) and in cost with unmet demand at its value (USD PV) with each
    assumption at its low and at its high value, the largest dependence swings on top."""
    if table is None or table.empty:
        return None
    t = table.head(top).iloc[::-1]
    labels = [assumption_label(r, names) for _, r in t.iterrows()]
    y = np.arange(len(t))
    fig = new_figure(10.0, 0.32 * len(t) + 1.6)
    left, right = fig.subplots(1, 2, sharey=True)
    for ax, low, high, title in (
            (left, "exposure_low_pp", "exposure_high_pp", "change in exposure, pp"),
            (right, "cost_low_pv_usd", "cost_high_pv_usd", "change in cost with unmet demand, USD PV")):
        lo = t[low].to_numpy(dtype=float)
        hi = t[high].to_numpy(dtype=float)
        if ax is right:
            div, word = usd_scale(float(np.nanmax(np.abs(np.r_[lo, hi, 1.0]))))
            lo, hi = lo / div, hi / div
            title = f"change in cost with unmet demand, USD {word} PV".replace("  ", " ")
        ax.barh(y + 0.2, np.nan_to_num(lo), height=0.4, color=LEAST_COST, label="low value")
        ax.barh(y - 0.2, np.nan_to_num(hi), height=0.4, color=OPTIMISED, label="high value")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(title)
    left.set_yticks(y)
    left.set_yticklabels(labels)
    left.legend(loc="lower left", fontsize=8)
    where = f" for scenario '{scenario}'" if scenario else ""
    fig.suptitle(f"Sensitivity: one assumption at a time at its low and high value{where}"
                 + (f"\n{budget}" if budget else ""), x=0.01, ha="left")
    return fig
