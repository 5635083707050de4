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
folder. Lines that are not records are skipped and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.report.timeline import Timeline

BATCH_REPORT = "report.json"  # batch/report.py REPORT_JSON: marks a batch output folder
SUMMARY_SUFFIXES = ("_summary.json", ".summary.json")  # detect's default name, batch's


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
    for source in groups.values():
        source.skipped = skipped
        source.summary = find_summary(path, source, summary)
        source.events = read_events(path, source)
    return list(groups.values())


def _record(line: str) -> dict | None:
    """A per-frame record, or None for anything else (a torn last line, a stray text line)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    ok = isinstance(record, dict) and isinstance(record.get("time_s"), (int, float)) and "faces" in record
    return record if ok and isinstance(record["faces"], list) else None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _section(document, source: SourceData) -> dict | None:
    """The summary of `source` in a document: itself, or its entry under `sources` (a multi-source summary)."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("sources"), dict):
        section = document["sources"].get(source.name)
        return section if isinstance(section, dict) and "people" in section else None
    return document if "people" in document else None


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


def read_events(path: Path, source: SourceData) -> list[dict]:
    """The source's events (the summary's events file, else `<stem>_events.jsonl` or `<stem>.events.jsonl`),
    each snapshot resolved."""
    where = (source.summary or {}).get("events_path")
    candidates = [Path(where), path.parent / Path(where).name] if isinstance(where, str) else []
    candidates += [path.with_name(f"{path.stem}{suffix}") for suffix in ("_events.jsonl", ".events.jsonl")]
    events_path = next((p for p in candidates if p.is_file()), None)
    if events_path is None:
        return []
    events = []
    for line in events_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("time_s"), (int, float)):
            continue
        if isinstance(event.get("source"), str) and event["source"] != source.name:
            continue
        events.append({**event, "snapshot_file": _snapshot(event.get("snapshot"), events_path)})
    return events


def _snapshot(recorded, events_path: Path) -> Path | None:
    """Where a snapshot is now: as recorded (relative to here), else in the events file's snapshot folder."""
    if not isinstance(recorded, str) or not recorded:
        return None
    for candidate in (Path(recorded), events_path.parent / f"{events_path.stem}_snapshots" / Path(recorded).name):
        if candidate.is_file():
            return candidate
    return None
