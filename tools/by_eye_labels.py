"""By-eye labels of detector boxes: a person's notes on the contact sheets become labels; undecided boxes drawn again.

    python tools/by_eye_labels.py label --index SHEETS/x_index.tsv --notes NOTES.txt --labels OUT.json
    python tools/by_eye_labels.py closer --index SHEETS/x_index.tsv --labels LABELS.json --out DIR

The sheets come from tools/tune_centerface.py `--sheets` and tools/score_detection.py `--sheets`
(evaluation/sheets.py): the unmatched boxes, numbered, in their context, with an index (TSV), so a
person can tell a face nobody annotated from a hand, an ear or a sign. `label` turns their notes per
sheet into `{"scene", "box", "label": "face" | "not_face" | "undecided"}` entries (docs/bench/by_eye/),
which those tools read back (`--labels`, `--by-eye`) to count precision by eye. `closer` draws the
boxes a labels file still calls undecided again, larger, for a second look.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facemask.evaluation.by_eye import ByEye, entry
from facemask.evaluation.sheets import Shown, read_index, write_closer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"


def closer(data: Path, index: Path, labels: Path, out: Path) -> None:
    """Sheets that look again, larger, at the boxes of a sheets' index still labelled undecided."""
    by_eye = ByEye.load(labels)
    todo = []
    for number, scene, xyxy, score in read_index(index):
        if by_eye.label(scene, xyxy[None])[0] == "undecided":
            todo.append((number, Shown(data / "images" / scene, xyxy, score)))
    paths = write_closer(todo, out, index.stem.removesuffix("_index"))
    print(f"{len(todo)} undecided boxes on {len(paths)} sheets: {out}")


def label(index: Path, notes: Path, out: Path, about: str) -> None:
    """Turn what a person noted per sheet into by-eye labels: every box on a sheet is a face unless noted.

    `notes`: a line a sheet, `NN not_face=3,17 undecided=20` (numbers as on the sheets).
    """
    said: dict[int, str] = {}
    for line in notes.read_text().splitlines():
        for part in line.split()[1:]:
            name, _, numbers = part.partition("=")
            said |= {int(n): name for n in numbers.split(",") if n}
    boxes = [entry(scene, xyxy, said.get(number, "face")) for number, scene, xyxy, _ in read_index(index)]
    counts = {k: sum(b["label"] == k for b in boxes) for k in ("face", "not_face", "undecided")}
    lines = [json.dumps(b) for b in boxes]
    head = json.dumps({"about": about, "sheets": str(index.parent), "counts": counts}, indent=1)[:-2]
    out.write_text(head + ',\n "boxes": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n")
    print(f"{out}: {counts}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("label", "closer"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "by_eye", help="closer: where its sheets go")
    ap.add_argument("--index", type=Path, help="label, closer: a sheets' index (TSV)")
    ap.add_argument("--notes", type=Path, help="label: what a person noted per sheet")
    ap.add_argument("--labels", type=Path, help="label: the JSON to write; closer: the labels to read")
    ap.add_argument("--about", default="", help="label: how the boxes were chosen and looked at")
    args = ap.parse_args()
    if args.what == "label":
        label(args.index, args.notes, args.labels, args.about)
    else:
        closer(args.data, args.index, args.labels, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
