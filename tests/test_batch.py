"""`facemask batch`: a folder or list of videos on a real local Ray cluster (one, shared by the module), and
without Ray, in this process.

Each video's JSON Lines and summary must be the bytes `facemask detect FILE --json --summary` writes, and
its events (with their snapshots) what `--events` writes;
the report lists every video with its node and error; a re-run skips what is done; a worker killed
mid-file has its file run again, leaving no partial file behind.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nasty_files import plain_video
from video_fixtures import write_video

from facemask.batch.plan import FileJob, output_names, plan_batch
from facemask.batch.worker import FileWorker
from facemask.cli import build_parser, main
from facemask.cli.configs import RunOptions, build_configs
from facemask.core.errors import FacemaskError
from facemask.io.safeio import temp_path_for

REPO = Path(__file__).resolve().parents[1]
CLIPS = {"a.mp4": 24, "b.avi": 16}  # name -> frames: short, so a batch takes seconds


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of two clips and, beside it, what `facemask detect --json --events --summary` writes for each."""
    root = tmp_path_factory.mktemp("batch")
    videos, reference = root / "videos", root / "reference"
    videos.mkdir()
    reference.mkdir()
    for name, frames in CLIPS.items():
        write_video(videos / name, frames=frames)
        stem = Path(name).stem
        argv = ["detect", str(videos / name), "--no-display", "--json", str(reference / f"{stem}.jsonl")]
        argv += ["--events", str(reference / f"{stem}.events.jsonl")]
        assert main([*argv, "--summary", str(reference / f"{stem}.summary.json")]) == 0
    return videos, reference


def same_outputs(out: Path, reference: Path, stem: str) -> None:
    """detect's JSON Lines, and its summary and events but for where they are, with every snapshot in place."""
    assert (out / f"{stem}.jsonl").read_bytes() == (reference / f"{stem}.jsonl").read_bytes(), stem
    summaries, events = [], []
    for folder in (out, reference):
        summary = json.loads((folder / f"{stem}.summary.json").read_text())
        assert summary.pop("events_path") == str(folder / f"{stem}.events.jsonl")  # what the report reads
        assert summary.pop("snapshot_dir") == str(folder / f"{stem}.events_snapshots")
        summaries.append(summary)
        lines = [json.loads(line) for line in (folder / f"{stem}.events.jsonl").read_text().splitlines()]
        assert all(Path(e["snapshot"]).is_file() for e in lines if e["event"] == "violation")
        events.append([{**e, "snapshot": Path(e["snapshot"]).name} for e in lines])
    assert summaries[0] == summaries[1] and events[0] == events[1], stem
    assert summaries[0]["violations"] == sum(e["event"] == "violation" for e in events[0]) > 0  # each clip has one


def no_partials(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if ".partial-" in p.name] == []


def test_batch_on_ray_writes_what_detect_writes_and_reports_a_bad_video(ray_cluster, clips, tmp_path, capsys):
    videos, reference = clips
    folder = tmp_path / "in"
    folder.mkdir()
    for name in CLIPS:
        (folder / name).symlink_to(videos / name)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--output", str(out), "--workers", "2"]) == 1  # partial: one failed
    printed = capsys.readouterr().out
    assert "3 videos: 0 done by an earlier run, 3 to process" in printed and "broken: error:" in printed
    for stem in ("a", "b"):
        same_outputs(out, reference, stem)
    assert not [p.name for p in out.glob("broken*")]  # no JSON Lines, events or summary
    no_partials(out)
    report = json.loads((out / "report.json").read_text())
    rows = {row["name"]: row for row in report["files"]}
    assert [row["name"] for row in report["files"]] == ["a", "b", "broken"]  # input order, not finishing order
    for stem in ("a", "b"):
        summary = json.loads((reference / f"{stem}.summary.json").read_text())
        row = rows[stem]
        assert row["status"] == "ok" and row["error"] is None and row["frames"] == CLIPS[row["file"][-5:]]
        assert (row["people"], row["violations"]) == (summary["people"], summary["violations"])
        assert row["compliance"] == summary["compliance_rate"] and row["seconds"] > 0
        assert "/" in row["node"]  # host/Ray node id
    assert rows["broken"]["status"] == "error" and "broken.mp4" in rows["broken"]["error"]
    totals = report["totals"]
    assert (totals["files"], totals["ok"], totals["failed"], totals["frames"]) == (3, 2, 1, sum(CLIPS.values()))
    table = list(csv.DictReader((out / "report.csv").read_text().splitlines()))
    assert [r["name"] for r in table] == ["a", "b", "broken", ""] and table[-1]["file"] == "total"
    assert table[0]["node"] == rows["a"]["node"] and table[-1]["frames"] == str(sum(CLIPS.values()))


