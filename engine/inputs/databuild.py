"""Build the dataset tables from their sources: ``inputs/sources/`` -> ``inputs/*.csv``.

The folder ``inputs/sources/`` holds three things a reviewer reads:

- ``sources.csv``: one row per published figure used (publisher, document, year, URL or DOI, table or page, the value
  and unit as printed, and ``number``, the value in that unit as a plain number);
- ``assumptions.csv``: one row per figure that no source gives (value, unit, low/high where given, the reasoning);
- ``rows/<table>.csv``: the rows of each table. Text columns are copied as they are. A figure column holds either
  an expression ``=S:id * A:id / 1000`` over source figures ``S:id``, assumptions ``A:id``, numbers, ``+ - * / **``,
  ``round(x, n)``, ``ceil``, ``min`` and ``max`` (and ``year``, the row's year, in tables that have one), or a
  literal with the figures it rests on, ``true@S:id`` or ``2026@A:id``. Put spaces around a minus sign that follows
  an id (``S:a - 1``): ids may contain hyphens.

``build_tables`` evaluates every figure, writes the ``source`` cell (the documents cited, then the assumptions) and
the ``provenance`` cell (``column=sourced|derived|assumed`` per figure): *sourced* rests on one source figure
(unit conversions allowed), *derived* combines several source figures, *assumed* uses at least one assumption. The
``estimate`` flag is true when any figure of the row is not sourced. The output is byte-for-byte reproducible.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import operator
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.inputs.tables import ORDER, PROVENANCE_FLAGS, TABLES_BY_NAME, TableSchema

SOURCES_FOLDER = "sources"
CHECKS_FILE = "checks.csv"
MINE_CHECKS_FILE = "mine_checks.csv"
SOURCE_COLUMNS = ("source_id", "publisher", "document", "year", "url", "locator", "value", "unit", "number", "note")
ASSUMPTION_COLUMNS = ("assumption_id", "value", "unit", "low", "high", "basis")
REF = re.compile(r"\b([SA]):([A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?)")
COMPUTED = ("source", "estimate", "provenance")


@dataclass(frozen=True)
class Source:
    """One published figure."""

    source_id: str
    publisher: str
    document: str
    year: str
    url: str
    locator: str
    value: str
    unit: str
    number: float
    note: str

    @property
    def citation(self) -> str:
        return f"{self.publisher}, {self.document} ({self.year}), {self.locator}"


@dataclass(frozen=True)
class Assumption:
    """One figure no source gives, with its reasoning."""

    assumption_id: str
    value: float
    unit: str
    low: float | None
    high: float | None
    basis: str


@dataclass(frozen=True)
class Library:
    """The sources and assumptions of one dataset."""

    sources: dict[str, Source]
    assumptions: dict[str, Assumption]


@dataclass(frozen=True)
class Figure:
    """One evaluated figure: its value and the sources and assumptions it rests on."""

    value: float | str
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    arithmetic_sources: int  # distinct source figures combined

    @property
    def flag(self) -> str:
        if self.assumptions:
            return "assumed"
        return "sourced" if self.arithmetic_sources <= 1 else "derived"


def read_rows(path: Path, columns: tuple[str, ...] | None = None) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{path}, line 1: column(s) {', '.join(missing)} missing; expected {', '.join(columns)}")
    return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}) for row in reader]


def _number(text: str, where: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise InputError(f"{where}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: '{text}' is not a finite number")
    return value


def load_library(folder: Path) -> Library:
    """Read ``sources.csv`` and ``assumptions.csv`` of a sources folder; ids must be unique."""
    sources: dict[str, Source] = {}
    path = folder / "sources.csv"
    for line, row in read_rows(path, SOURCE_COLUMNS):
        where = f"{path}, line {line}"
        sid = row["source_id"]
        if not sid:
            raise InputError(f"{where}, column source_id: value missing")
        if sid in sources:
            raise InputError(f"{where}, column source_id: duplicate id '{sid}'")
        for name in ("publisher", "document", "year", "locator", "value", "unit"):
            if not row[name]:
                raise InputError(f"{where}, column {name}: value missing (every source row names its document, "
                                 f"table or page and the value as printed)")
        sources[sid] = Source(sid, row["publisher"], row["document"], row["year"], row["url"], row["locator"],
                              row["value"], row["unit"], _number(row["number"], f"{where}, column number"),
                              row["note"])
    assumptions: dict[str, Assumption] = {}
    path = folder / "assumptions.csv"
    for line, row in read_rows(path, ASSUMPTION_COLUMNS):
        where = f"{path}, line {line}"
        aid = row["assumption_id"]
        if not aid:
            raise InputError(f"{where}, column assumption_id: value missing")
        if aid in assumptions:
            raise InputError(f"{where}, column assumption_id: duplicate id '{aid}'")
        if not row["basis"]:
            raise InputError(f"{where}, column basis: value missing (say why the value was chosen)")
        value = _number(row["value"], f"{where}, column value")
        low = _number(row["low"], f"{where}, column low") if row["low"] else None
        high = _number(row["high"], f"{where}, column high") if row["high"] else None
        if (low is not None and low > value) or (high is not None and high < value):
            raise InputError(f"{where}: value {value:g} is outside its range [{row['low']}, {row['high']}]")
        assumptions[aid] = Assumption(aid, value, row["unit"], low, high, row["basis"])
    return Library(sources, assumptions)


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_CALLS: dict[str, Callable[..., float]] = {"round": round, "min": min, "max": max, "ceil": math.ceil}


def _evaluate(node: ast.AST, names: dict[str, float], where: str) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names, where)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, names, where), _evaluate(node.right, names, where))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, names, where)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS
            and not node.keywords):
        args = [_evaluate(a, names, where) for a in node.args]
        return float(_CALLS[node.func.id](*[int(a) if node.func.id == "round" and i else a
                                             for i, a in enumerate(args)]))
    raise InputError(f"{where}: '{ast.unparse(node)}' is not allowed in a figure; use S:id, A:id, numbers, "
                     f"+ - * / **, round, ceil, min, max")


def evaluate_cell(text: str, library: Library, where: str, year: float | None = None) -> Figure:
    """Evaluate one figure cell: ``=expression`` or ``literal@S:id,A:id``."""
    refs = REF.findall(text)
    for kind, rid in refs:
        pool = library.sources if kind == "S" else library.assumptions
        if rid not in pool:
            table = "sources.csv" if kind == "S" else "assumptions.csv"
            raise InputError(f"{where}: unknown {kind}:{rid}; expected an id listed in {table}")
    if not refs:
        raise InputError(f"{where}: figure '{text}' names no source (S:id) or assumption (A:id); every figure "
                         f"must trace to one")
    sources = tuple(dict.fromkeys(rid for kind, rid in refs if kind == "S"))
    assumptions = tuple(dict.fromkeys(rid for kind, rid in refs if kind == "A"))
    if text.startswith("="):
        names: dict[str, float] = {}

        def name_for(match: re.Match[str]) -> str:
            kind, rid = match.group(1), match.group(2)
            key = f"_{kind}{len(names)}"
            names[key] = library.sources[rid].number if kind == "S" else library.assumptions[rid].value
            return key

        expression = REF.sub(name_for, text[1:])
        if year is not None:
            names["year"] = year
        try:
            tree = ast.parse(expression.strip(), mode="eval")
        except SyntaxError:
            raise InputError(f"{where}: '{text}' is not a valid expression") from None
        try:
            value: float | str = _evaluate(tree, names, where)
        except ZeroDivisionError:
            raise InputError(f"{where}: '{text}' divides by zero") from None
        return Figure(value, sources, assumptions, len(sources))
    if "@" in text:
        literal = text.split("@", 1)[0].strip()
        return Figure(literal, sources, assumptions, len(sources))
    raise InputError(f"{where}: figure '{text}' must be '=expression' or 'literal@S:id'")


def format_number(value: float, kind: str) -> str:
    """The text a figure is written as: whole numbers without a decimal point, others to 6 decimals."""
    if kind == "int" or abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _cite(figures: list[Figure], library: Library) -> str:
    sources = list(dict.fromkeys(s for f in figures for s in f.sources))
    assumptions = list(dict.fromkeys(a for f in figures for a in f.assumptions))
    parts = [f"{library.sources[s].citation} [{s}]" for s in sources]
    if assumptions:
        parts.append("assumptions: " + ", ".join(assumptions))
    return "; ".join(parts)


def build_table(schema: TableSchema, folder: Path, library: Library) -> str:
    """The CSV text of one table built from ``rows/<table>.csv``."""
    path = folder / "rows" / schema.filename
    rows = read_rows(path)
    names = [c.name for c in schema.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for line, row in rows:
        unknown = [k for k in row if k not in names]
        if unknown:
            raise InputError(f"{path}, line {line}: unknown column(s) {', '.join(unknown)}")
        year_text = row.get("year", "")
        year = float(year_text) if year_text and "year" not in schema.figures else None
        figures: dict[str, Figure] = {}
        cells: dict[str, str] = {}
        for col in schema.columns:
            if col.name in COMPUTED:
                continue
            text = row.get(col.name, "")
            if col.name not in schema.figures or not text:
                if col.name in schema.figures and col.required:
                    raise InputError(f"{path}, line {line}, column {col.name}: figure missing")
                cells[col.name] = text
                continue
            figure = evaluate_cell(text, library, f"{path}, line {line}, column {col.name}", year)
            figures[col.name] = figure
            if isinstance(figure.value, float):
                cells[col.name] = format_number(figure.value, col.kind)
            else:
                cells[col.name] = figure.value
        cited = list(figures.values())
        cells["source"] = _cite(cited, library)
        cells["estimate"] = "true" if any(f.flag != "sourced" for f in cited) else "false"
        cells["provenance"] = " ".join(f"{name}={f.flag}" for name, f in figures.items())
        writer.writerow([cells.get(name, "") for name in names])
    return out.getvalue()


def built_names(folder: Path) -> list[str]:
    """The tables ``folder`` builds, in ``ORDER``: every required table, and each optional one whose
    ``rows/<table>.csv`` exists (a sources folder without the tier tables builds the others as before)."""
    return [name for name in ORDER
            if not TABLES_BY_NAME[name].optional or (folder / "rows" / TABLES_BY_NAME[name].filename).exists()]


def build_tables(folder: Path) -> dict[str, str]:
    """Every table's CSV text, built from the sources folder ``folder``."""
    library = load_library(folder)
    names = built_names(folder)
    built = {name: build_table(TABLES_BY_NAME[name], folder, library) for name in names}
    texts = [(folder / "rows" / f"{name}.csv").read_text("utf-8") for name in names]
    for checks in (folder / CHECKS_FILE, folder / MINE_CHECKS_FILE):
        if checks.exists():
            texts.append(checks.read_text("utf-8"))
    used = {ref for text in texts for ref in REF.findall(text)}
    unused = sorted(({("S", s) for s in library.sources} | {("A", a) for a in library.assumptions}) - used)
    if unused:
        raise InputError(f"{folder}: listed but used by no figure: "
                         + ", ".join(f"{k}:{i}" for k, i in unused[:10]) + (" …" if len(unused) > 10 else ""))
    return built


