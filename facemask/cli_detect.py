"""`facemask detect SOURCE...` and `detect_video.py --source ...`: one set of options, one code path.

Arguments become configs here; the pipeline does the work. Images and folders get the
detector's `accurate` mode, video and cameras `fast`, unless `--detector-mode` says otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

from facemask.config import AlertConfig, ClassifierConfig, DetectorConfig, OutputConfig, TrackerConfig
from facemask.errors import FacemaskError
from facemask.imageio import looks_like_image

VIDEO_KINDS = ("camera", "stream", "video")


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def add_detect_options(p: argparse.ArgumentParser) -> None:
    """The options `facemask detect` and `detect_video.py` share."""
    p.add_argument("--no-display", action="store_true", help="no preview window (for servers and batch runs)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="results as JSON: one line per frame for video, one document for images")
    p.add_argument("--output", type=Path, metavar="PATH",
                   help="annotated output: a video file for video, a folder for images")
    p.add_argument("--model", default="default", metavar="PATH|default|lite", help="mask classifier (default: default)")
    p.add_argument("--confidence", type=_unit_interval, default=0.5, metavar="F",
                   help="minimum face detection confidence (default: 0.5)")
    p.add_argument("--mask-threshold", type=_unit_interval, metavar="F",
                   help="P(no_mask) at which a face is labelled no_mask (default: the model card's)")
    p.add_argument("--detector-mode", choices=("fast", "accurate"),
                   help="face detector preset (default: accurate for images, fast for video)")
    p.add_argument("--face-model", type=Path, metavar="DIR", help="folder with the res10 SSD face detector files")
    p.add_argument("--realtime", action="store_true",
                   help="play a video file at its own speed, dropping frames when inference falls behind")
    p.add_argument("--no-track", action="store_true", help="label every frame on its own (no tracking, no smoothing)")
    p.add_argument("--detect-every", type=_positive_int, default=TrackerConfig.detect_every, metavar="N",
                   help="run the detector every N frames; the tracker predicts the frames in between (default: 2)")
    p.add_argument("--max-frames", type=_positive_int, metavar="N", help="stop after N frames")
    p.add_argument("--events", type=Path, metavar="PATH",
                   help="violation events as JSON Lines, with face snapshots in PATH_snapshots/")
    p.add_argument("--violation-after", type=float, default=AlertConfig.min_no_mask_s, metavar="S",
                   help="seconds a person must read no_mask before one violation is raised (default: 1.0)")
    p.add_argument("--beep", action="store_true", help="ring the terminal bell on each violation")
    p.add_argument("--on-violation", metavar="CMD",
                   help="shell command run (off the capture thread) on each violation; event JSON in $FACEMASK_EVENT")
    p.add_argument("--summary", type=Path, metavar="PATH",
                   help="end-of-run summary JSON (default: beside --events or --json when given)")


def register(subparsers) -> None:
    p = subparsers.add_parser("detect", help="detect faces and masks in images, folders, videos, cameras or streams")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="image, folder of images, video file, camera index (e.g. 0) or stream URL")
    add_detect_options(p)
    p.set_defaults(func=detect_command)


def card_parser() -> argparse.ArgumentParser:
    """The design card's entry point: `detect_video.py --source 0|FILE|URL [options]`."""
    p = argparse.ArgumentParser(prog="detect_video.py", description="Real-time face-mask detection.")
    p.add_argument("--source", dest="sources", action="append", required=True, metavar="0|FILE|URL",
                   help="camera index, video file, stream URL (or an image/folder)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    add_detect_options(p)
    p.set_defaults(func=detect_command)
    return p


def quiet_native_logs() -> None:
    """OpenCV and FFmpeg print their own warnings on stderr; the CLI reports failures itself, in one line."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@contextmanager
def native_stderr_silenced(enabled: bool = True):
    """Mute C++ banners (LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate") while models load.

    They write to file descriptor 2 directly, so only redirecting the descriptor stops them.
    Python exceptions still propagate and are printed after the descriptor is restored.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_analyzer(args: argparse.Namespace, detector: DetectorConfig, classifier: ClassifierConfig):
    from facemask.analyzer import FaceMaskAnalyzer

    with native_stderr_silenced(not getattr(args, "verbose", False)):
        return FaceMaskAnalyzer.load(detector, classifier)


def build_configs(args: argparse.Namespace, kind: str) -> tuple[DetectorConfig, ClassifierConfig, OutputConfig]:
    mode = args.detector_mode or ("fast" if kind in VIDEO_KINDS else "accurate")
    detector = DetectorConfig(confidence=args.confidence, mode=mode, model_dir=args.face_model)
    classifier = ClassifierConfig(model=args.model, threshold=args.mask_threshold)
    summary = args.summary or next(
        (p.with_name(p.stem + "_summary.json") for p in (args.events, args.json) if p is not None), None
    )
    output = OutputConfig(display=not args.no_display, output=args.output, json_path=args.json,
                          realtime=args.realtime, summary_path=summary)
    return detector, classifier, output


def build_alert_config(args: argparse.Namespace) -> AlertConfig:
    return AlertConfig(events_path=args.events, min_no_mask_s=args.violation_after, beep=args.beep,
                       on_violation=args.on_violation)


def detect_command(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        quiet_native_logs()
    from facemask.sources import source_kind

    kinds = [source_kind(spec) for spec in args.sources]
    video = [spec for spec, kind in zip(args.sources, kinds) if kind in VIDEO_KINDS]
    if video and len(args.sources) > 1:
        raise FacemaskError(f"{video[0]}: a video, camera or stream must be the only SOURCE")
    if not args.no_display:
        from facemask.sinks import check_display

        check_display()  # before minutes of model loading, not after
    if video:
        return _detect_video(args, video[0], kinds[0])
    return _detect_images(args, kinds)


def _video_output_path(output: Path, spec: str, kind: str) -> Path:
    if not output.is_dir():
        return output
    stems = {"video": Path(spec).stem, "camera": f"camera{spec}", "stream": "stream"}
    return output / f"{stems[kind]}_annotated.mp4"


def _detect_video(args: argparse.Namespace, spec: str, kind: str) -> int:
    from facemask.pipeline import run_video
    from facemask.sinks import JsonlSink, VideoFileSink, WindowSink
    from facemask.sources import open_source
    from facemask.stages import video_stages

    detector, classifier, out = build_configs(args, kind)
    analyzer = load_analyzer(args, detector, classifier)
    stages = video_stages(not args.no_track, build_alert_config(args), detect_every=args.detect_every)
    monitor = stages["monitor"]
    source = open_source(spec, realtime=out.realtime)
    with ExitStack() as stack:
        stack.callback(source.stop)
        source.start()
        # Sinks that only check their arguments come first and the one that opens a file last,
        # so a failing constructor leaves nothing open behind it.
        sinks = []
        if out.output is not None:
            sinks.append(VideoFileSink(_video_output_path(out.output, spec, kind), source.fps))
        if out.display:
            sinks.append(WindowSink(title=f"facemask: {spec}"))
        if out.json_path is not None:
            sinks.append(JsonlSink(out.json_path))
        stats = run_video(source, analyzer, sinks, max_frames=args.max_frames, **stages)
    labels = ", ".join(f"{n} {label}" for label, n in sorted(stats.labels.items())) or "none"
    print(f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} fps); face readings: {labels}")
    if monitor is not None:
        _report_summary(monitor.summary(), out.summary_path)
    if stats.stop_reason == "interrupted":
        print("stopped by Ctrl-C", file=sys.stderr)
    for sink in sinks:
        if isinstance(sink, VideoFileSink):
            print(f"wrote {sink.frames} frames to {sink.path}")
    return 0


def _report_summary(summary: dict, path: Path | None) -> None:
    """Print the end-of-run summary and write it as JSON when a path is known."""
    rate = summary.get("compliance_rate")
    print(f"people {summary['people']}, violations {summary['violations']}, "
          f"compliance {'-' if rate is None else f'{rate:.0%}'}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1, default=str))
        print(f"wrote summary to {path}")


def collect_images(specs: list[str], kinds: list[str]):
    """ImageItems for image files and folders (searched recursively, sorted), named for the output folder."""
    from facemask.pipeline import ImageItem

    items = []
    for spec, kind in zip(specs, kinds):
        path = Path(spec)
        if kind == "image":
            items.append(ImageItem(path, Path(path.name)))
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file() and looks_like_image(p))
        if not found:
            raise FacemaskError(f"{path}: no images in this folder")
        items.extend(ImageItem(p, p.relative_to(path)) for p in found)
    return items


def _detect_images(args: argparse.Namespace, kinds: list[str]) -> int:
    from facemask.pipeline import run_images
    from facemask.sinks import AnnotatedImageSink, JsonResultsSink, WindowSink

    items = collect_images(args.sources, kinds)
    detector, classifier, out = build_configs(args, kinds[0])
    analyzer = load_analyzer(args, detector, classifier)
    image_sink = AnnotatedImageSink(out.output) if out.output is not None else None
    window = WindowSink(title="facemask", wait_ms=0) if out.display else None
    json_sink = JsonResultsSink(out.json_path) if out.json_path is not None else None
    strict = len(items) == 1 and kinds == ["image"]
    stats = run_images(items, analyzer, json_sink, image_sink, window,
                       on_error=None if strict else _report_bad_image, on_result=_print_result)
    if stats.ok == 0:
        raise FacemaskError("no image could be read")
    return 1 if stats.failed else 0


def _report_bad_image(item, exc: FacemaskError) -> None:
    message = str(exc)
    if not message.startswith(str(item.path)):
        message = f"{item.path}: {message}"
    print(f"error: {message}", file=sys.stderr)


def _print_result(item, faces) -> None:
    found = ", ".join(f"{r['label']} {r['confidence']:.0%}" for r in faces.to_records() if r["confidence"] is not None)
    print(f"{item.path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + (f" ({found})" if found else ""))
