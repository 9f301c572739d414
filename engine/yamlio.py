"""YAML reading that remembers where every value came from.

``load_yaml`` returns plain Python data plus a map from each key path (a tuple of keys and list indices) to its
1-based line number, so validation errors can name the line of the offending value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputError

KeyPath = tuple[Any, ...]


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
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(f"{self.origin}, line {line}: mapping keys must be plain names")
            key = self._scalars.construct_object(key_node)
            if isinstance(key, bool):
                raise InputError(f"{self.origin}, line {line}: key '{key_node.value}' is read by YAML as the "
                                 f"boolean {key}; write it in quotes or use another name")
            if key in out:
                raise InputError(f"{self.origin}, line {line}: key '{key}' appears twice in the same mapping")
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out


_OPENED = ("flow mapping", "flow sequence", "quoted scalar")


def parse_yaml(text: str, origin: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return (data, line map). ``origin`` names the file in error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    if node is None:
        return None, {}
    builder = _Builder(origin)
    return builder.build(node), builder.lines


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
