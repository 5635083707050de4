"""The hostile corpus, round 2: each case failed before its fix and states the rule it now keeps.

Cases run the real command in its own session (test_hostile.facemask), so a hang fails the
test instead of blocking it and nothing the run started may outlive it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error, card_of, facemask_argv, silent_server, wait_for_lines
from test_hostile import (
    _broken_run,
    _dataset,
    _fifo,
    _photos,
    _video,
    facemask,
    fingerprint,
    flipped,
    image,
    model_copy,
    partial_files,
    processes_with,
    violation_run,
)
from video_fixtures import face_patch, write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MAX_PIXELS = "FACEMASK_MAX_PIXELS"


# ---------------------------------------------------------------- 1. lists that name other files


def _concat_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"ffconcat version 1.0\nfile {target}\n")
    return path


def _hls_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: _concat_list(t, _fifo(t, "pipe.mp4").name), id="ffconcat naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, _video(t, "real.mp4").name), id="ffconcat naming a real video"),
        pytest.param(lambda t: _hls_list(t, _fifo(t, "pipe.ts").name), id="HLS playlist naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, "/dev/stdin", name="clip.avi"), id="ffconcat naming standard input"),
    ],
)
def test_a_list_of_other_files_is_refused_not_followed(tmp_path, tiny_model, make):
    clip = make(tmp_path)
    before = fingerprint(tmp_path)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "it is text, not a video", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path, monkeypatch):
    """`pipe:0` in the current folder is the file, not standard input: OpenCV gets an absolute path."""
    from facemask.io.sources import FileSource

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipe:0").write_bytes(b"\0not a video")
    opened = []

    class Refused:
        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    source = FileSource(Path("pipe:0"), capture_factory=lambda name: opened.append(name) or Refused())
    with pytest.raises(Exception, match="cannot open video"):
        source.start()
    assert opened == [str(tmp_path / "pipe:0")]


def test_a_percent_in_a_video_name_is_never_an_image_sequence(tmp_path, tiny_model):
    """`c%d.mp4` that FFmpeg cannot read must not fall back to OpenCV's image sequence, which would
    open `c0.mp4`, `c1.mp4`... (FIFOs here, blocking for ever)."""
    (tmp_path / "c%d.mp4").write_bytes(bytes(range(256)) * 12)
    _fifo(tmp_path, "c0.mp4")
    _fifo(tmp_path, "c1.mp4")
    proc = facemask("detect", tmp_path / "c%d.mp4", "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "c%d.mp4: cannot open video", code=2)
    _video(tmp_path, "v%d.mp4", frames=5)  # a real video with a % in its name still plays, every frame
    proc = facemask(
        "detect", tmp_path / "v%d.mp4", "--no-display", "--model", tiny_model, "--json", tmp_path / "f.jsonl"
    )
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 5


def test_a_system_file_is_never_read_as_a_video():
    from facemask.core.errors import FacemaskError
    from facemask.io.sources import FileSource

    with pytest.raises(FacemaskError, match="not a regular file"):
        FileSource(Path("/proc/self/environ")).start()


def test_app_clip_refuses_an_uploaded_list(tmp_path):
    """The page's clip path reads through FileSource too: an uploaded ffconcat list is one message."""
    from facemask.app.clip import process_clip
    from facemask.core.errors import FacemaskError

    with pytest.raises(FacemaskError, match="it is text, not a video"):
        process_clip("evil.mp4", b"ffconcat version 1.0\nfile /dev/stdin\n", None, 5.0)


# ---------------------------------------------------------------- 2. timeouts that round to "for ever"


@pytest.mark.parametrize("value", ["0.0001", "1e-9", "1e308", "86401"])
def test_open_timeout_out_of_range_is_refused_when_parsed(tiny_model, value):
    server, port = silent_server()
    try:
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", value, timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "--open-timeout must be a number of seconds from 0.001 to 86400", code=2)


