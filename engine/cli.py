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


def finish_analysis(text: str, status: str, write: Callable[[], Path] | None, files: str,
                    machine_output: bool = False) -> None:
    """Print an analysis, exit on a failed solve, else write its folder (``write``) and say where (on stderr when
    stdout carries machine-readable output)."""
    click.echo(text)
    if status != "optimal":
        sys.exit(EXIT_INFEASIBLE if status.startswith("infeasible") else EXIT_ERROR)
    if write is not None:
        folder = write()
        click.echo(f"\n  Written to {folder}/ ({files})", err=machine_output)


def target_folder(loaded: Any, suffix: str, out: Path | None, force: bool, no_write: bool) -> Path:
    """The analysis folder, checked before any solving so a refusal costs nothing."""
    from engine.output import check_writable

    folder = out if out is not None else Path("results") / f"{loaded.name}-{suffix}"
    if not no_write:
        check_writable(folder, force, loaded.input_paths)
    return folder


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
@friendly
def solve(model: str | None, solver: str, out: Path | None, force: bool, no_write: bool,
          time_limit: float | None, write_lp: Path | None, write_mps: Path | None, as_json: bool, log: bool,
          strict: bool) -> None:
    """Solve a scenario (default: the shipped baseline) and write its results folder."""
    from engine.output import check_writable
    from engine.run import run_scenario
    from engine.scenario import load_scenario
    from engine.writer import write_results

    loaded = load_scenario(model)
    folder = out if out is not None else Path("results") / loaded.name
    if not no_write:
        check_writable(folder, force, loaded.input_paths)
    for path in (write_lp, write_mps):
        if path is not None and path.suffix.lower() not in (".lp", ".mps"):
            raise InputError(f"{path}: expected a file ending in .lp or .mps")
        if path is not None and not path.parent.is_dir():
            raise InputError(f"{path}: folder {path.parent} does not exist")
    exports = [p for p in (write_lp, write_mps) if p is not None]
    result = run_scenario(loaded, solver=solver, time_limit=time_limit, log=log, export=exports)
    if result.ok and not no_write:
        write_results(result, folder, force=force)
        result.summary["results_folder"] = str(folder)
    if as_json:
        click.echo(json.dumps(result.summary, indent=2, default=str))
    else:
        from engine.display import render_summary

        names = dict(zip(loaded.dataset.minerals["mineral"], loaded.dataset.minerals["name"], strict=True))
        click.echo(render_summary(result.summary, {k: v.split("(")[0].strip().lower() for k, v in names.items()}))
        if result.ok and not no_write:
            click.echo(f"\n  Results written to {folder}/")
    if not result.ok:
        sys.exit(EXIT_INFEASIBLE if result.plan.status.value.startswith("infeasible") else EXIT_ERROR)
    if (strict or loaded.scenario.strict) and result.summary["shortfall"]["total_t"] > 0:
        sys.exit(EXIT_INFEASIBLE)


@main.command()
@MODEL
@friendly
def validate(model: str | None) -> None:
    """Check a scenario and its dataset without solving."""
    from engine.formulation import build_model
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    built = build_model(loaded)
    s = loaded.scenario
    chain = " <- ".join(p.name for p in reversed(loaded.chain))
    click.echo(f"{loaded.path}: valid.")
    click.echo(f"  scenario '{s.name}' ({chain}); {len(s.policies)} policies: "
               + ", ".join(f"{p.name} ({p.type})" for p in s.policies))
    click.echo(f"  dataset {loaded.dataset.folder}; model {built.lp.describe()}")
    for warning in built.warnings:
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
@friendly
def data(inputs: Path | None, check: bool, build: bool) -> None:
    """List the dataset tables with their rows, provenance and sources; check or rebuild them."""
    from engine.data import load_dataset
    from engine.databuild import SOURCES_FOLDER, write_inputs
    from engine.paths import inputs_dir
    from engine.tables import TABLES

    folder = inputs or inputs_dir()
    sources = folder / SOURCES_FOLDER
    if build:
        if not sources.is_dir():
            raise InputError(f"{sources}: no sources folder to build from (expected sources.csv, assumptions.csv "
                             f"and rows/)")
        written = write_inputs(sources, folder)
        click.echo(f"Built {len(written)} tables in {folder} from {sources}.")
    ds = load_dataset(folder)
    if check:
        _data_check(ds, sources)
        return
    click.echo(f"Dataset {ds.folder} (hash {ds.digest[:12]})")
    from engine.databuild import provenance_counts

    counts = provenance_counts(ds)
    for schema in TABLES:
        frame = ds.tables[schema.name]
        tally = counts[schema.name]
        figures = ", ".join(f"{n} {flag}" for flag, n in tally.items())
        click.echo(f"\n  {schema.filename}: {len(frame)} rows; figures: {figures}. {schema.description}")
    click.echo(f"\n  Sources: {sources / 'sources.csv'}; assumptions: {sources / 'assumptions.csv'}; "
               f"units and method: {ds.folder / 'README.md'}")


