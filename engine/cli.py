"""The ``critmin`` command line: parse, call the library, print, set the exit code.

Exit codes: 0 solved; 1 error (solver failure, time limit, interrupt); 2 bad input or usage;
3 infeasible, or shortfall when ``--strict`` (or ``strict: true`` in the scenario).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.console import release_collection
from engine.errors import CritminError, InputError

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3


class FiniteFloatRange(click.FloatRange):
    """A float option that must be a finite number (click accepts 'nan' and 'inf' otherwise)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class Context:
    def __init__(self, debug: bool) -> None:
        self.debug = debug


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one short message and an exit code (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = click.get_current_context().find_object(Context)
        debug = state.debug if state is not None else False
        try:
            return func(*args, **kwargs)
        except CritminError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("Interrupted; no results folder was written.", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:  # the reader went away (critmin ... | head): stop quietly
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # a bug: say so in one line; the traceback is for --debug
            if debug:
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); run again with --debug for the "
                       f"traceback and report it", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="critmin-engine", prog_name="critmin")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """critmin: sourcing and JV/licensing mixes that minimise dependence on China for refined lithium,
    nickel, cobalt, gallium and germanium, under cost and policy constraints."""
    ctx.obj = Context(debug)
    if ctx.invoked_subcommand != "solve":  # solve releases it once its scenario is loaded (engine.api.solve)
        release_collection()


MODEL = click.argument("model", required=False)
SOLVER = click.option("--solver", default="highs", show_default=True, help="Solver backend (see 'solve').")


