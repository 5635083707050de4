"""Where a figure comes from: which folder a model learnt from (its card), and which code a benchmark measured.

A folder being scored may be one the model learnt from: its card records its training sources.
A benchmark's JSON (docs/bench/*.json) records the commit it ran at and the tree hash of the code
it depends on (`code_provenance`), so tools/figures.py --check can tell which ones the code has
since moved past. Every benchmark tool writes those fields through this one function.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from pathlib import Path

from facemask.classification.card import read_card


def folder_fingerprint(entries: list[tuple[str, str, str]]) -> str:
    """(path relative to the folder, label, SHA-256) of every readable image, as training fingerprints a folder."""
    lines = sorted(f"{rel}\t{label}\t{sha}" for rel, label, sha in entries)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def training_source_note(root: Path, entries: list[tuple[str, str, str]], model_paths: list[Path]) -> str | None:
    """A warning when `root` is (or is named like) a training source on any model's card; None otherwise."""
    fingerprint, name = folder_fingerprint(entries), f"folder:{Path(root).resolve().name}"
    for path in model_paths:
        for source in read_card(path).get("datasets", []):
            test = source.get("split_sizes", {}).get("test")
            held_out = f"only its test split ({test} images) was held out" if test else "it was held out only in part"
            if source.get("sha256") == fingerprint:
                return (
                    f"{root} is the training set of {path.name} ({source['name']}); {held_out}, "
                    "so these figures are not a test score"
                )
            if source.get("name") == name:
                return f"{root} has the name of {path.name}'s training set ({name}); if it is that set, {held_out}"
    return None


REPO = Path(__file__).resolve().parents[2]
CODE_PATHS = ("facemask",)  # what every benchmark measures, besides its own tool


def _git(*args: str) -> str | None:
    """A git command's output in the repo, or None where there is no git or no repository (an unpacked sdist)."""
    try:
        proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def code_paths(tool: str | Path | None = None, paths: Sequence[str] = CODE_PATHS) -> list[str]:
    """The repo paths a benchmark depends on: the package, and the tool that measures it."""
    extra = [Path(tool).resolve().relative_to(REPO).as_posix()] if tool is not None else []
    return sorted({*paths, *extra})


def head_commit() -> str | None:
    """The commit checked out, or None where there is no git or no repository (an unpacked sdist)."""
    return _git("rev-parse", "HEAD")


def code_tree(paths: Sequence[str], commit: str = "HEAD") -> str | None:
    """One hash of the code at `paths` as committed at `commit`: unchanged however many commits leave them alone."""
    ids = [_git("rev-parse", f"{commit}:{path}") for path in paths]
    if any(i is None for i in ids):
        return None
    return hashlib.sha256("\n".join(f"{p}\t{i}" for p, i in zip(paths, ids)).encode()).hexdigest()[:16]


def last_change(paths: Sequence[str]) -> str | None:
    """`abc1234 2026-12-01`: the last commit that changed any of `paths`."""
    return _git("log", "-1", "--format=%h %cs", "--", *paths) or None


def code_provenance(tool: str | Path | None = None, paths: Sequence[str] = CODE_PATHS) -> dict:
    """The fields a benchmark JSON records about the code it measured: `commit`, `code_paths`, `code_tree`, and
    `code_dirty` (uncommitted changes under those paths: the figures are of code no commit holds)."""
    listed = code_paths(tool, paths)
    status = _git("status", "--porcelain", "--", *listed)
    return {
        "commit": head_commit(),
        "code_paths": listed,
        "code_tree": code_tree(listed),
        "code_dirty": bool(status) if status is not None else None,
    }
