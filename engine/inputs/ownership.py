"""Who owns each supply block: the listed holdings completed by the location country's remainder."""

from __future__ import annotations

import numpy as np
import pandas as pd


def equity_table(capacity: pd.DataFrame, ownership: pd.DataFrame) -> pd.DataFrame:
    """Complete equity per source: listed holdings plus the remainder held in the location country, one row per
    (source_id, owner) in sorted order, shares of the same owner summed.

    Computed on integer codes of the sorted keys (the sums by pandas' groupby over them, so they equal those of
    grouping the string keys bit for bit)."""
    listed_source = ownership["source_id"].to_numpy()
    listed_owner = ownership["owner"].to_numpy()
    listed_share = ownership["equity_share"].to_numpy(dtype=float)
    cap_source = capacity["source_id"].to_numpy()
    n_listed = len(listed_source)
    sources, source_code = np.unique(np.concatenate([listed_source, cap_source]), return_inverse=True)
    held = group_sums(source_code[:n_listed], listed_share, len(sources))
    remainder = 1.0 - held[source_code[n_listed:]]
    kept = remainder > 1e-12
    owners, owner_code = np.unique(np.concatenate([listed_owner, capacity["location"].to_numpy()[kept]]),
                                   return_inverse=True)
    return summed_holdings(sources, np.concatenate([source_code[:n_listed], source_code[n_listed:][kept]]), owners,
                           owner_code, np.concatenate([listed_share, remainder[kept]]),
                           ownership["source_id"].dtype, ownership["owner"].dtype)


def summed_holdings(sources: np.ndarray, source_code: np.ndarray, owners: np.ndarray, owner_code: np.ndarray,
                    share: np.ndarray, source_dtype: object, owner_dtype: object) -> pd.DataFrame:
    """Holdings (``sources[source_code]``, ``owners[owner_code]``, ``share``), both name arrays sorted, as
    ``groupby(["source_id", "owner"], as_index=False, sort=True)["equity_share"].sum()`` of them would give."""
    radix = max(len(owners), 1)
    pairs, pair_code = np.unique(source_code.astype(np.int64) * radix + owner_code, return_inverse=True)
    return pd.DataFrame({
        "source_id": pd.array(sources[pairs // radix], dtype=source_dtype),
        "owner": pd.array(owners[pairs % radix], dtype=owner_dtype),
        "equity_share": group_sums(pair_code, share, len(pairs)),
    })


def group_sums(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Σ of ``values`` per group code (0 … ``n_groups`` − 1; 0.0 for a group without rows), summed by pandas'
    groupby so that the order and compensation of the additions, hence every bit, are those of a
    ``groupby(keys, sort=True).sum()`` over the keys the codes number in sorted order."""
    if not len(codes):
        return np.zeros(n_groups)
    sums = pd.Series(np.asarray(values, dtype=float)).groupby(np.asarray(codes), sort=True).sum()
    out = np.zeros(n_groups)
    out[sums.index.to_numpy()] = sums.to_numpy()
    return out

