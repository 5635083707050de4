"""Optional dependencies: TensorFlow and Keras come with the `train` extra, and are checked for in one place.

`pip install facemask` detects, batches, reports and evaluates `.tflite` models on LiteRT alone;
TensorFlow, most of a full install, serves only `train`, `export` and `.keras` models.
Each of those calls `require_tensorflow` before any work, so a light install refuses in one line
that names the extra, never with a traceback minutes in.
"""

from __future__ import annotations

import importlib.util

from facemask.core.errors import FacemaskError

TRAIN_EXTRA = "pip install 'facemask[train]'"
TRAINING_MODULES = ("tensorflow", "keras")


def require_tensorflow(purpose: str) -> None:
    """Refuse `purpose` ("training", "exporting", "a .keras model") unless TensorFlow and Keras are installed.

    Looks the packages up without importing them (TensorFlow takes seconds to import), so the
    check costs nothing when they are there.
    """
    if not all(_installed(name) for name in TRAINING_MODULES):
        raise FacemaskError(f"{purpose} needs TensorFlow: {TRAIN_EXTRA}")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken install, or an import hook that refuses it, is not installed
        return False
