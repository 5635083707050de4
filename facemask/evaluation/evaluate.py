"""Score a model on a labelled folder through the full inference path: detector crop, then classifier."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.classifier import MaskClassifier
from facemask.classification.crops import training_crop
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.evaluation.provenance import training_source_note
from facemask.io.imageio import read_image_bytes
from facemask.io.images import ImageItem, ImageSource
from facemask.io.safeio import atomic_path, write_text
from facemask.io.walk import walk_files
from facemask.pipeline.run import Pipeline
from facemask.sinks.base import Sink
from facemask.training.dataset import class_folders
from facemask.training.metrics import classification_report, plot_confusion, plot_grid


class _LargestFaceCrops(Sink):
    """Per image the detection loop hands it: the largest face's crop for each model (the whole image when no
    face is found, as training crops it), its true label and its file's SHA-256 for the provenance check."""

    needs_image = False  # the crops come from the picture as decoded, never an annotated one

    def __init__(self, models, labels: dict[str, str]) -> None:
        self.models, self.labels = models, labels
        self.crops: list[list[np.ndarray]] = []
        self.y_true: list[int] = []
        self.entries: list[tuple[str, str, str]] = []  # (relative path, label, sha256)

    def write(self, frame: Frame, faces: Faces) -> None:
        m_crops = [
            training_crop(frame.image, faces.xyxy, m.card.input_size, m.card.crop_margin)[0] for m in self.models
        ]
        self.crops.append(m_crops)
        label, relative = self.labels[frame.name]
        self.y_true.append(LABELS.index(label))
        sha = hashlib.sha256(read_image_bytes(Path(frame.name))).hexdigest()
        self.entries.append((relative, label, sha))


def evaluate_folder(
    root: Path, pipeline: Pipeline, classifier: MaskClassifier, progress: bool = False
) -> tuple[dict, list[tuple[str, str]]]:
    """Per image: the largest detected face (or the whole image) classified as inference would.

    The images run through the one loop (`pipeline.run` over an ImageSource) of a detect-only
    pipeline (builder.build_pipeline with no classifier), and `classifier` then takes the largest
    face's crops in batches across images: crops in, probabilities out.
    Returns the report (the `facemask evaluate --json` document) and the skipped files.
    `progress` shows a bar on stderr when it is a terminal.
    """
    from facemask.sinks.progress_bar import progress_bar

    walks = {label: walk_files(folder) for label, folder in class_folders(Path(root)).items()}
    files = [(label, p) for label, walk in walks.items() for p in walk.files if not p.name.startswith(".")]
    labels = {str(p): (label, str(p.relative_to(root))) for label, p in files}
    collected = _LargestFaceCrops(classifier.models, labels)
    skipped = [(str(p), why) for walk in walks.values() for p, why in walk.problems if not p.name.startswith(".")]
    with progress_bar([ImageItem(p, p.relative_to(root)) for _, p in files], desc="images", enabled=progress) as bar:
        source = ImageSource(
            bar, on_error=lambda item, exc: skipped.append((str(item.path), str(exc).split(": ", 1)[-1]))
        )
        pipeline.run(source, [collected])
    y_true, crops = collected.y_true, collected.crops
    if not crops:
        raise FacemaskError(f"{root}: no readable images")
    unread = [label for i, label in enumerate(LABELS) if i not in y_true]
    if unread:  # scoring one class alone would claim 100 % on whatever that class holds
        first = f", first {Path(skipped[0][0]).name}: {skipped[0][1]}" if skipped else ""
        raise FacemaskError(
            f"{root}: no readable images of class {unread[0]!r} ({len(skipped)} skipped{first}); "
            "both classes are needed to score a model"
        )
    per_model = [np.stack(c) for c in zip(*crops)]
    p_mask = np.concatenate(
        [classifier.predict_crops(*(c[i : i + 32] for c in per_model)) for i in range(0, len(crops), 32)]
    )
    y_pred = np.array([LABELS.index(lbl) for lbl in classifier.labels_for(p_mask)])
    report = classification_report(np.array(y_true), y_pred)
    note = training_source_note(Path(root), collected.entries, [m.path for m in classifier.models])
    if note:
        report["training_source_warning"] = note
    report["_plots"] = (per_model[0], np.array(y_true), y_pred, p_mask)  # the grid shows what the first model saw
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
            plot_confusion(report["confusion_matrix"]["matrix"], LABELS, temp)
        with atomic_path(plots / "grid.png") as temp:
            plot_grid(crops, y_true, y_pred, p_mask, temp)
    return report
