"""One batch at a time on an output folder: a lock file naming its owner, and a dead owner's leftovers cleaned.

Two batches writing the same folder would run the same videos twice and race over `report.json`.
The lock is `DIR/.facemask-batch.lock`, held with `flock` for the whole batch: the kernel lets it
go when its process ends, however it ends (SIGKILL included), so a lock left by a killed run is
stale by construction and the next batch takes it. The file names the owner (pid and host) for the
refusal's one line, and is removed when the batch ends. Once a batch holds the lock, every partial
file of its outputs (`NAME.partial-<pid>-<hex>.ext`) is a dead run's, whichever machine's worker
wrote it, so they are removed at the start and again at the end (a killed driver's worker may
still have been writing one).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.io.safeio import discard, temp_path_for

LOCK_NAME = ".facemask-batch.lock"
_PARTIAL = re.compile(r"(.*)\.partial-\d+-[0-9a-f]{6}(\.[^.]*)?")  # safeio.temp_path_for's names


@contextmanager
def batch_lock(out_dir: Path) -> Iterator[Path]:
    """Hold `out_dir`'s batch lock for the block, or raise one FacemaskError line naming the batch that holds it."""
    path = Path(out_dir) / LOCK_NAME
    fd = _locked(path)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        yield path
    finally:
        try:
            path.unlink()  # while still held: a batch waiting on this file sees it gone and opens the new one
        except OSError:
            pass
        os.close(fd)


def _locked(path: Path) -> int:
    """An open descriptor of the lock file, locked; the file is the one at `path` (not one just removed)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise FacemaskError(f"{path}: cannot create the batch lock ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
            os.close(fd)
            raise FacemaskError(
                f"{path.parent}: another batch is writing to this folder ({owner}); "
                "wait for it to end, or pick another --output"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the batch before ended and removed it between our open and our lock: open the new one


def _owner(fd: int) -> str:
    try:
        pid, host = _named(fd)
    except (OSError, ValueError, KeyError, TypeError):
        return "its owner has not written its name yet"
    return f"pid {pid} on {host}"


def _named(fd: int) -> tuple[int, str]:
    """The (pid, host) a lock file names, as its holder wrote it."""
    found = json.loads(os.pread(fd, 4096, 0) or b"{}")
    return int(found["pid"]), str(found["host"])


def lock_holder(path: Path) -> tuple[int, str] | None:
    """The (pid, host) the batch lock at `path` names while a batch holds it; None while none does (no lock
    file, or one a killed batch left: the kernel let its lock go with it). A probe, never a hold: the shared
    lock it tries fails at once while the batch holds its exclusive one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None  # nobody holds it (closing the descriptor lets the probe's lock go)
    except BlockingIOError:
        return _named(fd)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


def remove_dead_partials(outputs: Iterable[Path]) -> None:
    """Remove the partial files of `outputs` left by a run that was killed. Only under the batch lock: any
    partial of these names is then a dead run's, whatever its pid (a worker's pid may be another machine's)."""
    wanted: dict[Path, set[tuple[str, str]]] = {}
    for dest in map(Path, outputs):
        stem = temp_path_for(dest).name.split(".partial-")[0]  # the partial's stem, shortened for a long name
        wanted.setdefault(dest.parent, set()).add((stem, dest.suffix))
    for folder, names in wanted.items():  # each folder listed once, however many outputs it holds
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            found = _PARTIAL.fullmatch(entry.name)
            if found and (found.group(1), found.group(2) or "") in names and entry.is_file(follow_symlinks=False):
                discard(Path(entry.path))