def test_a_rerun_skips_the_videos_that_are_done(ray_cluster, clips, tmp_path, capsys):
    videos, reference = clips
    out = tmp_path / "out"
    out.mkdir()
    for suffix in (".jsonl", ".events.jsonl", ".summary.json"):  # `a` done by an earlier run; `b` cut short
        (out / f"a{suffix}").write_bytes((reference / f"a{suffix}").read_bytes())
    (out / "b.jsonl").write_text('{"frame": 0}\n')
    done_at = (out / "a.jsonl").stat().st_mtime_ns
    assert main(["batch", str(videos), "--output", str(out)]) == 0
    assert "2 videos: 1 done by an earlier run, 1 to process" in capsys.readouterr().out
    assert (out / "a.jsonl").stat().st_mtime_ns == done_at
    same_outputs(out, reference, "b")
    rows = json.loads((out / "report.json").read_text())["files"]
    assert [(r["name"], r["status"], r["resumed"]) for r in rows] == [("a", "ok", True), ("b", "ok", False)]
    assert rows[0]["frames"] == CLIPS["a.mp4"]


class DiesOnce(FileWorker):
    """A worker killed mid-file, the first time only: it leaves a partial JSON Lines file, as a real one would."""

    def process(self, job: FileJob):
        marker = job.out_dir / f"{job.name}.died"
        if not marker.exists():
            marker.touch()
            temp_path_for(job.outputs.jsonl).write_text('{"frame": 0, "faces": []}\n')
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process(job)


def test_a_worker_killed_mid_file_has_its_file_run_again(ray_cluster, clips, tmp_path):
    from facemask.batch.cluster import run_on_ray
    from facemask.batch.lock import batch_lock

    videos, reference = clips
    out = tmp_path / "out"
    out.mkdir()
    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    args = build_parser().parse_args(["batch", str(videos), "--output", str(out)])
    config = build_configs(RunOptions.from_args(args), "video").pipeline()
    with batch_lock(out):  # as `facemask batch` holds it: workers commit only while their driver does
        results = list(run_on_ray(ray_cluster, plan_batch(videos, out), config, 2, worker_class=DiesOnce))
    assert sorted((r.name, r.status) for r in results) == [("a", "ok"), ("b", "ok")]
    assert sorted(p.name for p in out.glob("*.died")) == ["a.died", "b.died"]  # each worker did die once
    for stem in ("a", "b"):
        same_outputs(out, reference, stem)
    no_partials(out)  # the dead worker's partial went when the retry committed


