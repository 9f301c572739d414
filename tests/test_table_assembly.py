"""The build assembles its tables on numpy positions: each equals its definition in pandas (cross joins, sorts,
group sums over the string keys) bit for bit, dtypes and row order included, on the shipped data and on random
ownership tables."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from engine.analysis.sampling import scenario_set
from engine.formulation import build_model
from engine.formulation.jv import jv_equity
from engine.formulation.select import isin
from engine.formulation.supply import delivered_cost
from engine.inputs.ownership import equity_table, group_sums
from engine.inputs.scenario import load_scenario
from engine.model.finance import capital_recovery_factor
from engine.model.joins import end_to_end, group_codes, positions, strings, taken, tiled
from engine.outputs.results import (
    COST_COLUMNS,
    FLOW_COLUMNS,
    OWNER_COLUMNS,
    _component_sums,
    attributed_by_group,
    build_table,
    clean,
    cost_components,
    dependence_table,
    flow_table,
    owner_table,
    stockpile_table,
)


def _equity_by_pandas(capacity: pd.DataFrame, ownership: pd.DataFrame) -> pd.DataFrame:
    listed = ownership[["source_id", "owner", "equity_share"]].copy()
    listed["equity_share"] = listed["equity_share"].astype(float)
    held = listed.groupby("source_id")["equity_share"].sum()
    remainder = capacity[["source_id", "location"]].rename(columns={"location": "owner"})
    remainder["equity_share"] = 1.0 - remainder["source_id"].map(held).fillna(0.0)
    full = pd.concat([listed, remainder[remainder["equity_share"] > 1e-12]], ignore_index=True)
    return full.groupby(["source_id", "owner"], as_index=False, sort=True)["equity_share"].sum()


def _random_holdings(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sources with 0-5 listed holders (some the location country, some listed twice), in shuffled or sorted
    order: the sums take pandas' compensated path or its sorted one."""
    rng = np.random.default_rng(seed)
    countries = ["AUS", "CHN", "IDN", "USA", "ZAF"]
    sources = [f"S{i:02d}" for i in rng.permutation(12)]
    capacity = pd.DataFrame({"source_id": sources, "location": rng.choice(countries, len(sources))}, dtype="str")
    rows = [(s, rng.choice(countries), rng.uniform(0, 0.45) * 10.0 ** -rng.integers(0, 3))
            for s in sources for _ in range(rng.integers(0, 6))]
    ownership = pd.DataFrame(rows, columns=["source_id", "owner", "equity_share"]).astype(
        {"source_id": "str", "owner": "str"})
    if seed % 2:
        ownership = ownership.sort_values("source_id", kind="stable").reset_index(drop=True)
    return capacity, ownership


@pytest.mark.parametrize("seed", range(8))
def test_equity_table_equals_the_pandas_group_sums_bit_for_bit(seed):
    capacity, ownership = _random_holdings(seed)
    expected = _equity_by_pandas(capacity, ownership)
    got = equity_table(capacity, ownership)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["equity_share"].to_numpy().tobytes() == expected["equity_share"].to_numpy().tobytes()


@pytest.mark.parametrize("seed", range(4))
def test_group_sums_add_in_pandas_order(seed):
    rng = np.random.default_rng(seed)
    keys = rng.choice([f"k{i}" for i in range(5)], 200)
    values = rng.uniform(0, 1, 200) * 10.0 ** rng.integers(-9, 9, 200)
    expected = pd.Series(values).groupby(keys, sort=True).sum()
    uniques, codes = np.unique(keys, return_inverse=True)
    got = group_sums(codes, values, len(uniques) + 1)  # one group without rows: 0.0
    assert got[:-1].tobytes() == expected.to_numpy().tobytes() and got[-1] == 0.0


