"""The face check: a small network that tells faces from what the detector takes for one at a low cut.

Below its tuned cut the fused detector also finds the masked faces it used to drop, and with
them hands, ears, hair, the backs of heads, signs and logos. The check looks only at those weaker
candidates (face_fusion.json `check.verify_below`), so confident faces cost nothing, and keeps the
ones it calls a face (`check.face_cut`). Its model and card ship in facemask/models
(face_check.tflite/.json); the card says how it was trained and how its negatives were chosen.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from facemask.classification.card import read_card, read_verified_model
from facemask.classification.crops import face_crops
from facemask.classification.runtime import LiteRTRunner
from facemask.core.errors import FacemaskError

MODEL_FILE = "face_check.tflite"
INPUT_SIZE = 48  # what training cuts by default; the card carries the size and margin a model was trained at
CROP_MARGIN = 0.5  # the box and as much again around it: a hand, an ear or hair is told by its surroundings


def check_model_path() -> Path:
    return Path(str(resources.files("facemask") / "models" / MODEL_FILE))


class FaceCheck:
    """`p_face(image, xyxy)`: the probability that each box holds a face, from square crops around the boxes."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        path = path or check_model_path()
        card = read_card(path)
        if card.get("labels") != ["face", "not_face"] or not isinstance(card.get("input_size"), int):
            raise FacemaskError(f"{path}: a face check card needs labels [face, not_face] and an input_size")
        content = read_verified_model(path, card.get("model_sha256"))
        self.size = int(card["input_size"])
        self.margin = float(card["preprocessing"]["crop_margin"])
        self.run = LiteRTRunner(path, threads, content)
        if self.run.input_hw != (self.size, self.size):
            raise FacemaskError(f"{path}: model input {self.run.input_hw} does not match its card's {self.size}")

    def crops(self, image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """uint8 RGB crops as the check sees them: `face_crops` at the card's size and margin, as
        tools/train_face_check.py cut its examples."""
        return face_crops(image, xyxy, self.size, self.margin)

    def p_face(self, image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        if len(xyxy) == 0:
            return np.zeros(0, np.float32)
        return self.run(self.crops(image, xyxy).astype(np.float32))[:, 0].astype(np.float32)
