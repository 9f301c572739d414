"""Writing a report folder: parse the formats, render, and write everything atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.errors import InputError, did_you_mean
from engine.outputs.files import check_writable, write_folder_atomically
from engine.outputs.read_folder import load_results_folder
from engine.report import FORMATS

FILES = {"md": "report.md", "html": "report.html", "xlsx": "results.xlsx", "parquet": "parquet/"}


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """``"md,html"`` -> ``["md", "html"]``; unknown names are an InputError naming the valid ones."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    formats: list[str] = []
    for item in (i.strip().lower().lstrip(".") for i in items):
        if not item:
            continue
        item = {"markdown": "md", "htm": "html", "excel": "xlsx", "pq": "parquet"}.get(item, item)
        if item not in FORMATS:
            raise InputError(f"--format {item}: unknown format{did_you_mean(item, FORMATS)}; choose from "
                             f"{', '.join(FORMATS)} (comma-separated)")
        if item not in formats:
            formats.append(item)
    if not formats:
        raise InputError(f"--format: no format given; choose from {', '.join(FORMATS)} (comma-separated)")
    return formats


def build_report(results_dir: Path | str, formats: str | Iterable[str] = ("md", "html"), out: Path | None = None,
                 force: bool = False) -> Path:
    """Write the report of a results folder into ``out`` (default ``<results_dir>/report``) and return it."""
    folder = load_results_folder(results_dir)
    chosen = parse_formats(formats)
    target = Path(out) if out is not None else folder.path / "report"
    inputs = [folder.path] + ([folder.frontier_path.parent] if folder.frontier_path is not None else [])
    check_writable(target, force, inputs, kind="report folder")
    report = None
    if {"md", "html", "xlsx"} & set(chosen):
        from engine.report.content import make_report

        report = make_report(folder)

    def fill(tmp: Path) -> None:
        if report is not None and "md" in chosen:
            from engine.report.markdown import FIGURES, render_markdown

            (tmp / FIGURES).mkdir()
            for plot in report.plots:
                (tmp / FIGURES / f"{plot.slug}.png").write_bytes(plot.png)
            (tmp / FILES["md"]).write_text(render_markdown(report), encoding="utf-8")
        if report is not None and "html" in chosen:
            from engine.report.html import render_html

            (tmp / FILES["html"]).write_text(render_html(report), encoding="utf-8")
        if "xlsx" in chosen:
            from engine.report.exports import write_xlsx

            write_xlsx(folder, tmp / FILES["xlsx"], report)
        if "parquet" in chosen:
            from engine.report.exports import write_parquet

            write_parquet(folder, tmp / FILES["parquet"].rstrip("/"))

    return write_folder_atomically(target, fill, force=force)