def test_open_timeout_is_rounded_up_to_a_whole_millisecond(monkeypatch):
    """0.0015 s is 2 ms, never 1 ms less, and never 0 ms (which OpenCV reads as no timeout)."""
    import facemask.io.streams as streams

    seen = []
    monkeypatch.setattr(streams.cv2, "VideoCapture", lambda src, api, params: seen.append(params))
    streams.open_capture("rtsp://x/live", 0.0015)
    streams.open_capture("rtsp://x/live", 0.001)
    assert [p[1] for p in seen] == [2, 1] and [p[3] for p in seen] == [2, 1]
    for bad in (0.0001, 0.0, float("nan"), float("inf"), 1e308):
        with pytest.raises(streams.FacemaskError, match="timeout must be from 0.001 to 86400 seconds"):
            streams.open_capture("rtsp://x/live", bad)


def test_a_one_millisecond_open_timeout_gives_up_at_once(tiny_model):
    server, port = silent_server()
    try:
        t0 = time.monotonic()
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", "0.001", timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "no answer within 0.001 s", code=2)
    assert time.monotonic() - t0 < 40


# ---------------------------------------------------------------- 3. and 4. what --on-violation starts


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


# ---------------------------------------------------------------- 5. a model its card cannot vouch for


def test_the_test_models_carry_their_hash(tiny_model, tiny_keras_model):
    for model in (tiny_model, tiny_keras_model):
        assert card_of(model)["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()


@pytest.mark.parametrize("tampered", [True, False], ids=["tampered file", "untouched file"])
def test_a_card_without_model_sha256_does_not_load(tmp_path, tiny_model, tampered):
    card = {k: v for k, v in card_of(tiny_model).items() if k != "model_sha256"}
    data = flipped(tiny_model.read_bytes()) if tampered else None
    model = model_copy(tiny_model, tmp_path / "m", card=card, data=data)
    proc = facemask("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert_one_error(proc, "m.json: no model_sha256, so m.tflite cannot be checked and is not loaded", code=2)
    assert "re-export" in proc.stderr and "sha256sum m.tflite" in proc.stderr


def test_a_mean_card_over_a_member_without_its_hash_does_not_load(tmp_path, tiny_model):
    member = model_copy(tiny_model, tmp_path / "m", card={**card_of(tiny_model), "model_sha256": None})
    mean = tmp_path / "m" / "mean.json"
    mean.write_text(
        json.dumps(
            {"members": [{"file": member.name, "sha256": ""}], "temperature": 1.0, "labels": ["mask", "no_mask"]}
        )
    )
    proc = facemask("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", mean)
    assert_one_error(proc, "no model_sha256", code=2)


# ---------------------------------------------------------------- 8. files that break their parsers


def _res10_weights() -> Path:
    from facemask.detection.res10 import locate_weights

    try:
        return locate_weights(allow_download=False)[1]
    except Exception:  # noqa: BLE001 - not installed here
        pytest.skip("the res10 face detector weights are not installed")


@pytest.mark.parametrize(
    "prototxt",
    [b'name: "x"\nlayer { garbage [[[ \n', b"\xff\xfe\x00binary", b"layer {" * 20000],
    ids=["garbage", "binary", "nested"],
)
def test_a_broken_face_detector_prototxt_is_one_error(tmp_path, tiny_model, prototxt):
    folder = tmp_path / "face"
    folder.mkdir()
    (folder / "deploy.prototxt.txt").write_bytes(prototxt)
    (folder / _res10_weights().name).symlink_to(_res10_weights())
    argv = ("--no-display", "--model", tiny_model, "--face-detector", "res10", "--face-model", folder)
    proc = facemask("detect", image(tmp_path / "p.jpg"), *argv)
    assert_one_error(proc, "deploy.prototxt.txt: not a valid Caffe prototxt", code=2)


def test_a_face_model_folder_without_res10_is_refused_not_ignored(tmp_path, tiny_model):
    """--face-model holds res10's files; with the default CenterFace it would do nothing, so it is refused."""
    proc = facemask(
        "detect", image(tmp_path / "p.jpg"), "--no-display", "--model", tiny_model, "--face-model", tmp_path
    )
    assert_one_error(proc, "--face-model is a folder of res10 SSD files: add --face-detector res10", code=2)


def _nested(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def test_a_deeply_nested_card_base_is_one_error(tmp_path):
    run = _broken_run(tmp_path, "keras")
    (run / "card_base.json").write_text(_nested())
    proc = facemask("export", run, "--quantize", "float16")
    assert_one_error(proc, "card_base.json: unreadable or incomplete (RecursionError", code=2)


@pytest.mark.parametrize("where", ["model card", "mean card", "a field of the card"])
def test_a_deeply_nested_model_card_is_one_error(tmp_path, tiny_model, where):
    if where == "a field of the card":
        model = model_copy(
            tiny_model,
            tmp_path / "m",
            raw_card=json.dumps(card_of(tiny_model))[:-1].encode() + b', "x": ' + _nested().encode() + b"}",
        )
    else:
        model = model_copy(tiny_model, tmp_path / "m", raw_card=_nested().encode())
        if where == "mean card":
            model = model.with_suffix(".json")
    proc = facemask("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert_one_error(proc, "model card is not valid JSON (nested too deeply)", code=2)


# ---------------------------------------------------------------- 6. FACEMASK_MAX_PIXELS out of range


@pytest.mark.parametrize("value", ["1e400", "-1e400", "nan", "inf", "1e16", "0.5"])
@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_a_bad_max_pixels_variable_is_one_line(tmp_path, tiny_model, value, what):
    source = {"image": lambda: image(tmp_path / "p.jpg"), "folder": lambda: _photos(tmp_path)}.get(
        what, lambda: _video(tmp_path)
    )()
    proc = facemask("detect", source, "--no-display", "--model", tiny_model, env={**HEADLESS, MAX_PIXELS: value})
    assert_one_error(proc, f"{MAX_PIXELS}={value!r}: must be a number of pixels from 1 to 1e+15", code=2)


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_bad_max_pixels_variable_is_one_line_for_every_reader(tmp_path, tiny_model, command):
    data = _dataset(tmp_path)
    args = ["evaluate", data, "--model", tiny_model] if command == "evaluate" else ["train", "--dataset", data]
    if command == "train":
        args += ["--output", tmp_path / "run", "--epochs", "1"]
    proc = facemask(*args, env={**HEADLESS, MAX_PIXELS: "1e400"})
    assert_one_error(proc, f"{MAX_PIXELS}='1e400': must be a number of pixels", code=2)
    assert not (tmp_path / "run").exists()


def test_pixel_budget_accepts_the_range_and_refuses_the_rest(monkeypatch):
    from facemask.core.errors import FacemaskError
    from facemask.io.imageio import pixel_budget

    for text, expected in (("1", 1), ("2.5e7", 25_000_000), ("1e15", 10**15), (" 40 ", 40)):
        monkeypatch.setenv(MAX_PIXELS, text)
        assert pixel_budget() == expected
    for text in ("1e400", "nan", "0", "1e15000", "lots"):
        monkeypatch.setenv(MAX_PIXELS, text)
        with pytest.raises(FacemaskError, match=MAX_PIXELS):
            pixel_budget()


# ---------------------------------------------------------------- 7. standard output closed


def _closed_stdout(*args, close: str = "stdout") -> subprocess.CompletedProcess:
    """The command as `facemask ARGS >&-` (or `2>&-`): started with that descriptor closed."""
    fd = 1 if close == "stdout" else 2
    keep = subprocess.PIPE
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f'exec "$@" {fd}>&-', "sh", *facemask_argv(*args)],
        cwd=REPO,
        env=HEADLESS,
        stdout=keep if fd == 2 else None,
        stderr=keep if fd == 1 else None,
        text=True,
        start_new_session=True,
    )
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out or "", err or "")


@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_json_to_a_closed_stdout_is_one_error(tmp_path, tiny_model, what):
    source = {"image": lambda: image(tmp_path / "p.jpg"), "folder": lambda: _photos(tmp_path)}.get(
        what, lambda: _video(tmp_path)
    )()
    before = fingerprint(tmp_path)
    proc = _closed_stdout("detect", source, "--no-display", "--model", tiny_model, "--json", "-")
    assert_one_error(proc, "--json -: standard output is closed", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


@pytest.mark.parametrize("verbose", [(), ("-v",)], ids=["quiet", "verbose"])
def test_a_run_started_without_stderr_still_works(tmp_path, tiny_model, verbose):
    """Started with `2>&-`: no crash on a missing sys.stderr, and the JSON file (which would otherwise
    take descriptor 2) gets only its own lines, never native messages."""
    clip = _video(tmp_path, frames=6)
    jsonl = tmp_path / "f.jsonl"
    proc = _closed_stdout(
        "detect", clip, "--no-display", "--model", tiny_model, "--json", jsonl, *verbose, close="stderr"
    )
    assert proc.returncode == 0, proc.stdout
    assert "error" not in proc.stdout
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(6))


def test_standard_output_refuses_a_closed_descriptor(monkeypatch):
    from facemask.core.errors import FacemaskError
    from facemask.io.stdio import standard_output

    monkeypatch.setattr("sys.stdout", None)
    with pytest.raises(FacemaskError, match="standard output is closed"):
        standard_output()
    read, write = os.pipe()
    stream = os.fdopen(write, "w")
    os.close(read)
    os.close(write)  # the descriptor behind the stream is gone
    monkeypatch.setattr("sys.stdout", stream)
    with pytest.raises(FacemaskError, match="standard output is closed"):
        standard_output()


# ---------------------------------------------------------------- 9. no user text reaches the page as Markdown

NASTY_NAMES = [
    "[click here](https:evil.example).jpg",
    "![pixel](https://evil.example/p.png).png",
    "<img src=x onerror=alert(1)>.png",
    "<a href='https://evil.example'>x</a>.jpg",
    "**bold** _it_ `code` ~~gone~~.jpg",
    "# heading.jpg",
    "bad\nname.jpg",
    ":red[alert] :material/home: $x^2$.jpg",
    "https://evil.example/a.jpg",
    "&amp; &#x41; &lt;b&gt;.jpg",
    "\\[pre-escaped](https://evil.example).jpg",
    "1. list\n> quote\n| a | b |",
    "[ref]: https://evil.example\n[ref]",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_plain_shows_user_text_as_itself(name):
    markdown_it = pytest.importorskip("markdown_it")
    from facemask.app.text import plain
    from facemask.core.errors import one_line

    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    html = md.render(plain(name))
    for tag in ("<a", "<img", "<em", "<strong", "<code", "<h1", "<s>", "<del", "<ol", "<blockquote", "<table"):
        assert tag not in html, html
    assert html.startswith("<p>") and html.endswith("</p>\n") and html.count("<p>") == 1, html
    assert __import__("html").unescape(html[3:-5]) == one_line(name)


MARKDOWN_CALLS = {  # Streamlit calls whose text is rendered as Markdown: which positional arguments are text
    **dict.fromkeys(
        ["markdown", "write", "error", "warning", "info", "success", "caption", "title", "header", "subheader"], (0,)
    ),
    **dict.fromkeys(["toast", "spinner", "metric", "expander", "tabs", "download_button", "button"], (0,)),
    **dict.fromkeys(["selectbox", "slider", "number_input", "file_uploader", "checkbox", "radio", "text_input"], (0,)),
    "image": (),
    "progress": (),
}
TEXT_KEYWORDS = {"caption", "text", "help", "label", "body"}
NUMERIC_FORMATS = tuple("dfgeEn%xXob")


def _unsafe_text(node) -> list[str]:
    """What in a text argument could carry user text unescaped: anything but literals, `plain(...)`
    and numbers formatted as numbers (`{n:d}`, `{x:g}`: a string there raises instead of rendering)."""
    import ast

    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("plain", "own_svg"):
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        return [bad for element in node.elts for bad in _unsafe_text(element)]
    if isinstance(node, ast.ListComp):
        return _unsafe_text(node.elt)
    if isinstance(node, ast.JoinedStr):
        bad = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                continue
            spec = ast.unparse(part.format_spec) if part.format_spec is not None else ""
            if _unsafe_text(part.value) and not spec.rstrip("'\"").endswith(NUMERIC_FORMATS):
                bad.append(ast.unparse(part))
        return bad
    return [ast.unparse(node)]


def test_the_page_shows_only_a_plain_svg_drawing_inline():
    from facemask.app.text import own_svg

    drawn = '<svg xmlns="http://www.w3.org/2000/svg">\n <g id="people"><path d="M 0 0 L 1 1"/></g>\n</svg>'
    assert own_svg(
        drawn
    ) == '<svg style="width:100%;height:auto" xmlns="http://www.w3.org/2000/svg"> <g id="people">' + (
        '<path d="M 0 0 L 1 1"/></g> </svg>'
    )
    for active in ("<script>alert(1)</script>", '<g onload="alert(1)"/>', '<a href="https://evil.example">x</a>'):
        with pytest.raises(ValueError, match="not a plain SVG"):
            own_svg(drawn.replace("<g ", active + "<g ", 1))
    with pytest.raises(ValueError):
        own_svg("<div>not a drawing</div>")


def test_every_text_the_page_renders_is_a_literal_a_number_or_plain():
    import ast

    checked, unsafe = 0, []
    for path in sorted((REPO / "facemask" / "app").glob("*.py")):  # every module of the page, wherever it renders
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            positions = MARKDOWN_CALLS.get(node.func.attr)
            if positions is None:
                continue
            texts = [node.args[i] for i in positions if i < len(node.args)]
            texts += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
            for text in texts:
                checked += 1
                unsafe += [f"{path.name} line {node.lineno}: {bad}" for bad in _unsafe_text(text)]
    assert checked >= 20, f"only {checked} texts found: has the page moved out of facemask/app/?"
    assert not unsafe, "text shown as Markdown without plain(): " + "; ".join(unsafe)


# ---------------------------------------------------------------- 10. a busy port


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_app_on_a_busy_port_is_one_error(host):
    pytest.importorskip("streamlit")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = facemask("app", "--port", port, "--host", host, timeout=60)
    assert_one_error(proc, f"port {port} on {host} is already in use", code=2)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("192.0.2.1", "cannot serve on 192.0.2.1:"),
        ("no-such-host.invalid", "--host no-such-host.invalid: not an address"),
    ],
)
def test_app_on_an_address_it_cannot_serve_is_one_error(host, fragment):
    pytest.importorskip("streamlit")
    assert_one_error(facemask("app", "--port", "8599", "--host", host, timeout=60), fragment, code=2)


