"""`facemask benchmark VIDEO`: time the real pipeline headless on a (looped) video file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facemask.cli import options, values
from facemask.core.errors import FacemaskError


def register(subparsers) -> None:
    p = subparsers.add_parser("benchmark", help="time the real pipeline headless on a (looped) video file")
    p.add_argument("video", type=Path)
    p.add_argument(
        "--frames",
        type=values.positive_int,
        default=300,
        help="frames to process; the video loops (default: %(default)s)",
    )
    options.add_json(p, "write the result JSON here")
    options.add_model(p)
    options.add_detector_mode(p)
    options.add_face_detector(p, "face detector (default: centerface, as `detect` uses)")
    options.add_detect_every(p)
    options.add_no_track(p, "no tracking (and so no smoothing or events)")
    p.add_argument("--no-events", action="store_true", help="tracking without the violation monitor")
    p.add_argument("--encode", action="store_true", help="also encode an annotated mp4 (to a temp file)")
    p.set_defaults(func=run, mute_native=True)  # OpenCV, FFmpeg and LiteRT chatter, unless -v


def run(a: argparse.Namespace) -> int:
    if not a.video.is_file():
        what = "is a folder" if a.video.is_dir() else "no such file"
        raise FacemaskError(f"{a.video}: {what} (benchmark takes one video file)")

    from facemask.benchmark import BenchmarkConfig, run_benchmark
    from facemask.core.options import RunOptions
    from facemask.io.safeio import check_outputs, check_writable, write_text
    from facemask.io.sources import source_kind

    kind = source_kind(str(a.video))
    if kind != "video":
        raise FacemaskError(f"{a.video}: is an {kind}, and benchmark takes one video file (photos: facemask detect)")

    if a.json:
        check_outputs({"--json": a.json}, [a.video])
        check_writable(a.json, "--json")
    cfg = BenchmarkConfig(video=a.video, frames=a.frames, options=RunOptions.from_args(a), encode=a.encode)
    result = run_benchmark(cfg)
    text = json.dumps(result, indent=1)
    if a.json:
        write_text(a.json, text)
    else:  # the JSON goes where it was asked for, not to the terminal as well
        print(text)
    print(f"facemask_fps={result['fps']:.2f}")
    return 0
