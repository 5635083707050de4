"""The face check's data: detector candidates at a low cut on the scenes, and contact sheets to label them by eye.

    python tools/face_check_data.py harvest [--data ../shared/data/mask-detection] [--out runs/facecheck]
    python tools/face_check_data.py sheets --split train [--min-score 0.1] [--out runs/facecheck]
    python tools/face_check_data.py label --index SHEETS/x_index.tsv --notes NOTES.txt --labels OUT.json
    python tools/face_check_data.py closer --index SHEETS/x_index.tsv --labels LABELS.json --out DIR

`harvest` runs the fused detector (`--mode`, image mode by default, no face check) down to a score of 0.02 on every
scene once and keeps each candidate with its split (`voc.scene_split`), its score and the
annotated face it matches (IoU >= 0.3, as tools/score_detection.py matches), in
`OUT/candidates_<mode>.pkl`. `sheets` draws every candidate of a split that matches no annotated face,
best score first, 48 to a numbered sheet (`OUT/sheets/<mode>_<split>_NN.jpg`, evaluation/sheets.py):
the box in its context, so a person can tell a face nobody annotated from a hand, an ear or a sign.
`closer` draws the boxes a labels file still calls undecided again, larger, for a second look.
`label` turns their notes per sheet into `{"scene", "box", "label": "face" | "not_face" | "undecided"}`
entries (docs/bench/by_eye/), which tools/train_face_check.py and tools/tune_check.py read.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

from facemask.core.config import DetectorConfig
from facemask.detection.loader import load_face_detector
from facemask.evaluation.by_eye import ByEye, entry
from facemask.evaluation.sheets import Shown, read_index, write_closer, write_sheets
from facemask.io.imageio import read_image
from facemask.training.voc import match, scene_split, voc_dataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"
FLOOR = 0.02


def harvest(data: Path, out: Path, mode: str) -> None:
    pairs = voc_dataset(data)
    split = {name: part for part, names in scene_split(pairs).items() for name in names}
    detector = load_face_detector(DetectorConfig(mode=mode, confidence=FLOOR, face_check=False))
    rows = []
    for n, (path, gt) in enumerate(pairs):
        faces = detector.detect(read_image(path))
        rows.append(
            {
                "scene": path.name,
                "split": split[path.name],
                "xyxy": faces.xyxy,
                "score": faces.score,
                "gt": match(faces.xyxy, faces.score, gt.xyxy, 0.3),
                "gt_xyxy": gt.xyxy,
                "gt_class": gt.classes,
            }
        )
        if n % 100 == 0:
            print(f"{n}/{len(pairs)} scenes", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"candidates_{mode}.pkl").write_bytes(pickle.dumps(rows))


def unmatched(
    rows: list[dict], split: str, min_score: float, max_score: float = 1.0
) -> list[tuple[str, int, float, np.ndarray]]:
    """(scene, candidate index, score, box) of every candidate in `split` that matches no face, best first."""
    found = [
        (r["scene"], i, float(r["score"][i]), r["xyxy"][i])
        for r in rows
        if r["split"] in split.split("+")
        for i in np.flatnonzero((r["gt"] < 0) & (r["score"] >= min_score) & (r["score"] < max_score))
    ]
    return sorted(found, key=lambda x: -x[2])


def sheets(data: Path, out: Path, split: str, scores: tuple[float, float], mode: str, skip: Path | None) -> None:
    """Sheets of a split's unmatched candidates; with `skip`, only those that labels file does not cover."""
    rows = pickle.loads((out / f"candidates_{mode}.pkl").read_bytes())
    todo = unmatched(rows, split, *scores)
    if skip is not None:
        by_eye = ByEye.load(skip)
        todo = [t for t in todo if by_eye.label(t[0], t[3][None])[0] is None]
    shown = [Shown(data / "images" / scene, box, score) for scene, _, score, box in todo]
    write_sheets(shown, out / "sheets", f"{mode}_{split}_{scores[0]}-{scores[1]}")
    print(f"{len(todo)} unmatched candidates scoring {scores[0]}-{scores[1]} in {split}: {out / 'sheets'}")


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
    ap.add_argument("what", choices=("harvest", "sheets", "closer", "label"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "facecheck")
    ap.add_argument("--split", default="train+val")
    ap.add_argument("--min-score", type=float, default=0.1)
    ap.add_argument("--max-score", type=float, default=1.0)
    ap.add_argument("--mode", choices=("fast", "accurate"), default="accurate", help="the detector preset")
    ap.add_argument("--skip-labelled", type=Path, help="sheets: leave out the boxes this labels file covers")
    ap.add_argument("--index", type=Path, help="label, closer: a sheets' index (TSV)")
    ap.add_argument("--notes", type=Path, help="label: what a person noted per sheet")
    ap.add_argument("--labels", type=Path, help="label: the JSON to write; closer: the labels to read")
    ap.add_argument("--about", default="", help="label: how the boxes were chosen and looked at")
    args = ap.parse_args()
    if args.what == "label":
        label(args.index, args.notes, args.labels, args.about)
    elif args.what == "closer":
        closer(args.data, args.index, args.labels, args.out)
    elif args.what == "harvest":
        harvest(args.data, args.out, args.mode)
    else:
        sheets(args.data, args.out, args.split, (args.min_score, args.max_score), args.mode, args.skip_labelled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
