"""Loading and checking the input tables.

``load_dataset(folder)`` reads every table in ``tables.TABLES``, coerces types, and checks ranges, allowed values,
unique keys, references between tables and the cross-table rules below. Any problem raises one ``InputError``
that names the file, the line and the column.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError, did_you_mean
from engine.inputs.tables import (
    JV_MODES,
    ORDER,
    PROVENANCE_FLAGS,
    RANGES,
    TABLES_BY_NAME,
    Column,
    Problems,
    TableSchema,
)

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}

# partner equity allowed for each JV mode: (low, low inclusive, high, high inclusive)
MODE_EQUITY: dict[str, tuple[float, bool, float, bool]] = {
    "licensing": (0.0, True, 0.0, True),
    "domestic": (0.0, True, 0.0, True),
    "minority": (0.0, False, 0.25, True),
    "parity": (0.25, False, 0.5, True),
    "majority": (0.5, False, 1.0, True),
}


@dataclass(frozen=True)
class Dataset:
    """The validated input tables of one inputs folder, each in canonical order (sorted by its key).

    The order of the rows in the files never reaches the model: every table is sorted by its key columns when the
    dataset is made (``canonical_order``), so the same facts in any row order give the same LP and the same
    results. ``digest`` is a hash of these canonical tables (``table_digest``) unless the maker gives its own.
    """

    folder: Path
    tables: dict[str, pd.DataFrame]
    digest: str = ""

    def __post_init__(self) -> None:
        ordered = {name: canonical_order(name, frame) for name, frame in self.tables.items()}
        object.__setattr__(self, "tables", ordered)
        if not self.digest:
            object.__setattr__(self, "digest", table_digest(ordered))

    @property
    def minerals(self) -> pd.DataFrame:
        return self.tables["minerals"]

    @property
    def countries(self) -> pd.DataFrame:
        return self.tables["countries"]

    @property
    def capacity(self) -> pd.DataFrame:
        return self.tables["capacity"]

    @property
    def ownership(self) -> pd.DataFrame:
        return self.tables["ownership"]

    @property
    def demand(self) -> pd.DataFrame:
        return self.tables["demand"]

    @property
    def jv_options(self) -> pd.DataFrame:
        return self.tables["jv_options"]

    def file(self, table: str) -> Path:
        return self.folder / TABLES_BY_NAME[table].filename


Lines = Sequence[int]
"""The line of the file each data row starts on, by row position (blank lines and quoted newlines counted)."""


def _coerce(raw: pd.Series, col: Column, where: str, problems: Problems, lines: Lines) -> pd.Series:
    text = raw.astype(str).str.strip()
    blank = text.eq("")
    if col.required:
        for i in text.index[blank]:
            problems.add(f"{where}, line {lines[i]}, column {col.name}: value missing ({col.description})")
    if col.kind == "str":
        return text.where(~blank, None)
    if col.kind == "bool":
        lowered = text.str.lower()
        bad = ~blank & ~lowered.isin(TRUE | FALSE)
        for i in text.index[bad]:
            problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is not true/false")
        return lowered.isin(TRUE)
    numbers = pd.to_numeric(text.where(~blank, None), errors="coerce")
    not_number = ~blank & numbers.isna()
    infinite = ~blank & ~not_number & ~np.isfinite(numbers.fillna(0.0))
    for i in text.index[not_number | infinite]:
        what = "not a finite number" if infinite[i] or text[i].lower() in ("nan", "-nan", "+nan") else "not a number"
        problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is {what}; expected "
                     f"{_range_text(col)}")
    bad = not_number | infinite
    numbers = numbers.where(~bad)  # reported once, as not a finite number, not again as out of range
    if col.kind == "int":
        fractional = ~blank & ~bad & (numbers.fillna(0) != numbers.fillna(0).round())
        for i in text.index[fractional]:
            problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is not a whole number")
        return numbers.astype("Int64") if blank.any() else numbers.fillna(0).astype(np.int64)
    return numbers.astype(float)


def _check_range(values: pd.Series, col: Column, where: str, problems: Problems, lines: Lines) -> None:
    if col.kind not in ("int", "float"):
        return
    present = values.dropna()
    expected = _range_text(col)
    if col.minimum is not None:
        low = present <= col.minimum if col.minimum_excluded else present < col.minimum
        for i in present.index[low]:
            problems.add(f"{where}, line {lines[i]}, column {col.name}: {values[i]:g} is {_below(col)}; "
                         f"expected {expected}")
    if col.maximum is not None:
        for i in present.index[present > col.maximum]:
            problems.add(f"{where}, line {lines[i]}, column {col.name}: {values[i]:g} is above "
                         f"{col.maximum:g}; expected {expected}")


def _below(col: Column) -> str:
    if col.minimum_excluded:
        return "not above 0" if col.minimum == 0 else f"not above {col.minimum:g}"
    return "negative" if col.minimum == 0 else f"below {col.minimum:g}"


def _range_text(col: Column) -> str:
    unit = f" {col.unit}" if col.unit else ""
    if col.minimum is not None and col.maximum is not None:
        opener = "(" if col.minimum_excluded else "["
        return f"a value in {opener}{col.minimum:g}, {col.maximum:g}]{unit}"
    if col.minimum is not None:
        sign = ">" if col.minimum_excluded else ">="
        return f"a value {sign} {col.minimum:g}{unit}"
    if col.maximum is not None:
        return f"a value <= {col.maximum:g}{unit}"
    return f"a number{unit}"


def _decode_error(path: Path, exc: UnicodeDecodeError) -> InputError:
    data = path.read_bytes()
    line = data[: exc.start].count(b"\n") + 1
    return InputError(f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8 CSV")


def _read_csv(path: Path) -> tuple[list[str] | None, int, list[list[str]], list[int]]:
    """Header (None if the file is empty), its line, the data records and the line each starts on.

    Blank lines are skipped, so line numbers are those a text editor shows, even across quoted line breaks.
    """
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    end = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, skipinitialspace=True)
            for record in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header, header_line = [c.strip() for c in record], start
                else:
                    rows.append(record)
                    lines.append(start)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except csv.Error as exc:
        raise InputError(f"{path}, line {end + 1}: not a readable CSV table: {exc}") from None
    return header, header_line, rows, lines


def _read_table(schema: TableSchema, path: Path, problems: Problems) -> tuple[pd.DataFrame, Lines] | None:
    try:
        header, header_line, rows, lines = _read_csv(path)
    except FileNotFoundError:
        if schema.optional:
            return None
        raise InputError(f"{path}: file not found (the {schema.name} table is required)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; expected a CSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if header is None:
        raise InputError(f"{path}: file is empty; expected a header row with columns "
                         f"{', '.join(c.name for c in schema.columns)}")
    names = [c.name for c in schema.columns]
    problems_before = len(problems.items)
    for j, name in enumerate(header):
        if name in header[:j]:
            problems.add(f"{path}, line {header_line}: column '{name}' appears twice in the header")
    for record, line in zip(rows, lines, strict=True):
        if len(record) > len(header):
            problems.add(f"{path}, line {line}: {len(record)} cells but the header has {len(header)} columns; "
                         f"quote any cell that contains a comma")
    missing = [c.name for c in schema.columns if c.name not in header and c.required]
    for name in missing:
        unknown = [c for c in header if c not in names]
        problems.add(f"{path}, line {header_line}: column '{name}' is missing{did_you_mean(name, unknown)}; "
                     f"the header has {', '.join(header)}")
    if len(problems.items) > problems_before:
        return None
    raw = pd.DataFrame([record + [""] * (len(header) - len(record)) for record in rows], columns=header,
                       dtype=str) if rows else pd.DataFrame({name: pd.Series(dtype=str) for name in header})
    out = pd.DataFrame(index=raw.index)
    for col in schema.columns:
        series = raw[col.name] if col.name in raw.columns else pd.Series("", index=raw.index)
        out[col.name] = _coerce(series, col, str(path), problems, lines)
        _check_range(out[col.name], col, str(path), problems, lines)
        if col.choices is not None:
            bad = out[col.name].notna() & ~out[col.name].isin(col.choices)
            for i in out.index[bad]:
                problems.add(f"{path}, line {lines[i]}, column {col.name}: '{out[col.name][i]}' is not one of "
                             f"{', '.join(col.choices)}{did_you_mean(out[col.name][i], col.choices)}")
    if "provenance" in header and schema.figures:
        _check_provenance(out, schema, str(path), problems, lines)
    dupes = out.duplicated(list(schema.key), keep="first")
    for i in out.index[dupes]:
        key = ", ".join(str(out[k][i]) for k in schema.key)
        problems.add(f"{path}, line {lines[i]}: duplicate key ({key}) in columns {', '.join(schema.key)}")
    return out, lines


def _check_provenance(frame: pd.DataFrame, schema: TableSchema, where: str, problems: Problems,
                      lines: Lines) -> None:
    """Each row flags every figure it has, once: ``column=sourced|derived|assumed``; ``estimate`` agrees."""
    flags = " | ".join(PROVENANCE_FLAGS)
    given = frame["provenance"].map(lambda v: isinstance(v, str) and bool(v.strip()))
    if not given.any():
        return  # a table without provenance flags (allowed: the column is optional)
    for i, text in frame["provenance"].items():
        text = text if given[i] else ""
        present = [c for c in schema.figures if c in frame.columns and pd.notna(frame[c][i])]
        seen: dict[str, str] = {}
        for token in text.split():
            name, _, flag = token.partition("=")
            if name not in schema.figures:
                problems.add(f"{where}, line {lines[i]}, column provenance: '{name}' is not a figure column of "
                             f"{schema.filename}{did_you_mean(name, schema.figures)}; expected one of "
                             f"{', '.join(schema.figures)}")
            elif flag not in PROVENANCE_FLAGS:
                problems.add(f"{where}, line {lines[i]}, column provenance: '{token}' has flag '{flag}'; "
                             f"expected {name}={flags}")
            elif name in seen:
                problems.add(f"{where}, line {lines[i]}, column provenance: '{name}' is flagged twice")
            else:
                seen[name] = flag
        missing = [c for c in present if c not in seen]
        if missing:
            problems.add(f"{where}, line {lines[i]}, column provenance: no flag for {', '.join(missing)}; expected "
                         f"'column={flags}' for every figure the row has")
        if seen and "estimate" in frame.columns and bool(frame["estimate"][i]) != any(
                f != "sourced" for f in seen.values()):
            problems.add(f"{where}, line {lines[i]}, column estimate: '{str(bool(frame['estimate'][i])).lower()}' "
                         f"disagrees with the provenance flags; expected true exactly when a figure is derived or "
                         f"assumed")


def _check_ranges(frame: pd.DataFrame, where: Path, problems: Problems, lines: Lines) -> None:
    """Where a low or high value is given beside a central one: low <= central <= high."""
    for central, (low, high) in RANGES.items():
        if central not in frame.columns:
            continue
        for i in frame.index:
            c, lo, hi = frame[central][i], frame[low][i] if low in frame else None, frame[high][i] if high in frame \
                else None
            if lo is not None and pd.notna(lo) and pd.notna(c) and lo > c:
                problems.add(f"{where}, line {lines[i]}, column {low}: {lo:g} is above {central} {c:g}; expected "
                             f"low <= central")
            if hi is not None and pd.notna(hi) and pd.notna(c) and hi < c:
                problems.add(f"{where}, line {lines[i]}, column {high}: {hi:g} is below {central} {c:g}; expected "
                             f"central <= high")


def _check_references(tables: dict[str, pd.DataFrame], folder: Path, problems: Problems,
                      line_map: dict[str, Lines]) -> None:
    for name, frame in tables.items():
        lines = line_map.get(name, [])
        schema = TABLES_BY_NAME[name]
        for col in schema.columns:
            if col.references is None:
                continue
            ref_table, ref_col = col.references.split(".")
            valid = set(tables[ref_table][ref_col].dropna())
            values = frame[col.name]
            bad = values.notna() & ~values.isin(valid)
            for i in frame.index[bad]:
                problems.add(
                    f"{folder / schema.filename}, line {lines[i]}, column {col.name}: unknown {ref_col} "
                    f"'{values[i]}'{did_you_mean(values[i], sorted(valid))}; expected one listed in "
                    f"{ref_table}.csv"
                )


def _check_rules(tables: dict[str, pd.DataFrame], folder: Path, problems: Problems,
                 line_map: dict[str, Lines]) -> None:
    cap = tables["capacity"]
    lines = line_map["capacity"]
    where = folder / "capacity.csv"
    ended = cap["last_year"].notna() & (cap["last_year"].fillna(9999) < cap["first_year"])
    for i in cap.index[ended]:
        problems.add(f"{where}, line {lines[i]}: last_year {cap['last_year'][i]} is before first_year "
                     f"{cap['first_year'][i]}")
    own = tables.get("ownership")
    if own is not None and len(own):
        totals = own.groupby("source_id", sort=True)["equity_share"].sum()
        for source_id, total in totals[totals > 1.0 + 1e-9].items():
            first = own.index[own["source_id"] == source_id][0]
            line = line_map["ownership"][first]
            problems.add(f"{folder / 'ownership.csv'}, line {line}: equity shares of '{source_id}' sum "
                         f"to {total:.4g}; expected at most 1")
    jv = tables.get("jv_options")
    if jv is not None and len(jv):
        _check_jv(jv, folder / "jv_options.csv", problems, line_map["jv_options"])
        _check_ranges(jv, folder / "jv_options.csv", problems, line_map["jv_options"])
        clash = jv["option_id"].isin(set(cap["source_id"]))
        for i in jv.index[clash]:
            problems.add(f"{folder / 'jv_options.csv'}, line {line_map['jv_options'][i]}, column option_id: "
                         f"'{jv['option_id'][i]}' is also a source_id in capacity.csv; ids must be unique across "
                         f"both tables (for example '{jv['option_id'][i]}-EXP' for an expansion)")


def _check_jv(jv: pd.DataFrame, where: Path, problems: Problems, lines: Lines) -> None:
    for i, row in jv.iterrows():
        mode = row["mode"]
        if mode not in MODE_EQUITY or pd.isna(row["partner_equity_share"]):
            continue
        lo, lo_in, hi, hi_in = MODE_EQUITY[mode]
        e = float(row["partner_equity_share"])
        ok = (e >= lo if lo_in else e > lo) and (e <= hi if hi_in else e < hi)
        if not ok:
            span = "0" if lo == hi else f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
            problems.add(f"{where}, line {lines[i]}, column partner_equity_share: {e:g} does not fit mode "
                         f"'{mode}'; expected {span}")
        if mode == "domestic" and row["partner"] != row["host"]:
            problems.add(f"{where}, line {lines[i]}, column partner: a domestic option has no foreign partner; "
                         f"expected partner = host ('{row['host']}'), got '{row['partner']}'")
        mini = row["min_size_tpy"]
        if pd.notna(mini) and mini > row["max_size_tpy"]:
            problems.add(f"{where}, line {lines[i]}, column min_size_tpy: {mini:g} exceeds max_size_tpy "
                         f"{row['max_size_tpy']:g}")


def canonical_order(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Table ``name`` sorted by its key columns (codepoint order of the text, numbers by value), index 0..n-1.

    Keys are unique (``load_dataset`` checks them), so the order is total. Tables without a schema are left as
    they are.
    """
    schema = TABLES_BY_NAME.get(name)
    if schema is None or frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(list(schema.key), kind="stable").reset_index(drop=True)