def _data_check(ds: Any, sources: Path, year: int = 2025, tolerance_pp: float = 3.0) -> None:
    """Print China's shares against the sources, provenance counts and build status; exit 1 on a failure."""
    from engine.databuild import CHECKS_FILE, SOURCES_FOLDER, provenance_counts, share_checks, stale_tables
    from engine.paths import inputs_dir

    failed = False
    click.echo(f"Dataset {ds.folder} (hash {ds.digest[:12]})")
    reference = sources if (sources / CHECKS_FILE).exists() else inputs_dir() / SOURCES_FOLDER
    if (reference / CHECKS_FILE).exists():
        shipped = "" if reference == sources else f" of the shipped dataset ({reference})"
        click.echo(f"\n  China's share of {year} supply (capacity active in {year}) against the sources{shipped}")
        click.echo(f"  {'mineral':<10} {'location':>9} {'ownership':>10}   {'sourced range':<15} {'basis':<9} "
                   f"{'gap':>7}")
        for c in share_checks(ds, reference, year):
            ok = c.gap_pp <= tolerance_pp
            failed |= not ok
            span = f"{100 * c.low:.1f}%" if c.low == c.high else f"{100 * c.low:.1f}-{100 * c.high:.1f}%"
            click.echo(f"  {c.mineral:<10} {100 * c.location:>8.1f}% {100 * c.ownership:>9.1f}%   {span:<15} "
                       f"{c.basis:<9} {c.gap_pp:>4.1f} pp{'' if ok else '  OUTSIDE +-3 pp'}")
        click.echo("  (gap: location share to the nearer end of the sourced range; ownership counts Chinese "
                   "equity wherever the plant is)")
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
    from engine.scenario import load_scenario

    if ds.tables["observed_trade"].empty:
        click.echo("\n  Backcast: no observed_trade.csv in this dataset")
        return
    try:
        loaded = load_scenario(None, inputs=ds.folder)
    except InputError as exc:
        click.echo(f"\n  Backcast: the baseline scenario does not load on this dataset ({str(exc).splitlines()[0]})")
        return
    rows, unobserved = least_cost_backcast(loaded)
    start = loaded.scenario.horizon.start
    click.echo(f"\n  Backcast: the baseline's least-cost plan in {start} (imports by location) against observed US "
               f"imports by origin")
    click.echo(f"  {'mineral':<10} {'distance':>9}   {'observed':<32} {'planned':<32} period, measure, form")
    for b in rows:
        o = b.observation
        click.echo(f"  {o.mineral:<10} {b.text:>9}   {top_shares(o.shares):<32} {top_shares(b.planned):<32} "
                   f"{o.period}, {o.measure}, {o.form}")
    if unobserved:
        click.echo(f"  {', '.join(unobserved)}: no verified observed shares in observed_trade.csv")
    click.echo("  (distance: half the L1 distance between the share vectors, 0 = identical, 100 = disjoint; '>=' where "
               "the source groups origins as 'other', so the distance is the least the unknown split allows)")


@main.command()
@MODEL
@click.option("--points", type=click.IntRange(min=2, max=500), default=11, show_default=True,
              help="Caps, evenly spaced from the least-cost plan's dependence to the least reachable.")
@click.option("--mineral", "minerals", multiple=True,
              help="Sweep one mineral's mean annual share (repeatable); 'each' for every mineral. "
                   "Default: all minerals together, the scenario's aggregate.")