def write_inputs(folder: Path, target: Path) -> list[Path]:
    """Build every table from ``folder`` and write it into ``target`` atomically (all checks pass first)."""
    built = build_tables(folder)
    written = []
    for name, text in built.items():
        path = target / TABLES_BY_NAME[name].filename
        handle, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written


def stale_tables(folder: Path, target: Path) -> list[str]:
    """Tables in ``target`` whose bytes differ from what ``folder`` builds (empty when in step)."""
    built = build_tables(folder)
    stale = []
    for name, text in built.items():
        path = target / TABLES_BY_NAME[name].filename
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            stale.append(name)
    return stale


__all__ = ["MINE_CHECKS_FILE", "PROVENANCE_FLAGS", "SOURCES_FOLDER", "Assumption", "Figure", "Library", "Source",
           "build_table", "build_tables", "built_names", "evaluate_cell", "format_number", "load_library", "read_rows",
           "stale_tables", "write_inputs"]


@dataclass(frozen=True)
class ShareCheck:
    """China's share of one mineral's supply in one year against the range the sources give."""

    mineral: str
    location: float
    ownership: float
    basis: str
    low: float
    high: float
    note: str

    @property
    def gap_pp(self) -> float:
        """Distance in percentage points from the location share to the nearer end of the sourced range."""
        if self.low <= self.location <= self.high:
            return 0.0
        return 100 * min(abs(self.location - self.low), abs(self.location - self.high))


