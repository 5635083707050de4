"""Score a face detector (and the mask classifier on its faces) on the 853 annotated scenes; write JSON and a curve.

    python tools/score_detection.py [--data ../shared/data/mask-detection] [--face-detector centerface|res10]
        [--mode fast|accurate|reference] [--split test|all] [--confidence F] [--model default|resnet50|lite|PATH|none]
        [--json PATH] [--curve PNG] [--limit N]

Recall by face size and class, precision for faces >= 32 px, label accuracy on the found faces and
found-and-right (faces >= 32 px found with the right label), with detector and classifier time per
image. CenterFace was tuned on the `train` and `val` scenes of
`voc.scene_split`, so `--split test` (the default) scores the held-out half; `all` is for res10,
which nothing here tuned. The matching rules live in facemask/training/voc.py. `--mode reference` scores
the design most face-mask projects copy (one squashed 300x300 res10 pass, thresholded). Times
drift on shared machines, so every image is also run through one plain 300x300 res10 pass, and
the ratio to it is the figure to compare across runs. The curve (`--curve`) of CenterFace
comes from one run down to a low score, since its cut is its last step; res10 drops nested
boxes after its cut, so its curve is one extra run per point.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from facemask.cli.options import add_face_detector
from facemask.cli.parser import Parser
from facemask.cli.values import positive_int, unit_interval
from facemask.core.boxes import clip_boxes
from facemask.core.config import ClassifierConfig, DetectorConfig, PipelineConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.detection.cut import final_cut
from facemask.detection.loader import load_face_detector
from facemask.detection.res10 import MEAN_BGR, Res10Detector
from facemask.evaluation.by_eye import ByEye, by_eye_precision
from facemask.evaluation.detection_report import format_summary, plot_curve
from facemask.evaluation.mosaics import mosaic_by_eye, photo_by_eye
from facemask.evaluation.provenance import code_provenance
from facemask.evaluation.sheets import Shown, write_sheets
from facemask.io.imageio import read_image
from facemask.io.images import ImageItem, ImageSource
from facemask.pipeline.builder import build_pipeline
from facemask.sinks.base import Sink
from facemask.training.voc import DetectionTally, scene_split, score_curve, voc_dataset

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mask-detection"
CURVE_FLOOR = 0.02  # the curve runs the detector down to this score
CUT_LAST = ("centerface",)  # its score cut is the last step: one run at the floor gives every cut
CURVE_CUTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # res10 drops nested boxes after its cut: one run per point


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with images/ and annotations/")
    add_face_detector(parser)
    parser.add_argument(
        "--mode",
        choices=("fast", "accurate", "reference"),
        default="accurate",
        help="preset (reference: res10's tutorial design)",
    )
    parser.add_argument(
        "--split",
        choices=("test", "all"),
        default="test",
        help="test: the held-out half of voc.scene_split (default); all: every scene",
    )
    parser.add_argument("--confidence", type=unit_interval, help="face confidence (default: the tuned 0.5)")
    parser.add_argument("--iou", type=float, default=0.3, help="IoU for a detection to match a face")
    parser.add_argument("--limit", type=positive_int, help="only the first N scenes of the split (natural order)")
    parser.add_argument("--model", default="default", help="mask classifier: default, resnet50, lite, a path, or none")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--curve", type=Path, default=None, help="write the precision/recall curve (PNG) here")
    parser.add_argument(
        "--sheets", type=Path, help="draw every unmatched box on numbered contact sheets in this folder"
    )
    parser.add_argument(
        "--by-eye", type=Path, nargs="+", help="labels of unmatched boxes looked at by eye: adds by-eye precision"
    )
    parser.add_argument(
        "--no-second-look", action="store_true", help="drop the preset's candidates under its cut, whatever the model"
    )
    parser.add_argument(
        "--mosaic-index",
        type=Path,
        help="index.json of tools/make_mosaics.py: --by-eye labels move between the photos and their mosaics",
    )
    return parser.parse_args(argv)


def moved_by_eye(by_eye: ByEye, index_path: Path, data: Path) -> ByEye:
    """Scoring a mosaic folder (its name, trainval or test, keys the index): the photos' labels moved into it,
    beside its own. Scoring the photos: the mosaics' labels moved back into them, beside theirs."""
    index = json.loads(index_path.read_text())["mosaics"]
    if data.resolve().name in index:
        return mosaic_by_eye(by_eye, index[data.resolve().name])
    back = photo_by_eye(by_eye, [item for items in index.values() for item in items])
    scenes = set(by_eye.boxes) | set(back.boxes)
    empty = np.zeros((0, 4), np.float32)
    return ByEye(
        {s: np.concatenate([by_eye.boxes.get(s, empty), back.boxes.get(s, empty)]) for s in scenes},
        {s: by_eye.labels.get(s, []) + back.labels.get(s, []) for s in scenes},
    )


