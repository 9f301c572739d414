"""What each policy does to the plan: whole-plan impacts (``policies.csv``) and each mineral-year it covers
(``policy_years.csv``).

A policy's impact is a whole-plan difference, never a dual (duals stay in ``duals.csv``). Each policy is removed in
turn and the whole hierarchy re-solved at the base plan's budget in USD (``engine/plan/impacts.py``); its impact on
a figure F is ``F(plan with the policy) − F(plan re-solved without it)``, "added" by the policy:

- ``unmet_added_t``: unmet demand, tonnes over the horizon (expected over scenarios);
- ``cost_with_unmet_added_usd``: cost including unmet demand at its value, USD present value, each plan at its own
  prices (a tariff removed is not paid);
- ``least_cost_added_usd``: the least-cost plan's cost including unmet demand, USD present value;
- ``exposure_added_pp``, ``share_of_supply_added_pp``: the scenario's aggregate of exposure and of share of supply
  attributed to the dependence country, percentage points.

At one budget in USD the re-solve without a policy is at least as good lexicographically: exposure no higher, and at
equal exposure cost no higher; least cost no higher. A policy **binds** when one of unmet demand, cost including
unmet demand, least cost or exposure changes beyond solver noise: ``|ΔF| > max(NOISE_REL, tolerance) × |F| + floor``
(F the base plan's figure; ``tolerance`` the scenario's level tolerance; floors ``TONNES_NOISE`` t, LEVEL_ABS_TOL × 10
in LP units for money and exposure). Otherwise it is **slack**: removing it changes none of them. ``changes`` names
what moved; ``covers_mineral_years`` counts the mineral-years the policy covers, ``unmet_mineral_years`` those where
removing it changes unmet demand (always mineral-years, never rows).

``policy_years.csv``, per policy and mineral-year it covers (country caps and quotas: the country row nearest its
limit):

- ``at_limit`` (``yes``/``no``; tariffs and FEOC credit losses ``charged``/``not charged``), ``limit``, ``used``,
  ``slack`` in ``slack_unit``: the policy at the plan (caps and quotas: limit − used; content rules and domestic
  targets: used − required; dependence caps in pp of supply; bans: tonnes of allowance left unused);
- ``unmet_added_t``: that mineral-year's part of the removal's unmet change;
- ``relaxed_by`` and ``relaxed_*_change_*``: for the mineral-years of a binding policy where one unit matters most
  (``relaxation_candidates``), the whole hierarchy re-solved with the policy relaxed there by one unit (a tonne; a
  t/yr for domestic targets; a percentage point for dependence caps), ``F(relaxed) − F(plan)``: negative is better.

Tariffs and FEOC credit losses have no unit to relax.
"""


from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.display import UNIT_WORDS, effect_parts, signed_amount
from engine.outputs.results import aggregate_dependence, measures, measures_of
from engine.plan.hierarchy import Plan, objectives
from engine.plan.impacts import UNITS, Variant
from engine.solvers.base import LEVEL_ABS_TOL, NOISE_REL, TONNES_NOISE

COLUMNS = ["policy", "type", "status", "changes", "covers_mineral_years", "unmet_mineral_years", "unmet_added_t",
           "cost_with_unmet_added_usd", "least_cost_added_usd", "exposure_added_pp", "share_of_supply_added_pp",
           "solved", "reading"]
"""policies.csv: one row per policy (module docstring)."""
YEAR_COLUMNS = ["policy", "type", "family", "mineral", "year", "country", "at_limit", "limit", "used", "slack",
                "slack_unit", "unmet_added_t", "relaxed_by", "relaxed_unmet_change_t",
                "relaxed_cost_with_unmet_change_usd", "relaxed_least_cost_change_usd", "relaxed_exposure_change_pp",
                "reading"]
"""policy_years.csv: one row per policy and mineral-year it covers (module docstring)."""
TOLERANCE = 1e-6
RELAX_TOP = 3
"""Mineral-years relaxed by one unit per binding policy, at most (``relaxation_candidates``)."""
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


MEASURES = (("unmet_t", "unmet demand"), ("cost_usd", "cost including unmet demand"), ("least_cost_usd", "least cost"),
            ("exposure_pct", "exposure"))
"""The figures a policy binds through, and their names in ``changes``."""