def china_shares(dataset: object, year: int, country: str = "CHN") -> dict[str, tuple[float, float]]:
    """Per mineral: ``country``'s share of capacity active in ``year`` by location and by equity."""
    from engine.inputs.ownership import equity_table  # pandas only when asked

    cap = dataset.capacity  # type: ignore[attr-defined]
    last = cap["last_year"].astype("Float64").fillna(10_000)
    active = cap[(cap["first_year"] <= year) & (last >= year)]
    equity = equity_table(active, dataset.ownership)  # type: ignore[attr-defined]
    held = equity[equity["owner"] == country].set_index("source_id")["equity_share"]
    out: dict[str, tuple[float, float]] = {}
    for mineral, rows in active.groupby("mineral", sort=True):
        total = float(rows["capacity_t"].sum())
        located = float(rows.loc[rows["location"] == country, "capacity_t"].sum())
        owned = float((rows["capacity_t"] * rows["source_id"].map(held).fillna(0.0)).sum())
        out[str(mineral)] = (located / total, owned / total) if total else (0.0, 0.0)
    return out


def share_checks(dataset: object, folder: Path, year: int = 2025) -> list[ShareCheck]:
    """China's ``year`` shares per mineral against ``checks.csv`` of the sources folder ``folder``."""
    library = load_library(folder)
    shares = china_shares(dataset, year)
    path = folder / CHECKS_FILE
    checks = []
    for line, row in read_rows(path, ("mineral", "basis", "low", "high", "note")):
        where = f"{path}, line {line}"
        low = evaluate_cell(row["low"], library, f"{where}, column low").value
        high = evaluate_cell(row["high"], library, f"{where}, column high").value
        if row["mineral"] not in shares:
            continue  # a mineral this dataset does not model
        location, ownership = shares[row["mineral"]]
        checks.append(ShareCheck(row["mineral"], location, ownership, row["basis"], float(min(low, high)),
                                 float(max(low, high)), row["note"]))
    return checks


def provenance_counts(dataset: object) -> dict[str, dict[str, int]]:
    """Per table: how many figures are sourced, derived and assumed (from the ``provenance`` column)."""
    counts: dict[str, dict[str, int]] = {}
    for name in ORDER:
        frame = dataset.tables[name]  # type: ignore[attr-defined]
        tally = dict.fromkeys(PROVENANCE_FLAGS, 0)
        if "provenance" in frame.columns:
            for text in frame["provenance"].dropna():
                for token in str(text).split():
                    flag = token.partition("=")[2]
                    if flag in tally:
                        tally[flag] += 1
        counts[name] = tally
    return counts
