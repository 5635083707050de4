"""Where `facemask detect` writes: every output path checked before any model loads, and the lines it prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facemask.cli.configs import STDOUT, VIDEO_KINDS
from facemask.core.errors import FacemaskError, printable


def say(args: argparse.Namespace, text: str) -> None:
    """A human-readable line (a name's control characters escaped): stdout, or stderr when `--json -` has stdout."""
    print(printable(text), file=sys.stderr if args.json == STDOUT else sys.stdout)


def stopped(signal_number: int) -> int:
    """Say which signal ended the run; its conventional exit status."""
    from facemask.pipeline.stopsignals import exit_code, signal_name

    print(f"stopped by {signal_name(signal_number)}", file=sys.stderr)
    return exit_code(signal_number)


def single_image_output(args: argparse.Namespace) -> bool:
    """`--output NAME.jpg` (an image suffix, not an existing folder) names one annotated file."""
    from facemask.io.imageio import IMAGE_SUFFIXES

    output = args.output
    return output is not None and output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir()


def video_output_path(output: Path, spec: str, kind: str) -> Path:
    """`--output` for a video: the file named, or `<name>_annotated.mp4` in the folder named."""
    if not output.is_dir():
        return output
    stems = {"video": Path(spec).stem, "camera": f"camera{spec}", "stream": "stream"}
    return output / f"{stems[kind]}_annotated.mp4"


def check_detect_outputs(args: argparse.Namespace, kinds: list[str], summary: Path | None) -> None:
    """Before any model loads: no output over an input or inside an input folder, none given twice,
    and each one's folder writable, so a long run cannot end in a lost result. `summary`: where the
    summary goes (RunConfigs.output.summary_path)."""
    from facemask.io.imageio import VIDEO_SUFFIXES
    from facemask.io.safeio import check_outputs, check_writable

    inputs = [
        Path(spec) for spec, kind in zip(args.sources, kinds) if kind not in ("camera", "stream") and "://" not in spec
    ]
    video = kinds[0] in VIDEO_KINDS
    output = args.output
    if output is not None and video:
        output = video_output_path(output, args.sources[0], kinds[0])
    if args.json == STDOUT:
        from facemask.io.stdio import standard_output

        standard_output()  # refused before any model loads when stdout is closed
    json_path = None if args.json == STDOUT else args.json
    outputs = {
        "--output": output,
        "--json": json_path,
        "--events": args.events,
        "--summary": summary,
        "--report": args.report,
    }
    check_outputs(outputs, inputs)
    if output is not None and video and output.suffix.lower() not in VIDEO_SUFFIXES:
        raise FacemaskError(
            f"{output}: --output for a video needs a video file name ({', '.join(sorted(VIDEO_SUFFIXES))}) or a folder"
        )
    if output is not None and not video and output.suffix.lower() in VIDEO_SUFFIXES and not output.is_dir():
        raise FacemaskError(
            f"{output}: --output for photos takes a folder, or for one photo an image file name (.jpg, .png); "
            "this names a video"
        )
    for option, path in outputs.items():
        if path is not None and (option != "--output" or video):
            check_writable(path, option)


def check_image_destinations(items, out_dir: Path) -> None:
    """Each annotated copy gets its own file, and none lands on an input image."""
    from facemask.io.safeio import real_path
    from facemask.sinks.images import output_name

    sources = {real_path(item.path): item.path for item in items}
    taken: dict[Path, Path] = {}
    for item in items:
        dest = real_path(out_dir / output_name(item.relative))
        if dest in sources:
            raise FacemaskError(f"{out_dir}: --output would overwrite the input {sources[dest]}; pick another folder")
        if dest in taken:
            raise FacemaskError(f"{taken[dest]} and {item.path} would both be written to {dest}")
        taken[dest] = item.path


def check_copy_size(item, dest: Path) -> None:
    """One image with `--output NAME.jpg`: a picture its format cannot hold is refused before the run.

    In a batch the copy keeps its image's format, which holds it; an odd one is skipped when written.
    """
    from facemask.io.imageheader import header_size
    from facemask.io.imageio import read_image_bytes
    from facemask.sinks.images import encode_problem

    try:
        size = header_size(read_image_bytes(item.path))
    except (FacemaskError, OverflowError):  # OverflowError: more pixels than any reader takes (a bomb)
        return  # unreadable: the run says why
    why = size and encode_problem(dest.suffix, *size)
    if why:
        raise FacemaskError(f"{dest}: {why}")
