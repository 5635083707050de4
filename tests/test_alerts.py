"""ViolationMonitor: debounce, re-arm, counters. AlertStage and its outputs: the events file, snapshots,
non-blocking actions."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import alive_with, run_isolated
from video_fixtures import face_patch, write_video

from facemask.alerts.monitor import FORGET_S, ViolationMonitor, counter_lines
from facemask.alerts.outputs import events_output
from facemask.alerts.stage import AlertStage
from facemask.core.config import AlertConfig, AlertOutputConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.sinks.events import EventsSink

FPS = 10


def frame(index: int, fps: int = FPS) -> Frame:
    image = np.full((240, 320, 3), 120, np.uint8)
    return Frame(image=image, index=index, timestamp=index / fps)


def tracked(*people: tuple[int, str]) -> Faces:
    """Tracker output: one face per (track_id, smoothed label), side by side."""
    n = len(people)
    labels = np.array([lab for _, lab in people], dtype=object)
    probs = [0.9 if lab == "mask" else 0.2 for _, lab in people]
    return Faces(
        xyxy=[[20 + 100 * i, 60, 80 + 100 * i, 120] for i in range(n)],
        score=np.full(n, 0.9),
        mask_prob=probs,
        label=labels,
        track_id=[tid for tid, _ in people],
        raw_mask_prob=probs,
        raw_label=labels.copy(),
    )


class Alerts:
    """The alert stage and its events output as a run has them: events decided, put on the frame, then written
    and acted on by the output (the events file, the actions); `update` gives them as written."""

    def __init__(self, config: AlertConfig, outputs: AlertOutputConfig | None = None) -> None:
        self.stage, self.events = AlertStage(config), events_output(outputs or AlertOutputConfig())

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        return self.events.record(replace(frame, events=tuple(self.stage.update(frame, faces))), faces)

    def summary(self) -> dict:
        summary = self.stage.summary()
        summary.update(self.events.summary_items())  # as the lane fills it from its outputs
        return summary

    def close(self) -> None:
        self.events.close()

    def __enter__(self) -> Alerts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def feed(
    monitor: ViolationMonitor | AlertStage | Alerts, script: list[tuple[int, list[tuple[int, str]]]], start: int = 0
) -> list[dict]:
    """Run `script` — (frame count, people in each of those frames) — and collect every event."""
    events, index = [], start
    for count, people in script:
        for _ in range(count):
            events += monitor.update(frame(index), tracked(*people))
            index += 1
    return events


@pytest.mark.parametrize(("frames", "expected"), [(5, 0), (10, 0), (11, 1), (50, 1)])
def test_a_track_must_stay_unmasked_min_no_mask_s_to_raise_one_violation(frames, expected):
    """At 10 fps frame 10 is the first one a full second after the first no_mask frame."""
    monitor = ViolationMonitor(AlertConfig(min_no_mask_s=1.0))
    events = feed(monitor, [(frames, [(1, "no_mask")]), (20, [(1, "mask")])])
    assert [e["event"] for e in events if e["event"] == "violation"] == ["violation"] * expected


def test_violation_event_fields():
    monitor = ViolationMonitor(AlertConfig(min_no_mask_s=1.0))
    events = feed(monitor, [(3, [(7, "mask")]), (30, [(7, "no_mask")])])
    (event,) = events
    assert event["event"] == "violation" and event["track_id"] == 7
    assert event["frame"] == 13 and event["time_s"] == pytest.approx(1.3)
    assert event["confidence"] == pytest.approx(0.8)
    assert event["snapshot"] is None  # the monitor only decides; the events output saves the face


def test_rearms_only_after_a_masked_period():
    config = AlertConfig(min_no_mask_s=1.0, rearm_mask_s=1.0)
    monitor = ViolationMonitor(config)
    events = feed(
        monitor,
        [
            (20, [(1, "no_mask")]),  # violation
            (5, [(1, "mask")]),  # 0.4 s masked: not re-armed
            (20, [(1, "no_mask")]),  # still the same violation, no new event
            (15, [(1, "mask")]),  # 1.4 s masked: resolved, re-armed
            (20, [(1, "no_mask")]),  # a second violation
        ],
    )
    assert [e["event"] for e in events] == ["violation", "resolved", "violation"]
    assert [e["frame"] for e in events] == [10, 55, 70]
    assert monitor.summary()["violators"] == 1 and monitor.summary()["violations"] == 2


def test_each_new_track_raises_its_own_violation():
    monitor = ViolationMonitor()
    events = feed(monitor, [(20, [(1, "no_mask"), (2, "mask")]), (20, [(3, "no_mask"), (2, "mask")])])
    assert [(e["event"], e["track_id"]) for e in events] == [("violation", 1), ("violation", 3)]


def test_word_violation_appears_only_in_violation_events():
    monitor = ViolationMonitor(AlertConfig(rearm_mask_s=0.5))
    events = feed(monitor, [(20, [(1, "no_mask")]), (10, [(1, "mask")]), (20, [(1, "no_mask")])])
    assert {e["event"] for e in events} == {"violation", "resolved"}
    for event in events:
        if event["event"] != "violation":
            assert "violation" not in json.dumps(event).lower()


def test_untracked_and_unclassified_faces_raise_nothing():
    untracked = tracked((1, "no_mask")).with_(track_id=np.array([-1]))
    monitor = ViolationMonitor()
    events = [e for i in range(30) for e in monitor.update(frame(i), untracked)]
    events += feed(monitor, [(30, [(4, "")])], start=30)
    assert events == []


def test_events_are_written_as_flushed_json_lines_with_a_snapshot(tmp_path):
    events_path = tmp_path / "out" / "events.jsonl"
    monitor = Alerts(AlertConfig(rearm_mask_s=0.5), AlertOutputConfig(events_path=events_path))
    events = feed(monitor, [(20, [(1, "no_mask")]), (10, [(1, "mask")])])
    partial = monitor.events.partial_path  # flushed line by line under a partial name until close
    written = [json.loads(line) for line in partial.read_text().splitlines()]  # before close
    monitor.close()
    assert written == events and len(events) == 2
    assert not partial.exists() and [json.loads(line) for line in events_path.read_text().splitlines()] == events
    snapshot = Path(events[0]["snapshot"])
    assert snapshot.parent == tmp_path / "out" / "events_snapshots" and snapshot.suffix == ".jpg"
    image = cv2.imread(str(snapshot))
    assert image is not None and image.shape[0] > 0


def test_a_snapshot_is_cut_from_the_clean_picture_not_the_drawn_one(tmp_path):
    shots = tmp_path / "shots"
    clean = frame(20)
    drawn = replace(clean, image=np.zeros_like(clean.image), clean=clean.image)  # as the lane hands it on
    event = {"event": "violation", "track_id": 1, "frame": 20, "snapshot": str(shots / "a.jpg")}
    with EventsSink(None) as sink:
        sink.write(replace(drawn, events=(event,)), tracked((1, "no_mask")))
    assert cv2.imread(str(shots / "a.jpg")).mean() == pytest.approx(120, abs=2)  # grey, not the black drawing


def test_the_monitor_itself_writes_nothing(tmp_path):
    monitor = ViolationMonitor(AlertConfig())
    (event,) = feed(monitor, [(20, [(1, "no_mask")])])
    assert event["snapshot"] is None and list(tmp_path.iterdir()) == []
    assert "events_path" not in monitor.summary()  # where events went is the stage's to say


def test_a_snapshot_that_cannot_be_saved_is_logged_and_the_event_still_written(tmp_path, caplog):
    (tmp_path / "shots").write_text("a file where the snapshot folder should be")
    outputs = AlertOutputConfig(events_path=tmp_path / "e.jsonl", snapshot_dir=tmp_path / "shots")
    with caplog.at_level(logging.WARNING, logger="facemask.sinks.events"):
        with Alerts(AlertConfig(), outputs) as stage:
            (event,) = feed(stage, [(20, [(1, "no_mask")])])
    assert "cannot save snapshot" in caplog.text
    assert [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()] == [
        {**event, "snapshot": None}
    ]


def test_snapshot_dir_argument_wins(tmp_path):
    outputs = AlertOutputConfig(events_path=tmp_path / "e.jsonl", snapshot_dir=tmp_path / "shots")
    with Alerts(AlertConfig(), outputs) as monitor:
        (event,) = feed(monitor, [(20, [(1, "no_mask")])])
    assert Path(event["snapshot"]).parent == tmp_path / "shots" and Path(event["snapshot"]).is_file()


def test_unwritable_events_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FacemaskError, match="cannot write events"):
        Alerts(AlertConfig(), AlertOutputConfig(events_path=blocker / "events.jsonl"))


def wait_command(tmp_path: Path, name: str) -> str:
    """A command that blocks until `release` exists (at most ~10 s), then saves $FACEMASK_EVENT."""
    release, out = tmp_path / "release", tmp_path / name
    return (
        f'for i in $(seq 200); do [ -e "{release}" ] && break; sleep 0.05; done; '
        f'printf "%s" "$FACEMASK_EVENT" > "{out}"'
    )


def test_on_violation_command_runs_off_the_capture_thread(tmp_path):
    monitor = Alerts(AlertConfig(), AlertOutputConfig(on_violation=wait_command(tmp_path, "event.json")))
    (event,) = feed(monitor, [(20, [(1, "no_mask")])])
    # update() has returned while the command is still waiting for `release`: it did not block.
    assert not (tmp_path / "event.json").exists()
    (tmp_path / "release").touch()
    monitor.close()
    assert json.loads((tmp_path / "event.json").read_text()) == event


def test_a_full_action_queue_drops_jobs_instead_of_blocking(tmp_path):
    config = AlertOutputConfig(on_violation=wait_command(tmp_path, "event.json"), action_queue=1)
    monitor = Alerts(AlertConfig(), config)
    events = feed(monitor, [(20, [(1, "no_mask"), (2, "no_mask"), (3, "no_mask")])])
    assert len(events) == 3 and not (tmp_path / "event.json").exists()
    assert 1 <= monitor.summary()["dropped_actions"] <= 2  # one running, at most one queued
    (tmp_path / "release").touch()
    monitor.close()


def test_beep_rings_the_terminal_bell_once_per_violation(capsys):
    with Alerts(AlertConfig(rearm_mask_s=0.5), AlertOutputConfig(beep=True)) as monitor:
        feed(monitor, [(20, [(1, "no_mask"), (2, "no_mask")]), (10, [(1, "mask")])])
    assert capsys.readouterr().err.count("\a") == 2


def test_a_failing_command_is_logged_and_the_worker_keeps_going(caplog, tmp_path):
    marker = tmp_path / "ran"
    config = AlertOutputConfig(on_violation=f'echo x >> "{marker}"; exit 3')
    with caplog.at_level(logging.WARNING, logger="facemask.alerts.actions"), Alerts(AlertConfig(), config) as monitor:
        feed(monitor, [(20, [(1, "no_mask"), (2, "no_mask")])])
    assert marker.read_text().count("x") == 2
    assert "exited with status 3" in caplog.text


def test_people_masked_and_compliance_are_counted_per_track_id():
    monitor = ViolationMonitor(AlertConfig(min_no_mask_s=1.0))
    feed(monitor, [(20, [(1, "mask"), (2, "mask"), (3, "no_mask")])])
    counters = monitor.counters()
    rate = pytest.approx(2 / 3, abs=1e-4)
    assert counters == {
        "people": 3,
        "masked": 2,
        "unmasked": 1,
        "violations": 1,
        "compliance_rate": rate,
        "in_violation": 1,
        "now_people": 3,
        "now_masked": 2,
        "resolved": 0,
        "masked_time_rate": rate,
    }
    assert counter_lines(counters) == [
        "Now: 2 of 3 masked",
        "People 3, violations 1 (0 resolved)",
        "Masked 67% of person-time",
    ]


def test_the_panel_says_what_the_summary_says_when_someone_puts_a_mask_on():
    """Issue 19 item 4: "Compliance: 100 %" while she was visibly unmasked for a long time."""
    from facemask.alerts.monitor import summary_line

    monitor = ViolationMonitor(AlertConfig(min_no_mask_s=1.0, rearm_mask_s=1.0))
    feed(monitor, [(30, [(1, "no_mask")])])
    assert counter_lines(monitor.counters())[0] == "Now: 0 of 1 masked"
    feed(monitor, [(50, [(1, "mask")])], start=30)
    counters = monitor.counters()
    assert counters["compliance_rate"] == 1.0  # per person she ends masked...
    assert counters["masked_time_rate"] == pytest.approx(50 / 79, abs=0.02)  # ...but was unmasked 3 s of 8
    lines = counter_lines(counters)
    assert lines[0] == "Now: 1 of 1 masked"
    assert summary_line(monitor.summary()) == ", ".join(line[0].lower() + line[1:] for line in lines[1:])
    assert "violations 1 (1 resolved)" in summary_line(monitor.summary())


@pytest.mark.parametrize(
    ("script", "verdict"),
    [
        ([(5, "no_mask")], "unmasked"),  # glimpsed unmasked, too briefly for a violation: still unmasked
        ([(12, "no_mask"), (30, "mask")], "masked"),  # put a mask on and kept it on: masked, after a violation
        ([(5, "mask"), (20, "no_mask")], "unmasked"),  # took it off
    ],
)
def test_a_person_is_masked_when_seen_longer_masked_than_unmasked(script, verdict):
    monitor = ViolationMonitor()
    feed(monitor, [(1, [])] + [(n, [(1, label)]) for n, label in script])
    counters = monitor.counters()
    assert counters["people"] == 1
    assert counters[verdict] == 1 and counters["masked"] + counters["unmasked"] == 1


def test_forgotten_people_keep_their_verdict_in_the_totals():
    monitor = ViolationMonitor()
    feed(monitor, [(20, [(1, "no_mask")])])
    feed(monitor, [(20, [(2, "mask")])], start=20 + int(FORGET_S * FPS) + 10)
    assert 1 not in monitor._tracks  # bounded memory on a long camera run
    counters = monitor.counters()
    assert (counters["people"], counters["masked"], counters["unmasked"]) == (2, 1, 1)


def test_untracked_faces_are_not_people():
    monitor = ViolationMonitor()
    feed(monitor, [(30, [(-1, "no_mask")])])  # tentative tracks: the tracker has not confirmed them
    counters = monitor.counters()
    assert counters["people"] == 0 and counters["violations"] == 0


def test_counters_before_anyone_is_seen():
    monitor = ViolationMonitor()
    counters = monitor.counters()
    assert counters["people"] == 0 and counters["compliance_rate"] is None
    assert counter_lines(counters) == [
        "Now: 0 of 0 masked",
        "People 0, violations 0 (0 resolved)",
        "Masked - of person-time",
    ]


def test_summary_is_json_ready_and_close_is_idempotent(tmp_path):
    monitor = Alerts(AlertConfig(), AlertOutputConfig(events_path=tmp_path / "ev.jsonl"))
    feed(monitor, [(20, [(1, "no_mask")])])
    monitor.close()
    monitor.close()
    summary = json.loads(json.dumps(monitor.summary()))
    assert summary["frames"] == 20 and summary["duration_s"] == pytest.approx(1.9)
    assert summary["violations"] == 1 and summary["compliance_rate"] == 0.0
    assert summary["snapshot_dir"] == str(tmp_path / "ev_snapshots")
    assert {"person", "masked", "compliance_rate", "violation", "resolved"} <= set(summary["definitions"])


def test_time_going_back_starts_fresh_alert_state():
    monitor = ViolationMonitor()
    first = feed(monitor, [(20, [(1, "no_mask")])], start=100)
    again = feed(monitor, [(20, [(1, "no_mask")])], start=0)  # a new source, times restart
    assert len(first) == 1 and len(again) == 1


@pytest.mark.parametrize(
    ("kind", "kwargs", "message"),
    [
        (AlertConfig, {"min_no_mask_s": -1}, "min_no_mask_s"),
        (AlertConfig, {"rearm_mask_s": -0.1}, "rearm_mask_s"),
        (AlertOutputConfig, {"on_violation": "  "}, "on-violation"),
        (AlertOutputConfig, {"action_queue": 0}, "queue"),
    ],
)
def test_bad_alert_config_is_refused(kind, kwargs, message):
    with pytest.raises(FacemaskError, match=message):
        kind(**kwargs)


# ---------------------------------------------------------------- what --on-violation starts ends with the run


def test_on_violation_command_is_ended_with_the_run(tmp_path):
    """A command that outlives the run (and one it started in the background) is ended at close()."""
    from facemask.alerts.actions import ActionWorker

    marker = tmp_path / "still-running"
    worker = ActionWorker(beep=False, command=f"sleep 300 & sleep 300; touch {marker}", maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 10
    while worker._running is None and time.monotonic() < deadline:
        time.sleep(0.02)
    pgid = worker._running.pid
    t0 = time.monotonic()
    worker.close(timeout=0.5)
    assert time.monotonic() - t0 < 5
    time.sleep(0.2)
    assert not [pid for pid in _group_members(pgid)], "the command's processes outlived close()"
    assert not marker.exists()


def violation_run(tmp_path: Path, tiny_model: Path, command: str, *options, frames: int = 30):
    """A clip with a real face read as no_mask for long enough: one violation runs `command`."""
    if face_patch() is None:
        pytest.skip("needs the shared face image (../shared/data) for a real violation")
    clip = tmp_path / "face.mp4"
    write_video(clip, frames=frames, fps=10.0)
    return run_isolated(
        "detect",
        clip,
        "--no-display",
        "--model",
        tiny_model,
        "--mask-threshold",
        "0.01",
        "--violation-after",
        "0.2",
        "--events",
        tmp_path / "e.jsonl",
        "--on-violation",
        command,
        *options,
        timeout=120,
    )


def test_on_violation_command_does_not_outlive_the_cli(tmp_path, tiny_model):
    """End to end: a real violation starts `sleep`; the CLI exits and takes it with it."""
    marker = f"{60 + os.getpid() % 1000}.{time.time_ns() % 10**6}"  # a sleep no other process runs
    started = tmp_path / "started"
    proc = violation_run(tmp_path, tiny_model, f"touch {started}; sleep {marker}", frames=40)
    assert proc.returncode == 0, proc.stderr
    assert started.exists(), "no violation was raised, so the command never ran"
    time.sleep(0.5)
    assert not processes_with(marker), "the --on-violation command outlived the run"


def processes_with(text: str) -> list[int]:
    """Pids (other than this test's) whose command line holds `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def _group_members(pgid: int) -> list[int]:
    return alive_with(2, pgid)


def _marker() -> str:
    """A `sleep` duration no other process runs, so its processes can be found by their command line."""
    return f"{600 + os.getpid() % 100}.{time.time_ns() % 10**6:06d}"


@pytest.fixture
def marker():
    mark = _marker()
    yield mark
    for pid in processes_with(mark):  # a failing case must not leave ten-minute sleeps behind
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.parametrize(
    "command",
    [
        "sleep {m} &",  # the shell exits at once; its child lives on in the command's group
        "setsid sleep {m} &",  # a new session and group of its own
        "(setsid sleep {m} &); exit 0",  # twice forked: its parent is gone too
        "env -u FACEMASK_ACTION_TOKEN sleep {m} &",  # no token, but still in the command's session
        "setsid sh -c 'env -u FACEMASK_ACTION_TOKEN sleep {m}' &",  # no token, below one that has it
    ],
)
def test_what_a_command_left_running_is_ended_at_close(marker, command):
    from facemask.alerts.actions import ActionWorker

    worker = ActionWorker(beep=False, command=command.format(m=marker), maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 30  # generous: under CI load a shell and its children start slowly
    while not processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert processes_with(marker), "the command never started its sleep"
    time.sleep(0.2)  # the shell has exited: nothing of the command is running in the foreground
    worker.close(timeout=2.0)
    time.sleep(0.2)
    assert not processes_with(marker), "a process the command started outlived close()"


def test_a_command_that_runs_over_its_time_is_ended_with_what_it_started(marker, monkeypatch):
    import facemask.alerts.actions as actions

    monkeypatch.setattr(actions, "COMMAND_TIMEOUT_S", 0.5)
    worker = actions.ActionWorker(beep=False, command=f"setsid sleep {marker} & sleep {marker}", maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 30  # generous: under CI load a shell and its children start slowly
    while (worker._count == 0 or worker._running is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_with(marker), "the timed-out command's processes are still running"
    worker.close(timeout=1.0)


def test_a_command_escaping_into_its_own_session_does_not_outlive_the_cli(tmp_path, tiny_model, marker):
    started = tmp_path / "started"
    proc = violation_run(tmp_path, tiny_model, f"touch {started}; setsid sleep {marker} &")
    assert proc.returncode == 0, proc.stderr
    assert started.exists(), "no violation was raised, so the command never ran"
    time.sleep(0.3)
    assert not processes_with(marker), "the --on-violation command's child outlived the run"


def test_a_command_prints_to_stderr_not_into_json_on_stdout(tmp_path, tiny_model):
    proc = violation_run(tmp_path, tiny_model, "echo ACTION-SAID-THIS; echo ACTION-ERR >&2", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(json.loads(line)["frame"] >= 0 for line in lines), proc.stdout[-500:]
    assert "ACTION-SAID-THIS" in proc.stderr and "ACTION-ERR" in proc.stderr


def test_on_violation_output_still_shows_while_native_output_is_muted(tmp_path, tiny_model):
    proc = violation_run(tmp_path, tiny_model, "echo SHOWN-ON-STDERR >&2")
    assert proc.returncode == 0, proc.stderr
    assert "SHOWN-ON-STDERR" in proc.stderr
