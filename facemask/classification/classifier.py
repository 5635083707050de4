"""Mask classifier runtime: face crops in, probabilities out.

The model's card (a JSON file beside it) carries its input size, colour order, pixel
scaling, crop margin, labels and threshold, so inference prepares crops exactly as training
did. TFLite models run through LiteRT; a Keras `.keras` file also loads, and is called
directly on the batch rather than through `predict`, which costs ~100 ms per call.

A mean card (a `.json` naming member models beside it) averages several models: each cuts its
own crops, its P(mask) is centred on its own card's cut, and the mean of their logits is divided
by a temperature fitted on the validation splits. The shipped `default` is such a card over
`resnet50`, `lite` and `lite128`; docs/models.md has how it compares with each of them.

A single model may have three labels (mask, no_mask, incorrect_mask) or four (and not_face): its
softmax, already calibrated, is read by argmax over the face classes, not_face dropped and the rest
renormalised (core/labels.py `face_probs`); `face_prob` carries P(face) on for the step that drops
non-faces at the card's `not_face_threshold`. A mean card stays two-class.

Cards are read and checked in card.py; each model file runs in runtime.py (CardModel).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from facemask import FACE_LABELS, LABELS
from facemask.classification.card import ModelCard, load_mean_card, resolve_model
from facemask.classification.runtime import CardModel
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.labels import argmax_labels, face_probs, labels_at, two_class_probs
from facemask.core.types import Faces

log = logging.getLogger(__name__)


class MaskClassifier:
    """`classify(image, faces) -> Faces` with `mask_prob` and `label` filled, one batch per model a frame."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        path = resolve_model(self.config.model)
        mean = load_mean_card(path) if path.suffix == ".json" else None
        self.models = tuple(CardModel(p, self.config.threads) for p in (mean.members if mean else [path]))
        if mean:
            if any(m.card.labels != LABELS for m in self.models):
                raise FacemaskError(f"{path}: a mean averages two-class models; every member's labels must be {LABELS}")
            for model, digest in zip(self.models, mean.sha256):
                if (model.card.sha256 or "") != digest:  # the card's digest was just checked against the file
                    raise FacemaskError(
                        f"{path}: {model.path.name} is not the model this mean was fitted on (SHA-256 differs); "
                        "refit it with tools/fit_mean.py"
                    )
        self.temperature = mean.temperature if mean else 1.0
        self.name = path.name
        own = mean.threshold if mean else self.models[0].card.threshold
        self.threshold = self.config.threshold if self.config.threshold is not None else own
        self.labels: tuple[str, ...] = LABELS if mean else self.models[0].card.labels
        if self.multi_class and self.config.threshold is not None:  # the web page always sends its slider's
            log.info("%s reads the likeliest of %s; threshold %s unused", self.name, self.labels, self.threshold)

    @property
    def multi_class(self) -> bool:
        """Three or four labels, decided by argmax; two-class models cut P(no_mask) at the threshold."""
        return len(self.labels) > len(LABELS)

    @property
    def face_labels(self) -> tuple[str, ...]:
        """The labels this model can give a face: mask and no_mask, and incorrect_mask for a multi-class one."""
        return FACE_LABELS if self.multi_class else LABELS

    @property
    def not_face_threshold(self) -> float | None:
        """The card's P(not_face) at which a face is dropped (1 - `Faces.face_prob`); None: none is dropped."""
        return None if len(self.models) != 1 else self.models[0].not_face_threshold

    @property
    def card(self) -> ModelCard:
        """The card of a single model; a mean of models has one per member (`models`)."""
        if len(self.models) != 1:
            raise FacemaskError(f"{self.name}: a mean of {len(self.models)} models has no single card")
        return self.models[0].card

    def predict_crops(self, *crops_rgb: np.ndarray) -> np.ndarray:
        """P(mask) the cut applies to, from one crop batch per model (each at that model's input size).

        One model: its own P(mask). Several: each one's P(mask) centred on its own cut (0.5, 0.41...)
        so they vote on one scale, then the mean of their logits over the fitted temperature.
        """
        if len(crops_rgb) != len(self.models):
            raise ValueError(f"{len(crops_rgb)} crop batches for {len(self.models)} models")
        raw = [m.predict_crops(c) for m, c in zip(self.models, crops_rgb)]
        if len(raw) == 1:
            return raw[0]
        logits = [centred_logit(p, m.card.threshold) for m, p in zip(self.models, raw)]
        return _sigmoid(np.mean(logits, axis=0) / self.temperature)

    def classify(self, image_bgr: np.ndarray, faces: Faces) -> Faces:
        """Labels at the threshold; `mask_prob` re-centred on it, so the shown label is always the likelier."""
        return self.classify_many([image_bgr], [faces])[0]

    def classify_many(self, images_bgr: Sequence[np.ndarray], faces: Sequence[Faces]) -> list[Faces]:
        """`classify` for the faces of several images (one frame per stream) in one batch per model.

        A multi-source run pays one inference call a tick, not one per stream; each face's answer
        is the one `classify` gives it alone.
        """
        crops = [np.concatenate([m.crops(im, f.xyxy) for im, f in zip(images_bgr, faces)]) for m in self.models]
        class_prob, face_prob, labels = self.read_crops(*crops)
        out, start = [], 0
        for f in faces:
            rows = slice(start, start + len(f))
            start = rows.stop
            probs, label = class_prob[rows], labels[rows]
            p = probs[:, 0].copy()
            out.append(
                f.with_(
                    mask_prob=p,
                    label=label,
                    raw_mask_prob=p,
                    raw_label=label.copy(),
                    class_prob=probs,
                    raw_class_prob=probs.copy(),
                    face_prob=face_prob[rows],
                )
            )
        return out

    def read_crops(self, *crops_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(class_prob over FACE_LABELS, P(face), label) per face from one crop batch per model.

        Two classes: P(mask) re-centred on the threshold it is cut at (so the shown label is the likelier),
        P(face) 1. More: the model's softmax read by argmax over the face classes, not_face dropped.
        """
        if not self.multi_class:
            raw = self.predict_crops(*crops_rgb)
            class_prob = two_class_probs(centre_on_threshold(raw, self.threshold))
            return class_prob, np.ones(len(raw), np.float32), self.labels_for(raw)
        class_prob, face_prob = face_probs(self.models[0].predict_probs(crops_rgb[0]), self.labels)
        return class_prob, face_prob, argmax_labels(class_prob)

    def labels_for(self, mask_prob: np.ndarray) -> np.ndarray:
        """`no_mask` when P(no_mask) reaches the threshold, else `mask`."""
        return labels_at(mask_prob, self.threshold)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def centred_logit(mask_prob: np.ndarray, threshold: float) -> np.ndarray:
    """logit(P(mask)) + logit(threshold): the logit of `centre_on_threshold`, the scale a mean votes on."""
    return _logit(mask_prob) + _logit(threshold)


def centre_on_threshold(mask_prob: np.ndarray, threshold: float) -> np.ndarray:
    """P(mask) with the decision cut moved to 0.5: logit(P'(no_mask)) = logit(P(no_mask)) - logit(threshold).

    A cut below 0.5 (say 0.39, picked on the validation split) is a prior shift toward `no_mask`;
    applying the same shift to the probability makes it the one the label was decided on, so a face
    labelled `no_mask` never reads "No Mask 41%". The ordering of faces is unchanged, and a 0.5
    cut leaves the probabilities as they are.
    """
    return _sigmoid(centred_logit(mask_prob, threshold))  # logit(P'(mask)) = -logit(P'(no_mask))
