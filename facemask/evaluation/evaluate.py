"""Score a model on a labelled folder through the full inference path: the one pipeline, each image's largest face.

The images run through the builder's pipeline (`build_pipeline`, `Pipeline.run` over an
ImageSource), detected and classified as `facemask detect` does them; each image's answer is its
largest face's label. An image where no face is found is classified whole, as training crops it
(classification/crops.py training_crop): its detector answers one box, the whole picture.

A folder and a model need not have the same classes (`scored_labels`): three classes are scored only when
both have an `incorrect_mask`; otherwise a mask worn wrong, read or true, is scored as `no_mask` (not
compliant, the side an alert is on), and the report's `incorrect_mask` entry says how many it folded.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np

from facemask import FACE_LABELS, LABELS
from facemask.classification.crops import training_crop
from facemask.core.config import PipelineConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.detection.loader import Detector, load_face_detector
from facemask.evaluation.provenance import training_source_note
from facemask.io.imageio import read_image_bytes
from facemask.io.images import ImageItem, ImageSource
from facemask.io.safeio import atomic_path, write_text
from facemask.io.walk import walk_files
from facemask.pipeline.builder import build_pipeline
from facemask.sinks.base import Sink
from facemask.training.dataset import class_folders
from facemask.training.metrics import classification_report, plot_confusion, plot_grid


class WholeImageWhenNoFace:
    """The detector, except that an image where it finds no face is answered with one box, the whole image, so
    the classifier labels the picture whole (its square crop, clipped to the image, is the image)."""

    def __init__(self, detector: Detector) -> None:
        self.detector, self.config = detector, detector.config

    def detect(self, image: np.ndarray) -> Faces:
        faces = self.detector.detect(image)
        if len(faces):
            return faces
        h, w = image.shape[:2]
        return Faces(xyxy=[[0, 0, w, h]], score=[0.0])


class _LargestFace(Sink):
    """Per image the run hands it: its largest face's label and P(mask) (the first model's crop of it, for the
    plots), the true label, and the file's SHA-256 for the provenance check."""

    needs_image = False  # the crops come from the picture as decoded, never an annotated one

    def __init__(
        self, crop_size: int, crop_margin: float, labels: dict[str, tuple[str, str]], scored: tuple[str, ...]
    ) -> None:
        self.crop_size, self.crop_margin, self.labels, self.scored = crop_size, crop_margin, labels, scored
        self.folded: Counter = Counter()  # (true, read) pairs where either was incorrect_mask scored as no_mask
        self.crops: list[np.ndarray] = []
        self.y_true: list[int] = []
        self.y_pred: list[int] = []
        self.p_mask: list[float] = []
        self.entries: list[tuple[str, str, str]] = []  # (relative path, label, sha256)

    def write(self, frame: Frame, faces: Faces) -> None:
        areas = (faces.xyxy[:, 2] - faces.xyxy[:, 0]) * (faces.xyxy[:, 3] - faces.xyxy[:, 1])
        largest = faces[int(np.argmax(areas))]
        self.crops.append(training_crop(frame.image, largest.xyxy, self.crop_size, self.crop_margin)[0])
        read = str(largest.label[0])
        self.p_mask.append(float(largest.mask_prob[0]))
        label, relative = self.labels[frame.name]
        if "incorrect_mask" in (label, read) and "incorrect_mask" not in self.scored:
            self.folded[(label, read)] += 1
        self.y_pred.append(self.scored.index(_fold(read, self.scored)))
        self.y_true.append(self.scored.index(_fold(label, self.scored)))
        sha = hashlib.sha256(read_image_bytes(Path(frame.name))).hexdigest()
        self.entries.append((relative, label, sha))


def scored_labels(folder: tuple[str, ...], model: tuple[str, ...]) -> tuple[str, ...]:
    """The labels a folder of `folder` classes is scored on by a model reading `model`: all three only when both
    have incorrect_mask, else mask and no_mask (`_fold` scores incorrect_mask as no_mask)."""
    return FACE_LABELS if "incorrect_mask" in folder and "incorrect_mask" in model else LABELS


