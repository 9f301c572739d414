"""JV and licence builds in the market: capacity any region may buy from, with the funder's offtake.

Each option j of ``jv_options.csv`` (modelled minerals) is a deal the buyer region f funds. As in today's model
(``engine/formulation/jv.py``, whose tables and capex annuity this reuses), with lead time L_j:

    build[j, y] ≥ 0          t/yr of capacity started in year y (earliest start ≤ y ≤ end − L_j), ≤ max_size_j
    capacity row             Σ_r x[j, r, y] − Σ_{y': y' + L_j ≤ y} build[j, y'] ≤ 0      (its dual: the plant's rent)
    maximum size             Σ_y build[j, y] − max_j · z_j ≤ 0   (z_j binary where a minimum size m_j is set; else
                                                                  Σ_y build[j, y] ≤ max_j)
    minimum size             −Σ_y build[j, y] + m_j · z_j ≤ 0
    capex (objective, PV)    capex_j · CRF(r, n) · Σ_{t = y+L_j}^{min(end, y+L_j+n−1)} δ_t · build[j, y]

Output x[j, r, y] costs opex + royalty (+ trade cost, tariffs) per tonne like any plant's, and may go to any
region. With minimum sizes the LP is a MIP: it is solved, the binaries z are fixed at their values and the LP is
solved again for the duals (prices with minimum sizes do not recover the fixed cost of a minimum-size plant).

**Offtake** (``inputs/market/offtake.csv``, a share φ_j per option hosted outside f's region): the funder has first
call on φ_j of the plant's capacity; every other region together may take at most the rest,

    Σ_{r ≠ f} x[j, r, y] − (1 − φ_j) · Σ_{y' + L_j ≤ y} build[j, y'] ≤ 0        (φ_j = 1: a bound x[j, r, y] = 0)

while f may take up to the whole capacity (the capacity row). It is a right, not an obligation: f is never made to
buy, and what it leaves of its share idles rather than being resold (a right to resell would make the offtake a
transfer that moves no tonnes; in a shortage f's share is what the deal secures). Today's single-buyer model is the
case φ = 1, where the whole output serves the buyer. An option hosted in f's own region has no offtake: its output
sells where it pays, like every plant's there. The row's dual is the value of a tonne of the plant's capacity to
the other regions beyond what f pays; it stays with the plant's owners.

**Who owns the surplus**: the plant's margin on each flow (price − delivered cost − charges) less its capex, each
year, goes to its owners by the deal's equity (the partner's ``partner_equity_share``, the host the rest, as today's
model's ``jv_equity``): capex is counted once, as a cost of its owners.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.formulation.jv import annuity_factor, online_pairs
from engine.formulation.model import Model
from engine.inputs.market_tables import OFFTAKE, MarketData
from engine.model.finance import capital_recovery_factor
from engine.model.joins import positions

OPTION_COLUMNS = ["option_id", "mineral", "host", "partner", "partner_equity_share", "capex_usd_per_tpy",
                  "max_size_tpy", "min_size_tpy", "lead_time_years"]


@dataclass
class JvOptions:
    """The options, their build columns and what the LP needs of them."""

    options: pd.DataFrame  # OPTION_COLUMNS, region (the host's), offtake_share (NaN: none), funder
    builds: pd.DataFrame  # per build column: option_id, mineral, year, online, host, max_size_tpy, annuity_usd
    output: pd.DataFrame  # per JV plant-year (model.jv_output's rows): option_id, year

    @property
    def sized(self) -> np.ndarray:
        """Options with a minimum efficient size (a binary each)."""
        return np.flatnonzero(self.options["min_size_tpy"].to_numpy(dtype=float) > 0)


def jv_options(model: Model, market: MarketData, buyer_region: str) -> JvOptions:
    """The modelled options with their region and offtake share, the build columns with the PV capex per t/yr
    (annualised and discounted exactly as today's model), and the output plant-years."""
    opts = model.jv_options
    if opts.empty:
        empty = pd.DataFrame(columns=[*OPTION_COLUMNS, "region", "offtake_share", "funder"])
        return JvOptions(empty, pd.DataFrame(columns=["option_id", "mineral", "year", "online", "host",
                                                      "max_size_tpy", "annuity_usd"]),
                         pd.DataFrame(columns=["option_id", "year"]))
    options = opts[OPTION_COLUMNS].reset_index(drop=True).copy()
    options["region"] = market.region_of(options["host"])
    options["funder"] = buyer_region
    options["offtake_share"] = _offtake(options, market, buyer_region)
    fin = model.scenario.finance
    crf = capital_recovery_factor(fin.discount_rate, fin.asset_life_years)
    b = model.builds
    at = positions(b["option_id"], options["option_id"])
    builds = pd.DataFrame({"option_id": b["option_id"].to_numpy(), "mineral": b["mineral"].to_numpy(),
                           "year": b["year"].to_numpy(dtype=np.int64), "online": b["online"].to_numpy(dtype=np.int64),
                           "host": options["host"].to_numpy()[at],
                           "max_size_tpy": b["max_size_tpy"].to_numpy(dtype=float)})
    builds["annuity_usd"] = options["capex_usd_per_tpy"].to_numpy(dtype=float)[at] * crf \
        * annuity_factor(model, builds["online"].to_numpy())
    output = model.jv_output[["option_id", "year"]].reset_index(drop=True)
    return JvOptions(options, builds, output)


def _offtake(options: pd.DataFrame, market: MarketData, buyer_region: str) -> np.ndarray:
    """φ per option: offtake.csv's share for an option hosted outside the buyer's region, NaN for one inside it."""
    abroad = (options["region"] != buyer_region).to_numpy()
    where = market.folder / OFFTAKE.filename
    table = market.offtake
    if table is None:
        if abroad.any():
            raise InputError(f"{where}: not found; market mode needs the offtake share of every JV option hosted "
                             f"outside the buyer's region {buyer_region} ({_listed(options['option_id'][abroad])})")
        return np.full(len(options), np.nan)
    share = dict(zip(table["option_id"], table["offtake_share"].astype(float), strict=True))
    home = [o for o, a in zip(options["option_id"], abroad, strict=True) if not a and o in share]
    if home:
        raise InputError(f"{where}: JV option {_listed(home)} is hosted in the buyer's region {buyer_region}; an "
                         f"offtake share is for a deal abroad (a plant in the funder's region sells where it pays)")
    missing = [o for o, a in zip(options["option_id"], abroad, strict=True) if a and o not in share]
    if missing:
        raise InputError(f"{where}: no offtake_share for JV option {_listed(missing)}, hosted outside the buyer's "
                         f"region {buyer_region}; expected a row per such option (the share of its capacity "
                         f"reserved for the buyer that funds it, 0-1)")
    return np.array([share.get(o, np.nan) if a else np.nan
                     for o, a in zip(options["option_id"], abroad, strict=True)], dtype=float)


def _listed(names) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def online_builds(jv: JvOptions) -> tuple[np.ndarray, np.ndarray]:
    """Every (JV plant-year row, build column) with the build online by that year (local indices)."""
    option_of_build = positions(jv.builds["option_id"], jv.options["option_id"])
    option_of_out = positions(jv.output["option_id"], jv.options["option_id"])
    return online_pairs(option_of_build, jv.builds["online"].to_numpy(), option_of_out,
                        jv.output["year"].to_numpy())


def built_capacity(jv: JvOptions, build: np.ndarray) -> np.ndarray:
    """Capacity online (t/yr) per JV plant-year at build levels ``build``."""
    out_row, build_row = online_builds(jv)
    return np.bincount(out_row, weights=build[build_row], minlength=len(jv.output))


def capex_by_year(jv: JvOptions, build: np.ndarray, years: list[int], asset_life: int, crf_value: float
                  ) -> pd.DataFrame:
    """Capex paid per option and year in the year's money: capex_j · CRF · build[j, y'] in every year t of the
    horizon with online ≤ t ≤ online + n − 1 (the annuity whose discounted sum the objective holds)."""
    b = jv.builds
    if b.empty:
        return pd.DataFrame(columns=["option_id", "year", "capex_usd"])
    at = positions(b["option_id"], jv.options["option_id"])
    per_year = jv.options["capex_usd_per_tpy"].to_numpy(dtype=float)[at] * crf_value * build
    year = np.asarray(years, dtype=np.int64)
    online = b["online"].to_numpy(dtype=np.int64)
    pays = (year[None, :] >= online[:, None]) & (year[None, :] <= online[:, None] + asset_life - 1)
    rows, cols = np.nonzero(pays & (per_year[:, None] != 0.0))
    out = pd.DataFrame({"option_id": b["option_id"].to_numpy()[rows], "year": year[cols],
                        "capex_usd": per_year[rows]})
    return out.groupby(["option_id", "year"], as_index=False, sort=True)["capex_usd"].sum()


def build_table(jv: JvOptions, build: np.ndarray, flows: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
    """``builds.csv``: per option built, the capacity started (t/yr, total), the first year it is online, its
    offtake share, the PV capex, and its output over the horizon by region (t)."""
    b = jv.builds
    columns = ["option_id", "mineral", "host", "partner", "partner_equity_share", "offtake_share", "built_tpy",
               "first_online", "capex_pv_usd", "output_t", "output_funder_t"]
    if b.empty or not (build > 1e-9).any():
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame({"option_id": b["option_id"].to_numpy(), "built": build,
                          "online": np.where(build > 1e-9, b["online"].to_numpy(), np.iinfo(np.int64).max),
                          "capex": b["annuity_usd"].to_numpy(dtype=float) * build})
    per = frame.groupby("option_id", sort=True).agg(built_tpy=("built", "sum"), first_online=("online", "min"),
                                                    capex_pv_usd=("capex", "sum"))
    per = per[per["built_tpy"] > 1e-9]
    is_jv = (flows["kind"] == "jv").to_numpy()
    out = pd.DataFrame({"option_id": flows["source_id"].to_numpy()[is_jv], "x": x[is_jv],
                        "funder": (flows["region"].to_numpy()[is_jv]
                                   == jv.options.set_index("option_id")["funder"]
                                   .reindex(flows["source_id"].to_numpy()[is_jv]).to_numpy())})
    output = out.groupby("option_id")["x"].sum()
    funder = out[out["funder"]].groupby("option_id")["x"].sum()
    opts = jv.options.set_index("option_id").loc[per.index]
    table = pd.DataFrame({"option_id": per.index, "mineral": opts["mineral"].to_numpy(),
                          "host": opts["host"].to_numpy(), "partner": opts["partner"].to_numpy(),
                          "partner_equity_share": opts["partner_equity_share"].to_numpy(dtype=float),
                          "offtake_share": opts["offtake_share"].to_numpy(dtype=float),
                          "built_tpy": per["built_tpy"].to_numpy(), "first_online": per["first_online"].to_numpy(),
                          "capex_pv_usd": per["capex_pv_usd"].to_numpy(),
                          "output_t": output.reindex(per.index).fillna(0.0).to_numpy(),
                          "output_funder_t": funder.reindex(per.index).fillna(0.0).to_numpy()})
    return table[columns].sort_values(["mineral", "option_id"], kind="stable").reset_index(drop=True)
