"""Which labels a run trains: two (mask, no_mask) as always, or three and four for issues 38 and 36.

Label indices are shared by every run: 0 mask, 1 no_mask, 2 incorrect_mask, 3 not_face. A two-class
folder's crops therefore keep their labels inside a three- or four-class run, and a run's labels are
always a prefix of ALL_LABELS (the inference side's contract: outputs in that order).
"""

from __future__ import annotations

import numpy as np

from facemask import LABELS
from facemask.core.errors import FacemaskError
from facemask.core.labels import ALL_LABELS
from facemask.training.config import TrainConfig
from facemask.training.dataset import class_folders, is_scene_set

NOT_FACE = ALL_LABELS.index("not_face")


def run_labels(cfg: TrainConfig) -> tuple[str, ...]:
    """Two labels unless a folder has `incorrect_mask/` or drawn incorrect masks or not-faces are asked for.

    Multi-class runs cannot distil: the teacher gives a two-class P(mask) only.
    """
    if cfg.not_face > 0:
        if not any(is_scene_set(root) for root in cfg.datasets):
            raise FacemaskError("--not-face mines not-faces from a scene set: add a --dataset with annotations/")
        labels = ALL_LABELS
    elif cfg.synthetic_incorrect > 0 or any(
        "incorrect_mask" in class_folders(root) for root in cfg.datasets if not is_scene_set(root)
    ):
        labels = ALL_LABELS[:3]
    else:
        return LABELS
    if cfg.teacher or cfg.unlabelled:
        raise FacemaskError(
            f"--teacher and --unlabelled distil a two-class P(mask); they cannot train the labels {list(labels)}"
        )
    return labels


def not_face_cut(probs: np.ndarray, y: np.ndarray, keep: float = 0.995) -> dict:
    """The lowest cut on P(not_face) that keeps `keep` of the real faces (label != not_face) below it.

    A box reads "not a face" when P(not_face) >= the cut; `rejected_not_faces` is the share of the
    split's not-faces it catches.
    """
    p = np.asarray(probs, np.float64)[:, NOT_FACE]
    faces = np.sort(p[np.asarray(y) != NOT_FACE])
    if len(faces) == 0:
        raise FacemaskError("no real faces in the val split to choose the not_face threshold on")
    k = int(np.ceil(keep * len(faces)))
    cut = min(1.0, float(np.floor(faces[k - 1] * 1e4) / 1e4 + 1e-4))  # just above the k-th lowest
    not_faces = p[np.asarray(y) == NOT_FACE]
    return {
        "threshold": round(cut, 4),
        "kept_faces": round(float((faces < cut).mean()), 4),
        "rejected_not_faces": round(float((not_faces >= cut).mean()), 4) if len(not_faces) else None,
        "n_faces": len(faces),
        "n_not_faces": len(not_faces),
    }


def decision_fields(names: tuple[str, ...], val_probs: np.ndarray, val_y: np.ndarray) -> dict:
    """The card fields of a multi-label model: its labels, argmax, and the not_face cut chosen on val."""
    if len(names) == len(LABELS):
        return {}
    fields = {
        "labels": list(names),
        "decision": "argmax",
        "threshold_meaning": "unused with decision argmax: the label is the most probable one; "
        "probabilities are temperature-calibrated on val (the temperature is baked into the model)",
    }
    if "not_face" in names:
        cut = not_face_cut(val_probs, val_y)
        fields["not_face_threshold"] = cut["threshold"]
        fields["not_face_threshold_chosen"] = {
            **cut,
            "how": "on the val split's calibrated Keras float32 probabilities: the lowest P(not_face) cut "
            "that keeps >= 99.5 % of val real faces (mask, no_mask, incorrect_mask) below it",
        }
    return fields