@click.option("--caps", default=None, help="Explicit caps in percent, e.g. '50,20' (instead of --points).")
@SOLVER
@analysis_folder("frontier[-each|-MINERAL]")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@friendly
def frontier(model: str | None, points: int, minerals: tuple[str, ...], caps: str | None, solver: str,
             out: Path | None, force: bool, no_write: bool, as_json: bool) -> None:
    """The price of independence: cost against a tightening dependence cap, with its marginal cost."""
    from engine.analysis.frontier_run import parse_caps, render_frontier, run_frontier, write_frontier
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    # the aggregate frontier and a per-mineral one go to separate folders, so neither overwrites the other
    suffix = "frontier" if not minerals else "frontier-" + "-".join(dict.fromkeys(minerals))
    folder = target_folder(loaded, suffix, out, force, no_write)
    result = run_frontier(loaded, points=points, minerals=list(minerals), caps=parse_caps(caps), solver=solver)
    text = result.table.to_json(orient="records", indent=2) if as_json else render_frontier(result)
    finish_analysis(text, result.status, None if no_write else lambda: write_frontier(result, folder, force=force),
                    "frontier.csv, frontier.png, frontier.svg, summary.json", machine_output=as_json)


@main.command()
@MODEL
@click.option("--mineral", "minerals", multiple=True, help="Explain this mineral (repeatable) in every year.")
@click.option("--year", "years", type=int, multiple=True, help="Explain this year (repeatable).")
@SOLVER
@friendly
def explain(model: str | None, minerals: tuple[str, ...], years: tuple[int, ...], solver: str) -> None:
    """Why demand goes unmet: capacity policy by policy, and the smallest relaxations that restore it."""
    from engine.analysis.explain import explain as explain_scenario
    from engine.analysis.explain import render
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    known = set(loaded.scenario.minerals or loaded.dataset.minerals["mineral"])
    for m in minerals:
        if m not in known:
            from engine.errors import did_you_mean

            raise InputError(f"--mineral: '{m}' is not modelled in scenario '{loaded.name}'"
                             f"{did_you_mean(m, sorted(known))}; expected one of {', '.join(sorted(known))}")
    result = explain_scenario(loaded, solver=solver, minerals=list(minerals), years=list(years))
    click.echo(render(result))


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
@friendly
def compare(runs: tuple[str, ...], top: int, solver: str, as_json: bool, out: Path | None,
            report_dir: Path | None, force: bool) -> None:
    """Scenarios or results folders side by side: dependence, cost, premium, shortfall, JV mix and the largest
    changes in sourcing against the first.

    Each RUN is a results folder written by 'solve', or a scenario (a shipped name or a YAML file), which is
    solved here without writing anything."""
    from engine.compare import check_csv_target, comparison_json, render_comparison, write_comparison_csv
    from engine.compare import compare as compare_runs

    if out is not None:
        check_csv_target(out, force, runs)
    if report_dir is not None:
        from engine.output import check_writable

        check_writable(report_dir, force, [Path(r) for r in runs if Path(r).exists()])
    comparison = compare_runs(list(runs), top=top, solver=solver)
    if out is not None:
        write_comparison_csv(comparison, out, force=force)
    if report_dir is not None:
        from engine.report.comparison import write_comparison_report

        write_comparison_report(comparison, report_dir, force=force)
        click.echo(f"Comparison report written to {report_dir}/: report.md, report.html, comparison.xlsx",
                   err=as_json)
    if as_json:
        click.echo(json.dumps(comparison_json(comparison), indent=2, default=str))
    else:
        click.echo(render_comparison(comparison))
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
@friendly
def report(results_dir: Path, formats: str, out: Path | None, force: bool) -> None:
    """A results folder as a report with plots (Markdown, HTML) and exports (XLSX, Parquet)."""
    from engine.report.build import FILES, build_report, parse_formats

    chosen = parse_formats(formats)
    folder = build_report(results_dir, chosen, out=out, force=force)
    click.echo(f"Report written to {folder}/: " + ", ".join(FILES[f] for f in chosen))


