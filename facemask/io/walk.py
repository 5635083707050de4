"""Every file under a folder, and every entry that cannot be read, with why: one unreadable entry never stops a walk.

`Path.rglob` raises on the first entry it cannot stat (a file in a folder without search
permission), which aborted a whole batch; and it follows links into loops. This walk
follows links to folders once each, keeps going past anything it cannot read, and names it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Walk:
    """Regular files found (sorted), and (path, reason) for each entry that could not be read."""

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _odd_entry(entry: os.DirEntry) -> str | None:
    """Why a non-folder entry is not a file to read, or None when it is a regular file."""
    try:
        mode = os.stat(entry.path).st_mode
    except FileNotFoundError:
        return "a broken link"
    except OSError as exc:
        return f"cannot read ({_reason(exc)})"
    return None if stat.S_ISREG(mode) else "not a regular file (a pipe, socket or device)"


def walk_files(root: Path) -> Walk:
    """Depth-first over `root`, links to folders followed once each (a link loop ends there)."""
    walk, seen, stack = Walk(), set(), [Path(root)]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            walk.problems.append((folder, f"cannot list this folder ({_reason(exc)})"))
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError as exc:
                walk.problems.append((Path(entry.path), f"cannot read ({_reason(exc)})"))
                continue
            if is_dir:
                stack.append(Path(entry.path))
            elif (why := _odd_entry(entry)) is None:
                walk.files.append(Path(entry.path))
            else:
                walk.problems.append((Path(entry.path), why))
    walk.files.sort()
    walk.problems.sort()
    return walk
