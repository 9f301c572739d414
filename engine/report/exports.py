"""The results as a planner's workbook (XLSX) or as Parquet files.

The workbook: a cover sheet (the report's headline, a solve's key figures, assumptions, policies and policy status),
mineral x year pivots of dependence, supply and cost for a solve, then one sheet per table with names instead of
codes, units in the headers, number formats, frozen header rows and no scenario column when a run has one scenario.
Every figure is a number with a number format, the cover's too: its key figures exact from the summary, the figures
of its tables as the report rounds them ("USD 913.5 m" is 913,500,000 shown as ``"USD "#,##0.0,," m"``); sentences
stay text. Parquet files hold the CSV tables unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine.figures.labels import Names, component, mode
from engine.outputs.read_folder import MARKET_KIND_TABLES, TABLE_ORDER, ResultsFolder
from engine.outputs.summary import unmet_basis

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
    "prices": "Prices", "welfare": "Welfare", "market_flows": "Market flows", "certificates": "Certificates",
    "who_pays": "Who pays", "frontier_prices": "Frontier prices", "frontier_certificates": "Frontier certificates",
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
    "holds_relaxing": "Dual holds when relaxed by up to (own unit)",
    "holds_tightening": "Dual holds when tightened by up to (own unit)", "holds_unit": "Interval unit",
    "ranging": "Interval from",
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
        table.columns = [int(c) for c in table.columns]  # years as numbers
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


# A figure as the report writes it: 'USD 65.17 bn', 'USD -213.2 m', '+USD 400', '14.4%', '-15.0 pp', '1,236', '2.14'.
FIGURE = re.compile(r"^(?P<pre>[+-]?)(?P<usd>USD )?(?P<sign>[+-]?)(?P<num>\d[\d,]*(?:\.(?P<dec>\d+))?)"
                    r"(?P<suffix> bn| m|%| pp)?$")
USD_BN, USD_M, USD_WHOLE = '"USD "#,##0.00,,," bn"', '"USD "#,##0.0,," m"', '"USD "#,##0'
SHARE, POINTS, TONNES, WHOLE = "0.0%", '+0.0" pp";-0.0" pp";0.0" pp"', "#,##0", "0"


def figure_cell(text: object) -> tuple[object, str | None]:
    """A report cell for a workbook: (the number a figure shows, a number format that shows it alike), or the text
    itself and no format when it is not one figure."""
    match = FIGURE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        return text, None
    if match["pre"] and match["sign"]:
        return text, None
    sign = -1.0 if "-" in (match["pre"] + match["sign"]) else 1.0
    number = sign * float(match["num"].replace(",", ""))
    decimals = "0" * len(match["dec"] or "")
    point = f".{decimals}" if decimals else ""
    if match["usd"]:
        scale, form = {" bn": (1e9, USD_BN), " m": (1e6, USD_M)}.get(match["suffix"] or "", (1.0, USD_WHOLE))
        if match["suffix"] not in (" bn", " m", None):
            return text, None
        return number * scale, form
    if match["suffix"] == "%":
        return number / 100.0, f"0{point}%"
    if match["suffix"] == " pp":
        return number, f'+0{point}" pp";-0{point}" pp";0{point}" pp"'
    if match["suffix"] is not None:
        return text, None
    if "," not in match["num"] and not point and abs(number) >= 1000:  # a year or a code, not a tonnage
        return int(number), WHOLE
    return (int(number) if not point else number), f"#,##0{point}"


def key_figures(summary: dict, names: Names) -> list[tuple[str, float, str]]:
    """A solve's headline figures, exact, as (label, value, number format): exposure and share of supply (a
    fraction shown as a percentage), cost, the unmet demand's value on both bases, and its tonnes."""
    dep, cost, short = summary.get("dependence") or {}, summary.get("cost") or {}, summary.get("shortfall") or {}
    on = names.country((summary.get("scenario") or {}).get("dependence_on", "CHN"))
    rows: list[tuple[str, float | None, str]] = []
    for key, measure in (("exposure", "Exposure to {on} (% of demand)"),
                         ("share_of_supply", "Share of supply attributed to {on} (% of tonnes supplied)")):
        m = dep.get(key) or {}
        for plan, field in (("optimised plan", "overall_pct"), ("least-cost plan", "least_cost_overall_pct")):
            value = m.get(field)
            rows.append((f"{measure.format(on=on)}, {plan}", None if value is None else value / 100.0, SHARE))
    total = cost.get("total_with_unmet_pv_usd")
    rows += [(f"Cost including unmet demand ({unmet_basis(short=True)}), USD", total, USD_BN),
             ("Cost of supply, present value, USD", cost.get("total_pv_usd"), USD_BN),
             ("Premium over the least-cost plan, present value, USD", cost.get("premium_usd"), USD_M),
             ("Unmet demand, t", short.get("total_t"), TONNES),
             (f"Unmet demand's value ({unmet_basis(short=True)}), USD", short.get("value_pv_usd"), USD_M),
             (f"Unmet demand's value ({unmet_basis(False, short=True)}), USD", short.get("value_usd"), USD_M)]
    return [(label, float(value), form) for label, value, form in rows if value is not None]


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


def _cover(writer: pd.ExcelWriter, folder: ResultsFolder | None, report: Report | None,
           names: Names | None = None) -> None:
    from openpyxl.styles import Font

    title = report.title if report else f"critmin results: {folder.name if folder else ''}"
    rows: list[list[object]] = [[title, ""], ["", ""]]
    bold = [1]
    formats: dict[tuple[int, int], str] = {}  # (row, column), 1-based: number format
    if report is not None:
        rows += [[label, text] for label, text in report.headline]
    figures = key_figures(folder.summary, names or Names()) if folder is not None and folder.kind == "solve" else []
    if figures:
        rows += [["", ""], ["Key figures", ""]]
        bold.append(len(rows))
        for label, value, form in figures:
            rows.append([label, value])
            formats[len(rows), 2] = form
    if report is not None:
        for section in report.sections:
            for table in section.tables:
                if section.heading not in ("Assumptions and policies", "Policy impacts", "Summary", "Who pays",
                                           "The two plans on fresh scenarios") and folder is not None:
                    continue
                rows.append(["", ""])
                rows.append([table.title or section.heading, ""])
                bold.append(len(rows))
                rows.append(list(table.columns))
                bold.append(len(rows))
                for r in table.rows:
                    cells = [figure_cell(v) for v in r]
                    rows.append([v for v, _ in cells])
                    formats.update({(len(rows), i): form for i, (_, form) in enumerate(cells, start=1) if form})
    if folder is not None:
        rows += [["", ""], ["Folder", str(folder.path)]]
    width = max(len(r) for r in rows)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    frame.to_excel(writer, sheet_name="Cover", index=False, header=False)
    sheet = writer.sheets["Cover"]
    for (row, column), form in formats.items():
        sheet.cell(row=row, column=column).number_format = form
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
    market = MARKET_KIND_TABLES.get(folder.kind, [])
    order = market + [t for t in TABLE_ORDER + list(SHEETS) if t not in market]
    order = list(dict.fromkeys(order))
    return [(name, folder.tables[name]) for name in order if name in folder.tables]


def write_xlsx(folder: ResultsFolder, path: Path, report: Report | None = None) -> Path:
    """The planner's workbook (see the module docstring)."""
    names = Names(folder.inputs if folder.kind in ("solve", "market") else (folder.summary.get("inputs")
                                                                 if isinstance(folder.summary.get("inputs"), str)
                                                                 else None))
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _cover(writer, folder, report, names)
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
