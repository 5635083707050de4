"""Running one model: its card's crops in, its probabilities out (P(mask), or every class's).

TFLite models run through LiteRT; a Keras `.keras` file also loads (with the `train` extra, which
card.resolve_model checks for), and is called directly on the batch rather than through `predict`,
which costs ~100 ms per call. A model is loaded only once its bytes match its card's `model_sha256`,
and from those very bytes, read once (card.read_verified_model): never from its path again, where a
file swapped in after the check would load unchecked. Its input and output shapes are checked
against the card before it is used.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from facemask.classification.card import load_card, read_verified_model
from facemask.classification.crops import face_crops
from facemask.core.errors import FacemaskError


class LiteRTRunner:
    """A TFLite model on LiteRT: float32 batches in (quantized on the way if the model is), float32 out."""

    def __init__(self, path: Path, threads: int, content: bytes | None = None) -> None:
        """`content`: the model's bytes, already checked (`path` then only names it); None reads `path`.

        The interpreter runs on the bytes it is given without copying them, so they are kept with it.
        """
        from ai_edge_litert.interpreter import Interpreter

        self.content = content
        source = {"model_path": str(path)} if content is None else {"model_content": content}
        try:
            self.interp = Interpreter(**source, num_threads=threads)
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise FacemaskError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0]})") from None
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.batch = 0
        self.input_hw = tuple(int(v) for v in self.inp["shape_signature"][1:3])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.batch != len(x):
            self.interp.resize_tensor_input(self.inp["index"], list(x.shape))
            self.interp.allocate_tensors()
            self.inp = self.interp.get_input_details()[0]
            self.out = self.interp.get_output_details()[0]
            self.batch = len(x)
        scale, zero = self.inp["quantization"]
        if self.inp["dtype"] != np.float32:
            x = np.clip(np.round(x / scale + zero), *_limits(self.inp["dtype"])).astype(self.inp["dtype"])
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])
        scale, zero = self.out["quantization"]
        if self.out["dtype"] != np.float32:
            y = (y.astype(np.float32) - zero) * scale
        return y


def _limits(dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return info.min, info.max


class _KerasRunner:
    def __init__(self, path: Path, content: bytes) -> None:
        """Keras loads a `.keras` archive only by path (its loader for file objects is private), so the checked
        bytes go to a private copy (a folder only this user can enter), which is loaded and then removed."""
        import keras

        try:
            with tempfile.TemporaryDirectory(prefix="facemask-model-") as folder:
                copy = Path(folder) / path.name
                copy.write_bytes(content)
                self.model = keras.models.load_model(copy, compile=False)
        except Exception as exc:  # keras raises many types for a bad file (and OSError for a full temp folder)
            raise FacemaskError(f"{path}: cannot load Keras model ({str(exc).splitlines()[0]})") from None
        self.input_hw = tuple(self.model.input_shape[1:3])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(x, training=False))


class CardModel:
    """One model file and its card: uint8 RGB crops at its input size in, raw probabilities out."""

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        self.card = load_card(path)
        content = read_verified_model(path, self.card.sha256)
        self.run = LiteRTRunner(path, threads, content) if path.suffix == ".tflite" else _KerasRunner(path, content)
        self._mask_col = self.card.labels.index("mask")
        self._check_output()

    def _check_output(self) -> None:
        size = self.card.input_size
        if self.run.input_hw != (size, size):
            raise FacemaskError(
                f"{self.path}: model input {self.run.input_hw} does not match its card's input_size {size}"
            )
        probe = self.run(np.zeros((1, size, size, 3), np.float32))
        if probe.shape != (1, len(self.card.labels)):
            raise FacemaskError(
                f"{self.path}: model output shape {probe.shape} does not match its {len(self.card.labels)} labels"
            )

    def crops(self, image_bgr: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        return face_crops(image_bgr, xyxy, self.card.input_size, self.card.crop_margin)

    @property
    def not_face_threshold(self) -> float | None:
        """The card's P(not_face) at which a face is dropped; None: nothing is (no such output, or no cut)."""
        return self.card.not_face_threshold

    def predict_probs(self, crops_rgb: np.ndarray) -> np.ndarray:
        """(N, K) probabilities in the card's label order for a batch of uint8 RGB crops at the model's input size."""
        if len(crops_rgb) == 0:
            return np.zeros((0, len(self.card.labels)), np.float32)
        x = crops_rgb.astype(np.float32)
        if self.card.color == "BGR":
            x = x[..., ::-1]
        x = x * self.card.scale + self.card.offset
        return np.asarray(self.run(np.ascontiguousarray(x)), np.float32)

    def predict_crops(self, crops_rgb: np.ndarray) -> np.ndarray:
        """P(mask) for a batch of uint8 RGB crops already at the model's input size."""
        return self.predict_probs(crops_rgb)[:, self._mask_col]