def analysis_folder(suffix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--out/--force/--no-write for an analysis that writes ``results/<scenario>-<suffix>``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--no-write", is_flag=True, help="Print only.")(func)
        func = click.option("--force", is_flag=True, help="Replace the folder if it exists.")(func)
        return click.option("--out", "out", type=click.Path(path_type=Path), default=None,
                            help=f"Folder [default: results/<scenario>-{suffix}].")(func)

    return decorate


def finish_analysis(result: Any, as_json: bool, write: Callable[[], Path] | None, files: str) -> None:
    """Print an analysis (its text, or its JSON), exit on a failed solve, else write its folder (``write``) and say
    where (on stderr when stdout carries JSON)."""
    if as_json:
        echo_json(result.json())
    else:
        click.echo(result.text)
    status, machine_output = result.status, as_json
    if status != "optimal":
        sys.exit(EXIT_INFEASIBLE if status.startswith("infeasible") else EXIT_ERROR)
    if write is not None:
        folder = write()
        click.echo(f"\n  Written to {folder}/ ({files})", err=machine_output)


JSON = click.option("--json", "as_json", is_flag=True,
                    help="Print the command's summary (and its table) as JSON on stdout; progress and notes go to "
                         "stderr.")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@contextlib.contextmanager
def progress_bar(label: str, length: int = 1, **options: Any):
    """A progress bar on stderr (stdout stays for the result); yields ``progress(done, total)``."""
    with click.progressbar(length=length, label=label, file=sys.stderr, show_eta=True, **options) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        yield progress


def target_folder(loaded: Any, suffix: str, out: Path | None, force: bool, no_write: bool) -> Path:
    """The analysis folder, checked before any solving so a refusal costs nothing."""
    from engine.outputs.files import check_writable

    folder = out if out is not None else Path("results") / f"{loaded.name}-{suffix}"
    if not no_write:
        check_writable(folder, force, loaded.input_paths)
    return folder


def refuse_market(loaded: Any) -> None:
    """A command without a market mode stops, in one line (exit 2), on a ``market: equilibrium`` scenario:
    ``robust`` and ``worstcase`` say why (``engine.api.refuse_in_market``); any other, that it does not yet support
    it."""
    from engine import api

    if loaded.scenario.market != "none":
        command = click.get_current_context().info_name
        if command in api.NOT_IN_MARKET:
            api.refuse_in_market(command, loaded)
        raise InputError(f"'critmin {command}' does not yet support market mode (scenario '{loaded.name}' has "
                         f"market: {loaded.scenario.market}); solve, validate, calibrate, frontier, explain, stress, "
                         f"sweep, sensitivity, compare and report do")


def is_market(loaded: Any) -> bool:
    return loaded.scenario.market != "none"


def _solve_market(loaded: Any, folder: Path, force: bool, no_write: bool, time_limit: float | None, log: bool,
                  as_json: bool) -> None:
    """``critmin solve`` of a market scenario: the equilibrium, its printout and its results folder."""
    from engine import api

    result = api.market_solve(loaded, log=log, time_limit=time_limit).result
    if not no_write:
        result.write(folder, force=force)
    if as_json:
        echo_json(result.summary)
        return
    click.echo(result.text)
    if not no_write:
        click.echo(f"\n  Results written to {folder}/ ({', '.join(result.files)})")


def load_warned(model: str | None, market: bool = False) -> Any:
    """The scenario, with one line on stderr for each of its values that selects nothing (a policy or shock
    outside the horizon, …: see ``engine.inputs.selection``); ``solve`` and ``validate`` print them with their
    other warnings instead. A market scenario is refused (``refuse_market``) unless the command runs ``market``
    mode."""
    from engine import api
    from engine.inputs.selection import selection_warnings

    loaded = api.load(model)
    if not market:
        refuse_market(loaded)
    for warning in selection_warnings(loaded):
        click.echo(f"Warning: {warning}", err=True)
    return loaded


@main.command()
@MODEL
@click.option("--solver", default="highs", show_default=True,
              help="highs (in-process), pulp (CBC), pulp:NAME or a PuLP alias such as cbc or glpk.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Results folder [default: results/<scenario name>].")
@click.option("--force", is_flag=True, help="Replace the results folder if it exists.")
@click.option("--no-write", is_flag=True, help="Do not write a results folder.")
@click.option("--time-limit", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="Seconds for the whole objective hierarchy.")
@click.option("--write-lp", type=click.Path(path_type=Path), default=None,
              help="Write the final-stage model as solved, LP format.")
@click.option("--write-mps", type=click.Path(path_type=Path), default=None,
              help="Write the final-stage model as solved, MPS format.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of text.")
@click.option("--log", is_flag=True, help="Show the solver's log.")
@click.option("--strict", is_flag=True, help="Exit 3 if the plan leaves demand unmet.")
@click.option("--no-impacts", is_flag=True,
              help="Skip the policy impacts (each policy removed and the plan re-solved): policies.csv then lists "
                   "every policy as 'not computed'.")
@friendly
def solve(model: str | None, solver: str, out: Path | None, force: bool, no_write: bool,
          time_limit: float | None, write_lp: Path | None, write_mps: Path | None, as_json: bool, log: bool,
          strict: bool, no_impacts: bool) -> None:
    """Solve a scenario (default: the shipped baseline) and write its results folder."""
    from engine import api
    from engine.outputs.files import check_writable

    loaded = api.load(model)
    folder = out if out is not None else Path("results") / loaded.name
    if not no_write:
        check_writable(folder, force, loaded.input_paths)
    if loaded.scenario.market != "none":
        _solve_market(loaded, folder, force, no_write, time_limit, log, as_json)
        return
    for path in (write_lp, write_mps):
        if path is not None and path.suffix.lower() not in (".lp", ".mps"):
            raise InputError(f"{path}: expected a file ending in .lp or .mps")
        if path is not None and not path.parent.is_dir():
            raise InputError(f"{path}: folder {path.parent} does not exist")
    exports = [p for p in (write_lp, write_mps) if p is not None]
    plan = api.solve(loaded, solver=solver, time_limit=time_limit, log=log, export=exports, impacts=not no_impacts)
    if plan.ok and not no_write:
        plan.write(folder, force=force)
    if as_json:
        echo_json(plan.summary)
    else:
        click.echo(plan.text)
        if plan.ok and not no_write:
            click.echo(f"\n  Results written to {folder}/")
    if not plan.ok:
        sys.exit(EXIT_INFEASIBLE if plan.status.startswith("infeasible") else EXIT_ERROR)
    if (strict or loaded.scenario.strict) and plan.summary["shortfall"]["total_t"] > 0:
        sys.exit(EXIT_INFEASIBLE)


@main.command()
@MODEL
@JSON
@friendly
def validate(model: str | None, as_json: bool) -> None:
    """Check a scenario and its dataset without solving."""
    from engine import api
    from engine.formulation import build_model
    from engine.outputs.files import stamped

    loaded = api.load(model)
    if is_market(loaded):
        _validate_market(loaded, as_json)
        return
    built = build_model(loaded)
    s = loaded.scenario
    if as_json:
        echo_json(stamped({"file": str(loaded.path), "valid": True, "scenario": s.name,
                           "extends": [str(p) for p in loaded.parents],
                           "policies": [{"name": p.name, "type": p.type} for p in s.policies],
                           "dataset": str(loaded.dataset.folder),
                           "model": {"columns": built.lp.n_cols, "rows": built.lp.n_rows, "nonzeros": built.lp.nnz},
                           "warnings": list(built.warnings)}))
        return
    chain = " <- ".join(p.name for p in reversed(loaded.chain))
    click.echo(f"{loaded.path}: valid.")
    click.echo(f"  scenario '{s.name}' ({chain}); {len(s.policies)} policies: "
               + ", ".join(f"{p.name} ({p.type})" for p in s.policies))
    click.echo(f"  dataset {loaded.dataset.folder}; model {built.lp.describe()}")
    for warning in built.warnings:
        click.echo(f"  Warning: {warning}")


def _validate_market(loaded: Any, as_json: bool) -> None:
    """``validate`` of a market scenario: the market tables checked and the equilibrium LP built, not solved."""
    from engine.inputs.market_tables import load_market
    from engine.market.build import build_market
    from engine.outputs.files import stamped

    market = load_market(loaded.dataset, loaded.scenario.buyer)
    lp = build_market(loaded, market, goal_rows=loaded.scenario.goal is not None)
    s = loaded.scenario
    if as_json:
        echo_json(stamped({"file": str(loaded.path), "valid": True, "scenario": s.name, "market": s.market,
                           "regions": list(market.regions["region"]), "buyer_region": lp.buyer_region,
                           "dataset": str(loaded.dataset.folder), "market_tables": str(market.folder),
                           "model": {"columns": int(lp.matrix.shape[1]), "rows": int(lp.matrix.shape[0]),
                                     "nonzeros": int(lp.matrix.nnz)}, "warnings": list(lp.warnings)}))
        return
    click.echo(f"{loaded.path}: valid (market mode).")
    goal = "no goal"
    if s.goal is not None:
        goal = (f"goal theta {s.goal.share_of_supply_max:g}" if s.goal.share_of_supply_max is not None
                else f"goal theta by the budget rule ({s.goal.points} points)")
    click.echo(f"  scenario '{s.name}'; regions {', '.join(market.regions['region'])}, buyer region "
               f"{lp.buyer_region}; {goal}")
    click.echo(f"  dataset {loaded.dataset.folder}, market tables {market.folder}; equilibrium LP {lp.describe()}")
    for warning in lp.warnings:
        click.echo(f"  Warning: {warning}")


@main.command()
@click.option("--inputs", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Inputs folder [default: the shipped dataset].")
@click.option("--check", is_flag=True,
              help="Check China's 2025 shares against the sources, count figures by provenance and check that "
                   "the tables are what inputs/sources builds; exit 1 if a check fails.")
@click.option("--build", is_flag=True,
              help="Rebuild the tables of the inputs folder from its sources/ folder (sources.csv, "
                   "assumptions.csv, rows/).")
@click.option("--sources", "show_sources", is_flag=True,
              help="Print every source of the dataset whole (publisher, document, year, locator, URL, value, note).")
@JSON
@friendly
def data(inputs: Path | None, check: bool, build: bool, show_sources: bool, as_json: bool) -> None:
    """List the dataset tables with their rows, provenance and sources; check or rebuild them."""
    from engine.inputs.databuild import SOURCES_FOLDER, provenance_counts, write_inputs
    from engine.inputs.dataset import load_dataset
    from engine.inputs.tables import TABLES
    from engine.outputs.files import stamped
    from engine.paths import inputs_dir

    folder = inputs or inputs_dir()
    sources = folder / SOURCES_FOLDER
    if build:
        if not sources.is_dir():
            raise InputError(f"{sources}: no sources folder to build from (expected sources.csv, assumptions.csv "
                             f"and rows/)")
        written = write_inputs(sources, folder)
        click.echo(f"Built {len(written)} tables in {folder} from {sources}.", err=as_json)
    ds = load_dataset(folder)
    if check:
        _data_check(ds, sources, as_json)
        return
    counts = provenance_counts(ds)
    cited = _source_rows(sources) if show_sources or as_json else []
    if as_json:
        echo_json(stamped({"dataset": str(ds.folder), "hash": ds.digest,
                           "tables": [{"file": t.filename, "rows": len(ds.tables[t.name]),
                                       "figures": counts[t.name], "description": t.description} for t in TABLES],
                           "sources": cited}))
        return
    click.echo(f"Dataset {ds.folder} (hash {ds.digest[:12]})")
    for schema in TABLES:
        frame = ds.tables[schema.name]
        tally = counts[schema.name]
        figures = ", ".join(f"{n} {flag}" for flag, n in tally.items())
        click.echo(f"\n  {schema.filename}: {len(frame)} rows; figures: {figures}. {schema.description}")
    if show_sources:
        click.echo(f"\n  Sources ({len(cited)}, from {sources / 'sources.csv'})")
        for row in cited:
            where = "; ".join(v for v in (row.get("locator"), row.get("url")) if v)
            value = " ".join(v for v in (row.get("value"), row.get("unit")) if v)
            note = f" Note: {row['note'].rstrip('.')}." if row.get("note") else ""
            click.echo(f"  - {row.get('source_id')}: {row.get('publisher')}, {row.get('document')} "
                       f"({row.get('year')}); {where}: {value}.{note}")
    click.echo(f"\n  Sources: {sources / 'sources.csv'}; assumptions: {sources / 'assumptions.csv'}; "
               f"units and method: {ds.folder / 'README.md'}")


def _source_rows(sources: Path) -> list[dict[str, str]]:
    """The rows of ``sources.csv`` whole (quoted commas kept), or none without a sources folder."""
    import csv

    path = sources / "sources.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _data_check(ds: Any, sources: Path, as_json: bool = False, year: int = 2025, tolerance_pp: float = 3.0) -> None:
    """Print China's shares against the sources, provenance counts and build status; exit 1 on a failure."""
    from engine.figures.labels import Names
    from engine.inputs.databuild import (
        CHECKS_FILE,
        MINE_CHECKS_FILE,
        SOURCES_FOLDER,
        china_shares,
        provenance_counts,
        share_checks,
        stale_tables,
    )
    from engine.inputs.mine_shares import mine_checks, mine_stage_lines
    from engine.outputs.files import stamped
    from engine.paths import inputs_dir

    mine_reference = sources if (sources / MINE_CHECKS_FILE).exists() else inputs_dir() / SOURCES_FOLDER
    mines = mine_checks(ds, mine_reference)
    if as_json:
        reference = sources if (sources / CHECKS_FILE).exists() else inputs_dir() / SOURCES_FOLDER
        shares = [{"mineral": c.mineral, "location_share": c.location, "ownership_share": c.ownership,
                   "sourced_low": c.low, "sourced_high": c.high, "basis": c.basis, "gap_pp": c.gap_pp,
                   "ok": c.gap_pp <= tolerance_pp}
                  for c in (share_checks(ds, reference, year) if (reference / CHECKS_FILE).exists() else [])]
        mine_stage = [{"mineral": c.mineral, "year": c.year, "commodity": c.commodity, "output_t": c.output_t,
                       "location_share": c.location, "equity_share": c.equity,
                       "equity_lower_bound": c.equity_lower_bound,
                       "sourced": None if c.sourced is None else {"basis": c.sourced.basis, "low": c.sourced.low,
                                                                  "high": c.sourced.high, "gap_pp": c.sourced_gap_pp}}
                      for c in mines]
        stale = stale_tables(sources, ds.folder) if sources.is_dir() else None
        echo_json(stamped({"dataset": str(ds.folder), "hash": ds.digest, "year": year, "shares": shares,
                           "mine_shares": mine_stage, "figures_by_provenance": provenance_counts(ds),
                           "stale_tables": stale}))
        if not all(c["ok"] for c in shares) or stale:
            raise SystemExit(1)
        return
    failed = False
    click.echo(f"Dataset {ds.folder} (hash {ds.digest[:12]})")
    reference = sources if (sources / CHECKS_FILE).exists() else inputs_dir() / SOURCES_FOLDER
    if (reference / CHECKS_FILE).exists():
        shipped = "" if reference == sources else f" of the shipped dataset ({reference})"
        click.echo(f"\n  China's share of {year} supply (capacity active in {year}) against the sources{shipped}")
        click.echo(f"  {'mineral':<10} {'location':>9} {'ownership':>10}   {'sourced range':<15} {'basis':<9} "
                   f"{'gap':>7}")
        names = Names(ds.folder)
        checks = share_checks(ds, reference, year)
        for c in checks:
            ok = c.gap_pp <= tolerance_pp
            failed |= not ok
            span = f"{100 * c.low:.1f}%" if c.low == c.high else f"{100 * c.low:.1f}-{100 * c.high:.1f}%"
            click.echo(f"  {names.mineral(c.mineral):<10} {100 * c.location:>8.1f}% {100 * c.ownership:>9.1f}%   "
                       f"{span:<15} {c.basis:<9} {c.gap_pp:>4.1f} pp{'' if ok else '  OUTSIDE +-3 pp'}")
        click.echo("  (gap: location share to the nearer end of the sourced range; ownership counts Chinese "
                   "equity wherever the plant is)")
    order = [c.mineral for c in checks] if (reference / CHECKS_FILE).exists() else None
    for line in mine_stage_lines(mines, china_shares(ds, year), Names(ds.folder).mineral, year, order):
        click.echo(line)
    counts = provenance_counts(ds)
    click.echo("\n  Figures by provenance")
    click.echo(f"  {'table':<14} {'sourced':>8} {'derived':>8} {'assumed':>8}")
    for name, tally in counts.items():
        click.echo(f"  {name:<14} {tally['sourced']:>8} {tally['derived']:>8} {tally['assumed']:>8}")
    totals = {flag: sum(t[flag] for t in counts.values()) for flag in ("sourced", "derived", "assumed")}
    click.echo(f"  {'all':<14} {totals['sourced']:>8} {totals['derived']:>8} {totals['assumed']:>8}")
    _backcast_lines(ds)
    if sources.is_dir():
        stale = stale_tables(sources, ds.folder)
        failed |= bool(stale)
        status = (f"stale tables {', '.join(stale)} (run critmin data --build)" if stale
                  else f"every table is byte-identical to what {sources} builds")
        click.echo(f"\n  Build: {status}")
    if failed:
        raise SystemExit(1)


def _backcast_lines(ds: Any) -> None:
    """Print the backcast: the shipped baseline's least-cost plan in its first year against observed import shares."""
    from engine.analysis.backcast import least_cost_backcast, top_shares
    from engine.figures.labels import Names
    from engine.inputs.scenario import load_scenario

    if ds.tables["observed_trade"].empty:
        click.echo("\n  Backcast: no observed_trade.csv in this dataset")
        return
    try:
        loaded = load_scenario(None, inputs=ds.folder)
    except InputError as exc:
        click.echo(f"\n  Backcast: the baseline scenario does not load on this dataset ({str(exc).splitlines()[0]})")
        return
    rows, unobserved = least_cost_backcast(loaded)
    names = Names(ds.folder)
    start = loaded.scenario.horizon.start
    click.echo(f"\n  Backcast: the baseline's least-cost plan in {start} (imports by location) against observed US "
               f"imports by origin")
    click.echo(f"  {'mineral':<10} {'distance':>9}   {'observed':<40} {'planned':<40} period, measure, form")
    for b in rows:
        o = b.observation
        click.echo(f"  {names.mineral(o.mineral):<10} {b.text:>9}   {top_shares(o.shares, name=names.country):<40} "
                   f"{top_shares(b.planned, name=names.country):<40} {o.period}, {o.measure}, {o.form}")
    if unobserved:
        click.echo(f"  {', '.join(map(names.mineral, unobserved))}: no verified observed shares in "
                   f"observed_trade.csv")
    click.echo("  (distance: half the L1 distance between the share vectors, 0 = identical, 100 = disjoint; '>=' where "
               "the source groups origins as 'other', so the distance is the least the unknown split allows)")


@main.command()
@MODEL
@click.option("--points", type=click.IntRange(min=2, max=1001), default=None,
              help="Caps, evenly spaced from the least-cost plan's exposure to the least reachable [default: 11, at "
                   "most 500]. Market mode: values of theta from the uncapped share down to 0 [default: "
                   "market_goal.points, 21].")
@click.option("--mineral", "minerals", multiple=True,
              help="Sweep one mineral's mean annual share (code or name; repeatable); 'each' for every mineral. "
                   "Default: all minerals together, the scenario's aggregate.")
@click.option("--caps", default=None, help="Explicit caps in percent, e.g. '50,20' (instead of --points); in market "
                                           "mode values of theta, the China share of supply in percent.")
@SOLVER
@analysis_folder("frontier[-each|-MINERAL]")
@JSON
@friendly
def frontier(model: str | None, points: int | None, minerals: tuple[str, ...], caps: str | None, solver: str,
             out: Path | None, force: bool, no_write: bool, as_json: bool) -> None:
    """The price of independence: cost against a tightening cap on exposure, with its marginal cost. In market mode
    the frontier of the goal theta: every region's welfare and prices and the certificate price per point."""
    from engine import api
    from engine.analysis.frontier_run import parse_caps

    loaded = load_warned(model, market=True)
    if is_market(loaded):
        api._market_options(solver=solver, minerals=minerals)
        folder = target_folder(loaded, "frontier", out, force, no_write)
        with progress_bar("Tracing the frontier", show_pos=True) as progress:
            result = api.frontier(loaded, points=points, caps=parse_caps(caps), progress=progress)
        finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                        "frontier.csv, frontier_prices.csv, frontier_certificates.csv, frontier.png, frontier.svg, "
                        "summary.json")
        return
    if points is not None and points > 500:
        raise InputError(f"--points {points}: at most 500 caps")
    chosen = [m if m == "each" else api.mineral_codes(loaded, [m])[0] for m in minerals]
    # the aggregate frontier and a per-mineral one go to separate folders, so neither overwrites the other
    suffix = "frontier" if not chosen else "frontier-" + "-".join(dict.fromkeys(chosen))
    folder = target_folder(loaded, suffix, out, force, no_write)
    parsed = parse_caps(caps)
    with progress_bar("Tracing the frontier", show_pos=True) as progress:
        result = api.frontier(loaded, points=points, minerals=chosen, caps=parsed, solver=solver, progress=progress)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "frontier.csv, frontier.png, frontier.svg, summary.json")


