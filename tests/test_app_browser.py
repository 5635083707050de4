"""The web page in a real browser: `facemask app` serves it, Playwright drives Debian's Chromium.

With the shipped model (facemask/models/mask_resnet50.tflite) the photo's labels are checked against
its VOC annotation; without it the tiny test model runs, and the page is checked against what
the library computes for the same photo (the plumbing, not the model). Skips when Chromium,
Playwright or Streamlit is missing; CI installs all three (.ci/install_chromium.sh).
Set FACEMASK_SAVE_SCREENSHOT=1 to write docs/app_screenshot.png for the README.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, SHARED_DATA, run_facemask, shared_path
from video_fixtures import write_video

from facemask.core.config import ClassifierConfig, DetectorConfig
from facemask.io.imageio import read_image
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.training.voc import EXPECTED_LABEL, match, read_voc

DEFAULT_MODEL = REPO / "facemask" / "models" / "mask_resnet50.tflite"
PHOTO = "maksssksksss83"  # 3 faces of 77+ px, two masked and one not, per its VOC XML
MAX_MB = 2  # the page's upload limit here, so "too big" costs a 3 MB file
WAIT_MS = 180_000  # model loading and inference share 2 busy cores in CI
PHOTO_INPUT = ".st-key-photos input[type=file]"
CLIP_INPUT = ".st-key-clip input[type=file]"
SERVER: dict[str, int] = {}  # the `facemask app` process of this module, for memory readings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> None:
    """Poll Streamlit's health endpoint until it answers `ok`, failing early if the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"facemask app exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"facemask app did not answer within {timeout_s:.0f} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (the CLI passes it on to Streamlit), then SIGKILL to the process group we created."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app_model(request) -> Path | None:
    """None (the shipped default) when it exists, so labels mean something; else the tiny model."""
    if DEFAULT_MODEL.is_file() and DEFAULT_MODEL.with_suffix(".json").is_file():
        return None
    return request.getfixturevalue("tiny_model")


