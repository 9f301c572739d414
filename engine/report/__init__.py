"""``critmin report``: a results folder as a Markdown page, a self-contained HTML page, plots, and exports
(one XLSX workbook, or one Parquet file per table).

Modules, one job each: ``content`` collects the headline figures and tables (reading the folder with
``engine.outputs.read_folder`` and drawing with ``engine.figures``); ``analyses`` does the same for analysis
folders and ``comparison`` for a comparison; ``markdown`` and ``html`` render them; ``exports`` writes XLSX and
Parquet; ``build`` puts it together and writes the report folder atomically.
"""

from __future__ import annotations

FORMATS = ("md", "html", "xlsx", "parquet")
