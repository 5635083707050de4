"""Not-face crops for the fourth label (issue 36): what CenterFace finds at a low score that is no face.

Two kinds, from the scenes' train and val splits only (never test):
- mined: boxes CenterFace returns at a raw score in [MINED_LOW, MINED_HIGH) that overlap no annotated box
  (IoU < 0.1), whose centre lies in no annotated box and which hold no annotated box's centre. Many
  real faces in these scenes are not annotated; they score high, so the score ceiling (0.4) and those
  rules keep most of them out;
- beside: the box of an annotated face moved 0.8-1.0 of its width sideways or of its height upwards
  (hair, ears, background next to a face), kept where it is inside the picture and meets the same rules.
At most `ratio` not-faces per real face of each split, half of each kind where both suffice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from facemask.classification.crops import face_crops
from facemask.core.boxes import iou_matrix
from facemask.evaluation.by_eye import ByEye
from facemask.io.imageio import decode_image, read_image_bytes
from facemask.training.classes import NOT_FACE
from facemask.training.dataset import SceneCrops
from facemask.training.dedup import Sample
from facemask.training.voc import voc_dataset

MINED_LOW, MINED_HIGH = 0.1, 0.4
LOOKED_AT_IOU = 0.3  # a mined box this close to a box a person called a face (or could not tell) is no not-face
MINE_LONGEST = 640  # CenterFace's input side when mining: the photo-sized input issue 36 probes
MIN_SIDE = 24
BY_EYE = Path(__file__).resolve().parents[2] / "docs" / "bench" / "by_eye"


def clear_of(boxes: np.ndarray, annotated: np.ndarray) -> np.ndarray:
    """Per box: min side >= MIN_SIDE, IoU < 0.1 with every annotated box, no centre of one inside the other."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    annotated = np.asarray(annotated, np.float32).reshape(-1, 4)
    big = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= MIN_SIDE
    if len(annotated) == 0 or len(boxes) == 0:
        return big

    def inside(points: np.ndarray, rects: np.ndarray) -> np.ndarray:  # (P, R): point p inside rect r
        x, y = points[:, None, 0], points[:, None, 1]
        return (x >= rects[None, :, 0]) & (x <= rects[None, :, 2]) & (y >= rects[None, :, 1]) & (y <= rects[None, :, 3])

    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    ann_centres = (annotated[:, :2] + annotated[:, 2:]) / 2
    apart = (iou_matrix(boxes, annotated) < 0.1).all(axis=1)
    return big & apart & ~inside(centres, annotated).any(axis=1) & ~inside(ann_centres, boxes).T.any(axis=1)


def mined_boxes(xyxy: np.ndarray, score: np.ndarray, annotated: np.ndarray) -> np.ndarray:
    """Detections scored in [MINED_LOW, MINED_HIGH) that are clear of every annotated face."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    score = np.asarray(score, np.float32)
    low = (score >= MINED_LOW) & (score < MINED_HIGH)
    return xyxy[low & clear_of(xyxy, annotated)]


def beside_boxes(annotated: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One shifted copy of each annotated face (left, right or up by 0.8-1.0 of its side), kept if clear."""
    annotated = np.asarray(annotated, np.float32).reshape(-1, 4)
    out = []
    for box in annotated:
        w, h = box[2] - box[0], box[3] - box[1]
        dx, dy = {0: (-1.0, 0.0), 1: (1.0, 0.0), 2: (0.0, -1.0)}[int(rng.integers(3))]
        shift = rng.uniform(0.8, 1.0)
        moved = box + shift * np.array([dx * w, dy * h, dx * w, dy * h], np.float32)
        if moved[0] >= 0 and moved[1] >= 0 and moved[2] <= width and moved[3] <= height:
            out.append(moved)
    shifted = np.asarray(out, np.float32).reshape(-1, 4)
    return shifted[clear_of(shifted, annotated)]