@pytest.fixture(scope="module")
def app_url(app_model, tmp_path_factory):
    pytest.importorskip("streamlit", reason="streamlit is not installed: pip install '.[app]'")
    port, workdir = _free_port(), tmp_path_factory.mktemp("app")
    env = {**os.environ, "FACEMASK_APP_MAX_MB": str(MAX_MB)}
    env.pop("FACEMASK_APP_MODEL", None)
    if app_model is not None:
        env["FACEMASK_APP_MODEL"] = str(app_model)
    log = workdir / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facemask.cli", "app", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    SERVER["pid"] = proc.pid
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture
def page(browser, app_url):
    """A fresh Streamlit session (new context, new page) with the uploaders on screen."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(app_url)
    page.wait_for_selector(PHOTO_INPUT, state="attached")
    yield page
    context.close()


def _table_rows(page) -> list[dict]:
    """The first per-face/per-event table on the page as dicts keyed by its header."""
    table = page.locator("[data-testid=stTable] table").first
    header = [c.strip() for c in table.locator("thead th").all_inner_texts()]
    rows = []
    for tr in table.locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("th, td").all_inner_texts()]
        rows.append(dict(zip(header[-len(cells) :], cells)))
    return rows


def _metric(page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()


def test_photo_shows_every_face_labelled(page, app_model, tmp_path):
    image_path = shared_path("mask-detection", "images", f"{PHOTO}.jpg")
    truth = read_voc(shared_path("mask-detection", "annotations", f"{PHOTO}.xml"))
    page.set_input_files(PHOTO_INPUT, str(image_path))
    page.wait_for_selector("[data-testid=stTable]")

    rows = _table_rows(page)
    boxes = np.array([[float(v) for v in r["box x1, y1, x2, y2"].split(",")] for r in rows], np.float32)
    labels = [r["label"] for r in rows]
    assert _metric(page, "Faces") == str(len(rows))
    assert _metric(page, "Mask") == str(labels.count("mask"))
    assert _metric(page, "No mask") == str(labels.count("no_mask"))
    image = page.locator("[data-testid=stImage] img").first
    assert image.evaluate("img => img.complete && img.naturalWidth") == truth.width  # the annotated photo, full size

    # The page shows exactly what the library finds for this photo with the same settings.
    model = "default" if app_model is None else str(app_model)
    expected = FaceMaskAnalyzer.load(DetectorConfig(mode="accurate"), ClassifierConfig(model=model)).analyze(
        read_image(image_path)
    )
    assert [r["box"] for r in expected.to_records()] == boxes.astype(int).tolist()
    assert labels == list(expected.label)

    # Every annotated face is found; with the shipped model its label is the annotated one.
    assigned = match(boxes, np.ones(len(boxes)), truth.xyxy)
    assert sorted(assigned[assigned >= 0].tolist()) == list(range(len(truth.xyxy))), "an annotated face is missing"
    if app_model is None:
        for det, gt in enumerate(assigned):
            if gt >= 0:
                assert labels[det] == EXPECTED_LABEL[truth.classes[gt]], f"face {det + 1} at {boxes[det]}"
    _save_screenshot(page, tmp_path)


def _save_screenshot(page, tmp_path: Path) -> None:
    """docs/app_screenshot.png when FACEMASK_SAVE_SCREENSHOT=1 (for the README), else a temp file."""
    keep = os.environ.get("FACEMASK_SAVE_SCREENSHOT") == "1"
    dest = REPO / "docs" / "app_screenshot.png" if keep else tmp_path / "app_screenshot.png"
    height = page.locator("[data-testid=stMain]").evaluate("el => el.scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(800, min(int(height), 2400))})  # Streamlit scrolls inside
    page.screenshot(path=str(dest))
    assert cv2.imread(str(dest)) is not None


def test_bad_uploads_get_a_message_and_good_ones_still_work(page, tmp_path):
    grey = np.full((240, 320, 3), 120, np.uint8)
    good = tmp_path / "street.png"
    cv2.imwrite(str(good), grey)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(cv2.imencode(".jpg", grey)[1].tobytes()[:300])  # a JPEG cut short in its header
    text = tmp_path / "notes.png"
    text.write_text("not a picture, whatever the name says\n")
    big = tmp_path / "big.png"
    noise = np.random.default_rng(0).integers(0, 256, (1100, 1100, 3), np.uint8)  # ~3.6 MB as PNG
    cv2.imwrite(str(big), noise)
    assert big.stat().st_size > MAX_MB * 1024 * 1024

    page.set_input_files(PHOTO_INPUT, [str(broken), str(text), str(big), str(good)])
    page.wait_for_selector("[data-testid=stImage] img")
    errors = page.locator("[data-testid=stAlertContentError]").all_inner_texts()
    assert len(errors) == 3, errors
    assert "broken.jpg: not a readable image" in errors[0]
    assert "notes.png: not a readable image" in errors[1]
    assert "big.png" in errors[2] and f"over the {MAX_MB} MB upload limit" in errors[2]
    assert page.locator("[data-testid=stImage] img").count() == 1  # the good photo still went through
    assert page.get_by_text("No faces found").count() == 1


def test_an_upload_name_is_shown_as_text_never_as_a_link(page, tmp_path):
    """A file named like Markdown (hostile corpus, round 2): its error line shows the name, with no live link."""
    name = "[click here](https:evil.example).jpg"
    (tmp_path / name).write_bytes(b"not a picture")
    page.set_input_files(PHOTO_INPUT, str(tmp_path / name))
    error = page.locator("[data-testid=stAlertContentError]").first
    error.wait_for()
    assert f"{name}: not a readable image" in error.inner_text()
    assert error.locator("a").count() == 0


def _short_clip(tmp_path: Path) -> tuple[Path, bool]:
    """3 s of a real unmasked man cut from a shared video (True), or a faceless synthetic clip."""
    video = SHARED_DATA / "videos" / "nomask_man.mp4"
    path = tmp_path / "nomask_3s.mp4"
    if not video.is_file():
        write_video(path, frames=75, fps=25.0, with_face=False)
        return path, False
    source = cv2.VideoCapture(str(video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    for _ in range(75):
        ok, frame = source.read()
        assert ok, f"{video} is shorter than 3 s"
        writer.write(cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA))
    writer.release()
    source.release()
    return path, True


def test_clip_is_annotated_and_plays_in_the_browser(page, app_model, tmp_path):
    clip, has_person = _short_clip(tmp_path)
    page.get_by_role("tab", name="Clip").click()
    page.set_input_files(CLIP_INPUT, str(clip))
    video = page.locator("[data-testid=stVideo]").first
    video.wait_for()
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=video.element_handle())
    assert video.evaluate("v => v.error") is None
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle())  # it decodes and plays
    assert 2.5 < video.evaluate("v => v.duration") < 3.5
    assert int(_metric(page, "Frames")) == 75
    # Under the video, the report's timeline: one plotted point per processed frame, for each series.
    timeline = page.locator(".facemask-timeline svg").first
    timeline.wait_for()
    assert timeline.bounding_box()["y"] > video.bounding_box()["y"] + video.bounding_box()["height"] - 1
    for series in ("people", "masked", "unmasked"):
        d = timeline.locator(f"g#{series} path").first.get_attribute("d")
        assert d.count("L") + 1 == 75, series
    assert page.get_by_text("Annotated video (WebM)").count() == 1
    if not has_person:
        assert _metric(page, "People") == "0"
        return
    assert int(_metric(page, "People")) >= 1
    if app_model is None:  # the shipped model on an unmasked man for 3 s: a violation, nobody compliant
        assert int(_metric(page, "Violations")) >= 1
        assert _metric(page, "Compliance") == "0%"
        assert _table_rows(page)[0]["event"] == "violation"


def test_corrupt_clip_gets_a_message(page, tmp_path):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    page.get_by_role("tab", name="Clip").click()
    page.set_input_files(CLIP_INPUT, str(bad))
    error = page.locator("[data-testid=stAlertContentError]").first
    error.wait_for()
    assert "holiday.mp4: cannot open video" in error.inner_text()


def _peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) of the `facemask app` process and its children (Streamlit's server)."""
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    peaks = []
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def test_decompression_bomb_is_refused_from_its_header(page, tmp_path):
    """A 110 kB PNG declaring 30000x30000 pixels: one message, no decoding, the server stays small."""
    from nasty_files import png_bomb

    bomb = png_bomb(tmp_path / "bomb.png")
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((120, 160, 3), 120, np.uint8))
    page.set_input_files(PHOTO_INPUT, str(grey))  # the models load first, so the reading below is the bomb's
    page.wait_for_selector("[data-testid=stImage] img")
    before = _peak_rss_mb(SERVER["pid"])  # with what earlier tests in this server did (a clip encoded...)
    page.set_input_files(PHOTO_INPUT, [str(bomb), str(grey)])
    page.locator("[data-testid=stAlertContentError]").first.wait_for()
    errors = page.locator("[data-testid=stAlertContentError]").all_inner_texts()
    assert len(errors) == 1 and "bomb.png: 30000x30000" in errors[0] and "over the 50 MP limit" in errors[0], errors
    after = _peak_rss_mb(SERVER["pid"])
    print(f"page server peak RSS: {before:.0f} MB before the bomb, {after:.0f} MB after")
    assert after - before < 50, (before, after)  # decoding it would have taken 900 MB at least


