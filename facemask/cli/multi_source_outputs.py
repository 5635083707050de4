"""Where `facemask detect` writes when it runs several videos, cameras or streams: names and paths per source.

Each source gets a name (its file stem, `camera0`, or its stream's host), made unique by `-2`,
`-3`... when a name comes twice. `--output`, `--json`, `--events` and `--summary` then take a
folder (`DIR/<name>.mp4`, `.jsonl`, `_events.jsonl`, `_summary.json`) or a template with `{name}`
(`out/{name}.mp4`); `--json -` puts every source's lines on stdout, each with its `source`.
A plain `--summary FILE` is one document for all sources, with their totals. Every path is
checked before any model loads, as for one source.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from facemask.cli.configs import STDOUT, summary_beside
from facemask.core.errors import FacemaskError

NAME = "{name}"
MAX_NAME = 64
IN_FOLDER = {"--output": "{}.mp4", "--json": "{}.jsonl", "--events": "{}_events.jsonl", "--summary": "{}_summary.json"}


@dataclass(frozen=True)
class SourcePlan:
    """One source of a multi-source run: what it is, its name, and where each of its outputs goes (None: none)."""

    spec: str
    kind: str
    name: str
    video: Path | None = None
    json: Path | None = None
    events: Path | None = None
    summary: Path | None = None


def source_names(specs: list[str], kinds: list[str]) -> list[str]:
    """One name per source, unique: `nomask_man`, `nomask_man-2`, `camera0`, `cam1_local`."""
    names: list[str] = []
    for spec, kind in zip(specs, kinds):
        base = _base_name(spec, kind)
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def _base_name(spec: str, kind: str) -> str:
    if kind == "camera":
        return f"camera{int(spec)}"
    url = urlsplit(spec) if "://" in spec else None
    if kind == "stream" and url is not None:
        return _safe((url.hostname or "stream").replace(".", "_")) or "stream"
    stem = PurePosixPath(url.path).stem if url is not None else Path(spec).stem
    return _safe(stem) or "video"


def _safe(text: str) -> str:
    """Letters, digits, `.`, `_` and `-` only: a name that is safe inside a file name."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._-")[:MAX_NAME]


def per_source(path: Path | None, option: str, names: list[str]) -> list[Path | None]:
    """`path` for each source: a `{name}` template filled in, or a file named after the source in a folder."""
    if path is None:
        return [None] * len(names)
    if path == STDOUT and option == "--json":
        return [STDOUT] * len(names)
    text = str(path)
    if NAME in text:
        return [Path(text.replace(NAME, name)) for name in names]
    if path.is_dir():
        return [path / IN_FOLDER[option].format(name) for name in names]
    raise FacemaskError(
        f"{path}: with several sources {option} takes a folder or a template with {NAME}, e.g. out/{NAME}"
        + IN_FOLDER[option].format("")
    )


def plan_sources(args: argparse.Namespace, kinds: list[str]) -> tuple[list[SourcePlan], Path | None]:
    """Each source's name and output paths, and the one summary file for all of them (a plain `--summary`)."""
    check_live_once(args.sources, kinds)
    names = source_names(args.sources, kinds)
    videos = per_source(args.output, "--output", names)
    jsons = per_source(args.json, "--json", names)
    events = per_source(args.events, "--events", names)
    combined = args.summary if args.summary is not None and _is_one_file(args.summary) else None
    if args.summary is None:
        summaries = [summary_beside(e, j) for e, j in zip(events, jsons)]
    else:
        summaries = [None] * len(names) if combined is not None else per_source(args.summary, "--summary", names)
    plans = [
        SourcePlan(spec, kind, name, *paths)
        for spec, kind, name, *paths in zip(args.sources, kinds, names, videos, jsons, events, summaries)
    ]
    check_plans(args, plans, combined)
    return plans, combined


def check_live_once(specs: list[str], kinds: list[str]) -> None:
    """The same camera or stream given twice is refused: a device opens once, and two readers of one stream
    would race for its frames and write the same people twice over."""
    seen: dict[tuple, str] = {}
    for spec, kind in zip(specs, kinds):
        if kind not in ("camera", "stream"):
            continue  # a video file given twice is read twice, each copy whole: harmless
        url = urlsplit(spec.strip())
        key = (kind, int(spec)) if kind == "camera" else (kind, url.scheme.lower(), url.netloc.lower(), url[2:])
        if key in seen:
            raise FacemaskError(
                f"{spec}: given twice (also as {seen[key]}); a camera or stream is read once, give it once"
            )
        seen[key] = spec


def _is_one_file(path: Path) -> bool:
    return NAME not in str(path) and not path.is_dir()


def check_plans(args: argparse.Namespace, plans: list[SourcePlan], combined: Path | None) -> None:
    """Before any model loads: as for one source, no output over an input or another output, video names that
    are videos, and every folder writable."""
    from facemask.io.imageio import VIDEO_SUFFIXES
    from facemask.io.safeio import check_outputs, check_writable

    inputs = [Path(p.spec) for p in plans if p.kind == "video" and "://" not in p.spec]
    outputs: dict[str, Path | None] = {"--summary": combined, "--report": args.report}
    for p in plans:
        for option, path in (("--output", p.video), ("--json", p.json), ("--events", p.events), ("summary", p.summary)):
            if path is not None and path != STDOUT:
                outputs[f"{option} of {p.name}"] = path
        if p.video is not None and p.video.suffix.lower() not in VIDEO_SUFFIXES:
            raise FacemaskError(
                f"{p.video}: --output needs video file names ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder"
            )
        for path in (p.video, p.json):  # as for one source, these need their folder (events make theirs)
            if path is not None and path != STDOUT and not path.parent.is_dir():
                raise FacemaskError(f"{path}: cannot write (folder {path.parent} does not exist)")
    if args.json == STDOUT:
        from facemask.io.stdio import standard_output

        standard_output()  # refused before any model loads when stdout is closed
    check_outputs(outputs, inputs)
    for option, path in outputs.items():
        if path is not None:
            check_writable(path, option)
