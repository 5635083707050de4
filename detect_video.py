"""Real-time face-mask detection from a webcam, a video file or a stream: the design card's entry point.

    python detect_video.py --source 0 [--output out.mp4] [--json frames.jsonl] [--no-display]

The same options and code path as `facemask detect`; see `python detect_video.py --help`.
"""

from __future__ import annotations

import sys

from facemask.cli import run_command
from facemask.cli_detect import card_parser


def main(argv: list[str] | None = None) -> int:
    return run_command(card_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
