"""What a RUN of `facemask report` is, read back from the files a run wrote; nothing here draws.

A RUN is:
- a run's JSON Lines (`detect --json FILE`): one source, or several when its records carry `source`
  (a multi-source run's `--json -` saved to a file);
- a folder of them (a multi-source run's `--json DIR`);
- a `facemask batch` output folder (it has `report.json`): its files in the batch's order.
Beside each JSON Lines file the summary is `<stem>_summary.json` (detect's default) or
`<stem>.summary.json` (batch), else the one `*summary.json` there counting as many frames; a
multi-source summary for all sources holds each under `sources`. The events file is the summary's
`events_path`, else `<stem>_events.jsonl` (detect) or `<stem>.events.jsonl` (batch); each
violation's snapshot is looked for where the event says, then in the events' `<stem>_snapshots/`
folder. Lines that are not records are skipped and counted: a record needs a finite `time_s` within
MAX_TIME_S, and JSON nested too deep to parse is not a record. A summary figure that is not a number
in its range (a rate in 0-1) is dropped: shown as `-`, added up as 0.

The report reads only its runs: every file a run's files name (a batch row's results, a summary's
events file, an event's snapshot) and every JSON Lines file of a folder must lie, links followed,
inside that run's own folder (the JSON Lines' folder, or the folder of a summary given by the caller;
a snapshot: its events file's folder). The rest is refused with one warning line, or, for a batch
row, the row's error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.io.safeio import is_within
from facemask.report.timeline import Timeline

log = logging.getLogger(__name__)

BATCH_REPORT = "report.json"  # batch/report.py REPORT_JSON: marks a batch output folder
SUMMARY_SUFFIXES = ("_summary.json", ".summary.json")  # detect's default name, batch's
MAX_TIME_S = 1e10  # seconds (317 years): beyond any run, epoch timestamps included
MAX_FIGURE = 1e12  # people, frames, seconds: a larger summary figure is not a count
FIGURES = ("people", "masked", "unmasked", "violations", "violators", "resolved", "frames", "duration_s")
RATES = ("compliance_rate", "masked_time_rate")


@dataclass
class SourceData:
    """One source of the report: its per-frame counts, its summary and its events (None/[] when absent)."""

    name: str
    origin: Path
    timeline: Timeline = field(default_factory=Timeline)
    summary: dict | None = None
    events: list[dict] = field(default_factory=list)
    error: str | None = None  # a batch file that failed
    skipped: int = 0  # lines that were not records


def load_runs(runs: list[Path], summary: Path | None = None) -> list[SourceData]:
    """Every source of every RUN, in order; `summary` overrides where the summary is looked for."""
    sources: list[SourceData] = []
    for run in runs:
        if run.is_dir():
            sources.extend(_folder(run, summary))
        elif run.is_file():
            sources.extend(read_results(run, summary))
        else:
            raise FacemaskError(f"{run}: no such file or folder")
    return sources


def _folder(folder: Path, summary: Path | None) -> list[SourceData]:
    batch = _read_json(folder / BATCH_REPORT)
    if isinstance(batch, dict) and isinstance(batch.get("files"), list):
        return _batch(folder, batch["files"])
    found = sorted(
        p for p in folder.glob("*.jsonl") if not p.stem.endswith(("_events", ".events")) and ".partial-" not in p.name
    )
    for outside in [p for p in found if not is_within(p, folder)]:
        log.warning("%s: a link to a file outside %s; refused", outside, folder)
        found.remove(outside)
    if not found:
        raise FacemaskError(f"{folder}: no JSON Lines results (*.jsonl) and no batch {BATCH_REPORT} in this folder")
    return [source for path in found for source in read_results(path, summary)]


def _batch(folder: Path, rows: list) -> list[SourceData]:
    """A batch folder: each file's `<name>.jsonl` and `<name>.summary.json`, failed files with their error."""
    sources = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            continue
        name, path = row["name"], folder / f"{row['name']}.jsonl"
        if not is_within(path, folder):
            sources.append(SourceData(name, folder, error=f"{name}: names a file outside the batch folder; refused"))
            continue
        if row.get("status") != "ok" or not path.is_file():
            error = row.get("error") or f"{path.name}: missing"
            sources.append(SourceData(name, Path(str(row.get("file", path))), error=str(error)))
            continue
        try:
            sources.extend(read_results(path, folder / f"{name}.summary.json"))
        except FacemaskError as exc:  # one unreadable file is its section's error, not the report's end
            sources.append(SourceData(name, path, error=str(exc)))
    return sources


