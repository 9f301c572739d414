"""A :class:`~engine.report.content.Report` as Markdown, with its figures as PNG files beside it."""

from __future__ import annotations

from engine.report.content import Report, Table

FIGURES = "figures"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> list[str]:
    """A pipe table, numbers right-aligned."""
    lines = [f"**{table.title}**", ""] if table.title else []
    lines.append("| " + " | ".join(_escape(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in table.align) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    """The report as Markdown; figures are referenced as ``figures/<slug>.png``."""
    lines = [f"# {report.title}", ""]
    lines += [f"- **{label}:** {text}" for label, text in report.headline]
    lines.append("")
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            lines += table_markdown(table)
        for plot in section.plots:
            lines += [f"![{plot.title}]({FIGURES}/{plot.slug}.png)", "", f"_{plot.caption}_", ""]
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in report.warnings] + [""]
    lines += ["---", "", f"_{report.footer}_", ""]
    return "\n".join(lines)