@main.command()
@MODEL
@click.option("--mineral", "minerals", multiple=True,
              help="Explain this mineral (code or name; repeatable) in every year.")
@click.option("--year", "years", type=int, multiple=True, help="Explain this year (repeatable).")
@SOLVER
@JSON
@friendly
def explain(model: str | None, minerals: tuple[str, ...], years: tuple[int, ...], solver: str,
            as_json: bool) -> None:
    """Why demand goes unmet: capacity policy by policy, and the smallest relaxations that restore it. A market
    scenario: why the buyer region pays its price and buys where it buys (default: the first year)."""
    from engine import api
    from engine.inputs.selection import check_years

    loaded = load_warned(model, market=True)
    chosen = api.mineral_codes(loaded, minerals)
    for year in years:
        check_years("--year", year, loaded)
    if is_market(loaded):
        api._market_options(solver=solver)
    with progress_bar("Explaining", show_pos=True) as progress:
        result = api.explain(loaded, minerals=chosen, years=years, solver=solver, progress=progress)
    if as_json:
        echo_json(result.json())
    else:
        click.echo(result.text)


@main.command()
@click.argument("runs", nargs=-1, required=True, metavar="RUN RUN [RUN...]")
@click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
              help="Largest sourcing changes shown per run, against the first.")
