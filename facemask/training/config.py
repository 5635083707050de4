"""Training options: one frozen TrainConfig, checked before any slow work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facemask.core.config import FACE_DETECTORS
from facemask.core.errors import FacemaskError

ARCHS = ("resnet50", "lite", "efficientnet-lite0")
MAX_INPUT_SIZE = 512  # 512 px crops already cost 0.75 MB each; larger only exhausts memory


def _overlaps(a: Path, b: Path) -> bool:
    """One folder is, or lies inside, the other."""
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


@dataclass(frozen=True)
class TrainConfig:
    datasets: tuple[Path, ...]  # folders of class subfolders and/or VOC scene sets
    output: Path = Path("runs/train")
    arch: str = "resnet50"
    weights: str = "imagenet"
    input_size: int = 128
    epochs: int = 14
    head_epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 6
    ema: bool = True
    seed: int = 42
    resume: bool = False
    overwrite: bool = False
    finish_only: bool = False  # calibrate, report and export an existing best.keras without fitting
    quantize: str = "auto"
    cache_dir: Path = Path.home() / ".cache" / "facemask"
    crop_detector: str = "centerface"  # crops are cut by the detector inference runs
    teacher: str | None = None  # a shipped model name or path whose calibrated P(mask) is distilled
    teacher_weight: float = 0.5  # share of the teacher's soft label in each training target
    unlabelled: tuple[Path, ...] = ()  # videos and image folders whose faces only the teacher labels
    synthetic_masks: float = 0.0  # share of no-mask training crops given a drawn mask (and the mask label)
    hard_negatives: float = 0.0  # share of no-mask training crops given a mask look-alike (label kept)
    synthetic_incorrect: float = 0.0  # share of no-mask training crops given a mask below the nose or on the chin
    not_face: float = 0.0  # not-face crops mined from the scenes' train and val, per real face there (<= 1)
    incorrect_repeat: int = 1  # each real incorrect_mask training crop seen this many times an epoch

    def __post_init__(self) -> None:
        if self.crop_detector not in FACE_DETECTORS:
            choices = ", ".join(FACE_DETECTORS)
            raise FacemaskError(f"--crop-detector must be one of {choices}, got {self.crop_detector!r}")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise FacemaskError(f"--teacher-weight must be between 0 and 1, got {self.teacher_weight}")
        shares = (self.synthetic_masks, self.hard_negatives, self.synthetic_incorrect)
        if not (min(shares) >= 0.0 and sum(shares) <= 1.0):
            raise FacemaskError(
                "--synthetic-masks, --hard-negatives and --synthetic-incorrect must be shares from 0 to 1 "
                f"summing to at most 1, got {', '.join(str(v) for v in shares)}"
            )
        if not 0.0 <= self.not_face <= 1.0:
            raise FacemaskError(f"--not-face must be a share from 0 to 1, got {self.not_face}")
        if self.unlabelled and not self.teacher:
            raise FacemaskError("--unlabelled needs --teacher: only a teacher can label those faces")
        if self.arch not in ARCHS:
            raise FacemaskError(f"--arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if not 32 <= self.input_size <= MAX_INPUT_SIZE:
            raise FacemaskError(f"--input-size must be between 32 and {MAX_INPUT_SIZE}, got {self.input_size}")
        if not 0 <= self.seed < 2**32:
            raise FacemaskError(f"--seed must be between 0 and 2**32 - 1, got {self.seed}")
        for root in (*self.datasets, *self.unlabelled):
            if _overlaps(self.output, root):
                raise FacemaskError(f"{self.output}: --output overlaps the dataset {root}; pick a folder outside it")
            if _overlaps(self.cache_dir, root):
                raise FacemaskError(f"{self.cache_dir}: --cache-dir is inside the dataset {root}; pick another folder")
        if self.quantize not in ("auto", "int8", "dynamic", "float16"):
            raise FacemaskError(f"--quantize must be auto, int8, dynamic or float16, got {self.quantize!r}")
        least_values = (("epochs", 1), ("batch_size", 1), ("head_epochs", 0), ("patience", 0), ("incorrect_repeat", 1))
        for name, least in least_values:
            if getattr(self, name) < least:
                raise FacemaskError(f"--{name.replace('_', '-')} must be at least {least}, got {getattr(self, name)}")
        if not 0.0 < self.learning_rate < 1.0:
            raise FacemaskError(f"--lr must be between 0 and 1, got {self.learning_rate}")
