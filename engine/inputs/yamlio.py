"""YAML reading that remembers where every value came from.

``load_yaml`` returns plain Python data plus a map from each key path (a tuple of keys and list indices) to its
1-based line number, so validation errors can name the line of the offending value.

Only plain data is read: mappings, lists, text, numbers, booleans and null. Nothing in a file is ever executed or
turned into an object: an explicit tag (``!!python/object``, ``!!str``, ``!custom``) and a merge key (``<<:``) are
errors naming the file and line. Anchors and aliases (``&a`` / ``*a``) may share values, but the document they
expand to holds at most ``MAX_VALUES`` values and nests at most ``MAX_DEPTH`` levels, so a small hostile file
(the "billion laughs") fails at once instead of exhausting memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputError

KeyPath = tuple[Any, ...]

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (a scenario needs 5)."""
MAX_VALUES = 200_000
"""Most values (scalars, lists and mappings) a document may expand to, aliases counted at every use."""
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _tag_message(origin: str, line: int, tag: str) -> str:
    tag = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
    return (f"{origin}, line {line}: the tag '{tag}' is not allowed; a scenario holds plain data only (mappings, "
            f"lists, text, numbers, true/false), never tags such as !!python/object or !!str; remove the tag")


def _depth_message(origin: str, line: int) -> str:
    return (f"{origin}, line {line}: nested more than {MAX_DEPTH} levels deep; a scenario needs at most 5 (for "
            f"example policies[0].share.2030)")


class _PlainDataLoader(yaml.SafeLoader):
    """PyYAML's safe composer that refuses explicit tags and bounds nesting while it composes."""

    def __init__(self, stream: str, origin: str) -> None:
        super().__init__(stream)
        self.origin = origin
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise InputError(_tag_message(self.origin, event.start_mark.line + 1, tag))
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise InputError(_depth_message(self.origin, event.start_mark.line + 1))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(node: yaml.Node, origin: str, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values ``node`` stands for once every alias is expanded (memoised: linear in the file)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise InputError(f"{origin}, line {node.start_mark.line + 1}: an alias refers to a value that contains it; "
                         f"a scenario cannot be recursive")
    open_nodes.add(key)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, origin, sizes, open_nodes) + _expanded_size(v, origin, sizes, open_nodes)
                       for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, origin, sizes, open_nodes) for child in node.value)
    else:
        size = 1
    open_nodes.discard(key)
    sizes[key] = size
    if size > MAX_VALUES:
        raise InputError(f"{origin}, line {node.start_mark.line + 1}: aliases (*name) expand this document to more "
                         f"than {MAX_VALUES:,} values; a scenario needs a few hundred; write the values out or use "
                         f"'extends:' to share them")
    return size


class _Builder:
    """Turns a composed YAML node tree into Python data, recording the line of every key path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: dict[KeyPath, int] = {}
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath = ()) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            text = str(node.value)
            shown = text if len(text) <= 40 else f"{text[:40]}… ({len(text)} characters)"
            raise InputError(f"{self.origin}, line {node.start_mark.line + 1}: cannot read the value '{shown}'; "
                             f"expected a number of ordinary size, text, a date or true/false") from None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                raise InputError(f"{self.origin}, line {line}: merge keys ('<<:') are not supported; write the keys "
                                 f"out in full, or use 'extends:' to inherit from another scenario")
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(f"{self.origin}, line {line}: mapping keys must be plain names")
            key = self._scalar(key_node)
            if not isinstance(key, str | int | float):
                raise InputError(f"{self.origin}, line {line}: key '{key_node.value}' is read by YAML as a "
                                 f"{type(key).__name__}; write it in quotes")
            if isinstance(key, bool):
                raise InputError(f"{self.origin}, line {line}: key '{key_node.value}' is read by YAML as the "
                                 f"boolean {key}; write it in quotes or use another name")
            if key in out:
                raise InputError(f"{self.origin}, line {line}: key '{key}' appears twice in the same mapping")
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out


_OPENED = ("flow mapping", "flow sequence", "quoted scalar")


def _compose_fast(text: str, origin: str) -> yaml.Node | None:
    """Compose with libyaml after a first pass over its events that refuses tags and deep nesting (the same
    rules as :class:`_PlainDataLoader`, several times faster, and linear where PyYAML's pure-Python scanner is
    quadratic in the nesting depth). Raises YAMLError for the slow path to explain a syntax error."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if event.tag is not None:
                raise InputError(_tag_message(origin, event.start_mark.line + 1, event.tag))
            if depth >= MAX_DEPTH:
                raise InputError(_depth_message(origin, event.start_mark.line + 1))
            if not isinstance(event, yaml.ScalarEvent):
                depth += 1
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1
    return yaml.compose(text, Loader=yaml.CSafeLoader)


def parse_yaml(text: str, origin: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return (data, line map). ``origin`` names the file in error messages."""
    node = None
    if yaml.__with_libyaml__:
        try:
            node = _compose_fast(text, origin)
        except yaml.YAMLError:
            node = None  # a problem: let the pure-Python composer find and describe it
        else:
            if node is None:
                return None, {}
    if node is None:
        node = _compose_checked(text, origin)
    if node is None:
        return None, {}
    _expanded_size(node, origin, {}, set())
    builder = _Builder(origin)
    return builder.build(node), builder.lines


def _compose_checked(text: str, origin: str) -> yaml.Node | None:
    loader = _PlainDataLoader(text, origin)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        context = ""
        cm = exc.context_mark
        if exc.context and cm is not None and cm is not mark:
            opener = cm.buffer[cm.pointer] if cm.buffer and cm.pointer < len(cm.buffer) else ""
            opener = opener if opener in "{[\"'" and any(k in exc.context for k in _OPENED) else None
            context = (f" (is the '{opener}' at line {cm.line + 1}, column {cm.column + 1} closed?)" if opener else
                       f" ({exc.context.removeprefix('while ')} that starts at line {cm.line + 1}, column "
                       f"{cm.column + 1})")
        raise InputError(f"{origin}{where}: not valid YAML: {exc.problem or exc}{context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{origin}: nested too deeply to read; a scenario needs at most 5 levels") from None
    finally:
        loader.dispose()


def load_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the "
                         f"file as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_yaml(text, str(path))


def format_path(path: KeyPath) -> str:
    """('policies', 2, 'minerals') -> 'policies[2].minerals'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def line_of(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    """The line of the deepest known prefix of ``path``."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