@click.option("--solver", default="highs", show_default=True, help="Solver for scenarios solved here (see 'solve').")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON instead of text.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Write the table to a CSV file.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Also write the comparison as a report folder: report.md (with figures/), report.html and "
                   "comparison.xlsx.")
@click.option("--force", is_flag=True, help="Replace the --out file or --report folder if it exists.")
@click.option("--budget", type=click.Choice(["hold", "own"]), default="hold", show_default=True,
              help="hold: scenarios solved here are planned at the first run's budget in USD; own: each at its own "
                   "budget rule (a premium over its own least cost).")
@friendly
def compare(runs: tuple[str, ...], top: int, solver: str, as_json: bool, out: Path | None,
            report_dir: Path | None, force: bool, budget: str) -> None:
    """Scenarios or results folders side by side: exposure and share of supply, cost, premium, shortfall, JV mix,
    the runs ranked by exposure, and the largest changes in sourcing against the first.

    Each RUN is a results folder written by 'solve', or a scenario (a shipped name or a YAML file), which is
    solved here without writing anything."""
    from engine import api
    from engine.analysis.compare import check_csv_target, write_comparison_csv

    if out is not None:
        check_csv_target(out, force, runs)
    if report_dir is not None:
        from engine.outputs.files import check_writable

        check_writable(report_dir, force, [Path(r) for r in runs if Path(r).exists()], option="--report",
                       kind="report folder")
    comparison = api.compare_runs(list(runs), top=top, solver=solver, budget=budget)
    solved = [run for run in comparison.result.runs if run.origin == "solved"]
    from engine.analysis.replan import AT_LEAST_COST

    for warning in dict.fromkeys(w for run in solved for w in run.summary.get("warnings", []) if w != AT_LEAST_COST):
        click.echo(f"Warning: {warning}", err=True)  # as 'solve' prints them (a folder's are in its report)
    if out is not None:
        write_comparison_csv(comparison.result, out, force=force)
    if report_dir is not None:
        from engine.report.comparison import write_comparison_report

        write_comparison_report(comparison.result, report_dir, force=force)
        click.echo(f"Comparison report written to {report_dir}/: report.md, report.html, comparison.xlsx",
                   err=as_json)
    if as_json:
        echo_json(comparison.json())
    else:
        click.echo(comparison.text)
        if out is not None:
            click.echo(f"\n  Table written to {out}")


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="md,html", show_default=True,
              help="Comma-separated: md (Markdown and PNG figures), html (one self-contained page), xlsx (one "
                   "workbook, a sheet per table), parquet (a file per table).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Report folder [default: RESULTS_DIR/report].")