def _fold(label: str, scored: tuple[str, ...]) -> str:
    """A mask worn wrong is not compliant: scored as `no_mask` where incorrect_mask is not scored."""
    return "no_mask" if label == "incorrect_mask" and label not in scored else label


def _folded_note(folded: Counter) -> dict:
    """The report's `incorrect_mask` entry: the rule, and each (true, read) pair it scored as no_mask."""
    return {
        "rule": "scored as no_mask (not compliant): the folder or the model has no incorrect_mask class",
        "folded": [{"true": t, "read": r, "n": n} for (t, r), n in sorted(folded.items())],
    }


def evaluation_pipeline(config: PipelineConfig):
    """The builder's pipeline for `config` (images: `PipelineConfig.for_images`), its detector answering the
    whole image where it finds no face."""
    return build_pipeline(config, detector=WholeImageWhenNoFace(load_face_detector(config.detector)))


def evaluate_folder(root: Path, pipeline, progress: bool = False) -> tuple[dict, list[tuple[str, str]]]:
    """Per image: the largest face (or the whole image) of the pipeline's output, labelled as `detect` labels it.

    `pipeline` is `evaluation_pipeline`'s. Returns the report (the `facemask evaluate --json` document)
    and the skipped files. `progress` shows a bar on stderr when it is a terminal.
    """
    from facemask.sinks.progress_bar import progress_bar

    folders = class_folders(Path(root))
    walks = {label: walk_files(folder) for label, folder in folders.items()}
    files = [(label, p) for label, walk in walks.items() for p in walk.files if not p.name.startswith(".")]
    labels = {str(p): (label, str(p.relative_to(root))) for label, p in files}
    classifier = pipeline.analyzer.classifier
    first = classifier.models[0].card
    scored = scored_labels(tuple(folders), classifier.face_labels)
    collected = _LargestFace(first.input_size, first.crop_margin, labels, scored)
    skipped = [(str(p), why) for walk in walks.values() for p, why in walk.problems if not p.name.startswith(".")]
    with progress_bar([ImageItem(p, p.relative_to(root)) for _, p in files], desc="images", enabled=progress) as bar:
        source = ImageSource(
            bar, on_error=lambda item, exc: skipped.append((str(item.path), str(exc).split(": ", 1)[-1]))
        )
        pipeline.run(source, [collected])
    y_true, crops = collected.y_true, collected.crops
    if not crops:
        raise FacemaskError(f"{root}: no readable images")
    unread = [label for i, label in enumerate(scored) if i not in y_true]
    if unread:  # scoring one class alone would claim 100 % on whatever that class holds
        first = f", first {Path(skipped[0][0]).name}: {skipped[0][1]}" if skipped else ""
        raise FacemaskError(
            f"{root}: no readable images of class {unread[0]!r} ({len(skipped)} skipped{first}); "
            "every class is needed to score a model"
        )
    y_pred, p_mask = np.array(collected.y_pred), np.array(collected.p_mask, np.float32)
    report = classification_report(np.array(y_true), y_pred, scored)
    if "incorrect_mask" in (*folders, *classifier.face_labels) and scored == LABELS:
        report["incorrect_mask"] = _folded_note(collected.folded)
    note = training_source_note(Path(root), collected.entries, [m.path for m in classifier.models])
    if note:
        report["training_source_warning"] = note
    report["_plots"] = (np.stack(crops), np.array(y_true), y_pred, p_mask)  # the grid shows what the first model saw
    return report, skipped


def write_outputs(report: dict, json_path: Path | None, plots: Path | None) -> dict:
    """Drop the in-memory plot data, write JSON and plots; returns the clean report."""
    crops, y_true, y_pred, p_mask = report.pop("_plots")
    if json_path:
        write_text(json_path, json.dumps(report, indent=1))
    if plots:
        try:
            plots.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FacemaskError(f"{plots}: cannot create the plots folder ({exc.strerror})") from None
        with atomic_path(plots / "confusion_matrix.png") as temp:
            plot_confusion(report["confusion_matrix"]["matrix"], report["confusion_matrix"]["labels"], temp)
        with atomic_path(plots / "grid.png") as temp:
            plot_grid(crops, y_true, y_pred, p_mask, temp, labels=tuple(report["confusion_matrix"]["labels"]))
    return report
