"""`facemask report RUN... --output report.html`: the HTML report of runs already made (facemask/report/)."""

from __future__ import annotations

import argparse
from pathlib import Path

RUN_HELP = (
    "a run's JSON Lines (detect --json; its summary and events are found beside it), a folder of them "
    "(a multi-source run), or a `facemask batch` output folder"
)


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="an HTML report (timelines, violations, totals) of runs already made")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help=RUN_HELP)
    p.add_argument("--output", type=Path, required=True, metavar="PATH", help="the HTML file to write")
    p.add_argument(
        "--summary",
        type=Path,
        metavar="PATH",
        help="the summary JSON to use for every source (default: found beside each JSON Lines file)",
    )
    p.add_argument("--title", default="Face-mask report", help="the report's heading (default: %(default)s)")
    p.set_defaults(func=run)


def write_run_report(report: Path, results: list[tuple[Path, Path | None]]) -> str:
    """`detect --report`: the report of the JSON Lines a run just wrote (with the summary it wrote for each);
    the line to print."""
    from facemask.report.page import write_html_report
    from facemask.report.runs import read_results

    sources = [source for path, summary in results if path.is_file() for source in read_results(path, summary)]
    write_html_report(report, sources)
    return f"wrote report to {report}"


def run(args: argparse.Namespace) -> int:
    from facemask.io.safeio import check_outputs, check_writable
    from facemask.report.page import write_html_report
    from facemask.report.runs import load_runs

    check_outputs({"--output": args.output}, [r for r in args.runs if r.is_file()])
    check_writable(args.output, "--output")
    sources = load_runs(args.runs, args.summary)
    write_html_report(args.output, sources, args.title)
    print(f"wrote the report of {len(sources)} source{'s' if len(sources) != 1 else ''} to {args.output}")
    return 0