def test_jv_equity_equals_the_pandas_group_sums():
    opts = load_scenario("jv_quid_pro_quo").dataset.jv_options
    partner = pd.DataFrame({"source_id": opts["option_id"], "owner": opts["partner"],
                            "equity_share": opts["partner_equity_share"].astype(float)})
    host = pd.DataFrame({"source_id": opts["option_id"], "owner": opts["host"],
                         "equity_share": 1.0 - opts["partner_equity_share"].astype(float)})
    both = pd.concat([partner, host], ignore_index=True)
    both = both[both["equity_share"] > 1e-12]
    expected = both.groupby(["source_id", "owner"], as_index=False, sort=True)["equity_share"].sum()
    pd.testing.assert_frame_equal(jv_equity(opts), expected, check_exact=True)


def test_taken_and_tiled_keep_every_dtype():
    frame = pd.DataFrame({"s": pd.array(["a", None, "c"], dtype="str"), "i": pd.array([1, None, 3], dtype="Int64"),
                          "o": pd.Series([1, "x", None], dtype=object), "b": [True, False, True],
                          "f": [0.5, np.nan, -0.0]})
    rows = np.array([2, 0, 2])
    for times in (1, 3):
        got = pd.DataFrame({name: tiled(taken(values, rows), times) for name, values in frame.items()})
        expected = pd.concat([frame.take(rows)] * times, ignore_index=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


@functools.cache
def _model(name: str, samples: int):
    loaded = load_scenario(name)
    return build_model(loaded, scenario_set(loaded, list(range(samples)), 3)[0]) if samples else build_model(loaded)


CASES = [("baseline", 0), ("jv_quid_pro_quo", 3), ("feoc_strict", 2)]
SCALED = ("unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t")  # by each sample's cost factor later


def _same(got: pd.DataFrame, expected: pd.DataFrame, samples: int) -> None:
    """Equal in every column, bit for bit (costs only without samples: a sample scales them afterwards)."""
    columns = [c for c in expected.columns if not samples or c not in SCALED]
    pd.testing.assert_frame_equal(got[columns], expected[columns], check_exact=True)


def _per_scenario(base: pd.DataFrame, model, keys: list[str]) -> pd.DataFrame:
    """The definition: every row of ``base`` in every scenario, sorted by scenario then ``keys``."""
    crossed = base.merge(model.scenarios[["scen"]], how="cross")
    return crossed.sort_values(["scen", *keys], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("name,samples", CASES)
def test_flow_table_is_sources_by_active_year_by_scenario(name, samples):
    model = _model(name, samples)
    src = model.sources[["source_id", "mineral", "location", "owner", "capacity_t", "unit_cost_usd_per_t",
                         "covered_equity", "attribution", "first_year", "last_year", "exportable_share"]]
    active = src.merge(pd.DataFrame({"year": model.years}), how="cross")
    last = active["last_year"].astype("Float64").fillna(np.inf).astype(float)
    active = active[(active["year"] >= active["first_year"]) & (active["year"] <= last)]
    active = active.assign(available_t=active["capacity_t"] * active["exportable_share"])
    expected = _per_scenario(active.drop(columns=["first_year", "last_year", "exportable_share"]), model,
                             ["mineral", "year", "source_id"])
    _same(model.supply, expected, samples)
    assert (model.supply["id"] == model.supply["source_id"]).all()


@pytest.mark.parametrize("name,samples", CASES)
def test_jv_tables_are_options_by_year_by_scenario(name, samples):
    model = _model(name, samples)
    opts, end = model.jv_options, model.years[-1]
    builds = opts[list(model.builds.columns[:6])].merge(pd.DataFrame({"year": model.years}), how="cross")
    builds = builds[(builds["year"] >= builds["earliest_start"])
                    & (builds["year"] + builds["lead_time_years"] <= end)].reset_index(drop=True)
    builds = builds.assign(online=builds["year"] + builds["lead_time_years"], allowed=True)
    allowed = model.builds["allowed"]
    pd.testing.assert_frame_equal(model.builds.assign(allowed=True), builds, check_exact=True)
    assert allowed.dtype == bool
    first_online = np.maximum(opts["earliest_start"], model.years[0]) + opts["lead_time_years"]
    out = opts.assign(first_online=first_online).merge(pd.DataFrame({"year": model.years}), how="cross")
    expected = _per_scenario(out[out["year"] >= out["first_online"]], model, ["mineral", "year", "option_id"])
    _same(model.jv_output, expected, samples)


@pytest.mark.parametrize("name,samples", CASES)
def test_demand_and_stockpile_tables_are_grids_by_scenario(name, samples):
    model = _model(name, samples)
    d = model.demand
    keys = ["mineral", "year"]
    base = d.loc[d["scen"] == d["scen"].min(), keys].reset_index(drop=True)
    pd.testing.assert_frame_equal(d[[*keys, "scen"]], _per_scenario(base, model, keys), check_exact=True)
    assert d[keys].drop_duplicates().sort_values(keys).reset_index(drop=True).equals(base)
    if len(model.stockpile):
        s = model.stockpile
        first = s.loc[s["scen"] == s["scen"].min()].drop(columns="scen").reset_index(drop=True)
        pd.testing.assert_frame_equal(s, _per_scenario(first, model, keys), check_exact=True)
        assert first[keys].equals(first[keys].sort_values(keys).reset_index(drop=True))


@pytest.mark.parametrize("seed", range(4))
def test_positions_of_integers_equal_pandas_get_indexer(seed):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(rng.choice(np.arange(-5, 40), rng.integers(0, 12), replace=False))
    values = rng.integers(-8, 45, 60)
    expected = pd.Index(labels).get_indexer(values)
    for given in (values, pd.Series(values)):
        assert positions(given, pd.Series(labels)).tolist() == expected.tolist()
    with pytest.raises(pd.errors.InvalidIndexError):  # repeated labels: pandas' own error, as before
        positions(values, np.array([1, 2, 1]))


def test_isin_equals_pandas_on_every_string_storage():
    values = ["CHN", None, "USA", "chn", "", "CHN"]
    for dtype in ("str", "string[python]", object):
        series = pd.Series(values, dtype=dtype)
        for wanted in (["CHN"], ["USA", ""], [], ["XXX"]):
            expected = series.isin(wanted).to_numpy(dtype=bool)
            got = isin(series, wanted)
            assert got.dtype == bool and got.tolist() == expected.tolist()
        assert (~isin(series, ["USA"])).tolist() == (series != "USA").to_numpy(dtype=bool, na_value=True).tolist()
    chunked = pd.concat([pd.Series(["a", "b"], dtype="str")] * 3, ignore_index=True)  # several Arrow chunks
    assert isin(chunked, ["b"]).tolist() == [False, True] * 3


def _flows_by_pandas(model, x: np.ndarray) -> pd.DataFrame:
    """The flow table's definition: each block's delivered rows selected, concatenated and sorted by pandas."""
    frames = []
    for block, frame in model.delivery_frames():
        tonnes = clean(x[model.block_cols(block)])
        keep = np.flatnonzero(tonnes > 0)
        unit = delivered_cost(frame[COST_COLUMNS].take(keep)).to_numpy()
        part = frame[["scen", "mineral", "year", "id", "location", "owner", "attribution", "restricted_by"]].take(
            keep).rename(columns={"attribution": "china_attribution"})
        tonnes = tonnes[keep]
        part.insert(3, "kind", "purchase" if block == "flow" else "jv")
        part["tonnes"] = tonnes
        part["unit_cost_usd_per_t"] = unit
        part["cost_usd"] = tonnes * unit
        part["cost_pv_usd"] = tonnes * unit * model.discount(part["year"])
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out = out.assign(_purchase=out["kind"] == "purchase")
    return out.sort_values(["scen", "mineral", "year", "_purchase", "id"], kind="stable").reset_index(drop=True)[
        FLOW_COLUMNS]


def _owners_by_pandas(model, flows: pd.DataFrame) -> pd.DataFrame:
    """The owner table's definition: the flows merged with the equity table, split, and summed by pandas."""
    split = flows[["scen", "mineral", "year", "id", "location", "tonnes"]].merge(
        model.equity.rename(columns={"source_id": "id"}), on="id", how="left", validate="many_to_many")
    unlisted = split["owner"].isna()
    split.loc[unlisted, "owner"] = split.loc[unlisted, "location"]
    split["tonnes"] = split["tonnes"] * split["equity_share"].fillna(1.0)
    out = split.groupby(["scen", "mineral", "year", "owner"], as_index=False, sort=True)["tonnes"].sum()
    out["tonnes"] = clean(out["tonnes"].to_numpy())
    return out[out["tonnes"] > 0].reset_index(drop=True)[OWNER_COLUMNS]


def _points(model) -> list[np.ndarray]:
    """A solved plan, nothing delivered, and random tonnes on most columns (each delivery's owners split)."""
    from engine.plan.hierarchy import solve_plan
    from engine.solvers import make_backend

    rng = np.random.default_rng(len(model.supply))
    spread = rng.uniform(0, 50, model.lp.n_cols) * (rng.random(model.lp.n_cols) < 0.7)
    return [solve_plan(model, make_backend("highs")).x, np.zeros(model.lp.n_cols), spread]


@pytest.mark.parametrize("name,samples", [*CASES, ("ira_content", 0), ("crma_caps", 2)])
def test_flow_and_owner_tables_equal_their_pandas_definitions_bit_for_bit(name, samples):
    model = _model(name, samples)
    for x in _points(model):
        flows = flow_table(model, x)
        pd.testing.assert_frame_equal(flows, _flows_by_pandas(model, x), check_exact=True)
        owners = owner_table(model, flows)
        expected = _owners_by_pandas(model, flows) if len(flows) else pd.DataFrame(columns=OWNER_COLUMNS)
        pd.testing.assert_frame_equal(owners, expected, check_exact=True)
        assert owners["tonnes"].to_numpy().tobytes() == expected["tonnes"].to_numpy().tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_end_to_end_keeps_the_dtype_pandas_concat_gives(seed):
    rng = np.random.default_rng(seed)
    kinds = [lambda n: rng.uniform(size=n), lambda n: rng.integers(0, 9, n),
             lambda n: pd.array(rng.choice(["a", "b", "c"], n), dtype="str"),
             lambda n: pd.array(rng.integers(0, 9, n), dtype="Int64")]
    make = kinds[seed % len(kinds)]
    parts = [make(int(n)) for n in rng.integers(0, 5, 1 + seed % 3)]
    expected = pd.concat([pd.Series(p) for p in parts], ignore_index=True)
    got = pd.Series(end_to_end(parts))
    pd.testing.assert_series_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("seed", range(6))
def test_group_codes_number_the_distinct_keys_in_order(seed):
    rng = np.random.default_rng(seed)
    keys = [rng.integers(0, size, 80) for size in rng.integers(1, 6, 3)]
    if seed % 2:  # keys too large to combine in one int64: the other path
        keys.append(rng.integers(0, 2**40, 80))
        keys.append(rng.integers(0, 2**40, 80))
    first, group = group_codes(keys)
    table = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
    expected = table.groupby(list(table.columns), sort=True).ngroup().to_numpy()
    assert group.tolist() == expected.tolist()
    assert (group[first] == np.arange(len(first))).all()
    assert all(first[g] == np.flatnonzero(group == g)[0] for g in range(len(first)))  # each group's first row


def _costs_by_pandas(model, x: np.ndarray) -> pd.DataFrame:
    """The cost table's definition: each component's demand rows concatenated and sorted by pandas."""
    sums, present = _component_sums(model, x)
    keys = model.demand[["scen", "mineral", "year"]]
    frames = [keys[present[c]].assign(component=c, usd=sums[c][present[c]]) for c in sums]
    long = pd.concat(frames, ignore_index=True).sort_values(["scen", "mineral", "year", "component"],
                                                            kind="stable").reset_index(drop=True)
    long["pv_usd"] = long["usd"] * model.discount(long["year"])
    return long


def _builds_by_pandas(model, x: np.ndarray) -> pd.DataFrame:
    """The build table's definition: the builds with their options' attributes mapped, filtered and sorted."""
    b = model.builds
    size = clean(x[model.block_cols("build")])
    opts = model.jv_options.set_index("option_id")
    fin = model.scenario.finance
    capex = size * b["option_id"].map(opts["capex_usd_per_tpy"]).to_numpy()
    out = pd.DataFrame({
        "option_id": b["option_id"], "mineral": b["mineral"], "mode": b["option_id"].map(opts["mode"]),
        "partner": b["option_id"].map(opts["partner"]), "host": b["option_id"].map(opts["host"]),
        "partner_equity_share": b["option_id"].map(opts["partner_equity_share"]),
        "year_started": b["year"], "capacity_tpy": size, "year_online": b["online"], "capex_usd": capex,
        "capex_annuity_usd_per_yr": capex * capital_recovery_factor(fin.discount_rate, fin.asset_life_years),
    })
    return out[out["capacity_tpy"] > 0].sort_values(["option_id", "year_started"], kind="stable").reset_index(
        drop=True)


def _dependence_by_pandas(model, x: np.ndarray, least_cost_x: np.ndarray) -> pd.DataFrame:
    out = attributed_by_group(model, x)
    ref = attributed_by_group(model, least_cost_x)
    for column in ("china_exposure_pct", "china_share_of_supply_pct"):
        out[f"least_cost_{column}"] = ref[column].to_numpy()
    return out[["scen", "mineral", "year", "demand_t", "supplied_t", "shortfall_t", "china_t", "china_exposure_pct",
                "china_share_of_supply_pct", "least_cost_china_exposure_pct",
                "least_cost_china_share_of_supply_pct"]]


@pytest.mark.parametrize("name,samples", [*CASES, ("ira_content", 0), ("crma_caps", 2)])
def test_cost_build_dependence_and_stockpile_tables_equal_their_pandas_definitions(name, samples):
    model = _model(name, samples)
    points = _points(model)
    for x in points:
        pd.testing.assert_frame_equal(cost_components(model, x), _costs_by_pandas(model, x), check_exact=True)
        pd.testing.assert_frame_equal(build_table(model, x), _builds_by_pandas(model, x), check_exact=True)
        pd.testing.assert_frame_equal(dependence_table(model, x, points[0]),
                                      _dependence_by_pandas(model, x, points[0]), check_exact=True)
        if len(model.stockpile):
            put = pd.Series(clean(x[model.block_cols("stock_put")]),
                            index=pd.MultiIndex.from_frame(model.lp.variables["stock_put"].keys))
            expected = put.reindex(pd.MultiIndex.from_frame(model.stockpile[["mineral", "year"]])).to_numpy()
            assert stockpile_table(model, x)["put_t"].to_numpy().tobytes() == expected.tobytes()


@pytest.mark.parametrize("value", ["purchase", "", "jv", "é ü"])
@pytest.mark.parametrize("n", [0, 1, 7, 50_000])
def test_strings_equal_pandas_column_of_one_string(value, n):
    got, expected = strings(value, n), pd.Series(value, index=range(n), dtype="str").array
    assert type(got) is type(expected) and got.dtype == expected.dtype
    assert getattr(got, "_pa_array", None) is None or got._pa_array.type == expected._pa_array.type
    pd.testing.assert_series_equal(pd.Series(got), pd.Series(expected), check_exact=True)
