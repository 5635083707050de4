"""`facemask report` and `--report` (issue 32): the page plots exactly the counts in the JSON Lines, and is whole."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, assert_one_error, facemask_argv, run_facemask, wait_for_lines
from video_fixtures import write_video

from facemask.cli import main
from facemask.report.page import render
from facemask.report.runs import load_runs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def path_points(svg: str, gid: str) -> list[tuple[float, float]]:
    """The vertices of the path in group `gid` of the page's SVG: what a reader sees plotted."""
    found = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]*)"', svg)
    assert found is not None, f"no series {gid} in the chart"
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", found.group(1))]
    return list(zip(numbers[0::2], numbers[1::2]))


def jsonl_counts(path: Path, source: str | None = None) -> dict[str, list[float]]:
    """Per frame, straight from the JSON Lines: people (faces with a track id), masked and unmasked among them."""
    counts: dict[str, list[float]] = {"time_s": [], "people": [], "masked": [], "unmasked": []}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if source is not None and record.get("source") != source:
            continue
        people = [f for f in record["faces"] if "track_id" in f]
        counts["time_s"].append(record["time_s"])
        counts["people"].append(len(people))
        counts["masked"].append(sum(f["label"] == "mask" for f in people))
        counts["unmasked"].append(sum(f["label"] == "no_mask" for f in people))
    return counts


def assert_plots(page: str, index: int, counts: dict[str, list[float]]) -> None:
    """Source `index`'s timeline: its embedded series and its drawn lines both equal `counts`, point for point."""
    section = page.split(f"<section id=source-{index}>")[1].split("</section>")[0]
    data = re.search(rf'<script type="application/json" id="series-{index}">(.*?)</script>', section).group(1)
    assert json.loads(data)["series"] == counts
    for key in ("people", "masked", "unmasked"):
        xs, ys = np.array(path_points(section, key)).T
        assert len(xs) == len(counts["time_s"])
        # The drawing maps time and count to pixels by one affine map each: fit it, every vertex on it.
        for drawn, value in ((xs, counts["time_s"]), (ys, counts[key])):
            value = np.asarray(value, float)
            if np.ptp(value) == 0:
                assert np.ptp(drawn) < 1e-6
                continue
            a, b = np.polyfit(value, drawn, 1)
            assert np.abs(a * value + b - drawn).max() < 0.05, key


def fake_run(folder: Path, stem: str = "run", frames: int = 50, fps: float = 10.0, source: str | None = None) -> Path:
    """A detect run's files: JSON Lines (one person, unmasked from frame 20), its summary, a violation and its
    snapshot, as `detect --json F --events E` lays them out."""
    records, snapshot_dir = [], folder / f"{stem}_events_snapshots"
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        faces = [{"box": [10, 10, 50, 50], "label": "mask" if i < 20 else "no_mask", "confidence": 0.9}]
        if i >= 3:
            faces[0]["track_id"] = 1
        if i % 7 == 0:
            faces.append({"box": [60, 10, 90, 40], "label": "mask", "confidence": 0.8})  # tentative: no id
        record = {"frame": i, "time_s": round(i / fps, 4), "faces": faces}
        records.append({"source": source, **record} if source else record)
    path = folder / f"{stem}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    shot = snapshot_dir / "track0001_frame000030.jpg"
    cv2.imwrite(str(shot), np.full((200, 160, 3), 128, np.uint8))
    event = {"event": "violation", "track_id": 1, "frame": 30, "time_s": 3.0, "snapshot": str(shot)}
    events = folder / f"{stem}_events.jsonl"
    events.write_text(json.dumps(event) + "\n")
    summary = {"people": 1, "masked": 0, "unmasked": 1, "violations": 1, "compliance_rate": 0.0, "frames": frames}
    (folder / f"{stem}_events_summary.json").write_text(json.dumps({**summary, "events_path": str(events)}))
    return path


def test_the_report_plots_the_jsonl_counts_and_shows_the_violation(tmp_path):
    path = fake_run(tmp_path)
    (sources,) = [load_runs([path])]
    page = render(sources)
    assert_plots(page, 0, jsonl_counts(path))
    assert sources[0].summary["people"] == 1  # found by its frame count beside the JSON Lines
    assert page.count('id="violation-0"') == 1 and 'src="data:image/jpeg;base64,' in page
    assert not re.search(r"(src|href)=\"(?!data:|#)", page) and "<script src" not in page  # nothing to fetch
    assert "Compliance by hour" not in page  # a 5-second run


def test_a_long_run_is_binned_and_gets_compliance_by_hour(tmp_path):
    """Two hours at 1 frame/s: person 1 masked in the first hour, person 2 unmasked in the second."""
    lines = []
    for i in range(7300):
        track, label = (1, "mask") if i < 3600 else (2, "no_mask")
        face = {"box": [0, 0, 9, 9], "label": label, "track_id": track}
        lines.append(json.dumps({"frame": i, "time_s": float(i), "faces": [face]}))
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    (source,) = load_runs([path])
    assert [(r["hour"], r["masked"], r["unmasked"]) for r in source.timeline.hourly()] == [
        (0, 1, 0),
        (1, 0, 1),
        (2, 0, 1),
    ]
    page = render([source])
    assert 'id="compliance-by-hour"' in page
    series = json.loads(re.search(r'id="series-0">(.*?)</script>', page).group(1))["series"]
    assert len(series["people"]) <= 2000 and set(series["people"]) == {1.0}