def reference_ms(net: cv2.dnn.Net, image: np.ndarray) -> float:
    """One plain 300x300 pass, the unit times are compared in."""
    start = time.perf_counter()
    net.setInput(cv2.dnn.blobFromImage(image, 1.0, (300, 300), MEAN_BGR, swapRB=False, crop=False))
    net.forward()
    return (time.perf_counter() - start) * 1000


class ReferenceDetector(Res10Detector):
    """The tutorial design: one 300x300 pass of the whole frame, boxes above the threshold."""

    def detect(self, image: np.ndarray) -> Faces:
        h, w = image.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(image, 1.0, (300, 300), MEAN_BGR, swapRB=False, crop=False))
        out = self.net.forward()[0, 0]
        out = out[out[:, 2] >= self.config.confidence]
        return Faces(xyxy=clip_boxes(out[:, 3:7] * np.array([w, h, w, h], np.float32), w, h), score=out[:, 2])


def _ms(values: list[float]) -> dict:
    v = np.asarray(values) if values else np.zeros(1)
    figures = {"mean": v.mean(), "median": np.median(v), "p90": np.percentile(v, 90)}
    return {k: round(float(x), 1) for k, x in figures.items()}


def _timing(detector_ms: list[float], ref_ms: list[float], classify_ms: list[float]) -> dict:
    det, ref = _ms(detector_ms), _ms(ref_ms)
    return {
        "detector_ms_mean": det["mean"],
        "detector_ms_median": det["median"],
        "detector_ms_p90": det["p90"],
        "classifier_ms_mean": _ms(classify_ms)["mean"] if classify_ms else None,
        "reference_300x300_ms_mean": ref["mean"],
        "ratio_to_300x300": round(det["mean"] / ref["mean"], 2),
        "cv2_threads": cv2.getNumThreads(),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus",
    }


def scenes(args: argparse.Namespace) -> list:
    pairs = voc_dataset(args.data)
    if args.split == "test":
        held_out = set(scene_split(pairs)["test"])
        pairs = [(p, g) for p, g in pairs if p.name in held_out]
    return pairs[: args.limit]


def build_detectors(args: argparse.Namespace):
    """(config, detector the figures come from, {cut: detector} for the curve's points; empty when the first serves)."""
    if args.mode == "reference":
        if args.face_detector != "res10":
            raise FacemaskError("--mode reference is res10's tutorial design; use it with --face-detector res10")
        config = DetectorConfig(backend="res10", mode="fast", confidence=args.confidence or 0.5)
        curve = {CURVE_FLOOR: ReferenceDetector(replace(config, confidence=CURVE_FLOOR))} if args.curve else {}
        return config, ReferenceDetector(config), curve  # a plain threshold: one run at the floor is exact
    config = DetectorConfig(backend=args.face_detector, mode=args.mode, confidence=args.confidence or 0.5)
    if args.face_detector in CUT_LAST:
        return config, load_face_detector(replace(config, confidence=CURVE_FLOOR)), {}
    cuts = CURVE_CUTS if args.curve else ()
    return config, load_face_detector(config), {c: load_face_detector(replace(config, confidence=c)) for c in cuts}


class FloorCut:
    """A detector run down to the curve's floor: keeps what it found for the curve, hands on the operating cut,
    and under it the candidates the preset's second look (`look_floor`) gives the classifier."""

    def __init__(self, detector, config: DetectorConfig, look_floor: float | None) -> None:
        self.detector, self.config, self.found = detector, config, Faces.empty()
        self.look_floor = look_floor
        self.handed = config if look_floor is None else replace(config, confidence=min(config.confidence, look_floor))

    def detect(self, image: np.ndarray) -> Faces:
        return final_cut(self.detect_candidates(image), self.config)

    def detect_candidates(self, image: np.ndarray) -> Faces:
        self.found = self.detector.detect(image)
        return final_cut(self.found, self.handed)