def figures(model: Model, plan: Plan, cost_usd: float | None) -> dict:
    """A plan's figures: unmet tonnes (total and per (mineral, year), expected over scenarios), cost including unmet
    demand (``cost_usd``), least cost, exposure and share of supply (the scenario's aggregate, percent)."""
    x = plan.x
    m = measures(model, x)
    d = model.demand
    prob = d["probability"].to_numpy(dtype=float) if "probability" in d else np.ones(len(d))
    by_year = pd.Series(m.shortfall_t * prob).groupby([d["mineral"].to_numpy(), d["year"].to_numpy(dtype=int)]).sum()
    return {"unmet_t": float((m.shortfall_t * prob).sum()), "unmet_by_year": by_year, "cost_usd": cost_usd,
            "least_cost_usd": plan.least_cost_usd, "exposure_pct": aggregate_dependence(model, m.exposure_pct),
            "share_pct": aggregate_dependence(model, m.share_of_supply_pct)}


def _variant_figures(v: Variant) -> dict:
    """``figures`` of a re-solve, made once per variant (``relaxation_candidates`` and ``policy_tables`` read each
    removal's three times)."""
    made = v.__dict__.get("_figures")
    if made is None:
        made = v.__dict__["_figures"] = figures(v.model, v.plan, v.cost_usd)
    return made


def base_figures(model: Model, plan: Plan) -> dict:
    """The base plan's figures (its cost at the model's own prices)."""
    return figures(model, plan, float(objectives(model)["cost"] @ plan.x) * model.money_unit)


def noise(model: Model, name: str, base: float) -> float:
    """How far a figure may move by solver noise alone (module docstring)."""
    relative = max(NOISE_REL, model.scenario.objective.tolerance) * abs(base)
    floor = {"unmet_t": TONNES_NOISE, "cost_usd": 10 * LEVEL_ABS_TOL * model.money_unit,
             "least_cost_usd": 10 * LEVEL_ABS_TOL * model.money_unit,
             "exposure_pct": 10 * LEVEL_ABS_TOL * model.dependence_unit,
             "share_pct": 10 * LEVEL_ABS_TOL * model.dependence_unit}[name]
    return relative + floor


def _beyond(model: Model, name: str, difference: float, base: float) -> float:
    """``difference`` or 0.0 when within noise."""
    if difference is None or base is None or not np.isfinite(difference):
        return float("nan")
    return float(difference) if abs(difference) > noise(model, name, base) else 0.0


def changes(model: Model, base: dict, other: dict, sign: float = 1.0) -> dict:
    """``sign × (base − other)`` per figure, 0 within noise (sign 1: what the policy adds; −1: other − base)."""
    out = {}
    for name in ("unmet_t", "cost_usd", "least_cost_usd", "exposure_pct", "share_pct"):
        a, b = base[name], other[name]
        if a is None or b is None or (isinstance(a, float) and np.isnan(a)) or np.isnan(b):
            out[name] = float("nan")
            continue
        out[name] = _beyond(model, name, sign * (a - b), a)
    joined = pd.concat([base["unmet_by_year"], other["unmet_by_year"]], axis=1).fillna(0.0)
    per_year = sign * (joined.iloc[:, 0] - joined.iloc[:, 1])
    out["unmet_by_year"] = per_year.where(per_year.abs() > TONNES_NOISE, 0.0)
    return out


