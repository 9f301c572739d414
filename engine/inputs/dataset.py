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
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError, did_you_mean
from engine.inputs import dataset_cache
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
from engine.inputs.tier_checks import check_tier_tables

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
            object.__setattr__(self, "digest", _digest(ordered))

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


def _coerce(raw: Sequence[str], text: Sequence[str], col: Column, where: str, problems: Problems,
            lines: Lines) -> tuple[object, list | None]:
    """One column's cells (``raw``; ``text``: each stripped) as the frame's column (a str Series, or a bool, int64,
    Int64 or float64 array) and, for a text column, its values as a list (None where blank). The cells are held as
    lists, not Series: a table has a few hundred rows, and pandas' cost per call was most of loading the inputs."""
    blank = [t == "" for t in text]
    if col.required:
        for i, is_blank in enumerate(blank):
            if is_blank:
                problems.add(f"{where}, line {lines[i]}, column {col.name}: value missing ({col.description})")
    if col.kind == "str":
        values = [None if b else t for t, b in zip(text, blank, strict=True)]
        return pd.Series(values, dtype="str"), values
    if col.kind == "bool":
        lowered = pc.utf8_lower(pa.array(text, type=pa.string())).to_pylist()  # as pandas' str.lower
        for i, low in enumerate(lowered):
            if not blank[i] and low not in TRUE and low not in FALSE:
                problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is not true/false")
        return np.array([low in TRUE for low in lowered], dtype=bool), None
    is_blank = np.array(blank, dtype=bool)
    # pandas' own parser (to_numeric of a str Series runs the same function on the same strings)
    numbers = pd.to_numeric(np.array([None if b else t for t, b in zip(text, blank, strict=True)], dtype=object),
                            errors="coerce")
    missing = pd.isna(numbers)
    not_number = ~is_blank & missing
    floats = np.where(missing, 0.0, numbers).astype(float)
    with np.errstate(invalid="ignore"):
        infinite = ~is_blank & ~not_number & ~np.isfinite(floats)
    bad = not_number | infinite
    for i in np.flatnonzero(bad):
        what = "not a finite number" if infinite[i] or text[i].lower() in ("nan", "-nan", "+nan") else "not a number"
        problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is {what}; expected "
                     f"{_range_text(col)}")
    if bad.any():  # reported once, as not a finite number, not again as out of range
        numbers = np.where(bad, np.nan, numbers).astype(float)
    if col.kind == "int":
        filled = np.where(pd.isna(numbers), 0, numbers)
        fractional = ~is_blank & ~bad & (filled != np.round(filled))
        for i in np.flatnonzero(fractional):
            problems.add(f"{where}, line {lines[i]}, column {col.name}: '{raw[i]}' is not a whole number")
        if is_blank.any():
            return pd.Series(numbers).astype("Int64").array, None
        return filled.astype(np.int64), None
    return numbers.astype(float), None


def _check_range(values: object, col: Column, where: str, problems: Problems, lines: Lines) -> None:
    """Range problems of a numeric column; screened on floats first (almost every table has none)."""
    if col.kind not in ("int", "float"):
        return
    floats = values.to_numpy(dtype=float, na_value=np.nan) if isinstance(values, pd.api.extensions.ExtensionArray) \
        else np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        low = np.zeros(len(floats), dtype=bool) if col.minimum is None else (
            floats <= col.minimum if col.minimum_excluded else floats < col.minimum)
        high = np.zeros(len(floats), dtype=bool) if col.maximum is None else floats > col.maximum
    if (low | high).any():
        _range_problems(pd.Series(values), col, where, problems, lines)


def _range_problems(values: pd.Series, col: Column, where: str, problems: Problems, lines: Lines) -> None:
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
    width = len(header)
    cells = [cell for record in rows for cell in (record + [""] * (width - len(record)))]  # row by row
    stripped = pc.utf8_trim_whitespace(pa.array(cells, type=pa.string())).to_pylist()  # as pandas' str.strip
    where = str(path)
    columns: dict[str, object] = {}
    texts: dict[str, list] = {}
    for col in schema.columns:
        if col.name in header:
            j = header.index(col.name)
            raw, text = cells[j::width], stripped[j::width]
        else:
            raw = text = [""] * len(rows)
        columns[col.name], values = _coerce(raw, text, col, where, problems, lines)
        _check_range(columns[col.name], col, where, problems, lines)
        if values is not None:
            texts[col.name] = values
        if col.choices is not None and any(v is not None and v not in col.choices for v in values or ()):
            column = pd.Series(columns[col.name])
            bad = column.notna() & ~column.isin(col.choices)
            for i in column.index[bad]:
                problems.add(f"{path}, line {lines[i]}, column {col.name}: '{column[i]}' is not one of "
                             f"{', '.join(col.choices)}{did_you_mean(column[i], col.choices)}")
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    if "provenance" in header and schema.figures:
        _check_provenance(out, texts["provenance"], schema, where, problems, lines)
    if _has_duplicates([texts[k] if k in texts else _key_values(out[k]) for k in schema.key]):
        dupes = out.duplicated(list(schema.key), keep="first")
        for i in out.index[dupes]:
            key = ", ".join(str(out[k][i]) for k in schema.key)
            problems.add(f"{path}, line {lines[i]}: duplicate key ({key}) in columns {', '.join(schema.key)}")
    return out, lines


