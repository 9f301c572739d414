"""``python -m benchmarks``: time critmin against its peers and the raw-solver limit (see benchmarks/README.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.config import DEFAULT_SIZES, SIZES
from benchmarks.harness import DEFAULT_OUT, REL_TOL, Settings, format_tables, run
from benchmarks.market import MARKET_SIZES


def parse(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--sizes", default=",".join(DEFAULT_SIZES),
                   help=f"comma-separated sizes from {', '.join([*SIZES, *MARKET_SIZES])} (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=1, help="runs per tool and size; the median is reported")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file (default: %(default)s)")
    p.add_argument("--skip-pulp", action="store_true", help="skip every PuLP tool (critmin's pulp backend and "
                   "the naive PuLP peers)")
    p.add_argument("--skip-linopy", action="store_true", help="skip the linopy peer even when installed")
    p.add_argument("--quick", action="store_true", help="a quick look: the small size only, fewer warm re-solves, "
                   "one CLI run")
    p.add_argument("--all-tools", action="store_true", help="run every tool at every size (no size limits)")
    p.add_argument("--cbc-max-nnz", type=int, default=Settings.cbc_max_nnz,
                   help="largest model solved with CBC (default: %(default)s)")
    p.add_argument("--peer-max-nnz", type=int, default=Settings.peer_max_nnz,
                   help="largest model written with the naive PuLP and linopy peers (default: %(default)s)")
    p.add_argument("--hierarchy-max-nnz", type=int, default=Settings.hierarchy_max_nnz,
                   help="largest model whose full hierarchy is timed (default: %(default)s)")
    p.add_argument("--cbc-hierarchy-max-nnz", type=int, default=Settings.cbc_hierarchy_max_nnz,
                   help="largest model whose hierarchy is timed with CBC (default: %(default)s)")
    p.add_argument("--warm-n", type=int, default=Settings.warm_n, help="warm re-solves per measurement")
    p.add_argument("--cli-n", type=int, default=Settings.cli_n, help="cold CLI runs (0 skips them)")
    p.add_argument("--no-warm", action="store_true", help="skip the warm re-solves on the default model")
    p.add_argument("--no-analyses", action="store_true", help="skip the sweep and frontier timings")
    p.add_argument("--analysis-samples", type=int, default=Settings.analysis_samples,
                   help="sweep samples per round (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=Settings.timeout, help="seconds per child process")
    p.add_argument("--keep", action="store_true", help="keep the work folder (MPS files, logs)")
    a = p.parse_args(argv)
    sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES and s not in MARKET_SIZES]
    if unknown:
        p.error(f"unknown size(s) {', '.join(unknown)}; expected {', '.join([*SIZES, *MARKET_SIZES])}")
    settings = Settings(sizes=sizes, repeat=max(1, a.repeat), out=a.out, skip_pulp=a.skip_pulp,
                        skip_linopy=a.skip_linopy, cbc_max_nnz=a.cbc_max_nnz, peer_max_nnz=a.peer_max_nnz,
                        hierarchy_max_nnz=a.hierarchy_max_nnz, cbc_hierarchy_max_nnz=a.cbc_hierarchy_max_nnz,
                        warm_n=a.warm_n, cli_n=a.cli_n, warm=not a.no_warm, timeout=a.timeout, keep=a.keep,
                        analyses=not a.no_analyses, analysis_samples=a.analysis_samples)
    if a.quick:
        if a.sizes == ",".join(DEFAULT_SIZES):
            settings.sizes = ["small"]
        settings.warm_n, settings.cold_n, settings.cli_n = 10, 3, min(settings.cli_n, 1)
        settings.analysis_samples = min(settings.analysis_samples, 8)
    if a.all_tools:
        big = 10**12
        settings.cbc_max_nnz = settings.peer_max_nnz = settings.hierarchy_max_nnz = big
        settings.cbc_hierarchy_max_nnz = big
    return settings


def main(argv: list[str] | None = None) -> int:
    settings = parse(argv)
    results = run(settings)
    print(format_tables(results))
    if settings.out is not None:
        print(f"\nJSON: {settings.out}   ({results['elapsed_s']:.0f} s in all)")
    if results["disagreements"]:
        print(f"\nObjectives that differ from critmin's single stage (relative tolerance {REL_TOL:g}):",
              file=sys.stderr)
        for line in results["disagreements"]:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
