"""Real-time face-mask detection from a webcam, a video file or a stream: the design card's entry point.

    python detect_video.py --source 0 [--output out.mp4] [--json frames.jsonl] [--no-display]

`facemask detect` with `--source` for its SOURCE: the same options, checks and code path
(facemask/cli/detect.py); see `python detect_video.py --help`.
"""

from __future__ import annotations

import sys

from facemask.cli.detect import card_parser
from facemask.cli.run import parse_and_run


def main(argv: list[str] | None = None) -> int:
    return parse_and_run(card_parser, argv)


if __name__ == "__main__":
    sys.exit(main())
