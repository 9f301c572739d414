"""``critmin report``: a results folder as a Markdown page, a self-contained HTML page, plots, and exports
(one XLSX workbook, or one Parquet file per table).

Modules, one job each: ``folder`` reads a results folder; ``labels`` turns codes into words; ``style`` holds
colours, number formats and the deterministic matplotlib set-up; ``plots`` draws the figures; ``content``
collects the headline figures and tables; ``markdown`` and ``html`` render them; ``exports`` writes XLSX and
Parquet; ``build`` puts it together and writes the report folder atomically.
"""

from __future__ import annotations

FORMATS = ("md", "html", "xlsx", "parquet")
