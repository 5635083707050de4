from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, shared_path

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.training.voc import DetectionTally, VocImage, match, read_voc, scene_split, size_buckets, voc_dataset

OBJECT = """<object><name>{name}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>
<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"""


def write_voc(folder: Path, stem: str, objects: list[tuple], filename: str | None = None) -> Path:
    body = "".join(OBJECT.format(name=n, x1=a, y1=b, x2=c, y2=d) for n, a, b, c, d in objects)
    xml = (
        f"<annotation><filename>{filename or stem + '.jpg'}</filename><size><width>400</width>"
        f"<height>300</height><depth>3</depth></size>{body}</annotation>"
    )
    path = folder / f"{stem}.xml"
    path.write_text(xml)
    return path


def test_read_voc_gives_boxes_names_and_class_buckets(tmp_path):
    objects = [
        ("with_mask", 10, 20, 50, 70),
        ("without_mask", 100, 100, 110, 112),
        ("mask_weared_incorrect", 0, 0, 64, 64),
    ]
    ann = read_voc(write_voc(tmp_path, "scene", objects))
    assert (ann.filename, ann.width, ann.height) == ("scene.jpg", 400, 300)
    np.testing.assert_array_equal(ann.xyxy, [[10, 20, 50, 70], [100, 100, 110, 112], [0, 0, 64, 64]])
    assert list(ann.classes) == ["masked", "unmasked", "incorrect"]


def test_read_voc_without_objects_has_no_boxes(tmp_path):
    ann = read_voc(write_voc(tmp_path, "empty", []))
    assert ann.xyxy.shape == (0, 4) and ann.names == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<annotation><filename>a.jpg", "not a readable VOC"),
        ("<annotation><filename>a.jpg</filename></annotation>", "lacks <filename> or <size>"),
        (OBJECT.format(name="hat", x1=0, y1=0, x2=5, y2=5), "unknown class 'hat'"),
        (OBJECT.format(name="with_mask", x1=9, y1=0, x2=5, y2=5), "inverted box"),
        (OBJECT.format(name="with_mask", x1="a", y1=0, x2=5, y2=5), "<xmin> is missing or not a number"),
    ],
)
def test_read_voc_rejects_bad_files_with_a_reason(tmp_path, content, message):
    if content.startswith("<object>"):
        head = "<annotation><filename>a.jpg</filename><size><width>9</width><height>9</height></size>"
        content = f"{head}{content}</annotation>"
    path = tmp_path / "bad.xml"
    path.write_text(content)
    with pytest.raises(FacemaskError, match=message):
        read_voc(path)