def test_multi_source_records_and_a_batch_folder(tmp_path):
    mixed = tmp_path / "multi"
    mixed.mkdir()
    a, b = fake_run(mixed, "a", source="cam_a"), fake_run(mixed, "b", frames=30, source="cam_b")
    both = tmp_path / "all.jsonl"
    both.write_text(a.read_text() + b.read_text() + "not json\n")
    sources = load_runs([both])
    assert [s.name for s in sources] == ["cam_a", "cam_b"] and sources[0].skipped == 1
    page = render(sources)
    assert_plots(page, 1, jsonl_counts(b, "cam_b"))
    batch = tmp_path / "batch"
    batch.mkdir()
    fake_run(batch, "one")
    (batch / "one_events_summary.json").rename(batch / "one.summary.json")
    rows = [{"name": "one", "file": "/v/one.mp4", "status": "ok"}, {"name": "two", "status": "error", "error": "bad"}]
    (batch / "report.json").write_text(json.dumps({"files": rows, "totals": {}}))
    sources = load_runs([batch])
    assert [(s.name, s.error) for s in sources] == [("one", None), ("two", "bad")]
    assert sources[0].summary["frames"] == 50


def test_a_batch_report_marks_each_videos_violations(tmp_path, monkeypatch, capsys):
    """`batch --report`, and `facemask report` on the batch folder moved elsewhere: each video's timeline is its
    JSON Lines' counts, with the violations of its `<stem>.events.jsonl` marked and their snapshots shown."""
    videos, out, report = tmp_path / "videos", tmp_path / "out", tmp_path / "batch.html"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4"):
        write_video(videos / name, frames=20)  # an unmasked face for 2 s: one violation
    monkeypatch.setitem(sys.modules, "ray", None)  # in this process: no cluster to start
    assert main(["batch", str(videos), "--output", str(out), "--report", str(report)]) == 0
    capsys.readouterr()
    moved = tmp_path / "moved"
    out.rename(moved)  # the summaries' events paths are stale now: the events are found beside them
    proc = run_facemask("report", moved, "--output", tmp_path / "again.html")
    assert proc.returncode == 0, proc.stderr
    for page in (report.read_text(), (tmp_path / "again.html").read_text()):
        for i, stem in enumerate(("a", "b")):
            assert_plots(page, i, jsonl_counts(moved / f"{stem}.jsonl"))
            events = [json.loads(line) for line in (moved / f"{stem}.events.jsonl").read_text().splitlines()]
            violations = [e for e in events if e["event"] == "violation"]
            section = page.split(f"<section id=source-{i}>")[1].split("</section>")[0]
            assert violations and section.count('id="violation-') == len(violations)
            assert section.count('src="data:image/jpeg;base64,') == len(violations)  # each snapshot's thumbnail


def test_report_command_and_its_errors(tmp_path):
    path = fake_run(tmp_path)
    out = tmp_path / "r.html"
    proc = run_facemask("report", path, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert_plots(out.read_text(), 0, jsonl_counts(path))
    assert_one_error(run_facemask("report", tmp_path / "nope.jsonl", "--output", out), "nope.jsonl", 2)
    (tmp_path / "empty.jsonl").write_text("")
    assert_one_error(run_facemask("report", tmp_path / "empty.jsonl", "--output", out), "no per-frame records", 2)
    assert_one_error(run_facemask("report", path, "--output", path), "input itself", 2)
    assert_one_error(run_facemask("detect", path, "--report", out), "--report needs", 2)


def test_sigterm_still_writes_the_report(tmp_path):
    """`--report` is written at the end of a stopped run too, from the JSON Lines it closed."""
    clip, jsonl, report = tmp_path / "clip.mp4", tmp_path / "f.jsonl", tmp_path / "r.html"
    write_video(clip, frames=60, fps=5.0)  # --realtime: 12 s of video, plenty of time for the signal
    argv = facemask_argv("detect", clip, "--no-display", "--realtime", "--json", jsonl, "--report", report)
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_lines(proc, tmp_path, "f*.jsonl", "the run ended before the signal")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert f"wrote report to {report}" in stdout
    assert_plots(report.read_text(), 0, jsonl_counts(jsonl))


def test_violation_labels_close_together_are_merged_and_neighbours_staggered():
    from facemask.report.charts import marker_labels

    xs = [10.0, 10.2, 10.4, 10.5, 10.9, 30.0, 34.0, 50.0]  # on a 60 s axis: five within a second, then apart
    names = [f"#{i}" for i in range(1, 9)]
    labels = marker_labels(xs, names, 60.0)
    assert [text for _, _, text in labels] == ["#1, #2, #3 +2", "#6", "#7", "#8"]
    assert [level for _, level, _ in labels] == [0, 1, 0, 1]  # each label a level above or below its neighbour
    assert [x for x, _, _ in labels] == [10.0, 30.0, 34.0, 50.0]


def test_definitions_are_in_plain_words():
    from facemask.alerts.monitor import DEFINITIONS

    for text in DEFINITIONS.values():
        assert not re.search(r"Config|min_hits|confirm_s|birth_score|weak_\w+|_mask_s|\w+_s\b", text), text