@main.command()
@MODEL
@click.option("--named-only", is_flag=True, help="Only the scenario's named shocks, not the N-1 set.")
@SOLVER
@analysis_folder("stress")
@friendly
def stress(model: str | None, named_only: bool, solver: str, out: Path | None, force: bool,
           no_write: bool) -> None:
    """N-1 and named supply shocks against the base plan: what breaks, how badly, which deals hedge it."""
    from engine.analysis.stress import stress as stress_scenario
    from engine.analysis.stress_run import render_stress, write_stress
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    folder = target_folder(loaded, "stress", out, force, no_write)
    with click.progressbar(length=1, label="Stress-testing", file=sys.stderr, show_eta=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        result = stress_scenario(loaded, solver=solver, include_n_minus_one=not named_only, progress=progress)
    finish_analysis(render_stress(result), result.status,
                    None if no_write else lambda: write_stress(result, folder, force=force),
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
@friendly
def sweep(model: str | None, samples: int, seed: int, workers: int, scheduler: str | None, solver: str,
          out: Path | None, resume: bool, force: bool) -> None:
    """Monte Carlo over the scenario's uncertainty: percentiles of dependence, cost and shortfall."""
    from engine.analysis.sweep import check_folder, check_runner, run_sweep
    from engine.analysis.sweep_report import render_sweep
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    folder = out if out is not None else Path("results") / f"{loaded.name}-sweep"
    check_runner(solver, scheduler)  # before the progress bar and before anything is written
    check_folder(folder, loaded, samples, seed, resume, force)
    with click.progressbar(length=samples, label="Sampling", file=sys.stderr, show_eta=True,
                           show_pos=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.pos)

        run = run_sweep(loaded, folder, samples=samples, seed=seed, workers=workers, scheduler=scheduler,
                        solver=solver, resume=resume, force=force, progress=progress)
    if run.interrupted:
        click.echo(f"Interrupted: {len(run.rows)} of {samples} samples are saved in {folder}/; run the same "
                   f"command with --resume to finish.", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(render_sweep(run))
    click.echo(f"\n  Sweep written to {folder}/ (samples.csv, percentiles.csv, summary.json, samples.jsonl)")


@main.command()
@MODEL
@click.option("--scenarios", type=click.IntRange(min=1), default=None,
              help="Sampled disruptions to plan against [default: the scenario's robust.scenarios].")
@click.option("--evaluation", type=click.IntRange(min=1), default=None,
              help="Fresh scenarios to test the plans on [default: robust.evaluation].")
@click.option("--risk", type=click.Choice(["expected", "cvar"]), default=None,
              help="First objective: expected shortfall or its CVaR [default: robust.risk].")
@click.option("--alpha", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="CVaR level [default: robust.alpha].")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              help="Random seed [default: robust.seed].")
@SOLVER
@analysis_folder("robust")
@friendly
def robust(model: str | None, scenarios: int | None, evaluation: int | None, risk: str | None,
           alpha: float | None, seed: int | None, solver: str, out: Path | None, force: bool,
           no_write: bool) -> None:
    """Two-stage stochastic plan (JV builds and stockpile chosen once) and its value over the deterministic plan."""
    from engine.analysis.robust import robust as robust_plan
    from engine.analysis.robust_run import render_robust, write_robust
    from engine.scenario import load_scenario, with_overrides

    loaded = load_scenario(model)
    changes = {k: v for k, v in {"scenarios": scenarios, "evaluation": evaluation, "risk": risk, "alpha": alpha,
                                 "seed": seed}.items() if v is not None}
    if changes:
        loaded = with_overrides(loaded, robust=loaded.scenario.robust.model_copy(update=changes))
    folder = target_folder(loaded, "robust", out, force, no_write)
    result = robust_plan(loaded, solver=solver)
    finish_analysis(render_robust(result), result.status,
                    None if no_write else lambda: write_robust(result, folder, force=force),
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
@click.option("--json", "as_json", is_flag=True, help="Print the table per k as JSON.")
@SOLVER
@analysis_folder("worstcase")
@friendly
def worstcase(model: str | None, k: int | None, country: str | None, by: str | None, share: float | None,
              start_years: str | None, owner_threshold: float | None, minerals: tuple[str, ...],
              cut_jv_output: bool | None, method: str,
              as_json: bool, solver: str, out: Path | None, force: bool, no_write: bool) -> None:
    """The plan that minimises the worst case whatever k restrictions the dependence country picks."""
    from engine.analysis.worstcase import settings_with
    from engine.analysis.worstcase import worstcase as solve_worstcase
    from engine.analysis.worstcase_run import headline, render_worstcase, write_worstcase
    from engine.scenario import load_scenario, with_overrides

    loaded = load_scenario(model)
    settings = settings_with(loaded, k=k, country=country, share=share, owner_threshold=owner_threshold,
                             cut_jv_output=cut_jv_output, start_years=start_years,
                             minerals=list(minerals) if minerals else None,
                             by=None if by is None else [b.strip() for b in by.split(",")])
    loaded = with_overrides(loaded, worstcase=settings)
    folder = target_folder(loaded, "worstcase", out, force, no_write)

    def progress(line: str) -> None:
        click.echo(f"  {line}", err=True)

    result = solve_worstcase(loaded, solver=solver, method=method, progress=progress)
    text = (json.dumps(headline(result).to_dict(orient="records"), indent=2, default=str)
            if as_json and result.status == "optimal" else render_worstcase(result))
    finish_analysis(text, result.status, None if no_write else lambda: write_worstcase(result, folder, force=force),
                    "worstcase.csv, regret.csv, moves.csv, bounds.csv, builds.csv, k*/, worstcase.png, "
                    "summary.json", machine_output=as_json)


@main.command()
@MODEL
@click.option("--step", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Relative move where an assumption has no low/high range (exportable shares, delivered costs, "
                   "demand).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True, help="Assumptions printed.")
@SOLVER
@analysis_folder("sensitivity")
@friendly
def sensitivity(model: str | None, step: float, top: int, solver: str, out: Path | None, force: bool,
                no_write: bool) -> None:
    """One assumption at a time at its low and high value, re-solved: a tornado of dependence and cost."""
    from engine.analysis.sensitivity import sensitivity as run_sensitivity
    from engine.analysis.sensitivity_run import render_sensitivity, write_sensitivity
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    folder = target_folder(loaded, "sensitivity", out, force, no_write)
    with click.progressbar(length=1, label="Re-solving", file=sys.stderr, show_eta=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        result = run_sensitivity(loaded, solver=solver, step=step, progress=progress)
    finish_analysis(render_sensitivity(result, top), result.status,
                    None if no_write else lambda: write_sensitivity(result, folder, force=force),
                    "sensitivity.csv, sensitivity.png, sensitivity.svg, summary.json")


@main.command()
@MODEL
@click.option("--tolerance", type=FiniteFloatRange(0, 100), default=5.0, show_default=True,
              help="Backcast distance (points) to reach per mineral.")
@click.option("--rounds", type=click.IntRange(min=1, max=50), default=6, show_default=True,
              help="Most re-solves of the whole scenario.")
@SOLVER
@analysis_folder("calibrate")
@friendly
def calibrate(model: str | None, tolerance: float, rounds: int, solver: str, out: Path | None, force: bool,
              no_write: bool) -> None:
    """Exportable-share moves that make the least-cost plan reproduce observed imports; writes an overlay."""
    from engine.analysis.calibrate import calibrate as run_calibration
    from engine.analysis.calibrate_run import render_calibration, write_calibration
    from engine.scenario import load_scenario

    loaded = load_scenario(model)
    if loaded.dataset.tables["observed_trade"].empty:
        raise InputError(f"{loaded.dataset.folder / 'observed_trade.csv'}: no observed import shares to calibrate "
                         f"to (expected rows of mineral, period, origin, share, measure, form)")
    folder = target_folder(loaded, "calibrate", out, force, no_write)
    result = run_calibration(loaded, solver=solver, tolerance_pp=tolerance, rounds=rounds)
    finish_analysis(render_calibration(result), result.status,
                    None if no_write else lambda: write_calibration(result, folder, force=force),
                    "calibration.csv, backcast.csv, calibrated.yaml, summary.json")


if __name__ == "__main__":  # pragma: no cover
    main()
