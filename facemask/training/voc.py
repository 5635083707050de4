"""Pascal VOC face annotations, and the rules for scoring a face detector against them.

The 853-scene mask-detection set is annotated in VOC XML. The benchmark script and the tests
share one definition of the scoring here, so a figure in docs/benchmarks.md means one thing:

- Detections are matched to ground-truth (GT) boxes one-to-one, greedily by descending score:
  each detection takes the still-unmatched GT box it overlaps most, if that IoU >= `iou`
  (0.3, because res10 boxes are squarer and tighter than the annotators' boxes).
- A face's size is the longest side of its GT box: buckets `<32`, `32-63`, `>=64` px.
- Classes: `with_mask` -> `masked`, `without_mask` -> `unmasked`, and `mask_weared_incorrect`
  keeps its own bucket, `incorrect` (a classifier with two labels has no right answer for it).
- Precision for faces >= 32 px: a detection matched to a GT box >= 32 px is a true positive;
  one matched to a GT box < 32 px is neither TP nor FP (ignored); every unmatched detection is
  a false positive, whatever its own size, duplicates of an already matched face included.
- Label accuracy (when faces carry classifier labels): over detections matched to `masked` or
  `unmasked` GT faces >= 32 px, the share whose label is `mask` / `no_mask` respectively;
  `incorrect` faces are left out of it and reported as the share read as `no_mask`.
- Found-and-right: the share of masked and unmasked GT faces >= 32 px that a detection matched
  and labelled right (recall and label accuracy in one figure).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facemask.core.boxes import iou_matrix
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces

CLASS_BUCKETS = {"with_mask": "masked", "without_mask": "unmasked", "mask_weared_incorrect": "incorrect"}
EXPECTED_LABEL = {"masked": "mask", "unmasked": "no_mask"}
SIZE_BUCKETS = ("<32", "32-63", ">=64")
SMALL = 32


@dataclass(frozen=True)
class VocImage:
    """One annotated image: its file name, size, and GT boxes (pixels, xyxy) with class names."""

    filename: str
    width: int
    height: int
    xyxy: np.ndarray
    names: tuple[str, ...]

    @property
    def classes(self) -> np.ndarray:
        return np.array([CLASS_BUCKETS[n] for n in self.names], dtype=object)


def _number(node: ET.Element, tag: str, where: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FacemaskError(f"{where}: <{tag}> is missing or not a number ({text!r})") from None


def read_voc(path: str | Path) -> VocImage:
    """Parse one VOC XML file; unknown class names and inverted boxes are errors, not skips."""
    from facemask.io.imageio import read_bounded

    path = Path(path)
    try:
        root = ET.fromstring(read_bounded(path, 4 * 2**20, "a VOC annotation"))
    except ET.ParseError as exc:
        raise FacemaskError(f"{path}: not a readable VOC annotation ({exc})") from None
    size = root.find("size")
    if size is None or not root.findtext("filename"):
        raise FacemaskError(f"{path}: VOC annotation lacks <filename> or <size>")
    boxes, names = [], []
    for obj in root.iter("object"):
        name, box = obj.findtext("name", "").strip(), obj.find("bndbox")
        if name not in CLASS_BUCKETS:
            raise FacemaskError(f"{path}: unknown class {name!r}, expected one of {sorted(CLASS_BUCKETS)}")
        if box is None:
            raise FacemaskError(f"{path}: object {name!r} has no <bndbox>")
        xyxy = [_number(box, tag, str(path)) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if xyxy[2] <= xyxy[0] or xyxy[3] <= xyxy[1]:
            raise FacemaskError(f"{path}: empty or inverted box {xyxy} for {name!r}")
        boxes.append(xyxy)
        names.append(name)
    return VocImage(
        filename=root.findtext("filename", "").strip(),
        width=int(_number(size, "width", str(path))),
        height=int(_number(size, "height", str(path))),
        xyxy=np.asarray(boxes, np.float32).reshape(-1, 4),
        names=tuple(names),
    )


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def voc_dataset(root: str | Path, limit: int | None = None) -> list[tuple[Path, VocImage]]:
    """(image path, annotation) pairs of `root/annotations/*.xml` in natural order, so --limit is stable."""
    root = Path(root)
    xmls = sorted((root / "annotations").glob("*.xml"), key=_natural_key)
    if not xmls:
        raise FacemaskError(f"{root}: no annotations/*.xml here (expected a Pascal VOC folder)")
    pairs = []
    for xml in xmls[:limit]:
        ann = read_voc(xml)
        image = root / "images" / ann.filename
        if not image.is_file():
            raise FacemaskError(f"{xml}: its image {image} is missing")
        pairs.append((image, ann))
    return pairs


def size_buckets(xyxy: np.ndarray) -> np.ndarray:
    """Bucket index (0: <32, 1: 32-63, 2: >=64) of each box, by its longest side."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    longest = np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])
    return np.digitize(longest, [SMALL, 2 * SMALL])


