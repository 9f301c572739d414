"""Filters must select something: years, minerals and countries given on the command line or in a scenario.

Every value that narrows a run (``--year``, ``--mineral``, ``--from``, ``--country``, ``--named-only``; a policy's
or shock's ``years``, ``minerals`` and countries; the keys of ``stockpile``, ``data``, ``objective.weights`` and
``uncertainty``; ``dependence.country``) either selects something that exists or says so, in one line:

- a command-line option that selects nothing is an ``InputError`` (exit 2) naming the option, the value and what
  was expected (``check_years``, ``modelled_minerals``, ``present_country``, ``check_named_shocks``);
- a scenario value that selects nothing leaves the rest of the run meaningful, so it is a warning naming its YAML
  path (``selection_warnings``), shown by every command that reads the scenario.

A country "has" a mineral when the dataset holds refining capacity of it located there, equity of that country
in such capacity, or a JV option of that mineral hosted there or with a partner from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.errors import InputError, did_you_mean
from engine.inputs.schema import Years

if TYPE_CHECKING:
    from engine.inputs.dataset import Dataset
    from engine.inputs.scenario import LoadedScenario

_PRESENCE: dict[str, dict[str, frozenset[str]]] = {}  # dataset digest -> country -> minerals it has


def presence(dataset: Dataset) -> dict[str, frozenset[str]]:
    """Country -> the minerals it refines, owns refining of, or may host or partner in a JV option of."""
    cached = _PRESENCE.get(dataset.digest)
    if cached is not None:
        return cached
    cap, own, jv = dataset.capacity, dataset.ownership, dataset.jv_options
    pairs = set(zip(cap["location"], cap["mineral"], strict=True))
    mineral_of = dict(zip(cap["source_id"], cap["mineral"], strict=True))
    pairs |= {(o, mineral_of[s]) for s, o in zip(own["source_id"], own["owner"], strict=True) if s in mineral_of}
    for column in ("host", "partner"):
        if column in jv:
            pairs |= {(c, m) for c, m in zip(jv[column], jv["mineral"], strict=True) if isinstance(c, str)}
    out: dict[str, set[str]] = {}
    for country, mineral in pairs:
        out.setdefault(str(country), set()).add(str(mineral))
    frozen = {c: frozenset(m) for c, m in out.items()}
    _PRESENCE[dataset.digest] = frozen
    return frozen


def modelled(loaded: LoadedScenario) -> list[str]:
    """The scenario's minerals (its ``minerals``, else every mineral of the dataset)."""
    return list(loaded.scenario.minerals or loaded.dataset.minerals["mineral"])


def horizon(loaded: LoadedScenario) -> str:
    h = loaded.scenario.horizon
    return f"{h.start}-{h.end}"


# ------------------------------------------------------------------------------ command-line values: errors
def check_years(label: str, spec: Years | int, loaded: LoadedScenario) -> list[int]:
    """The horizon years ``spec`` selects; an InputError naming ``label`` when it selects none."""
    years = Years(first=spec, last=spec) if isinstance(spec, int) else spec
    chosen = years.select(loaded.scenario.years)
    if not chosen:
        h = loaded.scenario.horizon
        what = "is outside" if years.listed is not None or years.first == years.last else "covers no year of"
        raise InputError(f"{label}: {years} {what} the horizon {h.start}-{h.end} of scenario '{loaded.name}'; "
                         f"expected a year from {h.start} to {h.end}")
    return chosen


def modelled_minerals(label: str, minerals: Iterable[str], loaded: LoadedScenario) -> list[str]:
    """Minerals given as codes or names ('lithium', 'Li') as the scenario's codes; an InputError names one that is
    not modelled."""
    from engine.inputs.scenario import mineral_code

    ds = loaded.dataset
    known = modelled(loaded)
    out = []
    for m in minerals:
        code = mineral_code(ds, m)
        if code not in known:
            names = {c: str(n).split("(")[0].strip().lower()
                     for c, n in zip(ds.minerals["mineral"], ds.minerals["name"], strict=True)}
            expected = ", ".join(f"{c} ({names[c]})" for c in sorted(known))
            raise InputError(f"{label}: '{m}' is not modelled in scenario '{loaded.name}'"
                             f"{did_you_mean(m, sorted(known) + [names[c] for c in known])}; expected one of "
                             f"{expected}")
        out.append(code)
    return out


def present_country(label: str, country: str, minerals: Iterable[str] | None, loaded: LoadedScenario) -> str:
    """``country`` if the dataset knows it and it has one of ``minerals`` (default: the modelled ones)."""
    ds = loaded.dataset
    countries = set(ds.countries["iso3"])
    if country not in countries:
        raise InputError(f"{label}: '{country}' is an unknown country{did_you_mean(country, countries)}; expected an "
                         f"ISO 3166 alpha-3 code of the dataset")
    wanted = list(minerals) if minerals else modelled(loaded)
    if not set(wanted) & presence(ds).get(country, frozenset()):
        having = sorted(c for c, m in presence(ds).items() if set(wanted) & m and c in countries)
        shown = ", ".join(having[:12]) + (f", … ({len(having)} in all)" if len(having) > 12 else "")
        raise InputError(f"{label}: '{country}' has no capacity of {_names(wanted)} in the dataset (refining, "
                         f"equity or JV options), so it selects nothing; expected one of {shown}")
    return country