def table_digest(tables: dict[str, pd.DataFrame]) -> str:
    """SHA-256 of the canonical tables: each table's name and its schema columns as CSV, in ``ORDER``.

    It depends on the facts, not on the files' bytes: row order, quoting, spacing, blank lines, extra
    columns and number spelling (``1e3`` or ``1000``) leave it unchanged.
    """
    h = hashlib.sha256()
    for name in ORDER:
        frame = tables.get(name)
        if frame is None:
            continue
        columns = [c.name for c in TABLES_BY_NAME[name].columns if c.name in frame.columns]
        h.update(name.encode())
        h.update(canonical_order(name, frame)[columns].to_csv(index=False, lineterminator="\n").encode())
    return h.hexdigest()


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the columns of table ``name`` (for optional tables that are absent)."""
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in TABLES_BY_NAME[name].columns})


def load_dataset(folder: Path) -> Dataset:
    """Read and validate every table in ``folder``; raise ``InputError`` naming file, line and column."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: inputs folder not found")
    problems = Problems()
    tables: dict[str, pd.DataFrame] = {}
    line_map: dict[str, Lines] = {}
    for name in ORDER:
        schema = TABLES_BY_NAME[name]
        read = _read_table(schema, folder / schema.filename, problems)
        if read is not None:
            tables[name], line_map[name] = read
    problems.raise_if_any(f"The dataset in {folder} has problems:")
    for name in ORDER:
        tables.setdefault(name, empty_table(name))
        line_map.setdefault(name, [])
    _check_references(tables, folder, problems, line_map)
    _check_rules(tables, folder, problems, line_map)
    problems.raise_if_any(f"The dataset in {folder} has problems:")
    return Dataset(folder=folder, tables=tables)  # sorted by key and hashed here (Dataset.__post_init__)


__all__ = ["JV_MODES", "Dataset", "load_dataset"]
