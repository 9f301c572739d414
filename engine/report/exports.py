"""The results tables as one XLSX workbook (a sheet per table, plus a summary sheet) or as Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.report.folder import TABLE_ORDER, ResultsFolder

SKIP_KEYS = {"by_mineral_year", "least_cost_by_mineral_year"}  # in the dependence table already


def _flatten(value: object, key: str, out: list[tuple[str, object]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP_KEYS:
                _flatten(v, f"{key}.{k}" if key else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{key}[{i}]", out)
    elif isinstance(value, list):
        out.append((key, ", ".join(str(v) for v in value)))
    else:
        out.append((key, value))


def summary_frame(summary: dict) -> pd.DataFrame:
    """``summary.json`` as one row per value (``key`` is the dotted path), leaving out the per-year series that
    the dependence table holds."""
    rows: list[tuple[str, object]] = []
    _flatten(summary, "", rows)
    frame = pd.DataFrame(rows, columns=["key", "value"])
    frame.insert(0, "section", frame["key"].str.split(r"[.\[]", n=1, regex=True).str[0])
    return frame


def tables_of(folder: ResultsFolder) -> list[tuple[str, pd.DataFrame]]:
    """The folder's CSV tables in report order (frontier included when found)."""
    return [(name, folder.tables[name]) for name in TABLE_ORDER if name in folder.tables]


def write_xlsx(folder: ResultsFolder, path: Path) -> Path:
    """One workbook: a ``summary`` sheet, then a sheet per table, headers frozen and columns sized to fit."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        sheets = [("summary", summary_frame(folder.summary)), *tables_of(folder)]
        for name, frame in sheets:
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for i, column in enumerate(frame.columns, start=1):
                sample = [len(str(v)) for v in frame[column].head(200) if not pd.isna(v)]
                width = max([len(str(column)), *sample])
                sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = min(width + 2, 60)
    return path


def write_parquet(folder: ResultsFolder, directory: Path) -> list[Path]:
    """One ``<table>.parquet`` per CSV table, with the same contents as ``pandas.read_csv`` gives."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables_of(folder):
        path = directory / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
    return written
