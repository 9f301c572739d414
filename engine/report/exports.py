"""The results as a planner's workbook (XLSX) or as Parquet files.

The workbook: a cover sheet (the report's headline figures, assumptions, policies and policy status), mineral x
year pivots of dependence, supply and cost for a solve, then one sheet per table with names instead of codes,
units in the headers, number formats, frozen header rows and no scenario column when a run has one scenario.
Parquet files hold the CSV tables unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine.figures.labels import Names, component, mode
from engine.outputs.read_folder import TABLE_ORDER, ResultsFolder

if TYPE_CHECKING:
    from engine.report.content import Report

SHEETS = {  # table: sheet name
    "dependence": "Dependence", "flows": "Flows", "owners": "By owner", "builds": "JV builds", "costs": "Costs",
    "shortfall": "Shortfall",
    "stockpile": "Stockpile", "policies": "Policy impacts", "policy_years": "Policy by mineral-year",
    "duals": "Shadow prices", "frontier": "Frontier",
    "stress": "Shocks", "percentiles": "Percentiles", "samples": "Samples", "evaluation": "Robust vs deterministic",
    "deterministic_builds": "Deterministic JV builds", "worstcase": "Worst case by k", "regret": "Regret",
    "moves": "Moves", "bounds": "Bounds per iteration", "sensitivity": "Sensitivity",
    "calibration": "Calibration moves", "backcast": "Backcast",
}
LABELS = {  # column: header with its unit
    "scen": "Scenario", "mineral": "Mineral", "year": "Year", "kind": "Kind", "id": "Source or option",
    "location": "Refined in", "owner": "Owner's country", "country": "Country", "partner": "Partner",
    "host": "Host country", "mode": "Deal", "component": "Cost component", "policy": "Policy", "type": "Type",
    "china_attribution": "Attributed to China (share)", "partner_equity_share": "Partner equity (share)",
    "demand_t": "Demand (t)", "supplied_t": "Supplied: deliveries and stock draws (t)",
    "shortfall_t": "Unmet demand (t)", "china_t": "Supplied, attributed to China (t)",
    "china_exposure_pct": "Exposure to China: attributed + unmet (% of demand)",
    "china_share_of_supply_pct": "Share of supply attributed to China (% of supplied)",
    "least_cost_china_exposure_pct": "Least-cost plan: exposure to China (% of demand)",
    "least_cost_china_share_of_supply_pct": "Least-cost plan: share of supply attributed to China (%)",
    "exposure_pct": "Exposure to China (% of demand)", "share_of_supply_pct": "Share of supply attributed to China (%)",
    "tonnes": "Tonnes (t)",
    "unit_cost_usd_per_t": "Delivered cost (USD/t)", "cost_usd": "Cost (USD)",
    "cost_pv_usd": "Cost, present value (USD)",
    "restricted_by": "Restricted by", "usd": "Spending (USD)", "pv_usd": "Present value (USD)",
    "shortfall_pct": "Unmet demand (% of demand)", "value_usd": "Unmet demand value (USD, 10x reference price)",
    "put_t": "Bought into stock (t)", "draw_t": "Drawn from stock (t)", "stock_t": "Stock at year end (t)",
    "put_attributed_t": "Bought into stock, attributed to China (t)",
    "draw_attributed_t": "Drawn from stock, attributed to China (t)",
    "stock_attributed_t": "Stock at year end, attributed to China (t)",
    "year_started": "Year started", "capacity_tpy": "Capacity (t/yr)", "year_online": "Year online",
    "capex_usd": "Capital (USD)", "capex_annuity_usd_per_yr": "Capital, annual payment (USD/yr)",
    "dual_pv_usd": "Shadow price, present value (USD per unit)", "dual_usd": "Shadow price, that year's money (USD)",
    "whole_unit_usd": "A whole unit relaxed saves, that year's money (USD)",
    "unit": "Per", "reading": "What it means", "family": "Enters the model as", "status": "Status",
    "limit": "Limit (own unit)", "used": "Used (own unit)", "slack": "Slack (own unit)", "slack_unit": "Unit",
    "dual_unit": "Shadow price per",
    "changes": "Removing it changes", "covers_mineral_years": "Mineral-years covered",
    "unmet_mineral_years": "Mineral-years whose unmet demand it changes",
    "unmet_added_t": "Unmet demand added by the policy (t)",
    "cost_with_unmet_added_usd": "Cost incl. unmet demand added (USD, present value)",
    "least_cost_added_usd": "Least cost added (USD, present value)",
    "exposure_added_pp": "Exposure to China added (pp)", "share_of_supply_added_pp": "Share of supply added (pp)",
    "solved": "Re-solved", "at_limit": "At its limit", "relaxed_by": "Relaxed by",
    "relaxed_unmet_change_t": "One unit relaxed: unmet demand change (t)",
    "relaxed_cost_with_unmet_change_usd": "One unit relaxed: cost incl. unmet change (USD, present value)",
    "relaxed_least_cost_change_usd": "One unit relaxed: least cost change (USD, present value)",
    "relaxed_exposure_change_pp": "One unit relaxed: exposure change (pp)",
}
COUNTRY_COLUMNS = ("location", "owner", "country", "partner", "host")
FORMATS = {"usd": "#,##0", "t": "#,##0.0", "pct": "0.0", "share": "0.00", "year": "0"}


def _unit_of(column: str) -> str | None:
    if column in ("year", "year_started", "year_online", "rank", "sample", "point"):
        return "year"
    if column.endswith(("_usd", "_usd_per_t", "_usd_per_pp", "_usd_per_yr")) or column in ("usd", "total_usd"):
        return "usd"
    if column.endswith(("_pct", "_pp")):
        return "pct"
    if column.endswith(("_t", "_tpy")) or column in ("tonnes", "limit", "used", "slack"):
        return "t"
    if column.endswith("_share") or column in ("share", "china_attribution"):
        return "share"
    return None


def header(column: str, names: Names | None = None) -> str:
    """A column name in words with its unit: ``cost_pv_usd`` -> ``Cost, present value (USD)``, ``ga_pct`` ->
    ``Gallium (%)``."""
    if column in LABELS:
        return LABELS[column]
    text = column
    if names is not None:
        for part in column.split("_"):
            if part in names.minerals:
                text = text.replace(part, names.mineral(part), 1)
                break
    for suffix, unit in (("_usd_per_pp", " (USD per pp)"), ("_usd_per_t", " (USD/t)"), ("_pv_usd", ", PV (USD)"),
                         ("_usd", " (USD)"), ("_pct", " (%)"), ("_pp", " (pp)"), ("_tpy", " (t/yr)"),
                         ("_t", " (t)")):
        if text.endswith(suffix):
            text = text[: -len(suffix)] + unit
            break
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def planner_frame(frame: pd.DataFrame, names: Names) -> pd.DataFrame:
    """A table for people: names instead of codes, no scenario column for a deterministic run, words in the
    headers (the values themselves unchanged)."""
    out = frame.copy()
    if "scen" in out and out["scen"].nunique() <= 1:
        out = out.drop(columns="scen")
    if "mineral" in out:
        out["mineral"] = out["mineral"].map(lambda m: names.Mineral(str(m)) if isinstance(m, str) else m)
    for column in COUNTRY_COLUMNS:
        if column in out:
            out[column] = out[column].map(lambda c: names.country(c) if isinstance(c, str) and c else c)
    if "component" in out:
        out["component"] = out["component"].map(lambda c: component(str(c)))
    if "mode" in out:
        out["mode"] = out["mode"].map(lambda c: mode(str(c)))
    return out


def pivots(folder: ResultsFolder, names: Names) -> list[tuple[str, pd.DataFrame, str]]:
    """Mineral x year pivots of a solve: exposure and share of supply (%), supply and unmet demand (t), cost (USD,
    not discounted)."""
    out: list[tuple[str, pd.DataFrame, str]] = []
    if folder.kind != "solve":
        return out
    dep = folder.table("dependence")
    order = [names.Mineral(m) for m in folder.summary.get("scenario", {}).get("minerals", [])]

    def pivot(frame: pd.DataFrame, value: str, how: str) -> pd.DataFrame:
        n = max(int(frame["scen"].nunique()), 1) if "scen" in frame else 1
        table = frame.groupby(["mineral", "year"])[value].agg(how).unstack("year") / (n if how == "sum" else 1)
        table.index = [names.Mineral(str(m)) for m in table.index]
        table = table.reindex([m for m in order if m in table.index] + [m for m in table.index if m not in order])
        table.columns = [str(int(c)) for c in table.columns]
        return table.rename_axis("Mineral").reset_index()

    if dep is not None:
        for column, title in (("china_exposure_pct", "Exposure by year"),
                              ("china_share_of_supply_pct", "Share of supply by year")):
            if column in dep:
                out.append((title, pivot(dep, column, "mean"), "pct"))
        out.append(("Supply by year", pivot(dep, "supplied_t", "sum"), "t"))
        if dep["shortfall_t"].abs().sum() > 0:
            out.append(("Unmet demand by year", pivot(dep, "shortfall_t", "sum"), "t"))
    costs = folder.table("costs")
    if costs is not None:
        out.append(("Cost by year", pivot(costs, "usd", "sum"), "usd"))
    return out


def _style(sheet, frame: pd.DataFrame, units: list[str | None]) -> None:
    from openpyxl.styles import Font

    sheet.freeze_panes = "B2" if len(frame.columns) > 1 else "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, (column, unit) in enumerate(zip(frame.columns, units, strict=True), start=1):
        letter = sheet.cell(row=1, column=i).column_letter
        sample = [len(str(v)) for v in frame[column].head(200) if not pd.isna(v)]
        sheet.column_dimensions[letter].width = min(max([len(str(column)) * 0.9, *sample, 8]) + 2, 60)
        if unit in FORMATS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = FORMATS[unit]


def _cover(writer: pd.ExcelWriter, folder: ResultsFolder | None, report: Report | None) -> None:
    from openpyxl.styles import Font

    title = report.title if report else f"critmin results: {folder.name if folder else ''}"
    rows: list[list[str]] = [[title, ""], ["", ""]]
    bold = [1]
    if report is not None:
        rows += [[label, text] for label, text in report.headline]
        for section in report.sections:
            for table in section.tables:
                if section.heading not in ("Assumptions and policies", "Policy impacts", "Summary",
                                           "The two plans on fresh scenarios") and folder is not None:
                    continue
                rows.append(["", ""])
                rows.append([table.title or section.heading, ""])
                bold.append(len(rows))
                rows.append(list(table.columns))
                bold.append(len(rows))
                rows += [list(r) for r in table.rows]
    if folder is not None:
        rows += [["", ""], ["Folder", str(folder.path)]]
    width = max(len(r) for r in rows)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows])
    frame.to_excel(writer, sheet_name="Cover", index=False, header=False)
    sheet = writer.sheets["Cover"]
    for r in bold:
        for cell in sheet[r]:
            cell.font = Font(bold=True, size=14 if r == 1 else 11)
    for cell in sheet["A"]:
        cell.font = Font(bold=True, size=cell.font.size)
    sheet.column_dimensions["A"].width = 34
    for i in range(2, width + 1):
        sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = 90 if i == 2 and width == 2 \
            else 24


def tables_of(folder: ResultsFolder) -> list[tuple[str, pd.DataFrame]]:
    """The folder's CSV tables in report order (frontier included when found)."""
    order = TABLE_ORDER + [t for t in SHEETS if t not in TABLE_ORDER]
    return [(name, folder.tables[name]) for name in order if name in folder.tables]


def write_xlsx(folder: ResultsFolder, path: Path, report: Report | None = None) -> Path:
    """The planner's workbook (see the module docstring)."""
    names = Names(folder.inputs if folder.kind == "solve" else (folder.summary.get("inputs")
                                                                 if isinstance(folder.summary.get("inputs"), str)
                                                                 else None))
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _cover(writer, folder, report)
        sheets = [(title, frame, [unit if c != "Mineral" else None for c in frame.columns])
                  for title, frame, unit in pivots(folder, names)]
        for table, frame in tables_of(folder):
            units = [_unit_of(c) for c in frame.columns if not (c == "scen" and frame["scen"].nunique() <= 1)]
            sheets.append((SHEETS.get(table, table)[:31], planner_frame(frame, names), units))
        for title, frame, units in sheets:
            frame = frame.rename(columns={c: header(c, names) for c in frame.columns if isinstance(c, str)})
            frame.to_excel(writer, sheet_name=title, index=False)
            _style(writer.sheets[title], frame, units)
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
