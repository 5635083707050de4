"""The face check after the fused detector, by-eye labels and precision, and the contact sheets."""

from __future__ import annotations

import hashlib
import json
import shutil

import cv2
import numpy as np
import pytest
from conftest import shared_path

from facemask.core.config import DetectorConfig, TrackerConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection import loader
from facemask.detection.facecheck import FaceCheck, check_model_path
from facemask.detection.loader import BIRTH, FusedFaceDetector, fusion_settings
from facemask.evaluation.by_eye import ByEye, by_eye_precision, entry
from facemask.evaluation.sheets import (
    CLOSER,
    CLOSER_ROW,
    CLOSER_ROWS,
    COLS,
    ROWS,
    TILE,
    Shown,
    read_index,
    write_closer,
    write_sheets,
)
from facemask.io.imageio import read_image
from facemask.training.voc import read_voc, scene_split, voc_dataset


class FixedCheck:
    """A stand-in check: P(face) by box, and a record of which boxes it was asked about."""

    def __init__(self, p_by_x1: dict[int, float]) -> None:
        self.p_by_x1, self.asked = p_by_x1, []

    def p_face(self, image, xyxy):
        self.asked += [int(b[0]) for b in xyxy]
        return np.array([self.p_by_x1[int(b[0])] for b in xyxy], np.float32)


def detector_with(check: FixedCheck, raw: dict[int, float]) -> FusedFaceDetector:
    """The shipped accurate preset, its two detectors replaced by boxes at x1 with these raw fused scores."""
    det = FusedFaceDetector(DetectorConfig(mode="accurate"))
    boxes = Faces(xyxy=[[x, 10, x + 40, 50] for x in raw], score=list(raw.values()))
    det.res10.detect = lambda image: boxes
    det.yunet.detect = lambda image: Faces.empty()
    det.weights, det.check = (1.0, 0.0), check  # fused score = res10's score
    return det


def test_shipped_accurate_preset_has_a_check_with_a_lower_cut():
    preset = fusion_settings()["fused"]["accurate"]
    check = preset["check"]
    assert 0 < check["confidence"] < preset["confidence"] <= check["verify_below"] <= 1.0
    assert 0 < check["face_cut"] < 1 and "test" not in check["tuned_on"]


def test_only_weak_candidates_are_checked_and_those_it_rejects_go():
    check = fusion_settings()["fused"]["accurate"]["check"]
    low, below = check["confidence"], check["verify_below"]
    raw = {0: (low + below) / 2, 100: (low + below) / 2, 200: min(below + 0.01, 0.999), 300: low * 0.5}
    fake = FixedCheck({0: 0.99, 100: 0.01, 200: 0.0, 300: 0.99})
    found = detector_with(fake, raw).detect(np.zeros((100, 400, 3), np.uint8))
    assert sorted(int(b[0]) for b in found.xyxy) == [0, 200]  # 100 rejected; 300 under the cut; 200 trusted
    assert sorted(fake.asked) == [0, 100]  # neither the trusted box nor the one under the cut was checked


def test_a_candidate_the_tracker_holds_is_not_checked_again():
    check = fusion_settings()["fused"]["accurate"]["check"]
    weak = (check["confidence"] + check["verify_below"]) / 2
    fake = FixedCheck({0: 0.01, 100: 0.01})
    det = detector_with(fake, {0: weak, 100: weak})
    found = det.detect(np.zeros((100, 400, 3), np.uint8), held=np.array([[2, 12, 41, 50]], np.float32))
    assert [int(b[0]) for b in found.xyxy] == [0] and fake.asked == [100]


def test_without_the_check_the_detector_keeps_its_own_higher_cut():
    preset = fusion_settings()["fused"]["accurate"]
    det = FusedFaceDetector(DetectorConfig(mode="accurate", face_check=False))
    assert det.check is None and det.cut == preset["confidence"]
    with_check = FusedFaceDetector(DetectorConfig(mode="accurate"))
    assert with_check.cut == preset["check"]["confidence"]
    raw_below = np.float32(preset["check"]["verify_below"])
    assert with_check.verify_below == pytest.approx(float(with_check.reported(raw_below)))


