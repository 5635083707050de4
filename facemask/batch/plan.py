"""What a batch will do: the input videos (a folder, or a list file), each one's outputs, and which are done.

Every input gets `DIR/<stem>.jsonl`, `DIR/<stem>.events.jsonl` (its violations, with their snapshots in
`DIR/<stem>.events_snapshots/`), `DIR/<stem>.summary.json` and, with `--video`, `DIR/<stem>.mp4`.
Stems whose outputs would clash (`a/clip.mp4` and `b/clip.mp4`; `clip.mp4` and `clip.events.mp4`) are
told apart by a short hash of the path, so a re-run names them the same way. The summary is written
last, atomically, once the other outputs are in place: a file whose summary and other outputs exist
is done, and a re-run skips it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.io.imageio import VIDEO_SUFFIXES, read_bounded
from facemask.io.safeio import is_within, real_path
from facemask.io.walk import walk_files
from facemask.sinks.video_outputs import VideoOutputs

log = logging.getLogger(__name__)
LIST_LIMIT = 16 * 2**20  # a million paths; more is not a list a person wrote
OUTPUT_SUFFIXES = (".jsonl", ".events.jsonl", ".summary.json", ".mp4")  # the files of FileJob.files


@dataclass(frozen=True)
class FileJob:
    """One input video and where its outputs go. Picklable: it travels to the Ray workers."""

    path: Path
    name: str
    out_dir: Path
    video: bool = False

    @property
    def outputs(self) -> VideoOutputs:
        return VideoOutputs(
            video=self.out_dir / f"{self.name}.mp4" if self.video else None,
            jsonl=self.out_dir / f"{self.name}.jsonl",
            summary=self.out_dir / f"{self.name}.summary.json",
        )

    @property
    def events(self) -> Path:
        """The violation events (the events output writes them, as for `detect --events`; snapshots beside)."""
        return self.out_dir / f"{self.name}.events.jsonl"

    @property
    def files(self) -> list[Path]:
        """Every file this input's run writes, the summary last (the snapshots are the events' folder)."""
        outputs = self.outputs
        return [p for p in (outputs.video, outputs.jsonl, self.events, outputs.summary) if p is not None]

    def done(self) -> bool:
        """Complete outputs from an earlier run: the summary (committed last) and every other output exist."""
        return all(p.is_file() for p in self.files)


def plan_batch(spec: Path, out_dir: Path, video: bool = False) -> list[FileJob]:
    """The jobs for FOLDER_OR_LIST, in input order; bad input as one FacemaskError line."""
    inputs = collect_inputs(spec)
    out_dir = out_dir.absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise FacemaskError(f"{out_dir}: --output must be a folder")
    if spec.is_dir() and (out_dir.is_relative_to(spec.absolute()) or is_within(out_dir, spec)):  # as named, or linked
        raise FacemaskError(f"{out_dir}: --output is inside the input folder {spec}; pick a folder outside it")
    jobs = [FileJob(path, name, out_dir, video) for path, name in zip(inputs, output_names(inputs))]
    real_inputs = {real_path(p): p for p in inputs}
    for job in jobs:
        for out in job.files:
            if real_path(out) in real_inputs:
                raise FacemaskError(f"{out}: an output of {job.path} would overwrite an input; pick another --output")
    return jobs


def collect_inputs(spec: Path) -> list[Path]:
    """The videos in a folder (with its subfolders, sorted), or the paths a list file names, one a line."""
    if spec.is_dir():
        # A video-named entry the walk cannot read stays in: it is reported as that file's error.
        walk = walk_files(spec)
        for folder, why in walk.problems:
            if folder.suffix.lower() not in VIDEO_SUFFIXES:
                log.warning("skipped: %s (%s)", folder, why)
        found = sorted(
            p.absolute()
            for p in [*walk.files, *(path for path, _ in walk.problems)]
            if p.suffix.lower() in VIDEO_SUFFIXES and not _hidden(p.relative_to(spec))
        )
        if not found:
            raise FacemaskError(f"{spec}: no video files in this folder ({', '.join(sorted(VIDEO_SUFFIXES))})")
        return found
    if not spec.exists():
        raise FacemaskError(f"{spec}: no such file or folder")
    if spec.suffix.lower() in VIDEO_SUFFIXES:
        raise FacemaskError(f"{spec}: is a video; give a folder or a list file (one video: facemask detect)")
    return read_list(spec)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def read_list(path: Path) -> list[Path]:
    """A text file of paths, one a line; blank lines and `#` comments skipped; relative to the list's folder.

    An entry that is missing stays in the list: it is reported as that file's error, like a corrupt one.
    """
    try:
        text = read_bounded(path, LIST_LIMIT, "a text list of video paths").decode("utf-8")
    except UnicodeDecodeError:
        raise FacemaskError(f"{path}: not a text list of video paths") from None
    entries = [line.strip() for line in text.splitlines()]
    paths = [(path.parent / entry).absolute() for entry in entries if entry and not entry.startswith("#")]
    unique = list(dict.fromkeys(paths))  # a path listed twice is processed once
    if not unique:
        raise FacemaskError(f"{path}: lists no video paths")
    return unique


def output_names(paths: list[Path]) -> list[str]:
    """Each input's output stem: its own, or `<stem>-<8 hex of its path>` when one of its files is taken."""
    taken: set[str] = set()
    names = []
    for path in paths:
        name = path.stem
        if _file_names(name) & taken:  # case-blind: `Clip.mp4` and `clip.mp4` clash on macOS and Windows
            name = f"{name}-{hashlib.sha1(str(path).encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
        taken |= _file_names(name)
        names.append(name)
    return names


def _file_names(name: str) -> set[str]:
    """The names of the files a stem's outputs take, lower-cased: `clip.events.mp4`'s JSON Lines are
    `clip.events.jsonl`, the name `clip.mp4`'s events have."""
    return {f"{name}{suffix}".lower() for suffix in OUTPUT_SUFFIXES}
