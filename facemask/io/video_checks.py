"""Whether a local file is safe to hand to FFmpeg as a video, and opening it through FFmpeg only.

FFmpeg reads a file by its content, not its name: a playlist or concat list named `clip.mp4`
makes it open the files listed there, and a FIFO among them blocks for ever. These checks
run before OpenCV sees the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2

from facemask.core.errors import FacemaskError
from facemask.io.imageio import SYSTEM_TREES

HEAD_BYTES = 4096
# FFmpeg follows these lists to the files they name (a FIFO named there blocks for ever), so none is read:
# concat lists, HLS and M3U playlists, DASH manifests (XML), SDP session files, PLS playlists.
LIST_HEADS = (b"ffconcat", b"#extm3u", b"#ext-x-", b"<?xml", b"<mpd", b"<smil", b"v=0", b"[playlist]", b"file ")


def check_local_video(path: Path) -> None:
    """A local video must be a regular file that is not a list of other files.

    FFmpeg reads an ffconcat list, an HLS playlist or an SDP file named `clip.mp4` by its
    content and opens what it names, a FIFO or device included, which can block for ever.
    No video container is plain text, so text is refused from its first bytes, before
    OpenCV sees the file. The file is opened without blocking and checked to be regular.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FacemaskError(f"{path}: no such file") from None
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or any(path.resolve().is_relative_to(t) for t in SYSTEM_TREES):
            raise FacemaskError(f"{path}: not a regular file (a pipe, socket, device or system file)")
        head = os.read(fd, HEAD_BYTES)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    finally:
        os.close(fd)
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if start.startswith(LIST_HEADS) or (looks_like_text(head) and not head.startswith(b"YUV4MPEG2")):
        raise FacemaskError(
            f"{path}: cannot open video (it is text, not a video: playlists and concat lists, "
            "which name other files, are not read)"
        )


def open_video_file(name: str) -> cv2.VideoCapture:
    """A video file through FFmpeg only: OpenCV's fallback would read `clip%d.mp4` as an image
    sequence, opening `clip0.mp4`, `clip1.mp4`... whatever they are (a FIFO blocks for ever)."""
    return cv2.VideoCapture(name, cv2.CAP_FFMPEG)


def looks_like_text(head: bytes) -> bool:
    """The first bytes of a file are UTF-8 text (no NUL, no control bytes but tab and line ends)."""
    if not head:
        return False
    for cut in range(4):  # the read may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)