def match(det_xyxy: np.ndarray, det_score: np.ndarray, gt_xyxy: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """For each detection, the index of the GT box it matched, or -1 (greedy by score, one-to-one)."""
    det_xyxy = np.asarray(det_xyxy, np.float32).reshape(-1, 4)
    assigned = np.full(len(det_xyxy), -1, np.int64)
    if len(det_xyxy) == 0 or len(gt_xyxy) == 0:
        return assigned
    overlaps = iou_matrix(det_xyxy, gt_xyxy)
    taken = np.zeros(overlaps.shape[1], bool)
    for d in np.argsort(-np.asarray(det_score), kind="stable"):
        candidates = np.where(taken, -1.0, overlaps[d])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou:
            assigned[d], taken[best] = best, True
    return assigned


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


@dataclass
class DetectionTally:
    """Accumulates matches image by image; `report()` gives the JSON figures."""

    iou: float = 0.3
    gt_bucket: list[np.ndarray] = field(default_factory=list)
    gt_class: list[np.ndarray] = field(default_factory=list)
    gt_found: list[np.ndarray] = field(default_factory=list)
    tp: int = 0
    ignored: int = 0
    fp: int = 0
    fp_below_32: int = 0
    labels: list[tuple[str, str]] = field(default_factory=list)

    def add(self, gt: VocImage, faces: Faces) -> np.ndarray:
        """Score one image's detections; returns the detection -> GT assignment (-1: unmatched)."""
        assigned = match(faces.xyxy, faces.score, gt.xyxy, self.iou)
        buckets, classes = size_buckets(gt.xyxy), gt.classes
        found = np.zeros(len(gt.xyxy), bool)
        found[assigned[assigned >= 0]] = True
        self.gt_bucket.append(buckets)
        self.gt_class.append(classes)
        self.gt_found.append(found)
        unmatched = assigned < 0
        matched_big = np.zeros(len(assigned), bool)
        matched_big[~unmatched] = buckets[assigned[~unmatched]] > 0
        self.fp += int(unmatched.sum())
        self.fp_below_32 += int((unmatched & (size_buckets(faces.xyxy) == 0)).sum())
        self.tp += int(matched_big.sum())
        self.ignored += int((~unmatched & ~matched_big).sum())
        self.labels += [
            (str(classes[assigned[d]]), str(faces.label[d])) for d in np.flatnonzero(matched_big) if faces.label[d]
        ]
        return assigned

    def report(self) -> dict:
        buckets = np.concatenate(self.gt_bucket) if self.gt_bucket else np.zeros(0, np.int64)
        classes = np.concatenate(self.gt_class) if self.gt_class else np.zeros(0, object)
        found = np.concatenate(self.gt_found) if self.gt_found else np.zeros(0, bool)
        columns = {name: buckets == i for i, name in enumerate(SIZE_BUCKETS)}
        columns |= {">=32": buckets > 0, "all": np.ones(len(buckets), bool)}
        rows = {name: classes == name for name in ("masked", "unmasked", "incorrect")}
        rows["all"] = np.ones(len(classes), bool)
        recall = {
            r: {c: _ratio(int((found & rm & cm).sum()), int((rm & cm).sum())) for c, cm in columns.items()}
            for r, rm in rows.items()
        }
        support = {r: {c: int((rm & cm).sum()) for c, cm in columns.items()} for r, rm in rows.items()}
        report = {
            "gt_faces": len(buckets),
            "recall": recall,
            "support": support,
            "precision_ge32": _ratio(self.tp, self.tp + self.fp),
            "true_positives_ge32": self.tp,
            "false_positives": self.fp,
            "false_positives_below_32px": self.fp_below_32,
            "ignored_on_faces_below_32px": self.ignored,
        }
        if self.labels:
            report["label_accuracy_ge32"] = self._label_accuracy()
            report["found_and_right_ge32"] = self._found_and_right(support)
        return report

    def _found_and_right(self, support: dict) -> dict:
        """Share of faces >= 32 px found with the right label: what a user of the counts gets right.

        `all` counts masked and unmasked faces (the ones with a right answer); `incl_incorrect` adds
        incorrectly worn masks to the faces, counted right when read `no_mask` (a violation).
        """
        right = {cls: sum(c == cls and p == EXPECTED_LABEL[cls] for c, p in self.labels) for cls in EXPECTED_LABEL}
        wrong_mask = sum(c == "incorrect" and p == "no_mask" for c, p in self.labels)
        faces = {cls: support[cls][">=32"] for cls in (*EXPECTED_LABEL, "incorrect")}
        out = {cls: _ratio(right[cls], faces[cls]) for cls in EXPECTED_LABEL}
        out["all"] = _ratio(sum(right.values()), faces["masked"] + faces["unmasked"])
        out["incl_incorrect"] = _ratio(sum(right.values()) + wrong_mask, sum(faces.values()))
        return out

    def _label_accuracy(self) -> dict:
        """Accuracy on masked/unmasked faces; for `incorrect` faces, how often they read `no_mask`."""
        scored = [(EXPECTED_LABEL[c], p) for c, p in self.labels if c in EXPECTED_LABEL]
        out = {"all": _ratio(sum(e == p for e, p in scored), len(scored)), "n": len(scored)}
        for cls, expected in EXPECTED_LABEL.items():
            preds = [p for e, p in scored if e == expected]
            out[cls] = _ratio(sum(p == expected for p in preds), len(preds))
        incorrect = [p for c, p in self.labels if c == "incorrect"]
        out["incorrect_read_as_no_mask"] = _ratio(sum(p == "no_mask" for p in incorrect), len(incorrect))
        read_incorrect = [c for c, p in self.labels if p == "incorrect_mask"]
        if read_incorrect:  # a model with the third label: how well it finds masks worn wrong
            out["incorrect_mask"] = {
                "recall": _ratio(sum(p == "incorrect_mask" for p in incorrect), len(incorrect)),
                "precision": _ratio(sum(c == "incorrect" for c in read_incorrect), len(read_incorrect)),
                "read": len(read_incorrect),
                "n": len(incorrect),
                "read_as_violation": _ratio(sum(p != "mask" for p in incorrect), len(incorrect)),
            }
        return out


SCENE_SPLIT = (("train", 0.4), ("val", 0.1), ("test", 0.5))


def scene_split(pairs: list[tuple[Path, VocImage]], seed: int = 42) -> dict[str, list[str]]:
    """Image file names per split, split by scene with a fixed seed; near-duplicate scenes stay together.

    `test` is the held-out half: classifier figures on scene crops and detection figures are reported
    on it, while classifier training and detector tuning use `train` and `val` only.
    """
    import hashlib

    from facemask.io.imageio import decode_image, read_image_bytes
    from facemask.training.dedup import Sample, duplicate_groups, perceptual_hash

    samples = []
    for image_path, _ in pairs:
        data = read_image_bytes(image_path)
        phash = perceptual_hash(decode_image(data, str(image_path)))
        samples.append(Sample(image_path, 0, hashlib.sha256(data).hexdigest(), phash))
    groups = duplicate_groups(samples)
    group_ids = sorted(set(int(g) for g in groups))
    np.random.default_rng(seed).shuffle(group_ids)
    split: dict[str, list[str]] = {name: [] for name, _ in SCENE_SPLIT}
    bounds = np.cumsum([fraction for _, fraction in SCENE_SPLIT]) * len(samples)
    placed = 0
    for g in group_ids:
        members = [samples[i].path.name for i in np.flatnonzero(groups == g)]
        name = SCENE_SPLIT[int(np.searchsorted(bounds, placed, side="right"))][0]
        split[name].extend(members)
        placed += len(members)
    return {name: sorted(names) for name, names in split.items()}


def score_curve(faces: list[Faces], gts: list[VocImage], iou: float = 0.3) -> dict[str, np.ndarray]:
    """Every detection of all scenes, best score first, with cumulative counts for a precision/recall curve.

    `tp`: matched to a face >= 32 px; `fp`: unmatched (as in `DetectionTally`); `masked`: matched to a
    masked face >= 32 px. Matching is greedy by score, so the detections above any cut match the
    same faces as when the detector itself had cut there: one run gives the whole curve.
    """
    score, tp, fp, masked = [np.zeros(0, np.float32)], [np.zeros(0, bool)], [np.zeros(0, bool)], [np.zeros(0, bool)]
    for f, gt in zip(faces, gts):
        assigned = match(f.xyxy, f.score, gt.xyxy, iou)  # -1 (unmatched) picks the False sentinel below
        big = np.r_[size_buckets(gt.xyxy) > 0, False]
        score.append(f.score)
        tp.append(big[assigned])
        fp.append(assigned < 0)
        masked.append(big[assigned] & np.r_[gt.classes == "masked", False][assigned])
    order = np.argsort(-np.concatenate(score), kind="stable")
    return {
        "score": np.concatenate(score)[order],
        "tp": np.cumsum(np.concatenate(tp)[order]),
        "fp": np.cumsum(np.concatenate(fp)[order]),
        "masked": np.cumsum(np.concatenate(masked)[order]),
    }