@click.option("--force", is_flag=True, help="Replace the report folder if it exists.")
@JSON
@friendly
def report(results_dir: Path, formats: str, out: Path | None, force: bool, as_json: bool) -> None:
    """A results folder as a report with plots (Markdown, HTML) and exports (XLSX, Parquet)."""
    from engine import api
    from engine.outputs.files import stamped
    from engine.report.build import FILES, parse_formats

    chosen = parse_formats(formats)
    folder = api.make_report(results_dir, chosen, out=out, force=force)
    if as_json:
        echo_json(stamped({"results": str(results_dir), "report": str(folder), "files": [FILES[f] for f in chosen]}))
    else:
        click.echo(f"Report written to {folder}/: " + ", ".join(FILES[f] for f in chosen))


@main.command()
@MODEL
@click.option("--named-only", is_flag=True, help="Only the scenario's named shocks, not the N-1 set.")
@SOLVER
@analysis_folder("stress")
@JSON
@friendly
def stress(model: str | None, named_only: bool, solver: str, out: Path | None, force: bool,
           no_write: bool, as_json: bool) -> None:
    """N-1 and named supply shocks against the base plan: what breaks, how badly, which deals hedge it. In market
    mode against the base equilibrium: every region's price and welfare change."""
    from engine import api
    from engine.inputs.selection import check_named_shocks

    loaded = load_warned(model, market=True)
    if named_only:
        check_named_shocks("--named-only", loaded)
    if is_market(loaded):
        api._market_options(solver=solver)
    folder = target_folder(loaded, "stress", out, force, no_write)
    with progress_bar("Stress-testing") as progress:
        result = api.stress(loaded, named_only=named_only, solver=solver, progress=progress)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "stress.csv, stress.png, stress.svg, summary.json")


