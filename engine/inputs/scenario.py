"""Reading scenario files: YAML, ``extends:`` inheritance, validation, and consistency with the dataset.

``load_scenario(path_or_name)`` returns a :class:`LoadedScenario`: the validated
:class:`~engine.inputs.schema.Scenario`, the dataset it runs on, and the chain of files it came from. Every problem
is an ``InputError`` naming the file, the line and the YAML path, the bad value, and the closest valid name.

Inheritance: the child's mappings are merged key by key over the parent's; lists replace the parent's, except
``policies``, where a child policy with the same ``name`` replaces the parent's and new ones are appended;
``remove_policies: [name, …]`` drops inherited policies. ``name`` and ``description`` are never inherited.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine.errors import InputError, closest, did_you_mean
from engine.inputs.dataset import Dataset, load_dataset
from engine.inputs.schema import COUNTRY_FIELDS, NUMBER_RANGES, POLICY_TYPES, Scenario
from engine.inputs.yamlio import KeyPath, format_path, load_yaml
from engine.paths import inputs_dir, models_dir, shipped_scenarios

Origin = tuple[str, int, KeyPath]  # (file, line, the key path inside that file)
INLINE = "(scenario)"  # the "file" of keys given as a Python mapping or an override
Place = Callable[[KeyPath], str]  # where a key of the scenario being read is: "file, line N, key.path"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its dataset and provenance."""

    scenario: Scenario
    dataset: Dataset
    path: Path | None
    chain: tuple[Path, ...] = ()
    origins: dict[KeyPath, Origin] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    def where(self, path: KeyPath) -> str:
        """'file, line N' for a YAML path of the merged scenario (best effort)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.origins:
                file, line, _ = self.origins[path[:end]]
                if file == INLINE:
                    return INLINE
                return f"{file}, line {line}"
        return str(self.path) if self.path else "(scenario)"

    def locate(self, path: KeyPath) -> str:
        """'file, line N, key.path' for a YAML path of the merged scenario, the key path as written in that file
        (a child's ``policies[0]`` is the merged ``policies[2]`` when it inherits two)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.origins:
                file, line, local = self.origins[path[:end]]
                if file == INLINE:
                    return f"{INLINE}, {format_path(path)}"
                return f"{file}, line {line}, {format_path((*local, *path[end:]))}"
        return f"{self.path if self.path else '(scenario)'}, {format_path(path)}"

    @property
    def parents(self) -> tuple[Path, ...]:
        """The scenario files this one extends, root first (``chain`` without the scenario's own file)."""
        return self.chain[:-1] if self.path is not None and self.chain and self.chain[-1] == self.path else self.chain

    @property
    def input_paths(self) -> tuple[Path, ...]:
        """Every file and folder this run reads: the scenario files of the ``extends`` chain and the dataset
        folder (an output must never be one of them, nor contain one)."""
        return (*self.chain, *((self.path,) if self.path is not None else ()), self.dataset.folder)

    @property
    def digest(self) -> str:
        """A hash of the validated scenario and the dataset bytes: equal digests, equal inputs."""
        dumped = self.scenario.model_dump(mode="json")
        dumped["data"].pop("inputs", None)  # where the dataset lives is not an input; its bytes are
        body = json.dumps(dumped, sort_keys=True, default=str)
        return hashlib.sha256((body + self.dataset.digest).encode()).hexdigest()


# ------------------------------------------------------------------------------------------- locating
def resolve_scenario_path(spec: str | Path, relative_to: Path | None = None) -> Path:
    """A scenario file from a path, or a shipped scenario name such as ``baseline``."""
    text = str(spec)
    candidates: list[Path] = []
    as_path = Path(text)
    if relative_to is not None and not as_path.is_absolute():
        candidates.append(relative_to / as_path)
        if as_path.suffix == "":
            candidates.append(relative_to / f"{text}.yaml")
    candidates.append(as_path)
    if as_path.suffix == "" and "/" not in text:
        candidates.append(models_dir() / f"{text}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    known = list(shipped_scenarios())
    if as_path.is_dir():
        what = ("a results folder (read it with 'critmin report' or 'critmin compare')"
                if (as_path / "summary.json").is_file() else "a folder")
        raise InputError(f"{text}: is {what}, not a scenario; give a path to a scenario .yaml file or one of the "
                         f"shipped scenarios: {', '.join(known)}")
    raise InputError(
        f"{text}: scenario file not found{did_you_mean(as_path.stem, known)}; "
        f"give a path to a .yaml file or one of the shipped scenarios: {', '.join(known)}"
    )


# ------------------------------------------------------------------------------------------- merging
def _origins_of(lines: dict[KeyPath, int], file: Path) -> dict[KeyPath, Origin]:
    return {path: (str(file), line, path) for path, line in lines.items()}


def _shift(origins: dict[KeyPath, Origin], prefix: KeyPath, new_prefix: KeyPath) -> dict[KeyPath, Origin]:
    n = len(prefix)
    return {(*new_prefix, *p[n:]): o for p, o in origins.items() if p[:n] == prefix}


def _merge_policies(parent: list[Any], child: list[Any], removed: list[str], p_orig: dict,
                    c_orig: dict, place: Place) -> tuple[list[Any], dict[KeyPath, Origin]]:
    def name_of(policy: Any, i: int) -> str:
        if isinstance(policy, dict) and policy.get("name"):
            return str(policy["name"])
        kind = policy.get("type", "policy") if isinstance(policy, dict) else "policy"
        return f"{kind}_{i + 1}"

    merged: list[tuple[str, Any, dict]] = [
        (name_of(p, i), p, _shift(p_orig, ("policies", i), ())) for i, p in enumerate(parent)
    ]
    names = [n for n, _, _ in merged]
    for j, name in enumerate(removed):
        if name not in names:
            raise InputError(f"{place(('remove_policies', j))}: no inherited policy named "
                             f"'{name}'{did_you_mean(name, names)}; inherited: {', '.join(names) or 'none'}")
    merged = [m for m in merged if m[0] not in set(removed)]
    offset = len(parent)
    seen: dict[str, int] = {}
    for j, policy in enumerate(child):
        name = name_of(policy, offset + j)
        if name in seen:
            raise InputError(f"{place(('policies', j))}: a second policy named '{name}' (the first "
                             f"is policies[{seen[name]}]); names must be unique, and a policy with an inherited "
                             f"name replaces the inherited one")
        seen[name] = j
        entry = (name, policy, _shift(c_orig, ("policies", j), ()))
        at = next((k for k, m in enumerate(merged) if m[0] == name), None)
        if at is None:
            merged.append(entry)
        else:
            merged[at] = entry
    origins: dict[KeyPath, Origin] = {}
    for i, (_, _, orig) in enumerate(merged):
        origins.update({("policies", i, *p): o for p, o in orig.items()})
    return [m[1] for m in merged], origins


def _deep_merge(parent: dict, child: dict) -> dict:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_chain(path: Path, stack: tuple[Path, ...] = ()) -> tuple[dict, dict[KeyPath, Origin], tuple[Path, ...]]:
    resolved = path.resolve()
    if resolved in stack:
        cycle = " -> ".join(str(p) for p in (*stack, resolved))
        raise InputError(f"{path}: 'extends' forms a cycle: {cycle}")
    data, lines = load_yaml(path)
    if data is None or data == {}:
        raise InputError(f"{path}: the scenario is empty ({'{}' if data == {} else 'no keys'}); write at least "
                         f"'extends: baseline' and the keys you change, or a full scenario (buyer, horizon, "
                         f"objective, policies, …)")
    if not isinstance(data, dict):
        raise InputError(f"{path}, line 1: a scenario must be a mapping of keys (name, horizon, policies, …), "
                         f"got a {type(data).__name__}")
    data.setdefault("name", path.stem)

    def place(key: KeyPath) -> str:
        return f"{path}, line {lines.get(key, 0)}, {format_path(key)}"

    merged, origins, chain = _inherit(data, _origins_of(lines, path), place, path.parent, (*stack, resolved))
    return merged, origins, (*chain, path)


def _inherit(data: dict, origins: dict[KeyPath, Origin], place: Place, relative_to: Path | None,
             stack: tuple[Path, ...]) -> tuple[dict, dict[KeyPath, Origin], tuple[Path, ...]]:
    """Merge ``data`` over the scenario its ``extends`` names (read relative to ``relative_to``, else the working
    folder, then the shipped scenarios); returns the merged mapping, its origins and the parents' files."""
    parent_spec = data.get("extends")
    if parent_spec is None:
        return data, origins, ()
    if not isinstance(parent_spec, str):
        raise InputError(f"{place(('extends',))}: expected a scenario name or path, got {parent_spec!r}")
    try:
        parent_path = resolve_scenario_path(parent_spec, relative_to=relative_to)
    except InputError as exc:
        raise InputError(f"{place(('extends',))}: {exc}") from None
    if parent_path.resolve() in stack:
        cycle = " -> ".join(p.name for p in (*stack, parent_path.resolve()))
        raise InputError(f"{place(('extends',))}: '{parent_spec}' forms a cycle ({cycle}); a scenario cannot "
                         f"extend itself, directly or through others")
    parent, p_origins, chain = _read_chain(parent_path, stack)
    parent = {k: v for k, v in parent.items() if k not in ("name", "description", "extends", "remove_policies")}
    p_origins = {p: o for p, o in p_origins.items() if p[:1] not in (("name",), ("description",), ("extends",))}
    data = dict(data)
    child_policies = data.pop("policies", []) or []
    removed = data.pop("remove_policies", []) or []
    if not isinstance(child_policies, list) or not isinstance(removed, list):
        key = "policies" if not isinstance(child_policies, list) else "remove_policies"
        raise InputError(f"{place((key,))}: expected a list")
    policies, pol_origins = _merge_policies(parent.pop("policies", []) or [], child_policies, removed,
                                            p_origins, origins, place)
    merged = _deep_merge(parent, data)
    merged["policies"] = policies
    merged_origins = {p: o for p, o in p_origins.items() if p[:1] != ("policies",)}
    merged_origins.update({p: o for p, o in origins.items() if p[:1] != ("policies",)})
    merged_origins.update(pol_origins)
    return merged, merged_origins, chain


# ------------------------------------------------------------------------------------------- validation
def _strip_tags(loc: tuple[Any, ...]) -> KeyPath:
    out: list[Any] = []
    for i, part in enumerate(loc):
        if (isinstance(part, str) and part in POLICY_TYPES and i >= 2 and loc[i - 2] == "policies"
                and isinstance(loc[i - 1], int)):
            continue
        if isinstance(part, str) and part.startswith(("function-", "list[", "dict[", "constrained-")):
            continue
        out.append(part)
    return tuple(out)


def _model_at(path: KeyPath, data: dict) -> type[BaseModel] | None:
    """The schema model of the mapping at ``path`` (through policies, and through ``dict[str, Model]`` and
    ``list[Model]`` fields such as stockpile, shocks and the uncertainty distributions)."""
    model: type[BaseModel] = Scenario
    node: Any = data
    parts = list(path)
    while parts:
        part = parts.pop(0)
        if model is Scenario and part == "policies" and parts:
            index = parts.pop(0)
            try:
                kind = node["policies"][index]["type"]
            except (KeyError, IndexError, TypeError):
                return None
            model = POLICY_TYPES.get(kind)  # type: ignore[assignment]
            node = node["policies"][index]
            if model is None:
                return None
            continue
        info = model.model_fields.get(str(part))
        annotation = getattr(info, "annotation", None)
        node = node.get(part, {}) if isinstance(node, dict) else {}
        if get_origin(annotation) in (dict, list) and parts:
            annotation = get_args(annotation)[-1]
            key = parts.pop(0)
            node = node[key] if isinstance(node, dict | list) and _has(node, key) else {}
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _has(node: dict | list, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)


def _suggested_keys(exc: ValidationError, data: dict) -> set[tuple[KeyPath, str]]:
    """(parent path, key) pairs that an unknown key's 'did you mean' points to."""
    out = set()
    for err in exc.errors():
        if err["type"] == "extra_forbidden":
            path = _strip_tags(err["loc"])
            model = _model_at(path[:-1], data)
            best = closest(path[-1], model.model_fields if model else [])
            if best is not None:
                out.add((path[:-1], best))
    return out


_NUMBER_ERRORS = {"finite_number", "greater_than_equal", "greater_than", "less_than_equal", "less_than"}


def _range_of(path: KeyPath) -> tuple[float, float, str] | None:
    """The stated range of the number at ``path``: its field's, or that of the mapping holding it."""
    for part in reversed(path):
        if isinstance(part, str) and part in NUMBER_RANGES:
            return NUMBER_RANGES[part]
    return None


def _number(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e7:
        return f"{int(x):d}" if abs(x) < 1e4 else f"{int(x):,d}"
    if abs(x) >= 1e7:
        return f"{x:.0e}".replace("e+0", "e").replace("e+", "e")
    return f"{x:g}"


def _range_text(spec: tuple[float, float, str]) -> str:
    lo, hi, unit = spec
    return f"a finite number from {_number(lo)} to {_number(hi)} {unit}".rstrip()


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _validation_message(exc: ValidationError, data: dict, where: LoadedScenario | Any) -> str:
    lines = []
    suggested = _suggested_keys(exc, data)
    paths = [_strip_tags(err["loc"]) for err in exc.errors()]
    for err in exc.errors():
        path = _strip_tags(err["loc"])
        if isinstance(err.get("input"), dict | list) and err["type"].endswith(("_type", "_parsing")) and any(
                len(other) > len(path) and other[:len(path)] == path for other in paths):
            continue  # a union's other branch (share: a number or a mapping) explains the problem inside
        place = where.locate(path)
        kind = err["type"]
        if kind == "missing" and (path[:-1], path[-1]) in suggested:
            continue  # an unknown key nearby already says "did you mean '<this key>'?"
        if kind == "extra_forbidden":
            model = _model_at(path[:-1], data)
            valid = sorted(model.model_fields) if model else []
            if model is Scenario:
                valid = [v for v in valid if v != "remove_policies"] + ["remove_policies"]
            hint = did_you_mean(path[-1], valid)
            lines.append(f"{place}: unknown key '{path[-1]}'{hint}; valid keys here: {', '.join(valid)}")
        elif kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            place = where.locate((*path, "type"))
            lines.append(f"{place}: unknown policy type '{tag}'{did_you_mean(tag, POLICY_TYPES)}; expected one "
                         f"of {', '.join(POLICY_TYPES)}")
        elif kind == "union_tag_not_found":
            lines.append(f"{place}: a policy needs a 'type' (one of {', '.join(POLICY_TYPES)})")
        elif kind == "missing":
            lines.append(f"{place}: required key '{path[-1]}' is missing")
        elif kind in _NUMBER_ERRORS and _range_of(path) is not None:
            lines.append(f"{place}: got {_shown(err.get('input'))}; expected {_range_text(_range_of(path))}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            shown = not (isinstance(got, dict | list) or got is None)
            if msg.startswith("Input should be ") and shown:
                expected = msg.removeprefix("Input should be ")
                expected = f"a value {expected}" if expected.startswith(("less", "greater")) else expected
                lines.append(f"{place}: got {got!r}; expected {expected}")
            else:
                lines.append(f"{place}: {msg}" + (f"; got {got!r}" if shown and repr(got) not in msg else ""))
    return "\n  ".join(dict.fromkeys(lines))


@dataclass
class _NameChecker:
    """Checks names used in a scenario against the dataset, collecting every problem."""

    loaded: Any
    aliases: dict[str, str] = field(default_factory=dict)  # lower-case full names -> codes
    problems: list[str] = field(default_factory=list)

    def check(self, path: KeyPath, value: Any, valid: set[str], what: str) -> None:
        if value is None or str(value) in valid:
            return
        hint = did_you_mean(value, sorted(valid))
        alias = self.aliases.get(str(value).strip().lower())
        near = closest(str(value).strip().lower(), [a for a, code in self.aliases.items() if code in valid])
        if what == "mineral" and alias not in valid and near is not None and len(str(value)) > 3:  # galium: ga
            alias = self.aliases[near]
        if alias in valid:
            hint = f" (did you mean '{alias}'?)"
        self.problems.append(
            f"{self.loaded.locate(path)}: unknown {what} '{value}'{hint}; expected one of the {what} codes in "
            f"the dataset" + (f" ({', '.join(sorted(valid))})" if len(valid) <= 12 else "")
        )

    def check_list(self, path: KeyPath, values: list[str] | None, valid: set[str], what: str) -> None:
        for i, value in enumerate(values or []):
            self.check((*path, i), value, valid, what)


def _aliases(ds: Dataset) -> dict[str, str]:
    """Full names that people write instead of codes: 'gallium' -> ga, 'china' -> CHN."""
    out: dict[str, str] = {}
    for code, name in zip(ds.minerals["mineral"], ds.minerals["name"], strict=True):
        out[str(name).split("(")[0].strip().lower()] = code
    for code, name in zip(ds.countries["iso3"], ds.countries["name"], strict=True):
        out[str(name).strip().lower()] = code
    return out


def _check_against_dataset(loaded: LoadedScenario) -> None:
    s, ds = loaded.scenario, loaded.dataset
    minerals = set(ds.minerals["mineral"])
    countries = set(ds.countries["iso3"])
    sources = set(ds.capacity["source_id"])
    c = _NameChecker(loaded, _aliases(ds))
    c.check(("buyer",), s.buyer, countries, "country")
    c.check(("dependence", "country"), s.dependence.country, countries, "country")
    c.check_list(("minerals",), s.minerals, minerals, "mineral")
    for key in s.objective.weights:
        c.check(("objective", "weights", key), key, minerals, "mineral")
    for key in s.data.exportable_share:
        c.check(("data", "exportable_share", key), key, countries | sources, "country or source id")
    for key in s.data.demand_scale:
        c.check(("data", "demand_scale", key), key, minerals, "mineral")
    for i, p in enumerate(s.policies):
        base = ("policies", i)
        c.check_list((*base, "minerals"), p.minerals, minerals, "mineral")
        for attr in COUNTRY_FIELDS:
            value = getattr(p, attr, None)
            if isinstance(value, list | tuple):
                c.check_list((*base, attr), list(value), countries, "country")
            elif isinstance(value, str):
                c.check((*base, attr), value, countries, "country")
    for key in s.stockpile:
        c.check(("stockpile", key), key, minerals, "mineral")
    for i, shock in enumerate(s.shocks):
        c.check(("shocks", i, "country"), shock.country, countries, "country")
        c.check_list(("shocks", i, "minerals"), shock.minerals, minerals, "mineral")
    if s.worstcase.country is not None:
        c.check(("worstcase", "country"), s.worstcase.country, countries, "country")
    c.check_list(("worstcase", "minerals"), s.worstcase.minerals, minerals, "mineral")
    for section, valid, what in (("demand", minerals, "mineral"), ("cost", minerals, "mineral"),
                                 ("capacity", countries | sources, "country or source id")):
        for key in getattr(s.uncertainty, section):
            if key != "all":
                c.check(("uncertainty", section, key), key, valid, what)
    if c.problems:
        raise InputError(f"Scenario '{s.name}' names things the dataset does not have:\n  "
                         + "\n  ".join(c.problems))
    meaning: list[str] = []
    modelled = s.minerals or sorted(minerals)
    if s.objective.weights and all(s.objective.weights.get(m, 1.0) == 0 for m in modelled):
        meaning.append(f"{loaded.locate(('objective', 'weights'))}: every modelled mineral has weight 0, so "
                       f"dependence would count for nothing; give at least one mineral a weight above 0 (an "
                       f"unlisted mineral weighs 1)")
    if s.market == "none" and (regions := _single_buyer_regions(loaded)):
        raise InputError("; ".join(regions))
    world = set(ds.countries.loc[ds.countries["region"] == "World", "iso3"])
    for i, p in enumerate(s.policies):
        listed = (getattr(p, "countries", None) or []) if p.type == "country_cap" else []
        for j, country in enumerate(listed):
            if country in world:
                meaning.append(f"{loaded.locate(('policies', i, 'countries', j))}: '{country}' has region "
                               f"'World' in countries.csv (an aggregate of many countries), which country caps "
                               f"never apply to; list single countries")
    if meaning:
        raise InputError(f"Scenario '{s.name}' is not valid:\n  " + "\n  ".join(meaning))
    demand = ds.demand
    for m in s.minerals or sorted(minerals):
        have = set(demand.loc[demand["mineral"] == m, "year"])
        missing = [y for y in s.years if y not in have]
        if missing:
            raise InputError(
                f"{ds.file('demand')}: no demand for mineral '{m}' in {', '.join(map(str, missing))}; the "
                f"scenario's horizon ({loaded.where(('horizon',))}) is {s.horizon.start}-{s.horizon.end}"
            )


def _single_buyer_regions(loaded: LoadedScenario) -> list[str]:
    """With ``market: none`` a policy acts on the one buyer: ``regions`` may name only the buyer itself."""
    s = loaded.scenario
    out = []
    for i, p in enumerate(s.policies):
        if p.regions is None or p.regions == [s.buyer]:
            continue
        named = "all" if p.regions == "all" else ", ".join(p.regions)
        out.append(f"{loaded.locate(('policies', i, 'regions'))}: names regions ({named}), but market: none has "
                   f"one buyer ({s.buyer}) that every policy acts on; set market: equilibrium to apply a policy "
                   f"to other regions, or leave the key out")
    return out


def load_scenario(spec: str | Path | None = None, *, inputs: Path | None = None) -> LoadedScenario:
    """Load, merge, validate and check a scenario (default: the shipped baseline)."""
    path = resolve_scenario_path(spec if spec is not None else "baseline")
    data, origins, chain = _read_chain(path)
    return _validated(data, origins, chain, path, f"Scenario {path}", inputs=inputs)


def scenario_from_dict(data: dict, dataset: Dataset | None = None, name: str = "inline", *,
                       inputs: Path | None = None) -> LoadedScenario:
    """Validate a scenario given as a Python mapping exactly as a scenario file is validated: ``extends`` names a
    shipped scenario or a path (read from the working folder), ``remove_policies`` and every check apply, with the
    same messages. ``dataset``: run on this dataset instead of the scenario's own (``data.inputs``, else shipped).

    >>> loaded = scenario_from_dict({"extends": "baseline", "objective": {"budget": "+5%"}}, name="budget")
    >>> [p.name for p in loaded.scenario.policies][:1]
    ['section_301']
    """
    if not isinstance(data, dict):
        raise InputError(f"Scenario '{name}': a scenario must be a mapping of keys (name, horizon, policies, …), "
                         f"got a {type(data).__name__}")
    data = {"name": name, **copy.deepcopy(data)}

    def place(key: KeyPath) -> str:
        return f"{INLINE}, {format_path(key)}"

    merged, origins, chain = _inherit(data, _inline_origins(data), place, None, ())
    return _validated(merged, origins, chain, None, f"Scenario '{data['name']}'", inputs=inputs, dataset=dataset)


def _validated(data: dict, origins: dict[KeyPath, Origin], chain: tuple[Path, ...], path: Path | None, label: str,
               *, inputs: Path | None = None, dataset: Dataset | None = None) -> LoadedScenario:
    """Validate a merged scenario mapping, load its dataset, and check the one against the other."""
    holder = LoadedScenario(scenario=None, dataset=dataset, path=path, chain=chain, origins=origins)  # type: ignore[arg-type]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{label} is not valid:\n  {_validation_message(exc, data, holder)}") from None
    if dataset is None:
        folder = inputs
        if folder is None and scenario.data.inputs is not None:
            declared_in = Path(origins.get(("data", "inputs"), (str(path or "."), 0, ()))[0]).parent
            folder = (declared_in / scenario.data.inputs).resolve()
            if not folder.is_dir():
                raise InputError(f"{holder.locate(('data', 'inputs'))}: inputs folder '{scenario.data.inputs}' "
                                 f"not found (looked for {folder}); a relative path is read from the folder of the "
                                 f"file that sets it")
        dataset = load_dataset(folder if folder is not None else inputs_dir())
        if folder is not None:  # record the folder actually used, so the resolved scenario runs from anywhere
            absolute = str(Path(folder).resolve())
            scenario = scenario.model_copy(update={"data": scenario.data.model_copy(update={"inputs": absolute})})
    holder = LoadedScenario(scenario=scenario, dataset=dataset, path=path, chain=chain, origins=origins)
    loaded = LoadedScenario(scenario=_with_mineral_codes(scenario, holder), dataset=dataset, path=path,
                            chain=chain, origins=origins)
    _check_against_dataset(loaded)
    return loaded


def with_overrides(loaded: LoadedScenario, **changes: object) -> LoadedScenario:
    """The loaded scenario with top-level keys replaced, validated as a scenario file is (same checks, same
    messages). A value may be a plain mapping or list (as in YAML) or a schema object.

    >>> with_overrides(load_scenario("baseline"), objective={"minimise": "cheapest"})
    Traceback (most recent call last):
    engine.errors.InputError: Scenario 'baseline' is not valid:
      (scenario), objective.minimise: got 'cheapest'; expected 'dependence' or 'cost'
    """
    data = loaded.scenario.model_dump(mode="json", exclude_none=True)
    data.update({key: _plain(value) for key, value in changes.items()})
    origins = {p: o for p, o in loaded.origins.items() if p[:1] and p[0] not in changes}
    origins.update(_inline_origins({key: data[key] for key in changes}))
    return _validated(data, origins, loaded.chain, loaded.path, f"Scenario '{data.get('name', loaded.name)}'",
                      dataset=loaded.dataset)


def _inline_origins(data: Any, path: KeyPath = ()) -> dict[KeyPath, Origin]:
    """Every key path of a Python mapping, marked as given inline (not read from a file)."""
    out: dict[KeyPath, Origin] = {path: (INLINE, 0, path)} if path else {}
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.update(_inline_origins(value, (*path, key)))
    return out


def _plain(value: Any) -> Any:
    """A schema object (or lists and mappings of them) as the plain values a scenario file holds."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def mineral_code(dataset: Dataset, name: str) -> str | None:
    """The dataset's code for a mineral written as a code or a name, any case ('lithium', 'Li', 'li' -> 'li');
    None when it names no mineral."""
    codes = list(dataset.minerals["mineral"])
    if name in codes:
        return name
    text = str(name).strip().lower()
    by_code = {c.lower(): c for c in codes}
    names = {str(n).split("(")[0].strip().lower(): c for c, n in zip(codes, dataset.minerals["name"], strict=True)}
    return by_code.get(text) or names.get(text)


def _with_mineral_codes(scenario: Scenario, loaded: LoadedScenario) -> Scenario:
    """The scenario with every mineral written as a name ('lithium') or in another case replaced by its code, so a
    scenario may name minerals either way; unknown names are left for the dataset check to report."""
    ds = loaded.dataset

    def code(value: str) -> str:
        return mineral_code(ds, value) or value

    def codes(values: list[str] | None) -> list[str] | None:
        return None if values is None else [code(v) for v in values]

    def keys(mapping: dict, path: KeyPath) -> dict:
        out: dict = {}
        given: dict[str, str] = {}
        for key, value in mapping.items():
            new = key if key == "all" else code(key)
            if new in out:
                raise InputError(f"{loaded.locate((*path, key))}: '{given[new]}' and '{key}' name the same mineral "
                                 f"({new}); give each mineral once")
            out[new], given[new] = value, key
        return out

    s = scenario
    update = {
        "minerals": codes(s.minerals),
        "objective": s.objective.model_copy(update={"weights": keys(s.objective.weights, ("objective", "weights"))}),
        "data": s.data.model_copy(update={"demand_scale": keys(s.data.demand_scale, ("data", "demand_scale"))}),
        "policies": [p.model_copy(update={"minerals": codes(p.minerals)}) for p in s.policies],
        "stockpile": keys(s.stockpile, ("stockpile",)),
        "shocks": [k.model_copy(update={"minerals": codes(k.minerals)}) for k in s.shocks],
        "worstcase": s.worstcase.model_copy(update={"minerals": codes(s.worstcase.minerals)}),
        "uncertainty": s.uncertainty.model_copy(update={
            "demand": keys(s.uncertainty.demand, ("uncertainty", "demand")),
            "cost": keys(s.uncertainty.cost, ("uncertainty", "cost"))}),
    }
    changed = {k: v for k, v in update.items() if v != getattr(s, k)}
    return s.model_copy(update=changed) if changed else s