def _key_values(column: pd.Series) -> list:
    """A key column's values, None where missing (pandas' duplicated takes missing values as equal)."""
    return [None if missing else v for v, missing in zip(column.tolist(), column.isna().tolist(), strict=True)]


def _has_duplicates(keys: list[list]) -> bool:
    rows = list(zip(*keys, strict=True))
    return len(set(rows)) < len(rows)


def _check_provenance(frame: pd.DataFrame, provenance: list, schema: TableSchema, where: str, problems: Problems,
                      lines: Lines) -> None:
    """Each row flags every figure it has, once: ``column=sourced|derived|assumed``; ``estimate`` agrees.
    ``provenance``: the column's values (None where blank)."""
    flags = " | ".join(PROVENANCE_FLAGS)
    given = [isinstance(v, str) and bool(v.strip()) for v in provenance]
    if not any(given):
        return  # a table without provenance flags (allowed: the column is optional)
    figures = [c for c in schema.figures if c in frame.columns]
    has = {c: frame[c].notna().tolist() for c in figures}
    estimate = frame["estimate"].tolist() if "estimate" in frame.columns else None
    for i, text in enumerate(provenance):
        text = text if given[i] else ""
        present = [c for c in figures if has[c][i]]
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
        if seen and estimate is not None and bool(estimate[i]) != any(f != "sourced" for f in seen.values()):
            problems.add(f"{where}, line {lines[i]}, column estimate: '{str(bool(estimate[i])).lower()}' "
                         f"disagrees with the provenance flags; expected true exactly when a figure is derived or "
                         f"assumed")


def _check_ranges(frame: pd.DataFrame, where: Path, problems: Problems, lines: Lines) -> None:
    """Where a low or high value is given beside a central one: low <= central <= high."""
    for central, (low, high) in RANGES.items():
        if central not in frame.columns or not _range_misordered(frame, central, low, high):
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


def _range_misordered(frame: pd.DataFrame, central: str, low: str, high: str) -> bool:
    """Whether any row has low > central or high < central (a missing value breaks neither, as in
    ``_check_ranges``)."""
    c = frame[central].to_numpy(dtype=float, na_value=np.nan)
    lo = frame[low].to_numpy(dtype=float, na_value=np.nan) if low in frame else None
    hi = frame[high].to_numpy(dtype=float, na_value=np.nan) if high in frame else None
    return bool((lo is not None and (lo > c).any()) or (hi is not None and (hi < c).any()))


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
            if all(v in valid or v is None or v != v for v in values.tolist()):  # none unknown (v != v: NaN)
                continue
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
    for i, row in zip(jv.index, jv.to_dict("records"), strict=True):  # iterrows makes a Series per row
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
    return _digest({name: canonical_order(name, frame) for name, frame in tables.items()})


def _digest(ordered: dict[str, pd.DataFrame]) -> str:
    """``table_digest`` of tables already in canonical order (a Dataset's)."""
    h = hashlib.sha256()
    for name in ORDER:
        frame = ordered.get(name)
        if frame is None or (frame.empty and not TABLES_BY_NAME[name].hashed_when_empty):
            continue
        columns = [c.name for c in TABLES_BY_NAME[name].columns if c.name in frame.columns]
        h.update(name.encode())
        h.update(frame[columns].to_csv(index=False, lineterminator="\n").encode())
    return h.hexdigest()


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the columns of table ``name`` (for optional tables that are absent)."""
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in TABLES_BY_NAME[name].columns})


def load_dataset(folder: Path) -> Dataset:
    """Read and validate every table in ``folder``; raise ``InputError`` naming file, line and column. A dataset
    loaded before from the same files (byte for byte) comes from the cache (``dataset_cache``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: inputs folder not found")
    key = dataset_cache.entry_key(folder)
    kept = dataset_cache.read(key[0]) if key is not None else None
    if kept is not None:
        return _restored(folder, *kept)
    dataset = _read_dataset(folder)
    if key is not None:
        dataset_cache.write(key[0], key[1], folder, dataset.tables, dataset.digest)
    return dataset


def _restored(folder: Path, tables: dict[str, pd.DataFrame], digest: str) -> Dataset:
    """A Dataset of tables already in canonical order and their digest (a cached load), not sorted and hashed
    again."""
    dataset = object.__new__(Dataset)
    for name, value in (("folder", folder), ("tables", tables), ("digest", digest)):
        object.__setattr__(dataset, name, value)
    return dataset


def _read_dataset(folder: Path) -> Dataset:
    """``load_dataset`` from the files."""
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
        if name not in tables:
            tables[name] = empty_table(name)
        line_map.setdefault(name, [])
    _check_references(tables, folder, problems, line_map)
    _check_rules(tables, folder, problems, line_map)
    check_tier_tables(tables, folder, problems, line_map)
    problems.raise_if_any(f"The dataset in {folder} has problems:")
    return Dataset(folder=folder, tables=tables)  # sorted by key and hashed here (Dataset.__post_init__)


__all__ = ["JV_MODES", "Dataset", "load_dataset"]