def read_results(path: Path, summary: Path | None = None) -> list[SourceData]:
    """The sources of one JSON Lines file, with their summaries and events."""
    groups: dict[str | None, SourceData] = {}
    skipped = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                record = _record(line)
                if record is None:
                    skipped += line.strip() != ""
                    continue
                name = record.get("source") if isinstance(record.get("source"), str) else None
                if name not in groups:
                    groups[name] = SourceData(name or path.stem, path)
                groups[name].timeline.add(record)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    if not groups:
        raise FacemaskError(f"{path}: no per-frame records (expected the JSON Lines of `facemask detect --json`)")
    roots = [path.parent] if summary is None else [path.parent, summary.parent]
    for source in groups.values():
        source.skipped = skipped
        source.summary = find_summary(path, source, summary)
        source.events = read_events(path, source, roots)
    return list(groups.values())


def _record(line: str) -> dict | None:
    """A per-frame record, or None for anything else (a torn last line, a stray text line)."""
    record = _loads(line)
    ok = isinstance(record, dict) and is_number(record.get("time_s"), -MAX_TIME_S, MAX_TIME_S) and "faces" in record
    return record if ok and isinstance(record["faces"], list) else None


def is_number(value, low: float, high: float) -> bool:
    """A JSON number (not a bool) within [low, high]; NaN, infinities and ints too big for a float are not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return low <= float(value) <= high
    except OverflowError:
        return False


def _loads(text: str):
    """Parsed JSON, or None for anything else (not JSON, or nested too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _read_json(path: Path):
    try:
        return _loads(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def _checked(section: dict) -> dict:
    """A summary without the figures that are not numbers in their range (a rate: 0-1, or None for unknown)."""
    bad = {k for k in FIGURES if k in section and not is_number(section[k], 0, MAX_FIGURE)}
    bad |= {k for k in RATES if section.get(k) is not None and not is_number(section[k], 0, 1)}
    return {k: v for k, v in section.items() if k not in bad}


def _section(document, source: SourceData) -> dict | None:
    """The summary of `source` in a document: itself, or its entry under `sources` (a multi-source summary)."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("sources"), dict):
        section = document["sources"].get(source.name)
        return _checked(section) if isinstance(section, dict) and "people" in section else None
    return _checked(document) if "people" in document else None


def find_summary(path: Path, source: SourceData, given: Path | None = None) -> dict | None:
    """The summary of `source` read from `path`: `given`, else beside it by name, else by its frame count."""
    candidates = [given] if given is not None else [path.with_name(f"{path.stem}{s}") for s in SUMMARY_SUFFIXES]
    for candidate in candidates:
        section = _section(_read_json(candidate), source) if candidate.is_file() else None
        if section is not None:
            return section
    if given is not None:
        return None
    frames = len(source.timeline)
    matching = [
        section
        for p in sorted(path.parent.glob("*summary.json"))
        if (section := _section(_read_json(p), source)) is not None and section.get("frames") == frames
    ]
    return matching[0] if len(matching) == 1 else None


def read_events(path: Path, source: SourceData, roots: list[Path]) -> list[dict]:
    """The source's events (the summary's events file, else `<stem>_events.jsonl` or `<stem>.events.jsonl`),
    each snapshot resolved; an events file outside `roots` (the run's folders) is refused."""
    where = (source.summary or {}).get("events_path")
    candidates = [Path(where), path.parent / Path(where).name] if isinstance(where, str) else []
    candidates += [path.with_name(f"{path.stem}{suffix}") for suffix in ("_events.jsonl", ".events.jsonl")]
    found = [p for p in candidates if p.is_file()]
    events_path = next((p for p in found if any(is_within(p, root) for root in roots)), None)
    if events_path is None:
        if found:
            log.warning("%s: its events file %s is outside the run's folder; refused", path, found[0])
        return []
    events, refused = [], []
    for line in events_path.read_text(encoding="utf-8", errors="replace").splitlines():
        event = _loads(line)
        if not isinstance(event, dict) or not is_number(event.get("time_s"), -MAX_TIME_S, MAX_TIME_S):
            continue
        if isinstance(event.get("source"), str) and event["source"] != source.name:
            continue
        snapshot = _snapshot(event.get("snapshot"), events_path, refused)
        events.append({**event, "snapshot_file": snapshot})
    if refused:
        log.warning(
            "%s: %d snapshot path(s) outside %s refused (the first: %s)",
            events_path,
            len(refused),
            events_path.parent,
            refused[0],
        )
    return events


def _snapshot(recorded, events_path: Path, refused: list[Path]) -> Path | None:
    """Where a snapshot is now: as recorded (relative to here), else in the events file's snapshot folder;
    only inside the events file's folder. A path that exists but lies outside goes to `refused`."""
    if not isinstance(recorded, str) or not recorded:
        return None
    candidates = [Path(recorded), events_path.parent / f"{events_path.stem}_snapshots" / Path(recorded).name]
    found = [p for p in candidates if p.is_file()]
    allowed = next((p for p in found if is_within(p, events_path.parent)), None)
    if allowed is None and found:
        refused.append(found[0])
    return allowed
