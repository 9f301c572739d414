"""Which of my policies bind? Every policy of the scenario, each mineral-year it covers, at the reported plan.

One row per policy, mineral and year (and country, for country caps and export quotas), with:

- ``family``: how the policy enters the model: a row family (``country_cap``, ``content_rule``,
  ``dependence_cap``, ``export_quota``, ``domestic_target``), ``bound`` (bans, quotas by share, FEOC
  exclusions, market access) or ``charge`` (tariffs, FEOC credit losses);

- ``status``: ``binding`` when the policy is at its limit, ``slack`` when it is not; tariffs and FEOC credit
  losses have no limit and are ``charged`` (the plan buys tonnes they cover) or ``not charged``;
- ``slack`` in the policy's own unit (``slack_unit``):

  * country caps, content rules, export quotas: tonnes of supply still allowed (or above the required share),
    ``slack = limit − used`` for caps and quotas, ``used − required`` for content rules;
  * dependence caps: percentage points of supply, ``100 × cap − share of supply`` (``results.Measures``; the
    share counted as 0 where nothing is supplied);
  * domestic targets: t/yr of buyer-hosted capacity above the target;
  * bans, quotas by share, FEOC exclusions and market access (bounds on deliveries): tonnes of the allowance
    left unused, ``Σ_d max(allowed_d − x_d, 0)`` over the deliveries the policy covers (0 under a full ban).
    Such a policy binds when the plan would buy some of what it holds back: the best reduced cost among the
    deliveries it restricts is positive (its shadow price in ``duals.csv``);

- ``dual_usd``: the policy's shadow price (``engine.outputs.duals``), in that year's money, per ``dual_unit``;
  empty when relaxing the policy would not lower the cost;
- ``reading``: one line in planner words.

A row policy is binding when its slack is at most ``TOLERANCE`` × max(1, |limit|) in its own unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import measures_of

COLUMNS = ["policy", "type", "family", "mineral", "year", "country", "status", "limit", "used", "slack", "slack_unit",
           "dual_usd", "dual_unit", "reading"]
TOLERANCE = 1e-6
ROW_FAMILIES = {  # family: (sense of the limit, unit of limit/used/slack)
    "country_cap": ("upper", "t"),
    "export_quota": ("upper", "t"),
    "dependence_cap": ("upper", "pp of supply"),
    "content_rule": ("lower", "t"),
    "domestic_target": ("lower", "t/yr"),
}
COST_ONLY = ("tariff", "feoc")  # feoc with action credit_loss


def _row_status(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Limit, use and slack of every policy row (row families of ``ROW_FAMILIES``)."""
    frames = []
    caps = {p.name: getattr(p, "max_share", np.nan) for p in model.scenario.policies}
    for block in model.lp.constraints.values():
        family = block.name.split(":", 1)[0]
        if ":" not in block.name or family not in ROW_FAMILIES:
            continue
        sense, _unit = ROW_FAMILIES[family]
        activity = np.bincount(block.rows, weights=block.vals * x[block.cols], minlength=len(block))
        limit = np.asarray(block.upper if sense == "upper" else block.lower, dtype=float)
        keys = block.keys.reset_index(drop=True)
        used = activity
        if family in ("country_cap", "content_rule"):  # Σx + share·short against share·demand
            on_short = np.isin(block.cols, model.block_cols("short"))
            short_part = np.bincount(block.rows, weights=np.where(on_short, block.vals * x[block.cols], 0.0),
                                     minlength=len(block))
            used, limit = activity - short_part, limit - short_part
        if family == "dependence_cap":  # Σ (a − cap)·x <= 0 -> share of supply against the cap, in percent
            share = measures_of(model, x, keys[["scen", "mineral", "year"]]).share_of_supply_pct
            used = np.where(np.isnan(share), 0.0, share)
            limit = 100.0 * keys["policy"].map(caps).to_numpy(dtype=float)
        frames.append(pd.DataFrame({
            "policy": keys["policy"], "family": family, "scen": keys.get("scen", 0),
            "mineral": keys["mineral"], "year": keys["year"].astype(int),
            "country": keys.get("country", ""),
            "limit": limit, "used": used,
            "slack": (limit - used) if sense == "upper" else (used - limit),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _bound_status(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Allowance, use and unused allowance of the deliveries each bound policy restricts, per mineral-year."""
    if not model.restrictions:
        return pd.DataFrame()
    frames = dict(model.delivery_frames())
    upper = model.lp.col_upper
    parts = []
    for r in model.restrictions:
        if r.empty or r["block"].iloc[0] not in frames:
            continue
        block = str(r["block"].iloc[0])
        frame = frames[block]
        rows = r["row"].to_numpy()
        cols = model.block_cols(block)[rows]
        allowed = np.where(np.isfinite(upper[cols]), upper[cols], 0.0)
        parts.append(pd.DataFrame({
            "policy": r["policy"].to_numpy(), "scen": frame["scen"].to_numpy()[rows],
            "mineral": frame["mineral"].to_numpy()[rows], "year": frame["year"].to_numpy(dtype=int)[rows],
            "limit": allowed, "used": x[cols], "slack": np.maximum(allowed - x[cols], 0.0)}))
    if not parts:
        return pd.DataFrame()
    held = pd.concat(parts, ignore_index=True)
    out = held.groupby(["policy", "scen", "mineral", "year"], sort=False)[["limit", "used", "slack"]].sum()
    return out.reset_index().assign(family="bound", country="")


def _charge_status(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Tonnes bought that a tariff or a FEOC credit loss charges, per mineral-year."""
    from engine.formulation.trade import feoc_mask, tariff_mask

    parts = []
    for policy in model.scenario.policies:
        if policy.type not in COST_ONLY or (policy.type == "feoc" and policy.action != "credit_loss"):
            continue
        for block, frame in model.delivery_frames():
            mask = tariff_mask(model, frame, policy) if policy.type == "tariff" else \
                feoc_mask(model, block, frame, policy)
            if not mask.any():
                continue
            cols = model.block_cols(block)[np.flatnonzero(mask)]
            parts.append(pd.DataFrame({"policy": policy.name, "scen": frame["scen"].to_numpy()[mask],
                                       "mineral": frame["mineral"].to_numpy()[mask],
                                       "year": frame["year"].to_numpy(dtype=int)[mask], "used": x[cols]}))
    if not parts:
        return pd.DataFrame()
    charged = pd.concat(parts, ignore_index=True).groupby(["policy", "scen", "mineral", "year"], sort=False)
    return charged["used"].sum().reset_index().assign(family="charge", country="", limit=np.nan, slack=np.nan)


def _duals_by_key(duals: pd.DataFrame | None) -> tuple[dict, dict]:
    """Shadow prices keyed (policy, mineral, year, country) for rows and (policy, mineral, year) for bounds."""
    rows: dict = {}
    bounds: dict = {}
    if duals is None or duals.empty:
        return rows, bounds
    for r in duals.itertuples(index=False):
        item = (float(r.dual_usd), str(r.unit).removeprefix("USD "), str(r.reading))
        if r.family == "bound":
            bounds.setdefault((r.policy, r.mineral, int(r.year)), item)
        else:
            rows.setdefault((r.policy, r.mineral, int(r.year), "" if pd.isna(r.country) else str(r.country)), item)
    return rows, bounds


def _number(value: float, unit: str) -> str:
    if unit == "pp of supply":
        return f"{value:,.2f} pp of supply"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.2f} {unit}"


def _reading(r: dict, names: dict[str, str]) -> str:
    mineral = names.get(r["mineral"], r["mineral"])
    where = f" on {r['country']}" if r["country"] else ""
    head = f"'{r['policy']}'{where}, {mineral} {r['year']}"
    if r["status"] in ("charged", "not charged"):
        return (f"{head}: charges {_number(r['used'], 't')} bought" if r["status"] == "charged"
                else f"{head}: the plan buys nothing it charges")
    if r["status"] == "binding":
        if isinstance(r["dual_reading"], str) and r["dual_reading"]:
            return f"binding: {r['dual_reading']}"
        return f"{head}: at its limit, but relaxing it alone would not lower the cost"
    if r["family"] == "bound":
        return (f"{head}: not binding; the plan would not buy more of what it holds back"
                + (f" ({_number(r['slack'], 't')} of its allowance unused)" if r["slack"] > 0.005 else ""))
    room = {"country_cap": "more could come from there", "export_quota": "of the quota unused",
            "dependence_cap": "below the cap", "content_rule": "above the required qualifying supply",
            "domestic_target": "above the target"}[r["family"]]
    return f"{head}: not binding; {_number(r['slack'], r['slack_unit'])} {room}"


def policy_status(model: Model, x: np.ndarray, duals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every policy of the scenario at the plan ``x``: one row per mineral-year (and country) it covers, sorted
    by the scenario's policy order, mineral, year and country; the duals come from ``duals`` (the table of
    :func:`engine.outputs.duals.shadow_prices`)."""
    x = np.asarray(x, dtype=float)
    frames = [f for f in (_row_status(model, x), _bound_status(model, x), _charge_status(model, x)) if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    if table["scen"].nunique() > 1:  # a stochastic model: the policy at its tightest over the scenarios
        table = table.sort_values("slack", kind="stable").drop_duplicates(
            ["policy", "family", "mineral", "year", "country"])
    types = {p.name: p.type for p in model.scenario.policies}
    order = {p.name: i for i, p in enumerate(model.scenario.policies)}
    table["type"] = table["policy"].map(types)
    units = {f: u for f, (_s, u) in ROW_FAMILIES.items()} | {"bound": "t", "charge": ""}
    table["slack_unit"] = table["family"].map(units)
    row_duals, bound_duals = _duals_by_key(duals)
    found = [bound_duals.get((r.policy, r.mineral, r.year)) if r.family == "bound"
             else row_duals.get((r.policy, r.mineral, r.year, r.country)) if r.family != "charge" else None
             for r in table.itertuples(index=False)]
    table["dual_usd"] = [f[0] if f else np.nan for f in found]
    table["dual_unit"] = [f[1] if f else "" for f in found]
    table["dual_reading"] = [f[2] if f else "" for f in found]
    at_limit = table["slack"].abs() <= TOLERANCE * np.maximum(1.0, table["limit"].abs())
    status = np.where(at_limit, "binding", "slack")
    status = np.where(table["family"] == "bound", np.where(table["dual_usd"].notna(), "binding", "slack"), status)
    status = np.where(table["family"] == "charge", np.where(table["used"] > 0.005, "charged", "not charged"), status)
    table["status"] = status
    table.loc[table["family"].isin(["country_cap", "content_rule", "export_quota", "domestic_target", "bound"])
              & (table["slack"].abs() < 5e-7), "slack"] = 0.0
    names = model.mineral_names()
    table["reading"] = [_reading(r, names) for r in table.to_dict("records")]  # iterrows made a Series a row
    table["order"] = table["policy"].map(order)
    table = table.sort_values(["order", "mineral", "year", "country"], kind="stable")
    return table.reset_index(drop=True)[COLUMNS]


def _never_reading(part: pd.DataFrame, names: dict[str, str]) -> str:
    """Why a policy never binds, in one line."""
    if part.empty:
        return "covers no mineral-year of the plan (nothing it applies to is modelled)"
    n = len(part)
    if part["status"].iloc[0] == "not charged":
        return f"the plan buys nothing it charges in the {n} mineral-years it covers"
    if (part["family"] == "bound").all():
        return f"the plan would not buy more of what it holds back in any of the {n} mineral-years it covers"
    closest = part.sort_values(["slack", "year"], kind="stable").iloc[0]
    where = f" on {closest['country']}" if closest["country"] else ""
    return (f"slack in all {n} mineral-years it covers; closest to its limit: "
            f"{names.get(closest['mineral'], closest['mineral'])} {closest['year']}{where}, "
            f"{_number(float(closest['slack']), str(closest['slack_unit']))} to spare")


def policy_summary(status: pd.DataFrame, policies: list, names: dict[str, str] | None = None) -> list[dict]:
    """One entry per policy of the scenario (in its order): how many mineral-years it covers and binds (or
    charges) in, the years and minerals, its largest shadow price and a reading; ``never binds`` otherwise."""
    names = names or {}
    out = []
    for policy in policies:
        part = status[status["policy"] == policy.name]
        binding = part[part["status"].isin(["binding", "charged"])]
        duals = binding["dual_usd"].dropna()
        worst = binding.loc[duals.abs().idxmax()] if len(duals) else None
        kind = "never binds"
        if len(binding):
            kind = "charged" if (binding["status"] == "charged").all() else "binding"
        reading = (str(worst["reading"]) if worst is not None else str(binding["reading"].iloc[0]) if len(binding)
                   else _never_reading(part, names))
        out.append({
            "policy": policy.name, "type": policy.type, "status": kind,
            "covers": len(part), "binding": len(binding),
            "binding_years": sorted({int(y) for y in binding["year"]}),
            "minerals": list(dict.fromkeys(str(m) for m in binding["mineral"])),
            "largest_dual_usd": None if worst is None else round(float(worst["dual_usd"]), 2),
            "largest_dual_unit": None if worst is None else str(worst["dual_unit"]),
            "reading": reading,
        })
    return out
