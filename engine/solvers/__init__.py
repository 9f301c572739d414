"""Solver backends: ``highs`` (highspy, in-process, default) and ``pulp`` (any PuLP solver)."""

from __future__ import annotations

from engine.errors import InputError, did_you_mean
from engine.solvers.base import Backend, Solution, SolverOptions, Status

BACKENDS = ("highs", "pulp", "cbc", "glpk", "pulp:<SOLVER>")


def make_backend(name: str | None = None, options: SolverOptions | None = None) -> Backend:
    """``highs`` (default), ``pulp`` (CBC), ``pulp:NAME`` or a PuLP solver alias (``cbc``, ``glpk``)."""
    choice = (name or "highs").strip()
    lowered = choice.lower()
    if lowered == "highs":
        from engine.solvers.highs import HighsBackend

        return HighsBackend(options)
    from engine.solvers.pulp_backend import ALIASES, PulpBackend

    if lowered == "pulp":
        return PulpBackend("cbc", options)
    if lowered.startswith("pulp:"):
        return PulpBackend(choice.split(":", 1)[1], options)
    if lowered in ALIASES and lowered != "highs":
        return PulpBackend(lowered, options)
    raise InputError(f"unknown solver '{choice}'{did_you_mean(choice, ['highs', 'pulp', *ALIASES])}; expected "
                     f"highs, pulp, pulp:<PuLP solver name> or one of {', '.join(ALIASES)}")


__all__ = ["BACKENDS", "Backend", "Solution", "SolverOptions", "Status", "make_backend"]