def _detections(image_path: Path, cache: dict, net) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(sha, image, boxes, scores) of CenterFace down to MINED_LOW on one scene; detections are cached."""
    data = read_image_bytes(image_path)
    sha = hashlib.sha256(data).hexdigest()
    image = decode_image(data, str(image_path))
    if sha not in cache:
        xyxy, score, _ = net.detect(image)
        cache[sha] = (np.asarray(xyxy, np.float32).reshape(-1, 4), np.asarray(score, np.float32))
    return sha, image, *cache[sha]


def _load_cache(path: Path | None) -> dict:
    if not path or not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {str(s): (data[f"b_{s}"], data[f"s_{s}"]) for s in data["sha"]}


def _save_cache(path: Path | None, cache: dict) -> None:
    if not path or not cache:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    arrays = {f"b_{s}": b for s, (b, _) in cache.items()} | {f"s_{s}": v for s, (_, v) in cache.items()}
    np.savez(tmp, sha=np.array(sorted(cache)), **arrays)
    tmp.replace(path)


def not_looked_at_faces(by_eye: ByEye | None, scene: str, boxes: np.ndarray) -> np.ndarray:
    """Per box: True unless a person looked at a box near it and called it a face or could not tell.

    The scenes leave many real faces unannotated; the by-eye labels of the detector tuning
    (docs/bench/by_eye, train and val scenes) name some, and those never become not-faces.
    """
    keep = np.ones(len(boxes), bool)
    if by_eye is None or scene not in by_eye.boxes or not len(boxes):
        return keep
    faces = np.array([label != "not_face" for label in by_eye.labels[scene]])
    if faces.any():
        keep &= ~(iou_matrix(boxes, by_eye.boxes[scene][faces]) >= LOOKED_AT_IOU).any(axis=1)
    return keep


def looked_at_not_faces(by_eye: ByEye | None, scene: str, annotated: np.ndarray) -> np.ndarray:
    """The boxes a person called no face in `scene` (ears, hair, signs the detector took for faces), if clear."""
    if by_eye is None or scene not in by_eye.boxes:
        return np.zeros((0, 4), np.float32)
    boxes = by_eye.boxes[scene][np.array([label == "not_face" for label in by_eye.labels[scene]])]
    return boxes[clear_of(boxes, annotated)]


def load_by_eye(folder: Path = BY_EYE) -> ByEye | None:
    """The train and val scenes' by-eye labels, where the repository's docs are at hand (a source checkout)."""
    files = sorted(folder.glob("trainval_*.json")) if folder.is_dir() else []
    return ByEye.load(*files) if files else None


def _candidates(scenes: SceneCrops, root: Path, size: int, cache_path: Path | None, rng) -> dict[str, dict]:
    """Every not-face candidate crop of the train and val scenes, by split and kind."""
    from facemask.detection.centerface import CenterFaceNet, CenterFaceSettings

    net = CenterFaceNet(CenterFaceSettings(longest=MINE_LONGEST, floor=MINED_LOW))
    cache = _load_cache(cache_path)
    by_eye = load_by_eye()
    where = {name: split for split, names in scenes.scenes.items() for name in names}
    found: dict[str, dict[str, list]] = {s: {"mined": [], "beside": []} for s in ("train", "val")}
    for image_path, ann in voc_dataset(root):
        split = where.get(image_path.name)
        if split not in found:
            continue
        sha, image, xyxy, score = _detections(image_path, cache, net)
        h, w = image.shape[:2]
        mined = np.concatenate(
            [mined_boxes(xyxy, score, ann.xyxy), looked_at_not_faces(by_eye, image_path.name, ann.xyxy)]
        )
        kinds = {
            "mined": mined[not_looked_at_faces(by_eye, image_path.name, mined)],
            "beside": beside_boxes(ann.xyxy, w, h, rng),
        }
        for kind, boxes in kinds.items():
            crops = face_crops(image, boxes, size) if len(boxes) else []
            found[split][kind] += [
                (Sample(image_path, NOT_FACE, f"{sha}:{kind}{j}", 0), crop) for j, crop in enumerate(crops)
            ]
    _save_cache(cache_path, cache)
    return found


def add_not_faces(scenes: SceneCrops, root: Path, size: int, cache_path: Path | None, ratio: float, seed: int) -> dict:
    """Append not-face crops to `scenes` (train and val only); returns how many of each kind per split."""
    rng = np.random.default_rng(seed)
    found = _candidates(scenes, root, size, cache_path, rng)
    labels = np.array([s.label for s in scenes.data.samples])
    counts = {}
    for split, kinds in found.items():
        cap = int(ratio * int((labels[scenes.split[split]] != NOT_FACE).sum()))
        mined, beside = (rng.permutation(len(kinds[k])) for k in ("mined", "beside"))
        take_mined = min(len(mined), max(cap - len(beside), cap // 2))
        take_beside = min(len(beside), cap - take_mined)
        chosen = [kinds["mined"][i] for i in mined[:take_mined]] + [kinds["beside"][i] for i in beside[:take_beside]]
        _append(scenes, split, chosen)
        counts[split] = {"mined": take_mined, "beside": take_beside, "mined_candidates": len(mined)}
    return counts


def _append(scenes: SceneCrops, split: str, chosen: list[tuple[Sample, np.ndarray]]) -> None:
    if not chosen:
        return
    data = scenes.data
    start = len(data.samples)
    data.samples.extend(s for s, _ in chosen)
    data.crops = np.concatenate([data.crops, np.stack([c for _, c in chosen])])
    data.face_found = np.concatenate([data.face_found, np.ones(len(chosen), bool)])
    scenes.split[split].extend(range(start, start + len(chosen)))
