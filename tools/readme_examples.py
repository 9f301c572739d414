"""Run README.md's marked examples and rewrite their output in place (or, with ``--check``, report drift).

A marked example is a fenced block between ``<!-- example: NAME [key="value" ...] -->`` and ``<!-- /example -->``:

- a block whose first line is ``$ critmin ARGS``: the command's whole stdout follows it;
- a ``python`` block of ``>>>`` lines (``...`` continues one): each line's output follows it, as the Python
  prompt prints it (an expression's repr; an exception as ``Type: message``); the lines of a README share one
  namespace, in order;
- ``run="critmin ARGS" from="TEXT" lines="N"``: the block is an excerpt, the N lines of the command's stdout from
  the first that starts with TEXT.

Commands and Python lines run in a scratch folder holding a link to ``models/``, so files they write stay out of the
repository. Timings (``0.02 s``) are not compared. Usage::

    python -m tools.readme_examples            # rewrite README.md's example output
    python -m tools.readme_examples --check    # exit 1, naming each drifted example, when an output differs
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = re.compile(r"^<!-- example: (?P<name>[\w.-]+)(?P<options>.*?) -->$")
END = "<!-- /example -->"
OPTION = re.compile(r'(\w+)="([^"]*)"')
TIMING = re.compile(r"\b\d+(?:\.\d+)? s\b")
UPDATE = "run `make readme-examples` (or `python -m tools.readme_examples`) to update README.md"


@dataclass
class Example:
    """One marked block: its name, options, and the lines between its fences (``first`` indexes the README)."""

    name: str
    options: dict[str, str]
    fence: str
    body: list[str]
    first: int  # index of the opening fence's line
    last: int  # index of the closing fence's line


def examples(lines: list[str]) -> Iterator[Example]:
    """The marked examples of the README's lines, in order."""
    i = 0
    while i < len(lines):
        match = START.match(lines[i])
        if match is None:
            i += 1
            continue
        fence = i + 1
        if not lines[fence].startswith("```"):
            raise ValueError(f"README.md, line {i + 1}: example '{match['name']}' must be followed by a ``` block")
        close = next(j for j in range(fence + 1, len(lines)) if lines[j].startswith("```"))
        if close + 1 >= len(lines) or lines[close + 1] != END:
            raise ValueError(f"README.md, line {close + 2}: example '{match['name']}' must end with '{END}'")
        yield Example(match["name"], dict(OPTION.findall(match["options"])), lines[fence],
                      lines[fence + 1:close], fence, close)
        i = close + 2


def critmin(args: str, cwd: Path) -> list[str]:
    """What ``critmin ARGS`` prints on stdout, run in ``cwd`` with this interpreter."""
    done = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *shlex.split(args)],
                          cwd=cwd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    return done.stdout.rstrip("\n").splitlines()


def run_python(body: list[str], namespace: dict) -> list[str]:
    """The block's ``>>>`` lines, each followed by what it prints."""
    out: list[str] = []
    sources: list[list[str]] = []
    for line in body:
        if line.startswith(">>> "):
            sources.append([line])
        elif line.startswith("... ") and sources:
            sources[-1].append(line)
    for source in sources:
        out += source
        code = "\n".join(s[4:] for s in source)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            try:
                try:
                    compiled, is_expression = compile(code, "<README>", "eval"), True
                except SyntaxError:
                    compiled, is_expression = compile(code, "<README>", "exec"), False
                value = eval(compiled, namespace)  # the README's own examples
                if is_expression and value is not None:
                    print(repr(value))
            except Exception as exc:  # shown as the prompt shows it
                print(f"{type(exc).__name__}: {exc}")
        out += buffer.getvalue().rstrip("\n").splitlines()
    return out


def run(example: Example, scratch: Path, namespace: dict) -> list[str]:
    """The block's lines as the code prints them today."""
    if "run" in example.options:
        output = critmin(example.options["run"].removeprefix("critmin "), scratch)
        start = example.options.get("from", "")
        first = next((i for i, line in enumerate(output) if line.startswith(start)), None)
        if first is None:
            return [f"(no line of the output starts with {start!r})"]
        return output[first:first + int(example.options.get("lines", len(output)))]
    if example.body and example.body[0].startswith("$ critmin "):
        return [example.body[0], *critmin(example.body[0].removeprefix("$ critmin "), scratch)]
    if example.fence.startswith("```python"):
        cwd = os.getcwd()
        os.chdir(scratch)
        try:
            return run_python(example.body, namespace)
        finally:
            os.chdir(cwd)
    raise ValueError(f"example '{example.name}': a block starting '$ critmin', a python block, or run=\"...\"")


def refresh(text: str) -> tuple[str, list[tuple[str, list[str], list[str]]]]:
    """The README with every example's output as the code gives it, and (name, was, now) for each that changed
    beyond timings."""
    lines = text.split("\n")
    changed = []
    with tempfile.TemporaryDirectory(prefix="critmin-readme-") as tmp:
        scratch = Path(tmp)
        (scratch / "models").symlink_to(ROOT / "models", target_is_directory=True)
        namespace: dict = {"__name__": "__readme__"}
        results = [(example, run(example, scratch, namespace)) for example in examples(lines)]
    for example, now in reversed(results):  # from the end, so earlier indexes stay valid
        if [TIMING.sub("_ s", x) for x in now] != [TIMING.sub("_ s", x) for x in example.body]:
            changed.append((example.name, example.body, now))
        lines[example.first + 1:example.last] = now
    return "\n".join(lines), changed[::-1]


def diff(name: str, was: list[str], now: list[str]) -> str:
    return "\n".join(difflib.unified_diff(was, now, f"README.md example '{name}'", "what the code prints",
                                          lineterm="", n=1))


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    text = README.read_text(encoding="utf-8")
    new, changed = refresh(text)
    if check:
        for name, was, now in changed:
            print(diff(name, was, now))
        if changed:
            print(f"{len(changed)} README example(s) drifted from what the code prints: {UPDATE}.")
        return 1 if changed else 0
    if new != text:
        README.write_text(new, encoding="utf-8")
    print(f"README.md: {len(changed)} example(s) rewritten" + (f" ({', '.join(n for n, _, _ in changed)})"
                                                                if changed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