def test_the_check_changes_which_weak_boxes_are_kept_not_which_are_strong():
    """From the tracker's birth score up a box reports what it did without the check; the boxes only the
    check let in report under it (ByteTrack's two levels: they carry a track, and start one only under
    the tracker's stricter weak rule)."""
    alone = FusedFaceDetector(DetectorConfig(mode="fast", face_check=False))
    checked = FusedFaceDetector(DetectorConfig(mode="fast"))
    raw = np.array([checked.cut, (checked.cut + alone.cut) / 2, alone.cut, 0.7, 0.9], np.float32)
    got, before = checked.reported(raw), alone.reported(raw)
    assert got[0] == pytest.approx(0.5) and 0.5 < got[1] < got[2] < BIRTH == TrackerConfig.birth_score
    assert got[3:] == pytest.approx(before[3:]) and (before[3:] >= BIRTH).all()


def test_cli_flag_turns_the_check_off():
    from facemask.cli.options import add_face_detector
    from facemask.cli.parser import Parser

    p = Parser()
    add_face_detector(p)
    assert p.parse_args([]).face_check is True
    assert p.parse_args(["--no-face-check"]).face_check is False


def test_shipped_check_tells_annotated_faces_from_background():
    """On held-out scenes: annotated faces of 32 px or more mostly pass, random background boxes mostly fail."""
    data = shared_path("mask-detection")
    pairs = voc_dataset(data)
    test = set(scene_split(pairs)["test"])
    check, face_cut = FaceCheck(), fusion_settings()["fused"]["accurate"]["check"]["face_cut"]
    faces, background, rng = [], [], np.random.default_rng(0)
    for path, gt in [(p, g) for p, g in pairs if p.name in test][:40]:
        image = read_image(path)
        big = gt.xyxy[np.maximum(gt.xyxy[:, 2] - gt.xyxy[:, 0], gt.xyxy[:, 3] - gt.xyxy[:, 1]) >= 32]
        faces += list(check.p_face(image, big))
        h, w = image.shape[:2]
        x, y = rng.uniform(0, w - 48, 3), rng.uniform(0, h - 48, 3)
        boxes = np.stack([x, y, x + 48, y + 48], axis=1).astype(np.float32)
        far = np.array([not len(gt.xyxy) or _iou_max(b, gt.xyxy) < 0.01 for b in boxes], bool)
        background += list(check.p_face(image, boxes[far]))
    assert len(faces) >= 30 and len(background) >= 30
    assert np.mean(np.array(faces) >= face_cut) >= 0.85, np.mean(np.array(background) < face_cut)
    assert np.mean(np.array(background) < face_cut) >= 0.9, np.mean(np.array(faces) >= face_cut)


def _iou_max(box, others) -> float:
    from facemask.core.boxes import iou_matrix

    return float(iou_matrix(box[None], others).max())


def test_a_check_whose_bytes_do_not_match_its_card_is_refused(tmp_path):
    model = tmp_path / "face_check.tflite"
    shutil.copyfile(check_model_path(), model)
    card = json.loads(check_model_path().with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps(card))
    assert FaceCheck(model).size == card["input_size"]
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    with pytest.raises(FacemaskError, match="SHA-256|sha256|does not match"):
        FaceCheck(model)


def test_a_check_card_with_other_labels_is_refused(tmp_path):
    model = tmp_path / "face_check.tflite"
    shutil.copyfile(check_model_path(), model)
    card = json.loads(check_model_path().with_suffix(".json").read_text()) | {"labels": ["mask", "no_mask"]}
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(FacemaskError, match="face, not_face"):
        FaceCheck(model)


def test_shipped_check_matches_its_card():
    card = json.loads(check_model_path().with_suffix(".json").read_text())
    assert hashlib.sha256(check_model_path().read_bytes()).hexdigest() == card["model_sha256"]
    assert card["negatives"] and card["examples"]["train"]["by_eye_not_faces"] > 0


def test_by_eye_labels_follow_a_box_that_moved_a_little(tmp_path):
    labels = tmp_path / "eye.json"
    boxes = [entry("a.jpg", np.array([10, 10, 50, 50]), "face"), entry("a.jpg", [100, 10, 140, 50], "not_face")]
    labels.write_text(json.dumps({"boxes": boxes}))
    eye = ByEye.load(labels)
    got = eye.label("a.jpg", np.array([[12, 11, 51, 52], [101, 10, 140, 50], [300, 300, 340, 340]], np.float32))
    assert got == ["face", "not_face", None]
    assert eye.label("b.jpg", np.array([[10, 10, 50, 50]])) == [None]


