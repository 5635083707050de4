"""Photos for the web page: uploads run through the image pipeline, each into an annotated PNG and JPEG.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be tested directly. The
uploads are a source (io.images.ImageSource) like the CLI's image files, so a photo on the
page is detected, classified and drawn exactly as `facemask detect photo.jpg` would. An upload
over the size limit, or not a readable image within the pixel budget (checked from its header
before decoding), becomes the message saying why, in its place among the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.io.imageio import decode_image
from facemask.io.images import ImageSource
from facemask.pipeline.run import Pipeline
from facemask.sinks.base import Sink
from facemask.sinks.images import result_entry

MB = 1024 * 1024  # as Streamlit counts its upload limit


@dataclass(frozen=True)
class PhotoResult:
    """One analysed photo; the annotated picture is encoded once, not on every rerun."""

    name: str
    width: int
    height: int
    faces: Faces
    png: bytes
    jpeg: bytes

    def record(self) -> dict:
        """This photo's entry in the CLI's JSON format."""
        return result_entry(self.name, self.width, self.height, self.faces)


def checked_bytes(upload, max_mb: int) -> bytes:
    """The upload's bytes, or FacemaskError when it is over the page's size limit."""
    if upload.size > max_mb * MB:
        raise FacemaskError(f"{upload.name}: {upload.size / MB:.1f} MB is over the {max_mb} MB upload limit")
    return upload.getvalue()


@dataclass(frozen=True)
class Upload:
    """An uploaded photo as an image source reads it: size-checked, then decoded, when its turn comes."""

    upload: object  # Streamlit's UploadedFile: name, size, getvalue()
    max_mb: int

    @property
    def name(self) -> str:
        return self.upload.name

    def read(self) -> np.ndarray:
        return decode_image(checked_bytes(self.upload, self.max_mb), self.name)


def face_rows(faces: Faces) -> list[dict]:
    """The per-face table: one row a face, confidence as a percentage, box as x1,y1,x2,y2."""
    rows = []
    for i, rec in enumerate(faces.to_records(), start=1):
        conf = rec["confidence"]
        rows.append(
            {
                "face": i,
                "label": rec["label"],
                "confidence": "" if conf is None else f"{conf:.1%}",
                "face score": f"{rec['face_confidence']:.2f}",
                "box x1, y1, x2, y2": ", ".join(str(v) for v in rec["box"]),
            }
        )
    return rows


def encode(image: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    if not ok:
        raise FacemaskError(f"cannot encode the annotated image as {ext}")
    return buf.tobytes()


class _PhotoResults(Sink):
    """Each annotated photo, encoded, appended to the results in upload order."""

    def __init__(self, out: list) -> None:
        self.out = out

    def write(self, frame: Frame, faces: Faces) -> None:
        h, w = frame.image.shape[:2]
        try:
            self.out.append(
                PhotoResult(frame.name, w, h, faces, encode(frame.image, ".png"), encode(frame.image, ".jpg"))
            )
        except FacemaskError as exc:
            self.out.append(str(exc))


def process_photos(uploads: list, pipeline: Pipeline, max_mb: int) -> list[PhotoResult | str]:
    """One result per upload, in order: a PhotoResult, or the message saying why it failed.

    `pipeline` is built for images (config.PipelineConfig.for_images) around the page's models.
    """
    out: list[PhotoResult | str] = []
    source = ImageSource([Upload(u, max_mb) for u in uploads], on_error=lambda item, exc: out.append(str(exc)))
    pipeline.run(source, [_PhotoResults(out)])
    return out