# ---------------------------------------------------------------- 11. native noise without -v

NATIVE_NOISE = ("libpng", "[h264 @", "XNNPACK", "INFO:", "oneDNN", "cuda", "WARNING: All log messages")


def _png_with_bad_icc(path: Path) -> Path:
    """A valid PNG carrying an iCCP chunk libpng warns about ("iCCP: too short") every time it is read."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    picture = face_patch(160)
    picture = np.full((160, 160, 3), 150, np.uint8) if picture is None else picture
    data = cv2.imencode(".png", picture)[1].tobytes()
    ihdr_end = 8 + 25  # signature, then IHDR (length, tag, 13 bytes, CRC)
    path.write_bytes(data[:ihdr_end] + chunk(b"iCCP", b"bad\0\0" + zlib.compress(b"not a profile")) + data[ihdr_end:])
    return path


def _h264_with_damage(path: Path, frames: int = 30) -> Path:
    """An H.264 MP4 with a few slices overwritten: it plays to the end, and FFmpeg complains on the way."""
    av = pytest.importorskip("av")
    from video_fixtures import synthetic_frame

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, face=face_patch()), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 4, len(data) * 3 // 4, len(data) // 10):
        data[offset : offset + 8] = b"\x00\x00\x01\x65\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_detect_prints_no_native_noise_unless_verbose(tmp_path, tiny_model, what):
    if what == "video":
        source = _h264_with_damage(tmp_path / "damaged.mp4")
        noise = "[h264 @"
    else:
        source = _png_with_bad_icc(tmp_path / "icc.png")
        noise = "libpng warning"
        if what == "folder":
            folder = tmp_path / "photos"
            folder.mkdir()
            source = Path(source.rename(folder / source.name)).parent
    args = ["detect", source, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json"]
    loud = facemask(*args, "-v")
    assert loud.returncode == 0, loud.stderr
    assert noise in loud.stderr, "the input no longer makes native noise: the check below would prove nothing"
    quiet = facemask(*args)
    assert quiet.returncode == 0, quiet.stderr
    assert not [word for word in NATIVE_NOISE if word in quiet.stderr], quiet.stderr


def test_on_violation_output_still_shows_while_native_output_is_muted(tmp_path, tiny_model):
    proc = violation_run(tmp_path, tiny_model, "echo SHOWN-ON-STDERR >&2")
    assert proc.returncode == 0, proc.stderr
    assert "SHOWN-ON-STDERR" in proc.stderr


# ---------------------------------------------------------------- 12. the first signal decides


@pytest.mark.parametrize(
    "delay", [0.0, 0.0, 0.002, 0.02, 0.3], ids=["together", "together-again", "2ms", "20ms", "300ms"]
)
def test_sigterm_then_sighup_ends_as_sigterm(tmp_path, tiny_model, delay):
    """systemd's stop (SIGTERM, then SIGHUP at once): exit 143 and `stopped by SIGTERM`, every time."""
    clip, jsonl = tmp_path / "clip.mp4", tmp_path / "f.jsonl"
    write_video(clip, frames=60, fps=5.0, with_face=False)  # --realtime: 12 s
    proc = subprocess.Popen(
        facemask_argv("detect", clip, "--no-display", "--realtime", "--model", tiny_model, "--json", jsonl),
        cwd=REPO,
        env=HEADLESS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for_lines(proc, tmp_path, "f*.jsonl", "the run ended before the signals")
    proc.send_signal(signal.SIGTERM)
    time.sleep(delay)
    proc.send_signal(signal.SIGHUP)
    _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, "stopped by SIGTERM") == (143, stderr.strip().splitlines()[-1]), stderr
    frames = [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()]
    assert frames and frames == sorted(set(frames))  # the JSON Lines were closed whole