@main.command()
@MODEL
@click.option("--samples", type=click.IntRange(min=1), default=100, show_default=True, help="Monte Carlo samples.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=1, show_default=True,
              help="Random seed (results depend only on it).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (each loads the model once and re-solves warm).")
@click.option("--scheduler", default=None,
              help="Address of a Dask distributed scheduler (needs critmin-engine[distributed]).")
@SOLVER
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Folder [default: results/<scenario>-sweep].")
@click.option("--resume", is_flag=True, help="Finish an interrupted sweep in --out, keeping its samples.")
@click.option("--force", is_flag=True, help="Start again, deleting an existing sweep folder.")
@JSON
@friendly
def sweep(model: str | None, samples: int, seed: int, workers: int, scheduler: str | None, solver: str,
          out: Path | None, resume: bool, force: bool, as_json: bool) -> None:
    """Monte Carlo over the scenario's uncertainty: percentiles of exposure, share of supply, cost and shortfall. In
    market mode also over elasticities and trade costs: percentiles of prices and welfare."""
    from engine import api
    from engine.analysis.sweep import check_folder, check_runner

    loaded = load_warned(model, market=True)
    folder = out if out is not None else Path("results") / f"{loaded.name}-sweep"
    if is_market(loaded):
        api._market_options(solver=solver)
    check_runner(solver, scheduler)  # before the progress bar and before anything is written
    check_folder(folder, loaded, samples, seed, resume, force)
    with progress_bar("Sampling", samples, show_pos=True) as progress:
        run = api.sweep(loaded, folder, samples=samples, seed=seed, workers=workers, scheduler=scheduler,
                        solver=solver, resume=resume, force=force, progress=progress)
    if run.interrupted:
        click.echo(f"Interrupted: {len(run.run.rows)} of {samples} samples are saved in {folder}/; run the same "
                   f"command with --resume to finish.", err=True)
        sys.exit(EXIT_ERROR)
    if as_json:
        echo_json(run.json())
    else:
        click.echo(run.text)
    click.echo(f"\n  Sweep written to {folder}/ (samples.csv, percentiles.csv, summary.json, samples.jsonl)",
               err=as_json)


