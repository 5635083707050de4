"""Running a parsed command: log set-up, native chatter muted, and any failure printed as one `error:` line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from facemask.core.errors import FacemaskError, one_line


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record arrives, so muting native output keeps log lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def parse_and_run(build: Callable[[], argparse.ArgumentParser], argv: list[str] | None) -> int:
    """Build the parser, parse `argv` and run the command it names; the exit status (`--help` 0, a bad value 2,
    Ctrl-C 130 from the first moment), never SystemExit."""
    try:
        args = build().parse_args(argv)
    except SystemExit as done:  # --help and --version printed; a bad value reported in one line (parser.Parser)
        return int(done.code or 0)
    except KeyboardInterrupt:  # while the commands' modules load
        return _fail("interrupted", 130)
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command (`args.func`), printing any failure as one `error:` line; its exit status.

    Exit statuses: 0 done; 1 (PARTIAL_EXIT) a run over several inputs finished but some of them
    failed, each with its `error:` line (images of a batch, sources of a multi-source `detect`);
    2 an error (bad input, a failed run); 3 an unexpected error; 128 + N stopped by signal N
    (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

    Commands that set `mute_native` (detect, batch, benchmark, train, export, evaluate) run with native
    logs muted (TensorFlow's absl/oneDNN/cudart banners, the converter's MLIR log, OpenCV's and
    FFmpeg's own log levels, libpng warnings) unless `-v`; Python's own warnings and errors still
    show. This is the one place native output is muted.
    """
    from facemask.io.quiet import native_stderr_silenced, quiet_native_logs
    from facemask.io.stdio import reopen_closed_standard_fds

    reopen_closed_standard_fds()  # started with `>&-` or `2>&-`: no output file may become descriptor 1 or 2
    for stream in (sys.stdout, sys.stderr):  # a file name that is not valid UTF-8 prints escaped, never crashes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    mute = not args.verbose and getattr(args, "mute_native", False)
    try:
        try:
            if mute:
                quiet_native_logs()
            with native_stderr_silenced(mute, keep_python=True):
                return args.func(args)
        except Exception as exc:
            if _interrupted(exc):  # a clean-up that failed as Ctrl-C unwound a half-started run: still Ctrl-C
                raise KeyboardInterrupt from exc
            raise
    except FacemaskError as exc:
        return _fail(one_line(str(exc)))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except OSError as exc:  # a disk or permission failure no check foresaw: still one line
        if args.verbose:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(one_line(where + (exc.strerror or str(exc))))
    except MemoryError:
        return _fail("out of memory")
    except Exception as exc:  # the promise is one line; -v shows the traceback
        if args.verbose:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {one_line(str(exc))} (run with -v for details)", 3)


def _interrupted(exc: BaseException) -> bool:
    """Whether `exc` was raised while a KeyboardInterrupt was being handled (its context chain holds one)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__context__
    return False


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