class Scenes(Sink):
    """What the pipeline found in each scene, and beside it the raw detections at the curve's floor (or each
    curve cut's) and one plain 300x300 res10 pass's time, the unit times are compared in."""

    needs_image = False  # the scenes as read, never drawn on

    def __init__(self, floor: FloorCut, curve_detectors: dict, ref_net: cv2.dnn.Net) -> None:
        self.floor, self.curve_detectors, self.ref_net = floor, curve_detectors, ref_net
        self.faces: list[Faces] = []
        self.ref_ms: list[float] = []
        self.curve_faces: dict[float, list[Faces]] = {c: [] for c in curve_detectors} or {CURVE_FLOOR: []}

    def write(self, frame: Frame, faces: Faces) -> None:
        self.faces.append(faces)
        self.ref_ms.append(reference_ms(self.ref_net, frame.image))
        for cut, det in self.curve_detectors.items():
            self.curve_faces[cut].append(det.detect(frame.image))
        if not self.curve_detectors:
            self.curve_faces[CURVE_FLOOR].append(self.floor.found)  # what the detector found before the cut


def score(args: argparse.Namespace) -> tuple[dict, dict | None]:
    """Run the builder's pipeline over the scenes (one ImageSource, `Pipeline.run`); the report and the curve's counts.

    Per-scene times are the run's own stage clock (`stats.stage_ms`): detect, and classify where a scene had faces.
    """
    config, detector, curve_detectors = build_detectors(args)
    classifier = ClassifierConfig(model=args.model) if args.model != "none" else None
    look = getattr(load_face_detector(config), "look_floor", None) if args.mode != "reference" else None
    floor = FloorCut(detector, config, None if args.no_second_look else look)
    pipeline = build_pipeline(PipelineConfig.for_images(config, classifier), detector=floor)
    pairs = scenes(args)
    if not pairs:
        raise FacemaskError("no scenes to score")
    found = Scenes(floor, curve_detectors, Res10Detector(DetectorConfig(backend="res10")).net)
    detector.detect(read_image(pairs[0][0]))  # warm-up: the first forward allocates
    stats = pipeline.run(ImageSource([ImageItem(path, Path(path.name)) for path, _ in pairs]), [found])
    detector_ms = list(stats.stage_ms["detect"])
    classify_ms = [ms for ms, faces in zip(stats.stage_ms["classify"], found.faces) if len(faces)] if classifier else []
    tally = DetectionTally(iou=args.iou)
    unmatched: list[Shown] = []
    for (path, annotation), faces in zip(pairs, found.faces):
        missed = tally.add(annotation, faces) < 0
        unmatched += [Shown(path, box, float(sc)) for box, sc in zip(faces.xyxy[missed], faces.score[missed])]
    curve_faces = found.curve_faces
    report = {
        "detector": {k: v for k, v in vars(config).items() if k != "model_dir"} | {"mode": args.mode},
        "classifier": args.model if classifier is not None else None,
        "split": args.split,
        "iou": args.iou,
        "images": len(pairs),
        "timing": _timing(detector_ms, found.ref_ms, classify_ms),
        **tally.report(),
        **unmatched_boxes(args, unmatched, tally.tp),
    }
    gts = [g for _, g in pairs]
    curve = [score_curve(faces, gts, args.iou) for _, faces in sorted(curve_faces.items())] if args.curve else None
    return report, curve


def unmatched_boxes(args: argparse.Namespace, unmatched: list[Shown], true_positives: int) -> dict:
    """The unmatched boxes on contact sheets (`--sheets`), and the precision once they were looked at (`--by-eye`)."""
    out: dict = {}
    labels = [None] * len(unmatched)
    if args.by_eye:
        by_eye = ByEye.load(*args.by_eye)
        if args.mosaic_index is not None:
            by_eye = moved_by_eye(by_eye, args.mosaic_index, args.data)
        labels = [by_eye.label(s.scene.name, s.box[None])[0] for s in unmatched]
        out["by_eye"] = {"labels": [str(p) for p in args.by_eye], **by_eye_precision(true_positives, labels)}
    if args.sheets is not None:  # with --by-eye, only the boxes nobody has looked at yet
        todo = [s for s, label in zip(unmatched, labels) if label is None]
        sheets = write_sheets(todo, args.sheets, f"unmatched_{args.split}")
        out["sheets"] = {"folder": str(args.sheets), "sheets": len(sheets), "boxes": len(todo)}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = {"command": " ".join(["python tools/score_detection.py", *(sys.argv[1:] if argv is None else argv)])}
        result, curve = score(args)
        report |= result
        if curve is not None:
            report["curve"] = plot_curve(curve, report, args.curve, CURVE_FLOOR, CURVE_CUTS)
    except (FacemaskError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report | code_provenance(__file__), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