@main.command()
@MODEL
@click.option("--scenarios", type=click.IntRange(min=1), default=None,
              help="Sampled disruptions to plan against [default: the scenario's robust.scenarios].")
@click.option("--evaluation", type=click.IntRange(min=1), default=None,
              help="Fresh scenarios to test the plans on [default: robust.evaluation].")
@click.option("--risk", type=click.Choice(["expected", "cvar"]), default=None,
              help="Value of unmet demand in the cost: its expectation or its CVaR [default: robust.risk].")
@click.option("--alpha", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="CVaR level [default: robust.alpha].")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              help="Random seed [default: robust.seed].")
@SOLVER
@analysis_folder("robust")
@JSON
@friendly
def robust(model: str | None, scenarios: int | None, evaluation: int | None, risk: str | None,
           alpha: float | None, seed: int | None, solver: str, out: Path | None, force: bool,
           no_write: bool, as_json: bool) -> None:
    """Two-stage stochastic plan (JV builds and stockpile chosen once) and its value over the deterministic plan."""
    from engine import api

    loaded = load_warned(model)
    changes = {k: v for k, v in {"scenarios": scenarios, "evaluation": evaluation, "risk": risk, "alpha": alpha,
                                 "seed": seed}.items() if v is not None}
    if changes:
        loaded = api.override(loaded, robust={**loaded.scenario.robust.model_dump(mode="json"), **changes})
    folder = target_folder(loaded, "robust", out, force, no_write)
    with progress_bar("Planning and testing", show_pos=True) as progress:
        result = api.robust(loaded, solver=solver, progress=progress)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "evaluation.csv, builds.csv, deterministic_builds.csv, summary.json")


@main.command()
@MODEL
@click.option("--k", "k", type=click.IntRange(min=0, max=5), default=None,
              help="Solve for k = 0, 1, …, K restriction moves [default: worstcase.k, 1].")
@click.option("--country", default=None, help="The restricting country [default: the dependence country].")
@click.option("--by", "by", default=None,
              help="Moves by location, owner or either; several separated by commas [default: either].")
@click.option("--share", type=click.FloatRange(0, 1), default=None,
              help="Supply left under a move, as a share of normal (0 = a ban) [default: 0].")
@click.option("--from", "start_years", default=None,
              help="Start years a move may choose: 2028, 2027-2030, 2028+ or all [default: every year].")
@click.option("--owner-threshold", type=click.FloatRange(0, 1), default=None,
              help="Equity at or above which a plant counts as controlled [default: 0.5].")
@click.option("--mineral", "minerals", multiple=True,
              help="Minerals the country may restrict (repeatable; code or name) [default: every modelled one].")
@click.option("--cut-jv-output", is_flag=True, default=None,
              help="Also cut buyer-hosted JV output, in proportion to the country's equity.")
@click.option("--method", type=click.Choice(["auto", "enumerate", "ccg"]), default="auto", show_default=True,
              help="Extensive form over every restriction set, or column-and-constraint generation.")
