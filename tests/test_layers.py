"""The package layout is the flow: a module imports only modules of its own layer or of the layers below it.

Layers, lowest first: errors and paths; inputs; model; formulation; solvers; plan; outputs; figures; run and market;
analysis; report; and the API and command line on top. Every import counts, including those inside functions
(imported late to keep start-up light) and those only for type checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

LAYERS: list[tuple[str, ...]] = [
    ("engine.errors", "engine.paths"),
    ("engine.inputs",),
    ("engine.model",),
    ("engine.formulation",),
    ("engine.solvers",),
    ("engine.plan",),
    ("engine.outputs",),
    ("engine.figures",),
    ("engine.run", "engine.market"),
    ("engine.analysis",),
    ("engine.report",),
    ("engine.api", "engine.cli", "engine.console", "engine"),
]


def layer_of(module: str) -> int:
    """The layer of a dotted module name: the longest listed prefix decides (``engine`` itself is the top)."""
    best, best_length = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def engine_imports(source: str, where: str = "<source>") -> list[tuple[int, str]]:
    """(line, module) for every import of an ``engine`` module in ``source``, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{where}:{node.lineno}: relative import; the layer test reads absolute ones")
        if isinstance(node, ast.ImportFrom) and node.module == "engine":  # ``from engine import api``
            found += [(node.lineno, f"engine.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine."):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("engine")]
    return found


MODULES = sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    own = layer_of(module_name(path))
    upward = [f"line {line}: {target} (layer {layer_of(target)})"
              for line, target in engine_imports(path.read_text(encoding="utf-8"), str(path))
              if layer_of(target) > own]
    assert not upward, f"{module_name(path)} (layer {own}) imports a layer above it: " + "; ".join(upward)


def test_the_check_sees_late_and_type_only_imports() -> None:
    """An import inside a function or under TYPE_CHECKING counts: an inputs module reaching for the plan is caught."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.run import RunResult\n"
              "def f():\n    from engine.plan.hierarchy import Plan\n    import engine.outputs.results\n")
    assert engine_imports(source) == [(3, "engine.run"), (5, "engine.plan.hierarchy"), (6, "engine.outputs.results")]
    assert all(layer_of(target) > layer_of("engine.inputs.dataset") for _, target in engine_imports(source))
    assert layer_of("engine") == len(LAYERS) - 1 and layer_of("engine.errors") == 0


def test_every_module_belongs_to_a_layer() -> None:
    for path in MODULES:
        layer_of(module_name(path))  # raises, naming the module, when it fits no layer
