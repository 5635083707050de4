"""An interpreter as `pip install facemask` leaves it, without the `train` extra: importing this module
makes TensorFlow and Keras unimportable for the rest of the process.

A finder first in `sys.meta_path` refuses them as a missing package would (ModuleNotFoundError), so
code that merely tries them fails the way it would on a light install. Every attempt is also
appended to the file named by $NO_TENSORFLOW_LOG as it happens, so an import that some `try`
swallows is still seen. Imported with `python -c "import no_tensorflow; ..."`, or by an
`import no_tensorflow` line in a venv's `.pth` file, which puts every program of that venv under it.
"""

from __future__ import annotations

import os
import sys

BLOCKED = ("tensorflow", "keras")


class NoTensorFlow:
    """A meta path finder that refuses the training packages and records each attempt."""

    def find_spec(self, name: str, path=None, target=None) -> None:
        if name.partition(".")[0] not in BLOCKED:
            return None  # not ours: the usual finders look
        log = os.environ.get("NO_TENSORFLOW_LOG")
        if log:
            with open(log, "a") as f:
                f.write(name + "\n")
        raise ModuleNotFoundError(f"No module named {name!r} (no train extra in this interpreter)", name=name)


if not any(isinstance(finder, NoTensorFlow) for finder in sys.meta_path):
    sys.meta_path.insert(0, NoTensorFlow())
