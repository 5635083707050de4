"""Writing outputs so that nothing is lost: never over an input, never half a file where a whole one was expected.

Every output is written to a temporary file in its destination folder (same filesystem,
same suffix so encoders pick the same format) and renamed into place only once it is
complete. A failed write (disk full, no permission) removes the temporary file and raises
a one-line FacemaskError, so the run can never report a file that is not there. A
destination that is a character device or a pipe (`/dev/null`, `/dev/stdout | jq`) is
written directly, since it cannot be renamed over; a named pipe nobody reads is refused
instead of blocking for ever.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from facemask.core.errors import FacemaskError


def write_error(path: Path, exc: OSError) -> FacemaskError:
    """The one line for a failed write, e.g. `out.json: cannot write (No space left on device)`."""
    return FacemaskError(f"{path}: cannot write ({exc.strerror or exc})")


STREAM_DIRS = ("/dev/", "/proc/")  # /dev/stdout, /proc/self/fd/1: streams, even when they lead to a file


def _special(path: Path) -> int | None:
    """The mode of a destination written in place (device, pipe, /dev/stdout); None for a regular or new file."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        raise FacemaskError(f"{path}: is a folder, expected a file name")
    if str(path.absolute()).startswith(STREAM_DIRS):
        return mode
    return None if stat.S_ISREG(mode) else mode


def real_path(path: str | Path) -> Path:
    """`Path.resolve()` that never raises: a link that loops (a RuntimeError before Python 3.13) stays as named,
    so a folder holding `self.jpg -> self.jpg` is checked like any other and the link fails alone when read."""
    return Path(os.path.realpath(path))


def is_within(path: str | Path, folder: str | Path) -> bool:
    """Whether `path` is `folder` or lies inside it, links followed: the one test of "inside" (an --output
    linked into the input folder, a file a report's run names). A name no path can hold (a NUL) is not."""
    try:
        real, root = real_path(path), real_path(folder)
    except ValueError:
        return False
    return real == root or root in real.parents


SYSTEM_OUTPUTS = (Path("/proc"), Path("/sys"))  # kernel files: they open for writing, then every write fails


def _kernel_file(path: Path) -> bool:
    """A regular file of /proc or /sys (`/proc/version`), not a stream that passes through it (`/proc/self/fd/1`)."""
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
    return regular and any(real_path(path).is_relative_to(tree) for tree in SYSTEM_OUTPUTS)


def _partial_stem(dest: Path) -> str:
    return dest.stem if len(os.fsencode(dest.name)) < 200 else dest.stem[:60]  # stay under NAME_MAX (255 bytes)


def temp_path_for(dest: Path) -> Path:
    """`out.partial-4242-1a2b3c.mp4` beside `out.mp4`: same folder and suffix, plainly a partial file, and
    named with the writing process's id, so a later run can tell a killed run's leftover from a live one's."""
    return dest.with_name(f"{_partial_stem(dest)}.partial-{os.getpid()}-{secrets.token_hex(3)}{dest.suffix}")


def remove_stale_partials(dest: Path) -> None:
    """Remove `dest`'s partial files left by runs that were killed (their process is gone); never another's."""
    pattern = re.compile(re.escape(_partial_stem(dest)) + r"\.partial-(\d+)-[0-9a-f]{6}" + re.escape(dest.suffix))
    try:
        siblings = list(dest.parent.iterdir())
    except OSError:
        return
    for path in siblings:
        found = pattern.fullmatch(path.name)
        if found and not _alive(int(found.group(1))) and path.is_file() and not path.is_symlink():
            discard(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid we can ask about: leave its file alone
    return True


def prepare_dest(dest: Path, make_parents: bool = True) -> Path:
    """The real path behind a symlink (so the link itself stays), its folder created when asked."""
    dest = Path(dest)
    if _special(dest) is not None:
        return dest
    if dest.is_symlink():
        dest = real_path(dest)
    if dest.is_file() and not os.access(dest, os.W_OK):
        raise FacemaskError(f"{dest}: is read-only; not replacing it")
    if make_parents:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FacemaskError(f"{dest.parent}: cannot create output folder ({exc.strerror})") from None
    if not dest.parent.is_dir():
        raise FacemaskError(f"{dest}: cannot write (folder {dest.parent} does not exist)")
    return dest


def commit(temp: Path, dest: Path) -> None:
    """Rename a finished temporary file over `dest`, keeping an existing file's permissions."""
    try:
        mode = stat.S_IMODE(dest.stat().st_mode) if dest.is_file() else 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, dest)
    except OSError as exc:
        discard(temp)
        raise write_error(dest, exc) from None