def _serve_folder(folder: Path):
    """A local HTTP server for `folder` (Chromium will not load file:// media into an http page)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _video_state(browser, page_url: str) -> dict:
    """readyState, error code and duration of the page's <video id="v">, once it has decided."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_url)
        page.wait_for_function(
            "() => { const v = document.getElementById('v'); return v.error || v.readyState >= 2; }", timeout=60_000
        )
        return page.evaluate(
            "() => { const v = document.getElementById('v');"
            " return {ready: v.readyState, error: v.error && v.error.code, duration: v.duration}; }"
        )
    finally:
        context.close()


def test_cli_recording_is_h264_and_plays_in_chromium(browser, tiny_model, tmp_path):
    """`facemask detect clip --output x.mp4` as a user runs it; the file must play in a <video> element."""
    clip = tmp_path / "clip.mp4"
    write_video(clip, frames=20)
    site = tmp_path / "site"
    site.mkdir()
    proc = run_facemask("detect", clip, "--no-display", "--model", tiny_model, "--output", site / "x.mp4", timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "(h264)" in proc.stdout
    (site / "mp4v.mp4").write_bytes(clip.read_bytes())  # the old recording format (OpenCV mp4v), as a control
    for name in ("x", "mp4v"):
        (site / f"{name}.html").write_text(f'<video id="v" muted preload="auto" src="{name}.mp4"></video>')
    server = _serve_folder(site)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        played, refused = _video_state(browser, f"{base}/x.html"), _video_state(browser, f"{base}/mp4v.html")
    finally:
        server.shutdown()
    assert played["error"] is None and played["ready"] >= 2 and 1.5 < played["duration"] < 2.5, played
    assert refused["error"] == 4, refused  # MEDIA_ERR_SRC_NOT_SUPPORTED: the check tells the two apart
