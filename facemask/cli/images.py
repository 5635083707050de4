"""`facemask detect` on images and folders: one image at a time, a line each, a bad one skipped and listed.

The images are a source (io.images.ImageSource) run through the same pipeline as a video;
the line printed per image is one more output (sinks.progress.LinesSink), first in the list, so it is
printed before the other outputs write.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from facemask.cli.configs import STDOUT, RunConfigs, load_pipeline
from facemask.cli.outputs import check_copy_size, check_image_destinations, say, single_image_output, stopped
from facemask.core.errors import PARTIAL_EXIT, FacemaskError, one_line, printable


def detect_images(args: argparse.Namespace, configs: RunConfigs, kinds: list[str]) -> int:
    from facemask.io.images import ImageSource, collect_images
    from facemask.sinks.base import WindowSink
    from facemask.sinks.images import AnnotatedImageSink, JsonResultsSink
    from facemask.sinks.progress import LinesSink
    from facemask.sinks.progress_bar import progress_bar

    items = collect_images(args.sources, kinds)
    out = configs.output
    out_dir = out.output
    if out_dir is not None and single_image_output(args):  # one image, `--output annotated.jpg`
        items = [replace(items[0], relative=Path(out_dir.name))]
        check_copy_size(items[0], out_dir)
        out_dir = out_dir.parent
    if out_dir is not None:
        check_image_destinations(items, out_dir)
    pipeline = load_pipeline(configs.pipeline())
    image_sink = AnnotatedImageSink(out_dir, [item.relative for item in items]) if out_dir is not None else None
    window = WindowSink(title="facemask", wait_ms=0) if out.display else None
    json_sink = JsonResultsSink(out.json_path) if out.json_path is not None else None
    sinks = [sink for sink in (json_sink, image_sink, window) if sink is not None]
    strict = len(items) == 1 and kinds == ["image"]
    with progress_bar(items, desc="images", enabled=not strict) as bar:

        def on_error(item, exc: FacemaskError) -> None:
            bar.write(f"error: {_error_text(item, exc)}", file=sys.stderr)
            if json_sink is not None:
                json_sink.skip(str(item.path), _error_text(item, exc))

        if image_sink is not None and not strict:
            image_sink.on_error = lambda frame, exc: bar.write(
                f"error: {one_line(str(exc))}; copy skipped", file=sys.stderr
            )
        source = ImageSource(bar, on_error=None if strict else on_error)
        lines = LinesSink(bar.write, _result_line, sys.stderr if args.json == STDOUT else sys.stdout)
        stats = pipeline.run(source, [lines, *sinks])
    if not strict:
        say(args, _batch_line(len(items), stats, source.failed))
    if window is not None and window.wants_stop:
        print("stopped by q/Esc in the window", file=sys.stderr)
    if image_sink is not None and stats.frames:
        say(args, f"wrote {image_sink.written} annotated image{'s' if image_sink.written != 1 else ''} to {out.output}")
    if stats.frames == 0:
        raise FacemaskError("no image could be read")
    if stats.stop_signal is not None:
        return stopped(stats.stop_signal)
    return PARTIAL_EXIT if source.failed or (image_sink is not None and image_sink.failed) else 0


def _batch_line(total: int, stats, failed: int) -> str:
    """`12 images: 11 read, 1 skipped; 30 faces (4 mask, 26 no_mask)`, and how many a stop left unread."""
    found = ", ".join(f"{n} {label}" for label, n in sorted(stats.labels.items()))
    left = total - stats.frames - failed
    return (
        f"{total} images: {stats.frames} read, {failed} skipped"
        + (f", {left} not reached (stopped)" if left else "")
        + f"; {stats.faces} faces"
        + (f" ({found})" if found else "")
    )


def _error_text(item, exc: FacemaskError) -> str:
    message = str(exc)
    return one_line(message if message.startswith(str(item.path)) else f"{item.path}: {message}")


def _result_line(frame, faces) -> str:
    """`photo.jpg: 2 faces (mask 97%, no_mask 88%)`."""
    found = ", ".join(f"{r['label']} {r['confidence']:.0%}" for r in faces.to_records() if r["confidence"] is not None)
    return f"{printable(frame.name)}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + (
        f" ({found})" if found else ""
    )
