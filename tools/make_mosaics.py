"""Build the mosaic scenes photos are tuned and scored on: 2x2 and 3x3 grids of the 853 set's photos.

    python tools/make_mosaics.py [--data ../shared/data/mask-detection] [--out runs/mosaics] [--seed 7]

Writes `OUT/trainval/` (from the train and val photos of `voc.scene_split`, for tuning) and `OUT/test/`
(from the test photos only, for the figures), each a Pascal VOC folder (images/, annotations/) that
`tools/score_detection.py --data OUT/test --split all` scores, plus `OUT/index.json` naming each
mosaic's source photos. Every photo sits in one mosaic of its split; the same seed gives the same files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.evaluation.mosaics import plan, write_mosaics
from facemask.training.voc import scene_split, voc_dataset

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mask-detection"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the 853 set (images/, annotations/)")
    parser.add_argument("--out", type=Path, default=Path("runs/mosaics"), help="where the two folders go")
    parser.add_argument("--seed", type=int, default=7, help="which photos share a mosaic")
    args = parser.parse_args(argv)
    try:
        pairs = voc_dataset(args.data)
        split = scene_split(pairs)
        by_name = {path.name: (path, ann) for path, ann in pairs}
        index = {}
        for name, members in (("trainval", split["train"] + split["val"]), ("test", split["test"])):
            index[name] = write_mosaics(by_name, args.out / name, plan(sorted(members), args.seed), name)
    except (FacemaskError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (args.out / "index.json").write_text(json.dumps({"seed": args.seed, "mosaics": index}, indent=1) + "\n")
    print(", ".join(f"{name}: {len(items)} mosaics" for name, items in index.items()), f"in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