def test_stop_signals_keep_the_first_and_let_sighup_yield_in_a_burst():
    from facemask.pipeline.stopsignals import BURST_CPU_S, BURST_S, Stopped, StopSignals

    term, hup, sigint = signal.SIGTERM, signal.SIGHUP, signal.SIGINT
    s = StopSignals()
    s._handle(term, None)
    s._handle(hup, None)
    assert s.received == term
    s = StopSignals()
    s._handle(hup, None)  # the kernel hands over SIGHUP (1) before SIGTERM (15) when both are pending
    s._handle(term, None)
    assert s.received == term
    s = StopSignals()
    s._handle(sigint, None)
    s._handle(term, None)
    assert s.received == sigint
    s = StopSignals()
    s._handle(hup, None)
    time.sleep(BURST_S + 0.1)
    with pytest.raises(Stopped):  # a later second signal: a real second request, and the first still decides
        s._handle(term, None)
    assert s.received == hup
    s = StopSignals()
    s._handle(hup, None)
    end = time.thread_time() + 2 * BURST_CPU_S
    while time.thread_time() < end:  # the run went on working (a frame) between the two: not one burst
        pass
    with pytest.raises(Stopped):
        s._handle(term, None)
    assert s.received == hup


def test_after_a_stop_signal_a_later_one_cannot_kill_the_process():
    from facemask.pipeline.stopsignals import StopSignals

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        with StopSignals() as s:
            s.settle()
            s._handle(signal.SIGTERM, None)
        for signum in before:  # ignored, not SIG_DFL, which would end the process with 128 + the later signal
            assert signal.getsignal(signum) == signal.SIG_IGN, signum  # (under nohup SIGHUP was ignored before too)
        with StopSignals():
            pass
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
    with StopSignals():  # a run no signal stopped leaves the handlers as it found them
        pass
    assert {signum: signal.getsignal(signum) for signum in before} == before
