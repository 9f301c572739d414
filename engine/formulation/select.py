"""Masks that pick the rows a policy applies to: by mineral, year, and country (location or owner)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.inputs.schema import PolicyBase


def isin(series: pd.Series, values: list[str]) -> np.ndarray:
    """``series.isin(values)`` as a numpy array; Arrow-backed strings are matched by pyarrow directly, which skips
    pandas' fixed cost per call (most of the time on the small tables of a default-size build)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and all(isinstance(v, str) for v in values):
        column = series.array.__arrow_array__()
        return np.asarray(pc.is_in(column, value_set=pa.array(values, type=column.type)), dtype=bool)
    return series.isin(values).to_numpy()


def owner_mask(frame: pd.DataFrame, equity: pd.DataFrame, countries: list[str], threshold: float,
               id_column: str = "id") -> np.ndarray:
    """Rows whose source has at least ``threshold`` equity held by any of ``countries`` (summed)."""
    held = equity[equity["owner"].isin(countries)].groupby("source_id")["equity_share"].sum()
    shares = frame[id_column].map(held).fillna(0.0).to_numpy()
    return shares >= threshold - 1e-12


def country_mask(frame: pd.DataFrame, equity: pd.DataFrame, countries: list[str], by: str,
                 threshold: float, location_column: str = "location") -> np.ndarray:
    """Rows located in (``by='location'``), owned by (``'owner'``) or either of ``countries``."""
    located = isin(frame[location_column], countries)
    if by == "location":
        return located
    owned = owner_mask(frame, equity, countries, threshold)
    return owned if by == "owner" else located | owned


def scope_mask(frame: pd.DataFrame, policy: PolicyBase, years: list[int]) -> np.ndarray:
    """Rows of ``frame`` (with mineral and year columns) inside the policy's minerals and years."""
    mask = np.ones(len(frame), dtype=bool)
    if policy.minerals is not None:
        mask &= isin(frame["mineral"], policy.minerals)
    mask &= np.isin(frame["year"].to_numpy(), policy.years.select(years))
    return mask
