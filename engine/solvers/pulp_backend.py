"""The portable backend: the same LP as a ``pulp.LpProblem``, solved by any PuLP solver (CBC by default).

Rows are built one ``LpAffineExpression`` each from the sparse matrix (never ``sum()``), so conversion stays
linear in the number of non-zeros. Use it to reach CBC, GLPK, CPLEX, Gurobi … and to write readable .lp/.mps
files. Status is taken from the solution status, so a time-limited run is never reported as optimal.
"""

from __future__ import annotations

import functools
import inspect
import re
import shutil
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pulp

from engine.errors import InputError, SolverError, did_you_mean
from engine.model.lp import LinearProgram
from engine.solvers.base import Ranging, Solution, SolverOptions, Status
from engine.solvers.check import SolvedModel, accept, accept_duals, rejected
from engine.solvers.highs import stdout_silenced

ALIASES = {"cbc": "COIN_CMD", "highs": "HiGHS", "highs_cmd": "HiGHS_CMD", "glpk": "GLPK_CMD",
           "cplex": "CPLEX_CMD", "gurobi": "GUROBI_CMD", "scip": "SCIP_CMD", "xpress": "XPRESS"}


def cbc_path() -> str | None:
    """The CBC executable installed with ``pulp[cbc]`` (cbcbox) beside this Python, else one on PATH."""
    return shutil.which("cbc", path=sysconfig.get_path("scripts")) or shutil.which("cbc")


def installed_aliases() -> list[str]:
    """The aliases whose solver PuLP finds on this machine."""
    available = set(pulp.listSolvers(onlyAvailable=True))
    if cbc_path() is not None:
        available.add("COIN_CMD")
    return ["highs", "pulp", *[alias for alias, key in ALIASES.items() if key in available and alias != "highs"]]


