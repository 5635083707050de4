"""Second hostile corpus, outputs side: every output opened before a failure is discarded."""

from __future__ import annotations

from conftest import assert_one_error, run_facemask


def test_a_source_that_cannot_be_opened_leaves_no_events_file(tmp_path, tiny_model):
    """Minor: any source that could not be opened, given --events, left a 0-byte `ev.partial-XXXXXX.jsonl`."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # an mp4 header, then noise
    proc = run_facemask(
        "detect",
        clip,
        "--no-display",
        "--model",
        tiny_model,
        "--events",
        tmp_path / "ev.jsonl",
        "--json",
        tmp_path / "f.jsonl",
    )
    assert_one_error(proc, str(clip))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_single_unreadable_image_commits_no_results_document(tmp_path, tiny_model):
    """Minor: `--json out.json` on a single failed image committed `{"results": [], "skipped": []}`, exit 2."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    proc = run_facemask("detect", photo, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json")
    assert_one_error(proc, "photo.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_a_rerun_removes_a_killed_runs_partial_files_only(tmp_path, tiny_model):
    """Minor: a successful re-run after a SIGKILL left the killed run's `.partial-` files."""
    import os
    import subprocess

    import cv2
    import numpy as np

    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 128, np.uint8))
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that is certainly gone
    stale = tmp_path / f"out.partial-{dead.pid}-abcdef.json"
    live = tmp_path / f"out.partial-{os.getpid()}-123456.json"  # a run still going: not ours to remove
    other = tmp_path / f"notes.partial-{dead.pid}-abcdef.json"  # another output's leftover
    for path in (stale, live, other):
        path.write_text("{")
    proc = run_facemask("detect", photo, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out.json").is_file()
    assert not stale.exists() and live.exists() and other.exists()


def test_one_picture_that_cannot_be_encoded_does_not_stop_the_batch(tmp_path, tiny_model):
    """Minor: one 100000x1 image (PNG bytes named .jpg: no JPEG is that wide) stopped a folder batch."""
    import cv2
    import numpy as np

    folder = tmp_path / "in"
    folder.mkdir()
    ok, png = cv2.imencode(".png", np.full((1, 100000, 3), 128, np.uint8))
    (folder / "a_wide.jpg").write_bytes(png.tobytes())
    cv2.imwrite(str(folder / "b_fine.jpg"), np.full((80, 80, 3), 128, np.uint8))
    out = tmp_path / "out"
    proc = run_facemask("detect", folder, "--no-display", "--model", tiny_model, "--output", out)
    assert proc.returncode == 1, proc.stderr  # partial: one copy is missing, and the exit code says so
    assert "a_wide.jpg: a 100000x1 image cannot be written as .jpg (JPEG stops at 65535 px" in proc.stderr
    assert "; copy skipped" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b_fine.jpg"]
    assert "Traceback" not in proc.stderr