def discard(temp: Path | None) -> None:
    if temp is not None:
        try:
            temp.unlink()
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path to write (by any library); renamed to `dest` if the block succeeds.

    On any exception the temporary file is removed and an OSError becomes one FacemaskError line.
    A device or pipe destination cannot be renamed over, so it is yielded itself.
    """
    dest = prepare_dest(dest)
    if _special(dest) is not None:
        yield dest
        return
    temp = temp_path_for(dest)
    try:
        yield temp
    except OSError as exc:
        discard(temp)
        raise write_error(dest, exc) from None
    except BaseException:
        discard(temp)
        raise
    if not temp.exists():
        raise FacemaskError(f"{dest}: nothing was written")
    commit(temp, dest)


def write_bytes(dest: Path, data: bytes) -> Path:
    with atomic_path(dest) as temp, open_for_write(temp, binary=True) as fh:
        fh.write(data)
    return Path(dest)


def write_text(dest: Path, text: str) -> Path:
    return write_bytes(dest, text.encode("utf-8"))


def open_for_write(path: Path, binary: bool = False) -> IO:
    """Open a file for writing; a named pipe with no reader is refused at once instead of blocking."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    special = _special(path)
    if special is None:
        flags |= os.O_TRUNC
    else:  # /dev/stdout redirected to a file (`>>`) is appended to, never cut
        flags |= os.O_APPEND | (os.O_NONBLOCK if stat.S_ISFIFO(special) else 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise FacemaskError(f"{path}: a named pipe with no reader") from None
        raise write_error(path, exc) from None
    if flags & os.O_NONBLOCK:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"}))


class StreamingFile:
    """A text output written as it goes (JSON Lines, the image-batch JSON), committed at `close()`.

    Lines are flushed as they come so a crash leaves them in `out.partial-*.jsonl`; a failed
    write raises one FacemaskError line and removes the partial file; `close(ok=False)` does too.
    """

    def __init__(self, dest: Path, make_parents: bool = False) -> None:
        self.dest = prepare_dest(dest, make_parents)
        self.temp = None if _special(self.dest) is not None else temp_path_for(self.dest)
        self._fh = open_for_write(self.temp or self.dest)
        self.failed = False

    def write(self, text: str) -> None:
        if self._fh is None:
            raise FacemaskError(f"{self.dest}: write after close")
        try:
            self._fh.write(text)
            self._fh.flush()
        except OSError as exc:
            self._abandon()
            raise write_error(self.dest, exc) from None

    def close(self, ok: bool = True) -> None:
        """Finish the file and put it in place; with `ok=False` (or after a failed write) remove it."""
        if self._fh is None:
            return
        if not ok:
            self._abandon()
            return
        try:
            self._fh.close()
        except OSError as exc:
            self._fh = None
            self._abandon()
            raise write_error(self.dest, exc) from None
        self._fh = None
        if self.temp is not None:
            commit(self.temp, self.dest)
            remove_stale_partials(self.dest)  # a long output: a killed run's partials of it go with the next success

    def _abandon(self) -> None:
        self.failed = True
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        discard(self.temp)


def check_outputs(outputs: dict[str, Path | None], inputs: Iterable[Path]) -> None:
    """Refuse an output that is an input, lies inside an input folder, or is another output's path.

    Paths are compared after resolving symlinks and `..`, so `./a/../clip.mp4` is `clip.mp4`.
    """
    ins = [real_path(p) for p in inputs]
    seen: dict[Path, str] = {}
    for option, out in outputs.items():
        if out is None:
            continue
        real = real_path(out)
        for src in ins:
            if real == src:
                raise FacemaskError(f"{out}: {option} is the input itself; refusing to overwrite it")
            if src.is_dir() and src in real.parents:
                raise FacemaskError(f"{out}: {option} is inside the input folder {src}; pick a folder outside it")
        if real in seen and _special(real) is None:  # two outputs to /dev/null are fine
            raise FacemaskError(f"{out}: given to both {seen[real]} and {option}")
        seen[real] = option


def check_writable(path: Path, option: str = "output") -> None:
    """Fail before a long run, not after it: the destination is not a folder and its folder is writable."""
    path = Path(path)
    if path.is_dir():
        raise FacemaskError(f"{path}: {option} is a folder, expected a file name")
    if _kernel_file(path):
        raise FacemaskError(f"{path}: cannot write ({option} is a kernel file under /proc or /sys, not an output)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FacemaskError(f"{path}: cannot write ({parent} is not a folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FacemaskError(f"{path}: cannot write ({option} folder {parent} is not writable)")