def test_by_eye_labels_refuse_an_unknown_label(tmp_path):
    labels = tmp_path / "eye.json"
    labels.write_text(json.dumps({"boxes": [entry("a.jpg", [0, 0, 9, 9], "maybe")]}))
    with pytest.raises(ValueError, match="maybe"):
        ByEye.load(labels)


def test_by_eye_precision_counts_only_labelled_faces_as_right():
    got = by_eye_precision(90, ["face"] * 6 + ["not_face"] * 2 + ["undecided", None])
    assert got["precision_ge32_by_eye"] == pytest.approx(96 / 100)
    assert (got["faces"], got["not_faces"], got["undecided"], got["not_looked_at"]) == (6, 2, 1, 1)


def test_contact_sheets_number_every_box_and_index_them(tmp_path):
    scene = tmp_path / "s.png"
    cv2.imwrite(str(scene), np.full((200, 300, 3), 128, np.uint8))
    shown = [Shown(scene, np.array([i, 20, i + 30, 60], np.float32), 0.5) for i in range(0, 250, 4)]
    paths = write_sheets(shown, tmp_path / "sheets", "unmatched_test")
    per = COLS * ROWS
    assert len(paths) == -(-len(shown) // per)
    assert cv2.imread(str(paths[0])).shape == (ROWS * TILE, COLS * TILE, 3)
    index = (tmp_path / "sheets" / "unmatched_test_index.tsv").read_text().splitlines()
    assert len(index) == len(shown) + 1 and index[1].split("\t")[:3] == ["0", "s.png", "0,20,30,60"]
    number, scene, box, score = read_index(tmp_path / "sheets" / "unmatched_test_index.tsv")[1]
    assert (number, scene, box.tolist(), score) == (1, "s.png", [4, 20, 34, 60], 0.5)


def test_closer_sheets_show_each_undecided_box_twice_with_its_number(tmp_path):
    scene = tmp_path / "s.png"
    image = np.full((200, 300, 3), 128, np.uint8)
    image[40:60, 100:120] = 255  # the box's own pixels: the closer tile is mostly them
    cv2.imwrite(str(scene), image)
    shown = [(n, Shown(scene, np.array([100, 40, 120, 60], np.float32), 0.4)) for n in (7, 11, 30)] * 5
    paths = write_closer(shown, tmp_path / "closer", "unmatched_test")
    assert [p.name for p in paths] == ["unmatched_test_closer_00.png", "unmatched_test_closer_01.png"]
    sheet = cv2.imread(str(paths[0]))
    assert sheet.shape == (CLOSER_ROWS * CLOSER, CLOSER_ROW * 2 * CLOSER, 3)
    wide, near = sheet[:CLOSER, :CLOSER], sheet[:CLOSER, CLOSER : 2 * CLOSER]
    assert (near == 255).all(axis=2).mean() > (wide == 255).all(axis=2).mean() > 0


def test_score_detection_writes_sheets_and_by_eye_precision(tmp_path):
    import importlib.util

    from conftest import REPO

    data = shared_path("mask-detection")
    spec = importlib.util.spec_from_file_location("score_detection", REPO / "tools" / "score_detection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    eye = tmp_path / "eye.json"
    eye.write_text(json.dumps({"boxes": []}))
    out = tmp_path / "r.json"
    argv = ["--data", str(data), "--split", "all", "--limit", "4", "--model", "none"]
    assert module.main([*argv, "--sheets", str(tmp_path / "sh"), "--by-eye", str(eye), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["sheets"]["boxes"] == report["false_positives"] == report["by_eye"]["not_looked_at"]
    assert report["by_eye"]["precision_ge32_by_eye"] == report["precision_ge32"]  # nothing looked at: no change
    assert len(list((tmp_path / "sh").glob("*.jpg"))) == report["sheets"]["sheets"]


def test_face_check_labels_file_is_valid_and_from_the_tuning_half():
    from conftest import REPO

    path = REPO / "docs" / "bench" / "by_eye" / "trainval_candidates.json"
    eye = ByEye.load(path)
    data = shared_path("mask-detection")
    split = scene_split(voc_dataset(data))
    assert eye.boxes and not set(eye.boxes) & set(split["test"])
    assert read_voc(data / "annotations" / (next(iter(eye.boxes)).rsplit(".", 1)[0] + ".xml"))


def test_loader_uses_no_check_for_res10_and_yunet():
    assert not hasattr(loader.load_face_detector(DetectorConfig(backend="res10")), "check")
