"""Figures quoted in the docs, checked against the JSON under docs/bench/ each comes from, so none goes stale unseen.

The table of quoted figures is tools/figures.py's; this module is how one is read and checked. A Figure is
a text quoted in a doc with `{}` where each figure stands, the JSON it comes from, a key into that JSON per
figure and how the doc writes each value. A key is a path into the JSON: `/` between levels,
`[field=value]` picks the list item with that field, `*` takes every item (the doc then quotes their
range, min-max), and a trailing `*100` scales the value (a share quoted as a percentage).

The check fails when a quoted figure differs from its JSON, when the quoted text is no longer found
(reworded), and when a JSON is older than the code it measured (each records the commit and a tree hash
of the code it depends on, through provenance.code_provenance): figures of code that has since changed
are not figures of this code. A figure the doc presents as measured on earlier code is marked `history`;
its JSON may be as old as it likes.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from facemask.evaluation.provenance import code_provenance, code_tree, head_commit, last_change

BENCH = "docs/bench"
NUMBER = r"(\d[\d.,]*(?:-\d[\d.,]*)?)"  # 39, 5.3, 2,640, 16.0-17.3


@dataclass(frozen=True)
class Figure:
    """Figures quoted in `doc` as `text` (`{}` for each), from `keys` of `source` (a file in docs/bench), written
    with `forms` (one per key; a range over `*` takes two fields, min and max). The first place the text is
    quoted is checked: in the whole doc, or from the heading `section` on, to the next heading. `history`:
    the doc says these were measured on earlier code, so their JSON is not held to the code as it is now."""

    doc: str
    text: str
    source: str
    keys: tuple[str, ...]
    forms: tuple[str, ...]
    section: str | None = None
    history: bool = False


def resolve(doc, key: str):
    """The value (or, through `*`, the values) at `key` in a JSON document; KeyError naming the part not found."""
    scale = 1  # an int stays an int (881 passed, 979 MB)
    if key.endswith("*100"):
        key, scale = key[: -len("*100")], 100
    values = [doc]
    for part in key.split("/"):
        picked = re.fullmatch(r"\[(\w+)=(.*)\]", part)
        if part == "*":
            values = [v for value in values for v in (value.values() if isinstance(value, dict) else value)]
        elif picked:
            field, want = picked.groups()
            values = [next(v for v in value if str(v.get(field)) == want) for value in values]
        else:
            values = [value[part] for value in values]
    values = [v * scale for v in values]
    return values if "*" in key.split("/") else values[0]


def expected(figure: Figure, doc: dict) -> list[str]:
    """Each figure as the doc should write it, from its JSON."""
    out = []
    for key, form in zip(figure.keys, figure.forms):
        value = resolve(doc, key)
        out.append(form.format(min(value), max(value)) if isinstance(value, list) else form.format(value))
    return out


def _flat(text: str) -> str:
    """Whitespace as one space: a quoted text may wrap anywhere in the Markdown."""
    return re.sub(r"\s+", " ", text)


def quoted_in(figure: Figure, root: Path) -> str | None:
    """The part of the doc the figure is looked for in: all of it, or its section (None: no such heading)."""
    text = (root / figure.doc).read_text()
    if figure.section is None:
        return text
    lines = text.splitlines()
    if figure.section not in lines:
        return None
    start = lines.index(figure.section) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def check_figure(figure: Figure, root: Path) -> list[str]:
    """What is wrong with one quoted figure (nothing: an empty list)."""
    source = root / BENCH / figure.source
    try:
        want = expected(figure, json.loads(source.read_text()))
    except (OSError, ValueError, KeyError, StopIteration, TypeError) as exc:
        return [f"{figure.source}: cannot read {', '.join(figure.keys)} ({type(exc).__name__}: {exc})"]
    pattern = re.escape(_flat(figure.text)).replace(r"\{\}", NUMBER)
    found = re.search(pattern, _flat(quoted_in(figure, root) or ""))  # the first a reader meets
    if found is None:
        return [f"{figure.doc}: no longer quotes {figure.text!r} (reworded? update FIGURES in tools/figures.py)"]
    if list(found.groups()) != want:
        said, should = figure.text.format(*found.groups()), figure.text.format(*want)
        return [f"{figure.doc}: {said!r}, but {figure.source} gives {should!r}"]
    return []


def staleness(source: str, root: Path) -> str | None:
    """Why a JSON may no longer describe the code (None: it measured the code as it is now, it cannot be read,
    which check_figure reports, or this is no git checkout). A code path HEAD no longer holds (moved) is stale."""
    try:
        doc = json.loads((root / BENCH / source).read_text())
    except (OSError, ValueError):
        return None
    if not doc.get("code_tree"):
        return f"{source}: stale/unknown: it records no commit or code tree (measured before figures.py)"
    paths = doc.get("code_paths") or []
    if doc.get("code_dirty"):
        return f"{source}: measured on uncommitted changes at {str(doc.get('commit'))[:7]}"
    now = code_tree(paths)
    if now is None and head_commit() is None:
        return None  # no git here (an unpacked sdist): which code a JSON measured cannot be told, so nothing fails
    if now is None:
        return f"{source}: measured {', '.join(paths)}, which HEAD does not all hold (moved or removed?)"
    if now != doc["code_tree"]:
        return f"{source}: older than its code ({', '.join(paths)} last changed in {last_change(paths)})"
    return None


def _again(source: str, root: Path, commands: Mapping[str, str]) -> str:
    """How a stale JSON is measured again: the table's command, else the one the JSON records."""
    if source in commands:
        return commands[source]
    try:
        return str(json.loads((root / BENCH / source).read_text()).get("command", "see its JSON"))
    except (OSError, ValueError):
        return "see its JSON"


def check(root: Path, figures: Sequence[Figure], commands: Mapping[str, str] | None = None) -> int:
    """0 when every quoted figure equals its JSON and every JSON a current figure quotes measured the code as
    it is now; 1 otherwise, with one `error:` line per problem."""
    problems = [p for figure in figures for p in check_figure(figure, root)]
    sources = list(dict.fromkeys(figure.source for figure in figures))
    current = {figure.source for figure in figures if not figure.history}
    for source in sources:
        why = staleness(source, root)
        if why and source in current:
            problems.append(f"{why}; measure it again: {_again(source, root, commands or {})}")
        elif why:
            print(f"note: {why} (quoted as history)")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    n = sum(len(f.keys) for f in figures)
    print(
        f"{n} quoted figures from {len(sources)} JSONs: " + (f"{len(problems)} problems" if problems else "all match")
    )
    return 1 if problems else 0


def stamp(path: Path) -> int:
    """Record in a JSON measured by hand the commit and code tree it measured: its `code_paths` as committed now."""
    try:
        doc = json.loads(path.read_text())
        paths = [str(p) for p in doc["code_paths"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {path}: cannot read its code_paths ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    record = code_provenance(None, paths)
    if record["code_tree"] is None:
        print(f"error: {path}: no commit holds {', '.join(paths)} (not a git checkout?)", file=sys.stderr)
        return 1
    if record["code_dirty"]:
        print(
            f"error: {path}: {', '.join(paths)} have uncommitted changes: commit, measure, then stamp", file=sys.stderr
        )
        return 1
    path.write_text(json.dumps({**doc, **record}, indent=2) + "\n")
    print(f"{path}: measured {', '.join(paths)} at {record['commit'][:7]}")
    return 0
