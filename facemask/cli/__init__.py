"""The `facemask` command: one table of subcommands, one module each, every shared option declared once.

Each module in COMMANDS has `register(subparsers)`, which adds its subcommand with its options
(shared ones from options.py) and `func`, the function that runs it. Modules here import only
argparse and the configs at load time; OpenCV, the models and (for `train`, `export` and `.keras`
models, with the `train` extra) TensorFlow load when a subcommand runs, so `facemask --help` and
`--version` stay light. `main` lives here, not in a `main.py`,
so that `facemask.cli.main` can only ever mean this function.
"""

from __future__ import annotations

import argparse
import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

COMMANDS: dict[str, str] = {  # subcommand -> the module that registers it, in `facemask --help` order
    "train": "facemask.cli.train",
    "export": "facemask.cli.export",
    "evaluate": "facemask.cli.evaluate",
    "benchmark": "facemask.cli.benchmark",
    "app": "facemask.cli.app",
    "detect": "facemask.cli.detect",
    "batch": "facemask.cli.batch",
    "report": "facemask.cli.report",
}


def build_parser() -> argparse.ArgumentParser:
    from facemask import __version__
    from facemask.cli.options import add_verbose
    from facemask.cli.parser import Parser, Subcommand

    parser = Parser(prog="facemask", description="Real-time face-mask detection on a CPU.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_verbose(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Subcommand)
    for name, module in COMMANDS.items():
        importlib.import_module(module).register(sub)
        add_verbose(sub.choices[name], inherited=True)  # `facemask detect -v ...` as well as `facemask -v detect ...`
    return parser


def main(argv: list[str] | None = None) -> int:
    """`facemask ARGV`: its exit status. A bad option is one `error:` line and 2; `--help` is 0."""
    from facemask.cli.run import parse_and_run

    return parse_and_run(build_parser, argv)
