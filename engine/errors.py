"""Exceptions a user can act on.

Every error that reaches the command line says where (file, line or YAML path), what was found and what was
expected. The CLI maps :class:`InputError` to exit code 2 and prints it without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CritminError(Exception):
    """Base class for errors reported to the user without a traceback."""

    exit_code = 1


class InputError(CritminError):
    """Bad input: a scenario file, a data table or a command-line value. Exit code 2."""

    exit_code = 2


class SolverError(CritminError):
    """The solver failed (not infeasibility, which is a normal result). Exit code 1."""

    exit_code = 1


def closest(value: object, candidates: Iterable[object]) -> str | None:
    """The candidate spelled most like ``value``, or None when nothing is close."""
    names = [str(c) for c in candidates]
    match = difflib.get_close_matches(str(value), names, n=1, cutoff=0.5)
    if not match:
        lowered = {n.lower(): n for n in names}
        match = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.5)
        return lowered[match[0]] if match else None
    return match[0]


def did_you_mean(value: object, candidates: Iterable[object]) -> str:
    """A ' (did you mean X?)' suffix, or an empty string."""
    best = closest(value, candidates)
    return f" (did you mean '{best}'?)" if best is not None else ""