@JSON
@SOLVER
@analysis_folder("worstcase")
@friendly
def worstcase(model: str | None, k: int | None, country: str | None, by: str | None, share: float | None,
              start_years: str | None, owner_threshold: float | None, minerals: tuple[str, ...],
              cut_jv_output: bool | None, method: str,
              as_json: bool, solver: str, out: Path | None, force: bool, no_write: bool) -> None:
    """The plan that minimises the worst case whatever k restrictions the dependence country picks."""
    from engine import api
    from engine.analysis.worstcase import settings_with

    loaded = load_warned(model)
    settings = settings_with(loaded, k=k, country=country, share=share, owner_threshold=owner_threshold,
                             cut_jv_output=cut_jv_output, start_years=start_years,
                             minerals=list(minerals) if minerals else None,
                             by=None if by is None else [b.strip() for b in by.split(",")])
    loaded = api.override(loaded, worstcase=settings)
    folder = target_folder(loaded, "worstcase", out, force, no_write)

    def progress(line: str) -> None:
        click.echo(f"  {line}", err=True)

    result = api.worstcase(loaded, method=method, solver=solver, progress=progress)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "worstcase.csv, regret.csv, moves.csv, bounds.csv, builds.csv, k*/, worstcase.png, "
                    "summary.json")


@main.command()
@MODEL
@click.option("--step", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Relative move where an assumption has no low/high range (exportable shares, delivered costs, "
                   "demand).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True, help="Assumptions printed.")
@click.option("--budget", type=click.Choice(["hold", "own"]), default="hold", show_default=True,
              help="hold: every variant at the base plan's budget in USD; own: each at the scenario's budget rule "
                   "over its own least cost (the budget moves with the assumption).")
@SOLVER
@analysis_folder("sensitivity")
@JSON
@friendly
def sensitivity(model: str | None, step: float, top: int, budget: str, solver: str, out: Path | None, force: bool,
                no_write: bool, as_json: bool) -> None:
    """One assumption at a time at its low and high value, re-solved: a tornado of exposure and cost. In market
    mode the market's assumptions (elasticity, trade cost, reference quantity, production cost), ranked by their
    effect on the buyer region's welfare and price."""
    from engine import api

    loaded = load_warned(model, market=True)
    if is_market(loaded):
        api._market_options(solver=solver)
    folder = target_folder(loaded, "sensitivity", out, force, no_write)
    with progress_bar("Re-solving") as progress:
        result = api.sensitivity(loaded, step=step, top=top, budget=budget, solver=solver, progress=progress)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "sensitivity.csv, summary.json" if is_market(loaded) else
                    "sensitivity.csv, sensitivity.png, sensitivity.svg, summary.json")


@main.command()
@MODEL
@click.option("--tolerance", type=FiniteFloatRange(0, 100), default=5.0, show_default=True,
              help="Backcast distance (points) to reach per mineral.")
@click.option("--rounds", type=click.IntRange(min=1, max=50), default=6, show_default=True,
              help="Most re-solves of the whole scenario.")
@click.option("--margin", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Market mode: each route-cost step's distance from the calibrated add-on, as a share of the "
                   "mineral's reference price [default: 0.01].")
@SOLVER
@analysis_folder("calibrate")
@JSON
@friendly
def calibrate(model: str | None, tolerance: float, rounds: int, margin: float | None, solver: str, out: Path | None,
              force: bool, no_write: bool, as_json: bool) -> None:
    """Exportable-share moves that make the least-cost plan reproduce observed imports; writes an overlay. On a
    market scenario: increasing route costs that make the equilibrium reproduce them (README, Market mode)."""
    from engine import api

    market = api.load(model)
    if market.scenario.market != "none":
        _calibrate_market(market, margin, solver, out, force, no_write, as_json)
        return
    if margin is not None:
        raise InputError("--margin: applies to a market scenario only (market: equilibrium)")
    loaded = load_warned(model)
    folder = target_folder(loaded, "calibrate", out, force, no_write)
    result = api.calibrate(loaded, solver=solver, tolerance_pp=tolerance, rounds=rounds)
    finish_analysis(result, as_json, None if no_write else lambda: result.write(folder, force=force),
                    "calibration.csv, backcast.csv, calibrated.yaml, summary.json")


def _calibrate_market(loaded: Any, margin: float | None, solver: str, out: Path | None, force: bool, no_write: bool,
                      as_json: bool) -> None:
    """``critmin calibrate`` of a market scenario: route costs fitted to observed imports, before and after."""
    from engine import api
    from engine.analysis.market_calibrate_run import FILES

    folder = target_folder(loaded, "calibrate", out, force, no_write)
    report = api.calibrate(loaded, solver=solver, margin=margin)
    finish_analysis(report, as_json, None if no_write else lambda: report.write(folder, force=force), FILES)


if __name__ == "__main__":  # pragma: no cover
    main()
