"""Whether a folder being scored is one the model learnt from: its card records its training sources."""

from __future__ import annotations

import hashlib
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
