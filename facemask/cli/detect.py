"""`facemask detect SOURCE...` and `detect_video.py --source ...`: one set of options, one code path.

Options become configs (configs.py), output paths are checked before any model loads
(outputs.py), then a video, camera or stream runs through video.py and images and folders
through images.py.
"""

from __future__ import annotations

import argparse

from facemask.cli import options
from facemask.cli.configs import STDOUT, VIDEO_KINDS, RunOptions, build_configs, set_pixel_budget
from facemask.cli.outputs import check_detect_outputs, single_image_output
from facemask.cli.parser import Parser
from facemask.core.config import OPEN_TIMEOUT_S
from facemask.core.errors import FacemaskError


def register(subparsers) -> None:
    p = subparsers.add_parser("detect", help="detect faces and masks in images, folders, videos, cameras or streams")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="image, folder of images, video file, camera index (e.g. 0) or stream URL; several videos, cameras "
        "and streams run together, each with its own outputs (--output DIR or 'out/{name}.mp4'); exit code 1 "
        "when some of them failed and the others finished",
    )
    _add_arguments(p)


def card_parser() -> argparse.ArgumentParser:
    """The design card's entry point: `detect_video.py --source 0|FILE|URL [options]`, the same options as detect."""
    p = Parser(prog="detect_video.py", description="Real-time face-mask detection.")
    p.add_argument(
        "--source",
        dest="sources",
        action="append",
        required=True,
        metavar="0|FILE|URL",
        help="camera index, video file, stream URL (or an image/folder); repeat for several images",
    )
    options.add_verbose(p)
    _add_arguments(p)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    options.add_detect_options(p)
    # Native logs are muted for the whole run unless -v (cli/run.py): libpng's warnings, FFmpeg's `[h264 @ ...]`
    # lines, LiteRT's delegate banner; Python's own lines and the --on-violation command's output still show.
    p.set_defaults(func=run, mute_native=True)


def run(args: argparse.Namespace) -> int:
    from facemask.io.sources import source_kind

    kinds = [source_kind(spec) for spec in args.sources]
    video = [spec for spec, kind in zip(args.sources, kinds) if kind in VIDEO_KINDS]
    if video and len(video) < len(args.sources):
        raise FacemaskError(
            f"{video[0]}: videos, cameras and streams cannot be mixed with images or folders in one run"
        )
    check_option_combinations(args, kinds)
    set_pixel_budget(args.max_megapixels)
    configs = build_configs(RunOptions.from_args(args), kinds[0])  # once: every part of the run reads these
    if len(video) > 1:
        from facemask.cli.multi_source import detect_sources

        return detect_sources(args, configs, kinds)
    check_detect_outputs(args, kinds, configs.output.summary_path)
    if configs.output.display:
        from facemask.sinks.base import check_display

        check_display()  # before minutes of model loading, not after
    if video:
        from facemask.cli.video import detect_video

        return detect_video(args, configs, video[0])
    from facemask.cli.images import detect_images

    return detect_images(args, configs, kinds)


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
    if not video and single_image_output(args) and (len(kinds) > 1 or kinds[0] != "image"):
        raise FacemaskError(f"{args.output}: --output takes a folder when there is more than one image")
    if args.report is not None and (not video or args.json is None or args.json == STDOUT):
        raise FacemaskError("--report needs a video, camera or stream and --json FILE (the report is drawn from it)")
    live = any(kind in ("camera", "stream") for kind in kinds)
    if (args.open_timeout != OPEN_TIMEOUT_S or args.reconnect) and not live:
        raise FacemaskError("--open-timeout and --reconnect apply to cameras and streams only")