def test_voc_dataset_is_in_natural_order_and_checks_images(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images").mkdir()
    for i in (10, 2, 1):
        write_voc(tmp_path / "annotations", f"s{i}", [])
        (tmp_path / "images" / f"s{i}.jpg").write_bytes(b"x")
    assert [p.name for p, _ in voc_dataset(tmp_path)] == ["s1.jpg", "s2.jpg", "s10.jpg"]
    assert [p.name for p, _ in voc_dataset(tmp_path, limit=2)] == ["s1.jpg", "s2.jpg"]
    (tmp_path / "images" / "s2.jpg").unlink()
    with pytest.raises(FacemaskError, match="s2.jpg is missing"):
        voc_dataset(tmp_path)


def test_voc_dataset_on_an_empty_folder_says_what_it_expected(tmp_path):
    with pytest.raises(FacemaskError, match="no annotations/"):
        voc_dataset(tmp_path)


@pytest.mark.parametrize(
    ("box", "bucket"),
    [([0, 0, 31, 31], 0), ([0, 0, 32, 10], 1), ([0, 0, 10, 63], 1), ([5, 5, 69, 20], 2), ([0, 0, 200, 150], 2)],
)
def test_size_bucket_uses_the_longest_side(box, bucket):
    assert size_buckets(np.array([box]))[0] == bucket


GT = np.array([[0, 0, 100, 100], [200, 0, 300, 100]], np.float32)


@pytest.mark.parametrize(
    ("dets", "scores", "expected"),
    [
        ([[0, 0, 100, 100]], [0.9], [0]),  # exact
        ([[0, 0, 100, 100], [5, 5, 100, 100]], [0.6, 0.9], [-1, 0]),  # duplicate: the higher score wins
        ([[50, 0, 150, 100]], [0.9], [0]),  # IoU 0.333 >= 0.3
        ([[60, 0, 160, 100]], [0.9], [-1]),  # IoU 0.25 < 0.3
        ([[400, 0, 500, 100]], [0.9], [-1]),  # no overlap
        ([[190, 0, 290, 100], [0, 0, 100, 100]], [0.5, 0.9], [1, 0]),  # each takes its own face
        ([], [], []),
    ],
)
def test_match_is_greedy_by_score_and_one_to_one(dets, scores, expected):
    got = match(np.array(dets, np.float32).reshape(-1, 4), np.array(scores), GT, iou=0.3)
    assert got.tolist() == expected


def test_match_takes_the_best_free_face_when_the_best_is_taken():
    gt = np.array([[0, 0, 100, 100], [40, 0, 140, 100]], np.float32)
    dets = np.array([[0, 0, 100, 100], [10, 0, 110, 100]], np.float32)  # det 1 overlaps gt 0 more, but gt 0 is taken
    assert match(dets, np.array([0.9, 0.8]), gt, iou=0.3).tolist() == [0, 1]


def test_match_with_no_ground_truth_leaves_every_detection_unmatched():
    assert match(np.array([[0, 0, 10, 10]], np.float32), np.array([0.9]), np.zeros((0, 4), np.float32)).tolist() == [-1]


def scene() -> VocImage:
    """A masked 80 px face, an unmasked 40 px face, a masked 20 px face, an incorrect 70 px face."""
    boxes = [[0, 0, 80, 80], [100, 0, 140, 40], [200, 0, 220, 20], [300, 0, 370, 70]]
    names = ("with_mask", "without_mask", "with_mask", "mask_weared_incorrect")
    return VocImage("s.jpg", 400, 300, np.array(boxes, np.float32), names)


def test_tally_recall_by_size_and_class_and_precision_rules():
    faces = Faces(
        xyxy=[[0, 0, 80, 80], [200, 0, 220, 20], [300, 0, 370, 70], [0, 200, 50, 250], [2, 2, 78, 78]],
        score=[0.9, 0.8, 0.7, 0.6, 0.5],
        label=["mask", "mask", "no_mask", "", "mask"],
    )
    tally = DetectionTally()
    assigned = tally.add(scene(), faces)
    assert assigned.tolist() == [0, 2, 3, -1, -1]
    report = tally.report()
    assert report["recall"]["masked"] == {"<32": 1.0, "32-63": None, ">=64": 1.0, ">=32": 1.0, "all": 1.0}
    assert report["recall"]["unmasked"]["32-63"] == 0.0
    assert report["recall"]["all"][">=32"] == round(2 / 3, 4)
    assert report["support"]["all"] == {"<32": 1, "32-63": 1, ">=64": 2, ">=32": 3, "all": 4}
    # TP: the 80 px and 70 px faces; ignored: the 20 px face; FP: the stray box and the duplicate.
    assert (report["true_positives_ge32"], report["ignored_on_faces_below_32px"], report["false_positives"]) == (
        2,
        1,
        2,
    )
    assert report["precision_ge32"] == 0.5
    assert report["label_accuracy_ge32"] == {
        "all": 1.0,
        "n": 1,
        "masked": 1.0,
        "unmasked": None,
        "incorrect_read_as_no_mask": 1.0,
    }


def test_tally_without_labels_reports_no_label_accuracy_and_counts_small_false_positives():
    tally = DetectionTally()
    tally.add(scene(), Faces(xyxy=[[250, 250, 270, 270]], score=[0.9]))
    report = tally.report()
    assert "label_accuracy_ge32" not in report
    assert report["false_positives_below_32px"] == 1 and report["precision_ge32"] == 0.0
    assert report["recall"]["all"]["all"] == 0.0


def load_script():
    spec = importlib.util.spec_from_file_location("score_detection", REPO / "tools" / "score_detection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_scores_three_real_scenes_to_json(tmp_path, capsys):
    data = shared_path("mask-detection")
    out = tmp_path / "report.json"
    assert (
        load_script().main(
            ["--data", str(data), "--split", "all", "--limit", "3", "--mode", "fast", "--json", str(out)]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["images"] == 3 and report["detector"]["mode"] == "fast"
    assert report["gt_faces"] == sum(len(ann.names) for _, ann in voc_dataset(data, limit=3)) > 0
    assert report["support"]["all"]["all"] == report["gt_faces"]
    assert 0.0 <= report["recall"]["all"]["all"] <= 1.0
    assert report["timing"]["detector_ms_mean"] > 0
    assert "recall" in capsys.readouterr().out


def test_script_adds_label_accuracy_with_a_classifier(tmp_path, tiny_model):
    data = shared_path("mask-detection")
    out = tmp_path / "report.json"
    assert (
        load_script().main(
            ["--data", str(data), "--limit", "3", "--mode", "fast", "--model", str(tiny_model), "--json", str(out)]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["classifier"] == str(tiny_model)
    assert report["label_accuracy_ge32"]["n"] > 0


def test_script_scores_the_held_out_half_by_default_with_found_and_right_and_a_curve(tmp_path, tiny_model):
    data = shared_path("mask-detection")
    out, png = tmp_path / "report.json", tmp_path / "curve.png"
    assert (
        load_script().main(
            [
                "--data",
                str(data),
                "--limit",
                "1",
                "--mode",
                "fast",
                "--model",
                str(tiny_model),
                "--json",
                str(out),
                "--curve",
                str(png),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    pairs = voc_dataset(data)
    held_out = set(scene_split(pairs)["test"])  # once: each call hashes all 853 scenes
    test = [ann for path, ann in pairs if path.name in held_out][:1]
    assert report["split"] == "test" and report["detector"]["backend"] == "centerface"
    assert report["gt_faces"] == sum(len(ann.names) for ann in test)
    right = report["found_and_right_ge32"]
    assert 0.0 <= right["all"] <= report["recall"]["all"][">=32"] <= 1.0  # found and right <= found
    assert png.read_bytes()[:4] == b"\x89PNG" and report["curve"]["png"] == str(png)


def test_found_and_right_counts_only_right_labels_on_faces_of_32px_or_more():
    gt = VocImage(
        "a.jpg",
        200,
        200,
        np.array([[0, 0, 40, 40], [50, 0, 90, 40], [100, 0, 140, 40], [150, 0, 160, 10]], np.float32),
        ("with_mask", "with_mask", "without_mask", "with_mask"),
    )
    faces = Faces(xyxy=gt.xyxy[[0, 1, 3]], score=[0.9, 0.8, 0.7], label=["mask", "no_mask", "mask"])
    tally = DetectionTally()
    tally.add(gt, faces)
    right = tally.report()["found_and_right_ge32"]
    assert right == {"masked": 0.5, "unmasked": 0.0, "all": round(1 / 3, 4), "incl_incorrect": round(1 / 3, 4)}


def test_script_reports_a_missing_folder_as_one_line_error(tmp_path, capsys):
    assert load_script().main(["--data", str(tmp_path / "nowhere"), "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
