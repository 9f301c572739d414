"""A :class:`~engine.report.content.Report` as one self-contained HTML page: inline CSS, figures embedded as
base64 PNG, no scripts and no external resources."""

from __future__ import annotations

import base64
from html import escape

from engine.report.content import Report, Table

CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0;
       background: #fafafa; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.6em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 2px solid #1f4e9c; padding-bottom: 4px; }
dl.headline { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0 0 1em; }
dl.headline dt { font-weight: bold; }
dl.headline dd { margin: 0; }
table { border-collapse: collapse; margin: 0.6em 0 0.4em; font-size: 0.92em; }
caption { text-align: left; font-weight: bold; padding-bottom: 6px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { background: #f0f3f8; text-align: left; }
td.r, th.r { text-align: right; }
td.r { white-space: nowrap; }
th { vertical-align: bottom; }
.wide { overflow-x: auto; max-width: 100%; }
p.note, figcaption { color: #555; font-size: 0.9em; }
figure { margin: 1.2em 0 1.8em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


def table_html(table: Table) -> str:
    """An HTML table with a caption; right-aligned numeric columns."""
    cls = [' class="r"' if a == "r" else "" for a in table.align]
    head = "".join(f"<th{c}>{escape(col)}</th>" for c, col in zip(cls, table.columns, strict=True))
    body = "".join("<tr>" + "".join(f"<td{c}>{escape(cell)}</td>" for c, cell in zip(cls, row, strict=True))
                   + "</tr>\n" for row in table.rows)
    caption = f"<caption>{escape(table.title)}</caption>" if table.title else ""
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (f'<div class="wide"><table>{caption}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>'
            f"</div>{note}\n")


def render_html(report: Report) -> str:
    """The whole page."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(report.title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
             f"<h1>{escape(report.title)}</h1>", '<dl class="headline">']
    parts += [f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in report.headline]
    parts.append("</dl>")
    for section in report.sections:
        parts.append(f"<section><h2>{escape(section.heading)}</h2>")
        parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
        parts += [table_html(t) for t in section.tables]
        for plot in section.plots:
            data = base64.b64encode(plot.png).decode("ascii")
            parts.append(f'<figure id="{escape(plot.slug)}"><img alt="{escape(plot.title)}: {escape(plot.caption)}" '
                         f'src="data:image/png;base64,{data}"><figcaption>{escape(plot.caption)}</figcaption>'
                         f"</figure>")
        parts.append("</section>")
    if report.warnings:
        parts.append("<section><h2>Warnings</h2><ul>" + "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
                     + "</ul></section>")
    parts += [f"<footer>{escape(report.footer)}</footer>", "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)
