"""The parser class every command uses: a bad value is one `error:` line, never argparse's usage block."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from facemask.core.errors import one_line


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2; `--help` still prints everything.

    argparse says `argument --detect-every: must be at least 1, got 0`; this prints
    `error: --detect-every must be at least 1, got 0`. Messages from the value checks in values.py
    start with "must" and read on from the option's name; argparse's own keep their colon.
    """

    def error(self, message: str) -> NoReturn:
        found = re.fullmatch(r"argument (\S+): (.*)", message, flags=re.DOTALL)
        if found:
            name, text = found.groups()
            message = f"{name} {text}" if text.startswith("must ") else f"{name}: {text}"
        self.exit(2, f"error: {one_line(message)}\n")


class Subcommand(Parser):
    """A subcommand parser that can add its arguments only when that subcommand is parsed.

    The train options take their defaults from TrainConfig, whose module loads the training code and
    OpenCV; deferring them keeps `facemask --version`, `--help` and every other subcommand light.
    """

    def __init__(self, *args, add_arguments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def parse_known_args(self, args=None, namespace=None):
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)
        return super().parse_known_args(args, namespace)
