"""Score a model on a labelled folder through the full inference path: detector crop, then classifier."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.crops import training_crop
from facemask.core.errors import FacemaskError
from facemask.evaluation.provenance import training_source_note
from facemask.io.imageio import decode_image, read_image_bytes
from facemask.io.safeio import atomic_path, write_text
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.training.dataset import class_folders
from facemask.training.metrics import classification_report, plot_confusion, plot_grid


def evaluate_folder(
    root: Path, analyzer: FaceMaskAnalyzer, progress: bool = False
) -> tuple[dict, list[tuple[str, str]]]:
    """Per image: the largest detected face (or the whole image) classified as inference would.

    `analyzer` is the pipeline's (builder.build_pipeline): the same detector and classifier
    `facemask detect` loads. Its classifier takes the crops in batches across images.
    Returns the report (the `facemask evaluate --json` document) and the skipped files.
    `progress` shows a bar on stderr when it is a terminal.
    """
    from facemask.sinks.progress_bar import progress_bar

    classifier = analyzer.classifier
    models = classifier.models
    y_true, crops, skipped, entries = [], [], [], []  # crops: per image, one per model (each at its own size)
    files = [
        (label, p)
        for label, folder in class_folders(Path(root)).items()
        for p in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    ]
    with progress_bar(files, desc="images", enabled=progress) as bar:
        for label, path in bar:
            try:
                data = read_image_bytes(path)
                image = decode_image(data, str(path))
            except FacemaskError as exc:
                skipped.append((str(path), str(exc).split(": ", 1)[-1]))
                continue
            xyxy = analyzer.detector.detect(image).xyxy
            crops.append([training_crop(image, xyxy, m.card.input_size, m.card.crop_margin)[0] for m in models])
            y_true.append(LABELS.index(label))
            entries.append((str(path.relative_to(root)), label, hashlib.sha256(data).hexdigest()))
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
    crops_arr = per_model[0]  # the grid shows what the first model saw
    y_pred = np.array([LABELS.index(lbl) for lbl in classifier.labels_for(p_mask)])
    report = classification_report(np.array(y_true), y_pred)
    note = training_source_note(Path(root), entries, [m.path for m in models])
    if note:
        report["training_source_warning"] = note
    report["_plots"] = (crops_arr, np.array(y_true), y_pred, p_mask)
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
