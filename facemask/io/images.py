"""Images and folders as a frame source: one image a `read()`, each Frame named by its image.

So a batch of photos runs through the same loop as a video (pipeline.Pipeline.run). There is
no reader thread: an image is decoded in `read()`, on the loop's thread, within the pixel
budget (imageio). `Frame.index` is the image's place in the batch, counting the ones that
failed, so an output can map it back to its item; `Frame.name` is the image's name. An image
that cannot be read goes to `on_error(item, exc)` and the batch carries on; with no
`on_error` it is raised (one image given alone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from facemask.core.errors import FacemaskError
from facemask.core.types import Frame
from facemask.io.imageio import looks_like_image, read_image
from facemask.io.walk import walk_files


class ImageLike(Protocol):
    """Anything a batch can hold: a name for the outputs, and the decoded BGR picture on demand."""

    @property
    def name(self) -> str: ...
    def read(self) -> np.ndarray: ...


@dataclass(frozen=True)
class ImageItem:
    """One image file of a batch: where to read it and its name under the output folder."""

    path: Path
    relative: Path
    unreadable: str | None = None  # why the folder walk could not reach it: it fails when read

    @property
    def name(self) -> str:
        """The path as given: what the results document records."""
        return str(self.path)

    def read(self) -> np.ndarray:
        if self.unreadable is not None:
            raise FacemaskError(f"{self.path}: {self.unreadable}")
        return read_image(self.path)


def collect_images(specs: Sequence[str], kinds: Sequence[str]) -> list[ImageItem]:
    """ImageItems for image files and folders (searched recursively, sorted), named for the output folder.

    An image-named entry or a subfolder the walk cannot read becomes an item that fails when read,
    so the batch says why and goes on, as for an image that does not decode.
    """
    items = []
    for spec, kind in zip(specs, kinds):
        path = Path(spec)
        if kind == "image":
            items.append(ImageItem(path, Path(path.name)))
            continue
        walk = walk_files(path)
        found = [ImageItem(p, p.relative_to(path)) for p in walk.files if looks_like_image(p)]
        found += [
            ImageItem(p, p.relative_to(path), why)
            for p, why in walk.problems
            if looks_like_image(p) or why.startswith("cannot list")
        ]
        if not found:
            raise FacemaskError(f"{path}: no images in this folder")
        items.extend(sorted(found, key=lambda item: item.path))
    return items


class ImageSource:
    """The images of `items`, in order, as Frames; `failed` counts those handed to `on_error`.

    `items` is iterated lazily, so a progress bar wrapping it advances as the run goes.
    """

    fps = 0.0  # still images: no clock
    dropped = 0  # every image is read

    def __init__(
        self, items: Iterable[ImageLike], on_error: Callable[[ImageLike, FacemaskError], None] | None = None
    ) -> None:
        self._items = enumerate(items)
        self.on_error = on_error
        self.failed = 0

    def start(self) -> ImageSource:
        return self

    def read(self) -> Frame | None:
        """The next image that reads; None at the end or once stopped."""
        for index, item in self._items:
            try:
                image = item.read()
            except FacemaskError as exc:
                if self.on_error is None:
                    raise
                self.failed += 1
                self.on_error(item, exc)
                continue
            return Frame(image, index, 0.0, name=item.name)
        return None

    def stop(self) -> None:
        """The images not read yet are left unread; a second call does nothing."""
        self._items = enumerate(())
