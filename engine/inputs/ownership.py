"""Who owns each supply block: the listed holdings completed by the location country's remainder."""

from __future__ import annotations

import pandas as pd


def equity_table(capacity: pd.DataFrame, ownership: pd.DataFrame) -> pd.DataFrame:
    """Complete equity per source: listed holdings plus the remainder held in the location country."""
    listed = ownership[["source_id", "owner", "equity_share"]].copy()
    listed["equity_share"] = listed["equity_share"].astype(float)
    held = listed.groupby("source_id")["equity_share"].sum()
    remainder = capacity[["source_id", "location"]].rename(columns={"location": "owner"})
    remainder["equity_share"] = 1.0 - remainder["source_id"].map(held).fillna(0.0)
    full = pd.concat([listed, remainder[remainder["equity_share"] > 1e-12]], ignore_index=True)
    return full.groupby(["source_id", "owner"], as_index=False, sort=True)["equity_share"].sum()