def _covered(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Every policy's mineral-years at the plan (limit, used, slack), one row per policy and mineral-year (the row
    nearest its limit where a policy has several: countries, or a quota row and its bounds). Made once per model and
    point (``relaxation_candidates`` and ``policy_tables`` both ask for the plan's); each caller gets its own copy."""
    cached = getattr(model, "_covered_cache", None)
    if cached is not None and cached[0].shape == x.shape and np.array_equal(cached[0], x, equal_nan=True):
        return cached[1].copy()
    table = _covered_table(model, x)
    model._covered_cache = (x.copy(), table)
    return table.copy()


def _covered_table(model: Model, x: np.ndarray) -> pd.DataFrame:
    frames = [f for f in (_row_status(model, x), _bound_status(model, x), _charge_status(model, x)) if len(f)]
    if not frames:
        return pd.DataFrame(columns=["policy", "family", "mineral", "year", "country", "limit", "used", "slack"])
    table = pd.concat(frames, ignore_index=True)
    table["country"] = table["country"].fillna("")
    scale = np.maximum(1.0, table["limit"].abs().fillna(1.0))
    table["_near"] = (table["slack"] / scale).fillna(np.inf)
    table = table.sort_values(["_near", "family", "country"], kind="stable").drop_duplicates(
        ["policy", "mineral", "year"])
    return table.drop(columns="_near")


def relaxation_candidates(model: Model, plan: Plan, removals: list[Variant], duals: pd.DataFrame | None,
                          base: dict | None = None, top: int = RELAX_TOP) -> list[tuple[str, str, str, int, str]]:
    """Where a one-unit relaxation of each binding policy is tried: (policy, family, mineral, year, country).

    The rule: among the mineral-years the policy covers (bans, quotas, caps, content rules, domestic targets; not
    tariffs), those where removing the policy changes unmet demand or where it has a non-zero shadow price in
    ``duals.csv``, ranked by the unmet tonnes its removal meets there, then by the size of that shadow price (in
    each year's money), then mineral and year; the first ``top`` per policy."""
    base = base or base_figures(model, plan)
    covered = _covered(model, plan.x)
    dual_size: dict = {}
    if duals is not None and len(duals):
        for r in duals.itertuples(index=False):
            key = (r.policy, r.mineral, int(r.year))
            dual_size[key] = max(dual_size.get(key, 0.0), abs(float(r.dual_usd)))
    out = []
    for v in removals:
        if not v.ok or not _binds(model, changes(model, base, _variant_figures(v))):
            continue
        unmet = changes(model, base, _variant_figures(v))["unmet_by_year"]
        mine = covered[(covered["policy"] == v.policy) & covered["family"].isin(list(UNITS))]
        ranked = []
        for r in mine.itertuples(index=False):
            met = abs(float(unmet.get((r.mineral, int(r.year)), 0.0)))
            price = dual_size.get((r.policy, r.mineral, int(r.year)), 0.0)
            if met > 0 or price > 0:
                ranked.append((-met, -price, r.mineral, int(r.year), r.family, r.country))
        for _, _, mineral, year, family, country in sorted(ranked)[:top]:
            out.append((v.policy, family, mineral, year, country))
    return out


def _binds(model: Model, change: dict) -> bool:
    return any(change[name] != 0 and not np.isnan(change[name]) for name, _ in MEASURES)


def effect_text(change: dict) -> str:
    """'+10.00 t unmet, +USD 21.0 m cost including unmet, +0.055 pp exposure' for what moved (0 and NaN left out)."""
    return effect_parts([(change.get("unmet_t"), "t", "unmet"), (change.get("cost_usd"), "USD", "cost including unmet"),
                         (change.get("least_cost_usd"), "USD", "least cost"),
                         (change.get("exposure_pct"), "pp", "exposure")])


NOT_COMPUTED = "not computed"
"""The status of every policy when the impacts were skipped (``critmin solve --no-impacts``)."""


def policy_tables(model: Model, plan: Plan, removals: list[Variant] | None, relaxations: list[Variant],
                  base: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``policies.csv`` and ``policy_years.csv`` (module docstring) of the plan and its re-solves; ``removals``
    None: the impacts were not computed (every policy ``not computed``, its figures blank; its mineral-years keep
    their limit, use and slack)."""
    base = base or base_figures(model, plan)
    names = model.mineral_names()
    types = {p.name: p.type for p in model.scenario.policies}
    covered = _covered(model, plan.x)
    covered["type"] = covered["policy"].map(types)
    units = {f: u for f, (_s, u) in ROW_FAMILIES.items()} | {"bound": "t", "charge": ""}
    covered["slack_unit"] = covered["family"].map(units)
    at_limit = covered["slack"].abs() <= TOLERANCE * np.maximum(1.0, covered["limit"].abs())
    covered["at_limit"] = np.where(covered["family"] == "charge",
                                   np.where(covered["used"] > 0.005, "charged", "not charged"),
                                   np.where(at_limit, "yes", "no"))
    for column in ("slack",):
        covered.loc[covered["family"] != "dependence_cap", column] = covered[column].where(
            covered[column].abs() >= 5e-7, 0.0)
    rows, by_policy = [], {}
    counts = _covers(covered)
    if removals is None:
        rows = [_not_computed(p.name, p.type, counts.get(p.name, 0)) for p in model.scenario.policies]
    for v in removals or []:
        change = changes(model, base, _variant_figures(v)) if v.ok else None
        by_policy[v.policy] = change
        n = counts.get(v.policy, 0)
        moved = [] if change is None else [label for name, label in MEASURES if change[name] != 0
                                           and not np.isnan(change[name])]
        status = "not solved" if change is None else ("binds" if moved else "slack")
        unmet_years = 0 if change is None else int((change["unmet_by_year"] != 0).sum())
        rows.append({
            "policy": v.policy, "type": types[v.policy], "status": status, "changes": "; ".join(moved),
            "covers_mineral_years": n, "unmet_mineral_years": unmet_years,
            **({k: np.nan for k in ("unmet_added_t", "cost_with_unmet_added_usd", "least_cost_added_usd",
                                    "exposure_added_pp", "share_of_supply_added_pp")} if change is None else {
                "unmet_added_t": change["unmet_t"], "cost_with_unmet_added_usd": change["cost_usd"],
                "least_cost_added_usd": change["least_cost_usd"], "exposure_added_pp": change["exposure_pct"],
                "share_of_supply_added_pp": change["share_pct"]}),
            "solved": v.method if v.ok else f"not solved: {v.plan.status} ({v.plan.message})",
            "reading": _policy_reading(v.policy, types[v.policy], status, change, n, names),
        })
    policies = pd.DataFrame(rows, columns=COLUMNS)
    policies.attrs["unmet_by_year"] = {  # every mineral-year whose unmet demand the removal changes, largest first
        name: [(m, int(y), float(t)) for (m, y), t in _largest(change["unmet_by_year"])]
        for name, change in by_policy.items() if change is not None}
    relaxed = {(v.policy, v.mineral, int(v.year)): v for v in relaxations}
    year_rows = []
    for r in covered.to_dict("records"):
        change = by_policy.get(r["policy"])
        added = 0.0 if change is None else float(change["unmet_by_year"].get((r["mineral"], int(r["year"])), 0.0))
        v = relaxed.get((r["policy"], r["mineral"], int(r["year"])))
        rc = changes(model, base, _variant_figures(v), sign=-1.0) if v is not None and v.ok \
            else None
        year_rows.append({
            **{k: r[k] for k in ("policy", "type", "family", "mineral", "country", "at_limit", "limit", "used",
                                 "slack", "slack_unit")},
            "year": int(r["year"]), "unmet_added_t": added if change is not None else np.nan,
            "relaxed_by": f"1 {v.unit}" if v is not None else "",
            "relaxed_unmet_change_t": rc["unmet_t"] if rc else np.nan,
            "relaxed_cost_with_unmet_change_usd": rc["cost_usd"] if rc else np.nan,
            "relaxed_least_cost_change_usd": rc["least_cost_usd"] if rc else np.nan,
            "relaxed_exposure_change_pp": rc["exposure_pct"] if rc else np.nan,
            "reading": _year_reading(r, added, v, rc, names),
        })
    years = pd.DataFrame(year_rows, columns=YEAR_COLUMNS)
    if len(years):
        order = {p.name: i for i, p in enumerate(model.scenario.policies)}
        years = years.assign(_o=years["policy"].map(order)).sort_values(["_o", "mineral", "year"], kind="stable")
        years = years.drop(columns="_o").reset_index(drop=True)
    return policies, years


def _covers(covered: pd.DataFrame) -> dict[str, int]:
    """The mineral-years each policy covers: its rows of ``_covered``'s table, which has one per policy and
    mineral-year (counted once for every policy, where a filter and a drop_duplicates per policy took 3 ms each)."""
    counts: dict[str, int] = {}
    for policy in covered["policy"].tolist() if len(covered) else []:
        counts[policy] = counts.get(policy, 0) + 1
    return counts


def _not_computed(policy: str, kind: str, covers: int) -> dict:
    """A policy's row of ``policies.csv`` when the impacts were skipped (``covers``: its mineral-years)."""
    return {"policy": policy, "type": kind, "status": NOT_COMPUTED, "changes": "",
            "covers_mineral_years": covers,
            "unmet_mineral_years": np.nan,
            **{k: np.nan for k in ("unmet_added_t", "cost_with_unmet_added_usd", "least_cost_added_usd",
                                   "exposure_added_pp", "share_of_supply_added_pp")},
            "solved": "not computed (--no-impacts)",
            "reading": f"'{policy}': impacts not computed (solved with --no-impacts)"}


def _largest(per_year: pd.Series) -> list:
    """The non-zero entries of a per-(mineral, year) series, largest in size first (then mineral, year)."""
    items = [((m, int(y)), float(t)) for (m, y), t in per_year.items() if t != 0]
    return sorted(items, key=lambda item: (-abs(item[1]), item[0]))


def _policy_reading(policy: str, kind: str, status: str, change: dict | None, covers: int,
                    names: dict[str, str]) -> str:
    if change is None:
        return f"'{policy}': the plan without it was not solved"
    if status == "slack":
        return (f"'{policy}' is slack: removing it changes no level of the plan (in any of the {covers} "
                f"mineral-years it covers)")
    text = f"with '{policy}' the plan has {effect_text(change)} (against the plan re-solved without it)"
    years = _largest(change["unmet_by_year"])
    if years:
        text += "; unmet by mineral-year: " + ", ".join(
            f"{names.get(m, m)} {y} {signed_amount(t, 't')}" for (m, y), t in years[:3]) + (
            f" and {len(years) - 3} more" if len(years) > 3 else "")
    return text


def _year_reading(r: dict, added: float, v: Variant | None, rc: dict | None, names: dict[str, str]) -> str:
    mineral = names.get(r["mineral"], r["mineral"])
    where = f" on {r['country']}" if r["country"] else ""
    head = f"'{r['policy']}'{where}, {mineral} {r['year']}"
    if r["family"] == "charge":
        text = (f"{head}: charges {r['used']:,.2f} t bought" if r["at_limit"] == "charged"
                else f"{head}: the plan buys nothing it charges")
    else:
        text = f"{head}: " + ("at its limit" if r["at_limit"] == "yes" else
                              f"{r['slack']:,.2f} {r['slack_unit']} from its limit")
    if added:
        text += f"; removing the policy changes unmet demand here by {signed_amount(-added, 't')}"
    if v is not None and rc is not None:
        text += f"; {UNIT_WORDS[r['family'] if r['family'] in UNITS else 'bound']}: {effect_text(rc)}"
    return text


def policy_summary(policies: pd.DataFrame, years: pd.DataFrame, names: dict[str, str] | None = None) -> list[dict]:
    """One entry per policy of the scenario (in its order) for summary.json: its whole-plan impacts, status, the
    mineral-years it covers and changes unmet demand in, and its best one-unit relaxation."""
    names = names or {}
    out = []
    tried_at: dict[str, list[int]] = {}  # each policy's rows of policy_years.csv with a relaxation, in order
    if len(years):
        for i, (policy, relaxed_by) in enumerate(zip(years["policy"].tolist(), years["relaxed_by"].tolist(),
                                                     strict=True)):
            if relaxed_by != "":
                tried_at.setdefault(policy, []).append(i)
    for r in policies.to_dict("records"):
        unmet_years = policies.attrs.get("unmet_by_year", {}).get(r["policy"], [])
        best = None
        if r["policy"] in tried_at:
            tried = years.iloc[tried_at[r["policy"]]]
            columns = ["relaxed_unmet_change_t", "relaxed_exposure_change_pp", "relaxed_cost_with_unmet_change_usd",
                       "relaxed_least_cost_change_usd"]
            keys = [tuple(-abs(float(v)) if np.isfinite(v) else 0.0 for v in row) for row in
                    tried[columns].to_numpy(dtype=float)]
            b = tried.iloc[min(range(len(keys)), key=lambda i: keys[i])]  # the first of the largest, row order
            best = {"mineral": b["mineral"], "year": int(b["year"]), "country": b["country"], "family": b["family"],
                    "relaxed_by": b["relaxed_by"], "unmet_change_t": _num(b["relaxed_unmet_change_t"]),
                    "cost_with_unmet_change_usd": _num(b["relaxed_cost_with_unmet_change_usd"]),
                    "least_cost_change_usd": _num(b["relaxed_least_cost_change_usd"]),
                    "exposure_change_pp": _num(b["relaxed_exposure_change_pp"])}
        out.append({
            "policy": r["policy"], "type": r["type"], "status": r["status"], "changes": r["changes"],
            "covers_mineral_years": int(r["covers_mineral_years"]),
            "unmet_mineral_years": None if pd.isna(r["unmet_mineral_years"]) else int(r["unmet_mineral_years"]),
            "unmet_by_mineral_year_t": [{"mineral": m, "year": y, "added_t": _num(t)} for m, y, t in unmet_years],
            "unmet_added_t": _num(r["unmet_added_t"]),
            "cost_with_unmet_added_usd": _num(r["cost_with_unmet_added_usd"]),
            "least_cost_added_usd": _num(r["least_cost_added_usd"]),
            "exposure_added_pp": _num(r["exposure_added_pp"]),
            "share_of_supply_added_pp": _num(r["share_of_supply_added_pp"]),
            "best_relaxation": best, "solved": r["solved"], "reading": r["reading"],
        })
    return out


def _num(value: object, digits: int = 6) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, digits) + 0.0
