"""Score the face detector on the 853 annotated scenes (Pascal VOC) and write the figures as JSON.

    python tools/score_detection.py [--data ../shared/data/mask-detection] [--mode fast|accurate|reference]
        [--confidence F] [--json PATH] [--limit N] [--model PATH]

Recall by face size and class, precision for faces >= 32 px and mean detector time per image;
with `--model`, also the mask/no-mask label accuracy on matched faces >= 32 px. The matching
rules live in facemask/voc.py. `--mode reference` scores the design most face-mask projects
copy (one squashed 300x300 res10 pass, thresholded) under the same rules. Times drift on shared machines, so every image is also run
through one plain 300x300 res10 pass, and the ratio to it is the figure to compare across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from facemask.boxes import clip_boxes
from facemask.classifier import MaskClassifier
from facemask.config import ClassifierConfig, DetectorConfig
from facemask.detector import MEAN_BGR, FaceDetector
from facemask.errors import FacemaskError
from facemask.imageio import read_image
from facemask.types import Faces
from facemask.voc import SIZE_BUCKETS, DetectionTally, voc_dataset

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mask-detection"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with images/ and annotations/")
    parser.add_argument("--mode", choices=("fast", "accurate", "reference"), default="accurate")
    parser.add_argument("--confidence", type=float, default=None, help="face confidence (default: the mode's)")
    parser.add_argument("--iou", type=float, default=0.3, help="IoU for a detection to match a face")
    parser.add_argument("--limit", type=int, default=None, help="only the first N scenes (natural file order)")
    parser.add_argument("--model", type=Path, default=None, help="mask classifier (.tflite/.keras); skipped if absent")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    return parser.parse_args(argv)


def reference_ms(net: cv2.dnn.Net, image: np.ndarray) -> float:
    """One plain 300x300 pass, the cost the `fast` mode is held to."""
    start = time.perf_counter()
    net.setInput(cv2.dnn.blobFromImage(image, 1.0, (300, 300), MEAN_BGR, swapRB=False, crop=False))
    net.forward()
    return (time.perf_counter() - start) * 1000


class ReferenceDetector(FaceDetector):
    """The tutorial design: one 300x300 pass of the whole frame, boxes above the threshold."""

    def detect(self, image: np.ndarray) -> Faces:
        h, w = image.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(image, 1.0, (300, 300), MEAN_BGR, swapRB=False, crop=False))
        out = self.net.forward()[0, 0]
        out = out[out[:, 2] >= self.config.confidence]
        return Faces(xyxy=clip_boxes(out[:, 3:7] * np.array([w, h, w, h], np.float32), w, h), score=out[:, 2])


def _timing(detector_ms: list[float], ref_ms: list[float]) -> dict:
    det, ref = np.asarray(detector_ms), np.asarray(ref_ms)
    return {
        "detector_ms_mean": round(float(det.mean()), 1),
        "detector_ms_median": round(float(np.median(det)), 1),
        "detector_ms_p90": round(float(np.percentile(det, 90)), 1),
        "reference_300x300_ms_mean": round(float(ref.mean()), 1),
        "ratio_to_300x300": round(float(det.mean() / ref.mean()), 2),
        "cv2_threads": cv2.getNumThreads(),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus",
    }


def score(args: argparse.Namespace) -> dict:
    """Run the detector (and the classifier, if given) over the scenes and tally the matches."""
    mode = "fast" if args.mode == "reference" else args.mode
    config = DetectorConfig(mode=mode, **({} if args.confidence is None else {"confidence": args.confidence}))
    detector = (ReferenceDetector if args.mode == "reference" else FaceDetector)(config)
    classifier = None
    if args.model is not None:
        if args.model.is_file():
            classifier = MaskClassifier(ClassifierConfig(model=str(args.model)))
        else:
            print(f"note: {args.model} is absent, label accuracy skipped", file=sys.stderr)
    pairs = voc_dataset(args.data, args.limit)
    tally = DetectionTally(iou=args.iou)
    detector.detect(read_image(pairs[0][0]))  # warm-up: the first forward allocates
    detector_ms, ref_ms = [], []
    for path, annotation in pairs:
        image = read_image(path)
        start = time.perf_counter()
        faces = detector.detect(image)
        detector_ms.append((time.perf_counter() - start) * 1000)
        ref_ms.append(reference_ms(detector.net, image))
        if classifier is not None and len(faces):
            faces = classifier.classify(image, faces)
        tally.add(annotation, faces)
    return {
        "detector": {k: v for k, v in vars(config).items() if k != "model_dir"} | {"mode": args.mode},
        "classifier": str(args.model) if classifier is not None else None,
        "iou": args.iou,
        "images": len(pairs),
        "timing": _timing(detector_ms, ref_ms),
        **tally.report(),
    }


def format_summary(report: dict) -> str:
    """The report as a few lines for the terminal; the JSON holds everything."""
    t, cfg = report["timing"], report["detector"]
    columns = (*SIZE_BUCKETS, ">=32", "all")
    lines = [
        (f"mode {cfg['mode']}, confidence {cfg['confidence']}, {report['images']} images: detector "
         f"{t['detector_ms_mean']} ms/image, {t['ratio_to_300x300']}x a 300x300 pass ({t['reference_300x300_ms_mean']} ms)"),
        f"{'recall':<10}" + "".join(f"{c:>8}" for c in columns),
    ]
    for row, values in report["recall"].items():
        cells = "".join(f"{'-' if values[c] is None else format(values[c], '.3f'):>8}" for c in columns)
        lines.append(f"{row:<10}{cells}   (n>=32: {report['support'][row]['>=32']})")
    lines.append(
        f"precision >=32 px: {report['precision_ge32']} (TP {report['true_positives_ge32']}, FP {report['false_positives']}"
        f" of which {report['false_positives_below_32px']} < 32 px; {report['ignored_on_faces_below_32px']} on faces < 32 px ignored)"
    )
    if "label_accuracy_ge32" in report:
        acc = report["label_accuracy_ge32"]
        lines.append(
            f"labels >=32 px: accuracy {acc['all']} on {acc['n']} (masked {acc['masked']}, unmasked {acc['unmasked']};"
            f" incorrect read no_mask {acc['incorrect_read_as_no_mask']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise FacemaskError(f"--limit must be at least 1, got {args.limit}")
        report = {"command": " ".join(["python tools/score_detection.py", *(sys.argv[1:] if argv is None else argv)])}
        report |= score(args)
    except (FacemaskError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
