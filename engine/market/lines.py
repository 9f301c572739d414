"""The printout's lines for the market's policies (binding, and what each does) and its JV builds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.outputs.display import signed_tonnes, tonnes, usd


def _money(v: float) -> str:
    """USD with a sign and a magnitude: '+1.23 bn', '-456.7 m', '0'."""
    if abs(v) < 5e3:
        return "0"
    text = usd(abs(v)).removeprefix("USD ")
    return ("+" if v > 0 else "-") + text


def _status(row: dict) -> str:
    """'binds: …' or 'slack', from a row of ``policies.csv``."""
    if row["binds"] is None or row["binds"] != row["binds"]:
        return f"a cost per tonne, not a constraint; {row['charged_t']:,.0f} t pay it over the horizon"
    parts = []
    if row["routes_closed"]:
        parts.append(f"{row['routes_binding']} of {row['routes_closed']} routes it closes would earn more than "
                     f"they cost" + (f" (up to USD {row['route_value_max_usd_per_t']:,.0f}/t)"
                                     if row["routes_binding"] else ""))
    if row["rows"]:
        unit = row["shadow_price_unit"]
        value = f"USD {row['shadow_price_max']:,.0f}{unit.removeprefix('USD')}"
        parts.append(f"{row['binding_rows']} of {row['rows']} rows bind" + (f" (up to {value})"
                                                                               if row["binding_rows"] else ""))
    if not row["binds"] and row["binds_at_vertex"]:
        return ("slack: removing it changes nothing in the whole plan, though at this vertex " + "; ".join(parts)
                + " (a degenerate point: another constraint holds the same tonnes back)")
    gain = row.get("surplus_gain_pv_usd")
    won = f"; without it the world gains {usd(gain)} of surplus" if row["binds"] and gain == gain and gain else ""
    return ("binds: " if row["binds"] else "slack: ") + "; ".join(parts) + won


def policy_lines(status: pd.DataFrame, effects: pd.DataFrame, regions: list[str],
                 mineral: Callable[[str], str]) -> list[str]:
    """Per policy: how it acts and whether it binds, then per mineral it covers the price and consumption change
    in every region against the same model without it, and every region's welfare change."""
    if status.empty:
        return []
    lines = ["", "  Policies in the market (each against the same model re-solved without it; price: mean over the "
                 "policy's years; t consumed: change over those years; t re-sourced: tonnes that changed origin "
                 "country; welfare: present value, USD)"]
    head = f"    {'':<22}" + "".join(f"{r:>10}" for r in regions)
    zero = {"+0.0%", "-0.0%", "n/a", "0", _money(0.0)}
    for row in status.to_dict("records"):
        lines.append(f"  {row['policy']} ({row['type']} on {row['regions'].replace(' ', ', ')}): {_status(row)}")
        mine = effects[effects["policy"] == row["policy"]]
        if mine.empty:
            continue
        table: list[tuple[str, list[str]]] = []
        for m, g in mine.groupby("mineral", sort=True):
            g = g.set_index("region")
            pct = [g["price_change_pct"].get(r, np.nan) for r in regions]
            table.append((mineral(m) + " price", ["n/a" if v != v else f"{v:+.1f}%" for v in pct]))
            table.append((mineral(m) + " t consumed",
                          [signed_tonnes(g["consumed_change_t"].get(r, 0.0)) for r in regions]))
            table.append((mineral(m) + " t re-sourced", [tonnes(g["resourced_t"].get(r, 0.0)) for r in regions]))
        welfare = mine.drop_duplicates("region").set_index("region")["welfare_change_pv_usd"]
        table.append(("welfare", [_money(welfare.get(r, 0.0)) for r in regions]))
        if all(cell.strip() in zero for _, cells in table for cell in cells):
            lines.append(f"    no region's prices, consumption, sourcing or welfare change without it "
                         f"({', '.join(sorted(mine['mineral'].map(mineral).unique()))})")
            continue
        lines.append(head)
        lines += [f"    {label:<22}" + "".join(f"{cell:>10}" for cell in cells) for label, cells in table]
    return lines


def build_lines(builds: pd.DataFrame, buyer_region: str, mineral: Callable[[str], str],
                country: Callable[[str], str]) -> list[str]:
    """The JV options built: capacity, first year online, the funder's offtake and how much of the output it
    took."""
    lines = ["", f"  JV builds ({buyer_region} funds every option; offtake: the share of a plant abroad reserved for "
                 f"{buyer_region}; output over the horizon)"]
    if builds.empty:
        return [*lines, "  none"]
    for row in builds.to_dict("records"):
        offtake = "in the funder's region" if row["offtake_share"] != row["offtake_share"] else \
            f"offtake {row['offtake_share']:.1%}"
        share = row["output_funder_t"] / row["output_t"] if row["output_t"] > 1e-9 else np.nan
        took = f"{buyer_region} took {share:.0%}" if share == share else "no output"
        lines.append(f"  {mineral(row['mineral']):<11}{row['option_id']} ({country(row['host'])}): "
                     f"{tonnes(row['built_tpy'])} t/yr, online {row['first_online']}, capex {usd(row['capex_pv_usd'])} "
                     f"(present value); {offtake}; output {row['output_t']:,.0f} t, {took}")
    return lines