def test_without_ray_the_videos_run_in_this_process(monkeypatch, clips, tmp_path, capsys):
    videos, reference = clips
    listing = tmp_path / "videos.txt"
    listing.write_text(f"# the archive\n{videos / 'a.mp4'}\n\n{os.path.relpath(videos / 'b.avi', tmp_path)}\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as when it is not installed
    out = tmp_path / "out"
    assert main(["batch", str(listing), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Ray is not installed" in printed and "pip install 'facemask[cluster]'" in printed
    for stem in ("a", "b"):
        same_outputs(out, reference, stem)
    rows = json.loads((out / "report.json").read_text())["files"]
    assert [r["status"] for r in rows] == ["ok", "ok"] and "/" not in rows[0]["node"]
    assert main(["batch", str(listing), "--output", str(out), "--ray-address", "127.0.0.1:6379"]) == 2
    assert "--ray-address needs Ray" in capsys.readouterr().err


def test_equal_stems_get_names_of_their_own():
    paths = [Path("/x/clip.mp4"), Path("/y/clip.mp4"), Path("/y/Clip.avi"), Path("/y/other.mp4")]
    names = output_names(paths)
    assert names[0] == "clip" and names[3] == "other" and len(set(names)) == 4
    assert output_names(paths) == names  # the same names on a re-run, so it resumes
    # `clip.events.mp4`'s JSON Lines would be `clip.mp4`'s events, `clip.events.jsonl`: one of them is renamed
    for pair in ([Path("/x/clip.events.mp4"), Path("/x/clip.mp4")], [Path("/x/clip.mp4"), Path("/x/Clip.Events.mp4")]):
        jobs = [FileJob(path, name, Path("/out")) for path, name in zip(pair, output_names(pair))]
        files = [str(p).lower() for job in jobs for p in job.files]
        assert len(set(files)) == len(files) == 6, files


def test_a_video_is_done_once_its_summary_and_every_other_output_exist(tmp_path):
    job = FileJob(tmp_path / "clip.mp4", "clip", tmp_path / "out", video=True)
    names = ["clip.mp4", "clip.jsonl", "clip.events.jsonl", "clip.summary.json"]
    assert [p.name for p in job.files] == names  # the summary last: it is committed last
    (tmp_path / "out").mkdir()
    for name in names:
        assert not job.done()
        (tmp_path / "out" / name).write_text("x")
    assert job.done()
    (tmp_path / "out" / "clip.events.jsonl").unlink()  # an earlier version's batch, or one cut short
    assert not job.done()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing", "no such file or folder"),
        (lambda d: d / "in" / "a.mp4", "is a video; give a folder or a list file"),
        (lambda d: (d / "empty.txt").write_text("# nothing\n") and d / "empty.txt", "lists no video paths"),
        (lambda d: (d / "bin.txt").write_bytes(b"\xff\xfe\x00") and d / "bin.txt", "not a text list"),
    ],
)
def test_bad_input_is_one_error(tmp_path, make, message):
    (tmp_path / "in").mkdir()
    write_video(tmp_path / "in" / "a.mp4", frames=2, with_face=False)
    with pytest.raises(FacemaskError, match=message):
        plan_batch(make(tmp_path), tmp_path / "out")


def test_output_inside_the_input_folder_is_refused(tmp_path, capsys):
    write_video(tmp_path / "a.mp4", frames=2, with_face=False)
    assert main(["batch", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "inside the input folder" in err[0]


def test_ray_is_never_imported_by_other_commands():
    probe = "import sys; from facemask.cli import main; main(sys.argv[1:]); print('ray' in sys.modules)"
    for argv in (["detect", "--help"], ["batch", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120, cwd=REPO
        )
        assert done.stdout.strip().splitlines()[-1] == "False", (argv, done.stderr)


def test_an_address_nobody_answers_is_one_line_at_once():
    from facemask.batch.cluster import check_reachable

    with pytest.raises(FacemaskError, match="no Ray head answers there"):
        check_reachable("127.0.0.1:1", timeout_s=2)


# ---------------------------------------------------------------- a video link that loops


def test_a_video_link_that_loops_in_a_batch_folder_is_planned_not_a_crash(tmp_path):
    """The batch's own check of outputs against inputs resolved every input: the same RuntimeError."""
    from facemask.batch.plan import plan_batch

    folder = tmp_path / "videos"
    folder.mkdir()
    plain_video(folder, "good.mp4", frames=2)
    (folder / "self.mp4").symlink_to("self.mp4")
    jobs = plan_batch(folder, tmp_path / "out")
    assert sorted(job.path.name for job in jobs) == ["good.mp4", "self.mp4"]
