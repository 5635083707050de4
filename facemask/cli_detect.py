"""`facemask detect SOURCE...` and `detect_video.py --source ...`: one set of options, one code path.

Arguments become configs here; the pipeline does the work. Images and folders get the
detector's `accurate` mode, video and cameras `fast`, unless `--detector-mode` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from facemask.config import FACE_DETECTORS, AlertConfig, ClassifierConfig, DetectorConfig, OutputConfig, TrackerConfig
from facemask.errors import FacemaskError, one_line
from facemask.quiet import native_stderr_silenced, quiet_native_logs

VIDEO_KINDS = ("camera", "stream", "video")
STDOUT = Path("-")  # `--json -`: results on stdout, the human-readable lines move to stderr


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def add_face_detector_option(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """`--face-detector`, spelt once for every command that runs the face detector."""
    p.add_argument("--face-detector", choices=FACE_DETECTORS, default=DetectorConfig.backend, help=help)


def add_model_option(p: argparse.ArgumentParser) -> None:
    """`--model`, spelt once for every command that runs the mask classifier."""
    p.add_argument(
        "--model",
        default="default",
        metavar="default|resnet50|lite|PATH",
        help="mask classifier: a shipped name, or a .tflite/.keras model or mean card .json with its card beside it "
        "(default: default, the fitted mean of resnet50, lite and lite128)",
    )


def add_detect_options(p: argparse.ArgumentParser) -> None:
    """The options `facemask detect` and `detect_video.py` share."""
    p.add_argument(
        "--no-display",
        action="store_true",
        help="no preview window for video, cameras and streams (for servers and batch runs)",
    )
    p.add_argument(
        "--display",
        action="store_true",
        help="show images in a window too, one at a time (any key: next; q or Esc: stop the batch)",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="results as JSON: one line per frame for video, one document for images; - for stdout",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="annotated output: a video file for video; a folder for images, or a file for one image",
    )
    add_model_option(p)
    p.add_argument(
        "--confidence",
        type=_unit_interval,
        default=0.5,
        metavar="F",
        help="minimum face detection confidence (default: 0.5)",
    )
    p.add_argument(
        "--mask-threshold",
        type=_unit_interval,
        metavar="F",
        help="P(no_mask) at which a face is labelled no_mask (default: the model card's)",
    )
    p.add_argument(
        "--detector-mode",
        choices=("fast", "accurate"),
        help="face detector preset (default: accurate for images, fast for video)",
    )
    add_face_detector_option(p, "res10 (SSD), yunet, or fused: both merged, finds most masked faces (default: fused)")
    p.add_argument("--face-model", type=Path, metavar="DIR", help="folder with the res10 SSD face detector files")
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a video file at its own speed, dropping frames when inference falls behind",
    )
    p.add_argument("--no-track", action="store_true", help="label every frame on its own (no tracking, no smoothing)")
    p.add_argument(
        "--detect-every",
        type=positive_int,
        default=TrackerConfig.detect_every,
        metavar="N",
        help="run the detector every N frames; the tracker predicts the frames in between (default: 2)",
    )
    p.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N frames")
    p.add_argument(
        "--events",
        type=Path,
        metavar="PATH",
        help="violation events as JSON Lines, with face snapshots in PATH_snapshots/",
    )
    p.add_argument(
        "--violation-after",
        type=float,
        default=AlertConfig.min_no_mask_s,
        metavar="S",
        help="seconds a person must read no_mask before one violation is raised (default: 1.0)",
    )
    p.add_argument("--beep", action="store_true", help="ring the terminal bell on each violation")
    p.add_argument(
        "--on-violation",
        metavar="CMD",
        help="shell command run (off the capture thread) on each violation; event JSON in $FACEMASK_EVENT; "
        "it runs in its own process group, ended with the run",
    )
    p.add_argument(
        "--summary",
        type=Path,
        metavar="PATH",
        help="end-of-run summary JSON (default: beside --events or --json when given)",
    )
    p.add_argument(
        "--open-timeout",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="streams and cameras: seconds to wait for the first frame and any later one (default: 10)",
    )
    p.add_argument(
        "--reconnect",
        type=_count,
        default=0,
        metavar="N",
        help="streams: reopen a stream that stops, up to N times in a row, 1, 2, 4... s apart (default: 0)",
    )
    p.add_argument(
        "--max-megapixels",
        type=float,
        metavar="MP",
        help="refuse images and video frames whose header declares more pixels than this (default: 50)",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser("detect", help="detect faces and masks in images, folders, videos, cameras or streams")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="image, folder of images, video file, camera index (e.g. 0) or stream URL",
    )
    add_detect_options(p)
    p.set_defaults(func=detect_command)


def card_parser() -> argparse.ArgumentParser:
    """The design card's entry point: `detect_video.py --source 0|FILE|URL [options]`."""
    p = argparse.ArgumentParser(prog="detect_video.py", description="Real-time face-mask detection.")
    p.add_argument(
        "--source",
        dest="sources",
        action="append",
        required=True,
        metavar="0|FILE|URL",
        help="camera index, video file, stream URL (or an image/folder)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    add_detect_options(p)
    p.set_defaults(func=detect_command)
    return p


def load_analyzer(args: argparse.Namespace, detector: DetectorConfig, classifier: ClassifierConfig):
    from facemask.analyzer import FaceMaskAnalyzer

    with native_stderr_silenced(not getattr(args, "verbose", False)):
        return FaceMaskAnalyzer.load(detector, classifier)


def build_configs(args: argparse.Namespace, kind: str) -> tuple[DetectorConfig, ClassifierConfig, OutputConfig]:
    mode = args.detector_mode or ("fast" if kind in VIDEO_KINDS else "accurate")
    detector = DetectorConfig(
        confidence=args.confidence, mode=mode, model_dir=args.face_model, backend=args.face_detector
    )
    classifier = ClassifierConfig(model=args.model, threshold=args.mask_threshold)
    summary = args.summary or next(
        (
            p.with_name(p.stem + "_summary.json")
            for p in (args.events, args.json)
            if p is not None and p != STDOUT and not _is_device(p)
        ),
        None,
    )
    display = not args.no_display if kind in VIDEO_KINDS else args.display  # images: only when asked
    output = OutputConfig(
        display=display, output=args.output, json_path=args.json, realtime=args.realtime, summary_path=summary
    )
    return detector, classifier, output


def build_alert_config(args: argparse.Namespace) -> AlertConfig:
    return AlertConfig(
        events_path=args.events, min_no_mask_s=args.violation_after, beep=args.beep, on_violation=args.on_violation
    )


def detect_command(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        quiet_native_logs()
    from facemask.sources import source_kind

    kinds = [source_kind(spec) for spec in args.sources]
    video = [spec for spec, kind in zip(args.sources, kinds) if kind in VIDEO_KINDS]
    if video and len(args.sources) > 1:
        raise FacemaskError(f"{video[0]}: a video, camera or stream must be the only SOURCE")
    check_option_combinations(args, kinds)
    set_pixel_budget(getattr(args, "max_megapixels", None))
    check_detect_outputs(args, kinds)
    if build_configs(args, kinds[0])[2].display:
        from facemask.sinks import check_display

        check_display()  # before minutes of model loading, not after
    if video:
        return _detect_video(args, video[0], kinds[0])
    return _detect_images(args, kinds)


def check_option_combinations(args: argparse.Namespace, kinds: list[str]) -> None:
    """Options that would silently do nothing are errors instead."""
    video = kinds[0] in VIDEO_KINDS
    if args.display and args.no_display:
        raise FacemaskError("--display and --no-display contradict each other")
    if args.events is not None and not video:
        raise FacemaskError("--events needs a video, camera or stream (violations are tracked over time)")
    if args.events is not None and args.no_track:
        raise FacemaskError("--events needs tracking: drop --no-track")
    if args.summary is not None and (not video or args.no_track):
        raise FacemaskError("--summary needs a tracked video, camera or stream")
    if not video and _single_image_output(args) and (len(kinds) > 1 or kinds[0] != "image"):
        raise FacemaskError(f"{args.output}: --output takes a folder when there is more than one image")
    if (args.open_timeout != 10.0 or args.reconnect) and kinds[0] not in ("camera", "stream"):
        raise FacemaskError("--open-timeout and --reconnect apply to cameras and streams only")


def _single_image_output(args: argparse.Namespace) -> bool:
    """`--output NAME.jpg` (an image suffix, not an existing folder) names one annotated file."""
    from facemask.imageio import IMAGE_SUFFIXES

    output = args.output
    return output is not None and output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir()


def say(args: argparse.Namespace, text: str) -> None:
    """A human-readable line: stdout, or stderr when `--json -` has stdout."""
    print(text, file=sys.stderr if args.json == STDOUT else sys.stdout)


def set_pixel_budget(megapixels: float | None) -> None:
    """`--max-megapixels` reaches every image reader in this process (see imageio.pixel_budget)."""
    from facemask.imageio import MAX_PIXELS_ENV

    if megapixels is None:
        return
    if not 0 < megapixels < 1e9:  # NaN and infinity fail this too
        raise FacemaskError(f"--max-megapixels must be a number above 0 and below 1e9, got {megapixels}")
    os.environ[MAX_PIXELS_ENV] = str(int(megapixels * 1e6))


def check_detect_outputs(args: argparse.Namespace, kinds: list[str]) -> None:
    """Before any model loads: no output over an input or inside an input folder, none given twice,
    and each one's folder writable, so a long run cannot end in a lost result."""
    from facemask.imageio import VIDEO_SUFFIXES
    from facemask.safeio import check_outputs, check_writable

    inputs = [
        Path(spec) for spec, kind in zip(args.sources, kinds) if kind not in ("camera", "stream") and "://" not in spec
    ]
    output = args.output
    if output is not None and kinds[0] in VIDEO_KINDS:
        output = _video_output_path(output, args.sources[0], kinds[0])
    summary = build_configs(args, kinds[0])[2].summary_path
    json_path = None if args.json == STDOUT else args.json
    outputs = {"--output": output, "--json": json_path, "--events": args.events, "--summary": summary}
    check_outputs(outputs, inputs)
    if output is not None and kinds[0] in VIDEO_KINDS and output.suffix.lower() not in VIDEO_SUFFIXES:
        raise FacemaskError(
            f"{output}: --output for a video needs a video file name ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder"
        )
    for option, path in outputs.items():
        if path is not None and not (option == "--output" and kinds[0] not in VIDEO_KINDS):
            check_writable(path, option)


def _is_device(path: Path) -> bool:
    """`/dev/null` and the like: no summary file is put beside them."""
    return path.exists() and not path.is_file() and not path.is_dir()


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
    source = open_source(spec, realtime=out.realtime, timeout_s=args.open_timeout, reconnect=args.reconnect)
    sinks = []
    with ExitStack() as stack:
        stack.callback(source.stop)
        source.start()
        # Sinks that only check their arguments come first and the one that opens a file last,
        # so a failing constructor leaves nothing open behind it.
        if out.output is not None:
            sinks.append(VideoFileSink(_video_output_path(out.output, spec, kind), source.fps))
        if out.display:
            sinks.append(WindowSink(title=f"facemask: {spec}"))
        if out.json_path is not None:
            sinks.append(JsonlSink(out.json_path))
        progress = progress_sink(source)
        if progress is not None:
            sinks.append(progress)
        try:
            stats = run_video(source, analyzer, sinks, max_frames=args.max_frames, **stages)
        except FacemaskError:
            if monitor is not None:  # a stream that gave up still gets its summary
                _report_summary(args, monitor.summary(), out.summary_path)
            raise
    labels = ", ".join(f"{n} {label}" for label, n in sorted(stats.labels.items())) or "none"
    say(args, f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} fps); face readings: {labels}")
    if monitor is not None:
        _report_summary(args, monitor.summary(), out.summary_path)
    for sink in sinks:
        if isinstance(sink, VideoFileSink):
            say(args, f"wrote {sink.frames} frames to {sink.path}" + (f" ({sink.codec})" if sink.codec else ""))
    if stats.stop_signal is not None:
        from facemask.stopsignals import exit_code, signal_name

        print(f"stopped by {signal_name(stats.stop_signal)}", file=sys.stderr)
        return exit_code(stats.stop_signal)
    return 0


def progress_sink(source):
    """A progress bar for a video file when stderr is a terminal (cameras and streams have no end)."""
    from facemask.progress import show_progress
    from facemask.sinks_progress import ProgressBarSink
    from facemask.sources import FileSource

    if not isinstance(source, FileSource) or not show_progress():
        return None
    return ProgressBarSink(total=source.expected_frames or None, desc=source.path.name)


def _report_summary(args: argparse.Namespace, summary: dict, path: Path | None) -> None:
    """Print the end-of-run summary and write it as JSON when a path is known."""
    from facemask.labels import compliance_text

    say(
        args,
        f"people {summary['people']}, violations {summary['violations']}, "
        f"compliance {compliance_text(summary.get('compliance_rate'))}",
    )
    if path is not None:
        from facemask.safeio import write_text

        write_text(path, json.dumps(summary, indent=1, default=str))
        say(args, f"wrote summary to {path}")


def collect_images(specs: list[str], kinds: list[str]):
    """ImageItems for image files and folders (searched recursively, sorted), named for the output folder."""
    from facemask.imageio import looks_like_image
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
    from facemask.progress import progress_bar
    from facemask.sinks import WindowSink
    from facemask.sinks_images import AnnotatedImageSink, JsonResultsSink

    items = collect_images(args.sources, kinds)
    detector, classifier, out = build_configs(args, kinds[0])
    out_dir = out.output
    if out_dir is not None and _single_image_output(args):  # one image, `--output annotated.jpg`
        items = [replace(items[0], relative=Path(out_dir.name))]
        out_dir = out_dir.parent
    if out_dir is not None:
        check_image_destinations(items, out_dir)
    analyzer = load_analyzer(args, detector, classifier)
    image_sink = AnnotatedImageSink(out_dir, [item.relative for item in items]) if out_dir is not None else None
    window = WindowSink(title="facemask", wait_ms=0) if out.display else None
    json_sink = JsonResultsSink(out.json_path) if out.json_path is not None else None
    sinks = [sink for sink in (json_sink, image_sink, window) if sink is not None]
    strict = len(items) == 1 and kinds == ["image"]
    totals: Counter = Counter()
    with progress_bar(items, desc="images", enabled=not strict) as bar:

        def on_error(item, exc: FacemaskError) -> None:
            bar.write(f"error: {_error_text(item, exc)}", file=sys.stderr)
            if json_sink is not None:
                json_sink.skip(str(item.path), _error_text(item, exc))

        def on_result(item, faces) -> None:
            totals.update(str(label) for label in faces.label)
            bar.write(_result_line(item, faces), file=sys.stderr if args.json == STDOUT else sys.stdout)

        stats = run_images(bar, analyzer, sinks, on_error=None if strict else on_error, on_result=on_result)
    if not strict:
        labels = ", ".join(f"{n} {label}" for label, n in sorted(totals.items()))
        left = len(items) - stats.ok - stats.failed
        say(
            args,
            f"{len(items)} images: {stats.ok} read, {stats.failed} skipped"
            + (f", {left} not reached (stopped)" if left else "")
            + f"; {stats.faces} faces"
            + (f" ({labels})" if labels else ""),
        )
    if window is not None and window.wants_stop:
        print("stopped by q/Esc in the window", file=sys.stderr)
    if image_sink is not None and stats.ok:
        say(args, f"wrote {image_sink.written} annotated image{'s' if image_sink.written != 1 else ''} to {out.output}")
    if stats.ok == 0:
        raise FacemaskError("no image could be read")
    if stats.stop_signal is not None:
        from facemask.stopsignals import exit_code, signal_name

        print(f"stopped by {signal_name(stats.stop_signal)}", file=sys.stderr)
        return exit_code(stats.stop_signal)
    return 1 if stats.failed else 0


def check_image_destinations(items, out_dir: Path) -> None:
    """Each annotated copy gets its own file, and none lands on an input image."""
    from facemask.sinks_images import output_name

    sources = {item.path.resolve(): item.path for item in items}
    taken: dict[Path, Path] = {}
    for item in items:
        dest = (out_dir / output_name(item.relative)).resolve()
        if dest in sources:
            raise FacemaskError(f"{out_dir}: --output would overwrite the input {sources[dest]}; pick another folder")
        if dest in taken:
            raise FacemaskError(f"{taken[dest]} and {item.path} would both be written to {dest}")
        taken[dest] = item.path


def _error_text(item, exc: FacemaskError) -> str:
    message = str(exc)
    return one_line(message if message.startswith(str(item.path)) else f"{item.path}: {message}")


def _result_line(item, faces) -> str:
    found = ", ".join(f"{r['label']} {r['confidence']:.0%}" for r in faces.to_records() if r["confidence"] is not None)
    return f"{item.path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + (f" ({found})" if found else "")