def check_named_shocks(label: str, loaded: LoadedScenario) -> None:
    """An InputError when a run of the scenario's named shocks alone would run none."""
    if not loaded.scenario.shocks:
        raise InputError(f"{label}: scenario '{loaded.name}' has no named shocks (its 'shocks' list is empty); "
                         f"add shocks to the scenario, or leave out {label} for the N-1 shocks")


# ------------------------------------------------------------------------------ scenario values: warnings
def _names(minerals: Iterable[str]) -> str:
    return ", ".join(sorted(minerals))


_LAST: list[Any] = [None, []]  # the last scenario seen and its warnings: a sweep's samples share one


def selection_warnings(loaded: LoadedScenario) -> list[str]:
    """One line for every scenario value that selects nothing, naming its YAML path (see the module doc)."""
    if _LAST[0] is not loaded:  # a loaded scenario is immutable: the same object, the same warnings
        _LAST[:] = [loaded, _selection_warnings(loaded)]
    return list(_LAST[1])


def _selection_warnings(loaded: LoadedScenario) -> list[str]:
    s, where = loaded.scenario, loaded.locate
    minerals = modelled(loaded)
    has = presence(loaded.dataset)
    out: list[str] = []

    def scope(base: tuple, what: str, minerals_of: list[str] | None, years: Years, effect: str) -> list[str]:
        """Warnings for a policy's or shock's years and minerals; the modelled minerals it covers otherwise."""
        if not years.select(s.years):
            out.append(f"{where((*base, 'years'))}: {what} covers no year of the horizon {horizon(loaded)} "
                       f"({years}); {effect}")
            return []
        covered = [m for m in minerals if minerals_of is None or m in minerals_of]
        if not covered:
            out.append(f"{where((*base, 'minerals'))}: {what} covers none of the modelled minerals "
                       f"({_names(minerals)}); {effect}")
        return covered

    def countries(path: tuple, what: str, named: Any, covered: list[str], effect: str) -> None:
        listed = [named] if isinstance(named, str) else list(named or [])
        if covered and listed and not any(set(covered) & has.get(c, frozenset()) for c in listed):
            out.append(f"{where(path)}: {what}: {', '.join(listed)} "
                       f"{'has' if len(listed) == 1 else 'have'} no capacity of {_names(covered)} in the dataset "
                       f"(refining, equity or JV options); {effect}")

    for i, p in enumerate(s.policies):
        what = f"policy '{p.name}'"
        covered = scope(("policies", i), what, p.minerals, p.years, "it has no effect")
        for attr in ("exporter", "origin", "countries", "country"):
            if getattr(p, attr, None) is not None:
                countries(("policies", i, attr), what, getattr(p, attr), covered, "it has no effect")
    for i, shock in enumerate(s.shocks):
        what = f"shock '{shock.name}'"
        covered = scope(("shocks", i), what, shock.minerals, shock.years, "it never happens")
        countries(("shocks", i, "country"), what, shock.country, covered, "it never happens")
    countries(("dependence", "country"), "the dependence country", s.dependence.country, minerals,
              "no tonne is attributed to it: its share of supply is 0 and its exposure only the "
              "unmet share")
    keyed = [(("stockpile",), s.stockpile, "this stockpile is never used"),
             (("data", "demand_scale"), s.data.demand_scale, "it has no effect"),
             (("objective", "weights"), s.objective.weights, "it has no effect"),
             (("uncertainty", "demand"), s.uncertainty.demand, "it has no effect"),
             (("uncertainty", "cost"), s.uncertainty.cost, "it has no effect")]
    for path, mapping, effect in keyed:
        for key in mapping:
            if key != "all" and key not in minerals:
                out.append(f"{where((*path, key))}: '{key}' is not a modelled mineral ({_names(minerals)}); "
                           f"{effect}")
    cap = loaded.dataset.capacity
    mineral_of = dict(zip(cap["source_id"], cap["mineral"], strict=True)) if s.data.exportable_share or \
        s.uncertainty.capacity else {}
    for path, mapping in ((("data", "exportable_share"), s.data.exportable_share),
                          (("uncertainty", "capacity"), s.uncertainty.capacity)):
        for key in mapping:
            if key in mineral_of and mineral_of[key] not in minerals:
                out.append(f"{where((*path, key))}: source '{key}' refines {mineral_of[key]}, which is not "
                           f"modelled ({_names(minerals)}); it has no effect")
            elif key not in mineral_of and key != "all" and not set(cap.loc[cap["location"] == key, "mineral"]) & \
                    set(minerals):  # by location country: only capacity located there counts
                out.append(f"{where((*path, key))}: no capacity of {_names(minerals)} is located in {key} in the "
                           f"dataset; it has no effect")
    return out
