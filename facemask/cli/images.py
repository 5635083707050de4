"""`facemask detect` on images and folders: one image at a time, a line each, a bad one skipped and listed."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from facemask.cli.configs import STDOUT, build_configs, load_pipeline, pipeline_config
from facemask.cli.outputs import check_image_destinations, say, single_image_output, stopped
from facemask.errors import FacemaskError, one_line


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


def detect_images(args: argparse.Namespace, kinds: list[str]) -> int:
    from facemask.pipeline import run_images
    from facemask.progress import progress_bar
    from facemask.sinks import WindowSink
    from facemask.sinks_images import AnnotatedImageSink, JsonResultsSink

    items = collect_images(args.sources, kinds)
    out = build_configs(args, kinds[0])[2]
    out_dir = out.output
    if out_dir is not None and single_image_output(args):  # one image, `--output annotated.jpg`
        items = [replace(items[0], relative=Path(out_dir.name))]
        out_dir = out_dir.parent
    if out_dir is not None:
        check_image_destinations(items, out_dir)
    pipeline = load_pipeline(args, pipeline_config(args, kinds[0]))
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

        stats = run_images(bar, pipeline.analyzer, sinks, on_error=None if strict else on_error, on_result=on_result)
    if not strict:
        say(args, _batch_line(len(items), stats, totals))
    if window is not None and window.wants_stop:
        print("stopped by q/Esc in the window", file=sys.stderr)
    if image_sink is not None and stats.ok:
        say(args, f"wrote {image_sink.written} annotated image{'s' if image_sink.written != 1 else ''} to {out.output}")
    if stats.ok == 0:
        raise FacemaskError("no image could be read")
    if stats.stop_signal is not None:
        return stopped(stats.stop_signal)
    return 1 if stats.failed else 0


def _batch_line(total: int, stats, labels: Counter) -> str:
    """`12 images: 11 read, 1 skipped; 30 faces (4 mask, 26 no_mask)`, and how many a stop left unread."""
    found = ", ".join(f"{n} {label}" for label, n in sorted(labels.items()))
    left = total - stats.ok - stats.failed
    return (
        f"{total} images: {stats.ok} read, {stats.failed} skipped"
        + (f", {left} not reached (stopped)" if left else "")
        + f"; {stats.faces} faces"
        + (f" ({found})" if found else "")
    )


def _error_text(item, exc: FacemaskError) -> str:
    message = str(exc)
    return one_line(message if message.startswith(str(item.path)) else f"{item.path}: {message}")


def _result_line(item, faces) -> str:
    found = ", ".join(f"{r['label']} {r['confidence']:.0%}" for r in faces.to_records() if r["confidence"] is not None)
    return f"{item.path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + (f" ({found})" if found else "")