def pulp_solver(name: str | None, options: SolverOptions, extra: list[str] | None = None) -> pulp.LpSolver:
    """A PuLP solver by name (``cbc``, ``glpk``, ``COIN_CMD`` …), checked to be available. Only the options the
    solver's class takes are passed (GLPK takes no ``gapRel``: its gap goes on its command line); ``extra`` adds
    command-line options (CBC: ``preprocess off``)."""
    key = ALIASES.get((name or "cbc").lower(), name or "COIN_CMD")
    known = pulp.listSolvers()
    if key not in known:
        raise InputError(f"unknown PuLP solver '{name}'{did_you_mean(name, [*ALIASES, *known])}; "
                         f"PuLP knows: {', '.join(known)}")
    wanted: dict = {"msg": bool(options.log), "gapRel": options.mip_rel_gap,
                    "timeLimit": None if options.time_limit is None else float(options.time_limit),
                    "options": list(extra or [])}
    if key == "GLPK_CMD":
        wanted["options"] += ["--mipgap", f"{options.mip_rel_gap:g}"]
    if key == "COIN_CMD" and (path := cbc_path()) is not None:
        wanted["path"] = path
    probe = pulp.getSolver(key, msg=False, **({"path": wanted["path"]} if "path" in wanted else {}))
    if not probe.available():
        raise InputError(f"solver '{name}' (PuLP's {key}) is not installed here; installed: "
                         f"{', '.join(installed_aliases())}")
    parameters = inspect.signature(type(probe).__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    kwargs = {k: v for k, v in wanted.items()
              if v is not None and (k in parameters or (takes_any and k != "options"))}
    return pulp.getSolver(key, **kwargs)


CBC_NAMES = ("COIN_CMD", "PULP_CBC_CMD")
CBC_LP_OPTIONS = ("boundPropLevel off", "singletonBounds off")
"""CBC options for an LP: no bound propagation before the LP solve. CBC 2.9xx (cbcbox, "CBC devel") tightens column
bounds from the rows (singleton rows, then knapsack-style propagation) before it solves even an LP
(``-initialSolve``, whatever ``-presolve`` says), and reports the duals of the tightened LP without mapping them
back: a row that implied a bound gets a dual of 0 and its price moves to the reduced cost of a column strictly inside
its own bounds (a 25% cap's USD 100/t became China's flow's reduced cost), or every row dual is 0 and every reduced
cost its cost (all columns held by tightened bounds). The tightened bounds are implied by the rows, so the point is
the same; only the duals are wrong. Passed only where the CBC binary knows them (``cbc_lp_options``)."""


@functools.cache
def cbc_lp_options(path: str | None) -> tuple[str, ...]:
    """Those of ``CBC_LP_OPTIONS`` the CBC at ``path`` knows (``cbc -NAME??`` answers "Match for"; an older CBC, which
    propagates no bounds before an LP, knows none)."""
    if path is None:
        return ()
    known = []
    for option in CBC_LP_OPTIONS:
        name = option.split()[0]
        try:
            out = subprocess.run([path, f"-{name}??"], capture_output=True, text=True, timeout=30,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        if f"Match for `{name}'" in out.stdout + out.stderr:
            known.append(option)
    return tuple(known)


_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
FREE = 1e30  # what PuLP solvers read as an infinite right-hand side


@dataclass
class _Row:
    """One LP row as PuLP constraints: an equality, or a lower and/or an upper side."""

    expr: pulp.LpAffineExpression
    name: str
    parts: dict[str, pulp.LpConstraint | None] = field(default_factory=dict)


def _unique_names(names: list[str], prefix: str) -> list[str]:
    cleaned = [_UNSAFE.sub("_", n) for n in names]
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(cleaned):
        n = n or f"{prefix}{i}"
        if n in seen:
            n = f"{n}__{i}"
        seen[n] = i
        out.append(n)
    return out


class PulpBackend:
    """Converts the LP to PuLP objects and solves it with a PuLP solver."""

    def __init__(self, solver: str | None = None, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()
        self.solver_name = solver
        self.solver = pulp_solver(solver, self.options)
        self.solved: SolvedModel | None = None
        self.name = f"pulp:{self.solver.name}"
        self.prob: pulp.LpProblem | None = None
        self.vars: list[pulp.LpVariable] = []
        self.rows: list[_Row] = []
        self.is_mip = False

    @property
    def version(self) -> str:
        return f"PuLP {pulp.__version__} / {self.solver.name}"

    def load(self, lp: LinearProgram, objective: np.ndarray | None = None) -> None:
        """Build the PuLP problem (``objective``, when given, set as ``set_objective`` would)."""
        prob = pulp.LpProblem("critmin", pulp.LpMinimize)
        self.solved = SolvedModel(lp)
        integer = np.zeros(lp.n_cols, dtype=bool)
        integer[lp.integer_cols] = True
        self.is_mip = bool(integer.any())
        lower, upper = lp.col_lower, lp.col_upper
        names = _unique_names(lp.col_names(), "x")
        self.vars = [
            prob.add_variable(names[j], None if np.isinf(lower[j]) else float(lower[j]),
                              None if np.isinf(upper[j]) else float(upper[j]),
                              cat=pulp.LpInteger if integer[j] else pulp.LpContinuous)
            for j in range(lp.n_cols)
        ]
        csr = lp.matrix().to_scipy().tocsr()
        row_names = _unique_names(lp.row_names(), "r")
        self.prob = prob
        self.rows = []
        for i in range(lp.n_rows):
            start, end = csr.indptr[i], csr.indptr[i + 1]
            self.rows.append(self._add(csr.indices[start:end], csr.data[start:end], lp.row_lower[i],
                                       lp.row_upper[i], row_names[i]))
        if objective is not None:
            self.set_objective(objective)

    def _expression(self, cols: np.ndarray, vals: np.ndarray) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression([(self.vars[int(c)], float(v)) for c, v in zip(cols, vals, strict=True)])

    def _add(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float, name: str) -> _Row:
        row = _Row(self._expression(cols, vals), name)
        self._apply(row, float(lower), float(upper))
        return row

    def _apply(self, row: _Row, lower: float, upper: float) -> None:
        """Make the row's PuLP constraints express ``lower <= expr <= upper`` (creating them when needed)."""
        assert self.prob is not None
        if np.isfinite(lower) and lower == upper:
            wanted = {"eq": lower, "lo": None, "up": None}
        else:
            wanted = {"eq": None, "lo": lower if np.isfinite(lower) else None,
                      "up": upper if np.isfinite(upper) else None}
        for side, sense in (("eq", pulp.LpConstraintEQ), ("lo", pulp.LpConstraintGE), ("up", pulp.LpConstraintLE)):
            bound = wanted[side]
            existing = row.parts.get(side)
            if bound is None:
                if existing is not None:  # keep the constraint object, make it non-binding
                    if sense == pulp.LpConstraintEQ:
                        raise SolverError(f"row {row.name}: the PuLP backend cannot turn an equality into a range")
                    existing.constant = -FREE if sense == pulp.LpConstraintLE else FREE
                continue
            if existing is None:
                suffix = "" if side == "eq" or wanted["lo" if side == "up" else "up"] is None else f"_{side}"
                existing = pulp.LpConstraint(row.expr.copy(), sense, f"{row.name}{suffix}", bound)
                self.prob.addConstraint(existing)
                row.parts[side] = existing
            existing.constant = -float(bound)

    def set_time_limit(self, seconds: float | None) -> None:
        self.solver.timeLimit = float(seconds) if seconds is not None else None

    def set_objective(self, cost: np.ndarray) -> None:
        assert self.prob is not None
        self.solved.set_objective(cost)
        nz = np.flatnonzero(cost)
        self.prob.setObjective(self._expression(nz, np.asarray(cost)[nz]))

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float, name: str) -> int:
        self.rows.append(self._add(cols, vals, lower, upper, _UNSAFE.sub("_", name)))
        self.solved.add_row(cols, vals, lower, upper, name)
        return len(self.rows) - 1

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.solved.set_row_bounds(rows, lower, upper)
        for i, lo, up in zip(rows, lower, upper, strict=True):
            self._apply(self.rows[int(i)], float(lo), float(up))

    def set_row_coefficients(self, row: int, cols: np.ndarray, vals: np.ndarray) -> None:
        """Set ``A[row, cols] = vals`` in every PuLP constraint of the row (zeros remove entries)."""
        self.solved.set_row_coefficients(row, cols, vals)
        entry = self.rows[int(row)]
        constraints = [c for c in entry.parts.values() if c is not None]
        # PuLP 3 keeps a constraint's terms in its own expression (``expr``); earlier versions are the expression
        for target in [entry.expr, *[getattr(c, "expr", c) for c in constraints]]:
            for col, val in zip(np.asarray(cols, dtype=int), np.asarray(vals, dtype=float), strict=True):
                var = self.vars[int(col)]
                if val == 0.0:
                    target.pop(var, None)
                else:
                    target[var] = float(val)

    def prefer_primal(self, primal: bool) -> None:
        """PuLP solvers choose their own algorithm."""

    def reset_basis(self) -> None:
        """PuLP solves from scratch every time."""

    def set_integrality(self, cols: np.ndarray, integer: bool) -> None:
        """Make ``cols`` integer or continuous."""
        self.solved.set_integrality(cols, integer)
        for j in cols:
            self.vars[int(j)].cat = pulp.LpInteger if integer else pulp.LpContinuous
        self.is_mip = any(v.cat == pulp.LpInteger for v in self.vars)

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.solved.set_col_bounds(cols, lower, upper)
        for j, lo, up in zip(cols, lower, upper, strict=True):
            v = self.vars[int(j)]
            v.lowBound = None if np.isinf(lo) else float(lo)
            v.upBound = None if np.isinf(up) else float(up)

    def solve(self, duals: bool = True) -> Solution:
        """Solve and check the point (``check.py``). When CBC's MIP returns a point that breaks the model (its
        preprocessing has), solve again without preprocessing; a point that still breaks it is a solver error.
        Duals that are not optimal duals of the point are dropped, with the reason in ``extra['duals_refused']``
        (``check.accept_duals``)."""
        solution = self._solve(self.solver, duals)
        violation = accept(solution, self.solved)
        if violation is None:
            accept_duals(solution, self.solved, self.solver.name)
            return solution
        note = f"{self.solver.name} returned a point that breaks {violation}"
        if not (self.is_mip and self.solver.name in ("COIN_CMD", "PULP_CBC_CMD")):
            return rejected(solution, violation, self.solver.name)
        plain = pulp_solver(self.solver_name, self.options, ["preprocess off"])
        plain.timeLimit = self.solver.timeLimit
        again = self._solve(plain, duals)
        again.rejected = [f"{note}; solved again without preprocessing"]
        again.seconds += solution.seconds
        violation = accept(again, self.solved)
        if violation is not None:
            return rejected(again, violation, self.solver.name)
        accept_duals(again, self.solved, self.solver.name)
        return again

    def _solve(self, solver: pulp.LpSolver, duals: bool) -> Solution:
        assert self.prob is not None
        start = time.perf_counter()
        options = list(getattr(solver, "options", []))
        if solver.name in CBC_NAMES and not self.is_mip:  # the duals of the LP as given (``CBC_LP_OPTIONS``)
            solver.options = options + [o for o in cbc_lp_options(getattr(solver, "path", None)) if o not in options]
        try:
            with stdout_silenced(not self.options.log):  # PuLP's HiGHS wrapper prints a banner from C++
                self.prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return Solution(status=Status.ERROR, seconds=time.perf_counter() - start, message=str(exc))
        except KeyboardInterrupt:
            return Solution(status=Status.INTERRUPTED, seconds=time.perf_counter() - start, message="interrupted")
        finally:
            if solver.name in CBC_NAMES:
                solver.options = options
        seconds = time.perf_counter() - start
        status = self._status()
        solution = Solution(status=status, seconds=seconds, message=pulp.LpStatus[self.prob.status],
                            is_mip=self.is_mip)
        if status is Status.OPTIMAL:
            solution.objective = float(pulp.value(self.prob.objective) or 0.0)
            solution.x = np.array([v.varValue if v.varValue is not None else 0.0 for v in self.vars])
            if duals and not self.is_mip:
                solution.row_dual = np.array([self._row_dual(cs) for cs in self.rows])
                solution.col_dual = np.array([v.dj if v.dj is not None else 0.0 for v in self.vars])
        return solution

    @staticmethod
    def _row_dual(row: _Row) -> float:
        return float(sum(c.pi for c in row.parts.values() if c is not None and c.pi is not None))

    def _status(self) -> Status:
        assert self.prob is not None
        highs_model = getattr(self.prob, "solverModel", None)
        if highs_model is not None and hasattr(highs_model, "getModelStatus"):
            from engine.solvers.highs import STATUS

            return STATUS.get(highs_model.getModelStatus(), Status.ERROR)
        sol = self.prob.sol_status
        if sol == pulp.LpSolutionOptimal:
            return Status.OPTIMAL
        if sol == pulp.LpSolutionInfeasible or self.prob.status == pulp.LpStatusInfeasible:
            return Status.INFEASIBLE
        if sol == pulp.LpSolutionUnbounded or self.prob.status == pulp.LpStatusUnbounded:
            return Status.UNBOUNDED
        if sol == pulp.LpSolutionIntegerFeasible or self.prob.status == pulp.LpStatusNotSolved:
            return Status.TIME_LIMIT if self.options.time_limit is not None else Status.ERROR
        return Status.ERROR

    def ranging(self) -> Ranging | str:
        """PuLP reads no ranging back from its solvers: always why not."""
        return f"not available with {(self.solver_name or 'cbc').lower()}"

    def write(self, path: Path) -> None:
        assert self.prob is not None
        path = Path(path)
        if path.suffix.lower() == ".mps":
            self.prob.writeMPS(str(path))
        elif path.suffix.lower() == ".lp":
            self.prob.writeLP(str(path))
        else:
            raise InputError(f"{path}: expected a file ending in .lp or .mps")
