"""Four sources, one of them stalled (issue 31): the other three keep their frame rate.

Runs `facemask detect A B C --realtime` (three clips playing like live cameras), then the same
three plus a live stream from this machine that sends its first frames and then nothing, holding
the connection open (a camera whose network stopped). Each clip's fps (frames processed /
seconds of its run) with the stalled stream, over its fps without it, should be >= 0.9. The
stalled stream is given up after `--open-timeout`, longer than the clips, so every clip runs
its whole length beside it. Run it when nothing else runs: it is a speed figure.

usage: python tools/multi_source_stall.py [--json docs/bench/multi_source_stall.json]
       python tools/multi_source_stall.py --videos a.mp4 b.mp4 c.mp4 --max-frames 5 --open-timeout 5 \
           --json /tmp/x.json  # a quick check that it works
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
CLIPS = ("nomask_man.mp4", "mask_woman.mp4", "putting_mask_on.mp4")
KEEP = 0.9  # the acceptance line: each clip keeps >= 90 % of its frame rate beside the stalled stream


def ts_bytes(frames: int, fps: int = 25, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small MPEG-TS video (MPEG-1, a brightness ramp): a container FFmpeg reads as a live stream."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream("mpeg1video", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            image = np.full((size[1], size[0], 3), (i * 7) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


class StallingStream:
    """A live stream over HTTP on 127.0.0.1: MPEG-TS sent at `fps` until `stall()` (or after `stall_after`
    frames), then nothing more, the connection held open. `url` has no video suffix, so it is a stream.

    `stalled` is set once the sending has stopped; `close()` ends it.
    """

    def __init__(self, frames: int = 1500, fps: int = 25, stall_after: int | None = None) -> None:
        self.data, self.fps, self.frames = ts_bytes(frames, fps), fps, frames
        self.stall_after = frames if stall_after is None else stall_after
        self.stalled = threading.Event()
        self._stall = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/live"
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self._stall.set()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._held.append(conn)
            threading.Thread(target=self._send, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket) -> None:
        chunk = len(self.data) // self.frames + 1
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n")
            for i in range(self.stall_after):
                if self._stall.is_set():
                    break
                conn.sendall(self.data[i * chunk : (i + 1) * chunk])
                time.sleep(1 / self.fps)
        except OSError:
            return
        self.stalled.set()  # from here nothing is sent; the connection stays open until close()

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


def _run(sources: list[str], out: Path, extra: list[str]) -> dict:
    """Each source's frames, seconds and fps in one `detect` run over `sources`, from its closing lines
    (`NAME: N frames in T s (F fps)`), and the `error:` lines of the run."""
    out.mkdir(parents=True)
    cmd = [sys.executable, "-m", "facemask.cli", "detect", *sources, "--no-display", "--realtime"]
    cmd += ["--json", str(out / "{name}.jsonl"), *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"facemask detect failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    found = re.findall(r"^(\S+): (\d+) frames in ([\d.]+) s \(([\d.]+) fps\)", proc.stdout, re.M)
    runs = {name: {"frames": int(n), "seconds": float(t), "fps": float(fps)} for name, n, t, fps in found}
    return {"sources": runs, "errors": [line for line in proc.stderr.splitlines() if line.startswith("error:")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", nargs=3, type=Path, default=[VIDEOS / c for c in CLIPS], help="the three clips")
    ap.add_argument("--max-frames", type=int, help="stop each clip after N frames (a quick check of this tool)")
    ap.add_argument("--open-timeout", type=float, default=120.0, help="when the stalled stream is given up")
    ap.add_argument("--json", type=Path, default=REPO / "docs" / "bench" / "multi_source_stall.json")
    args = ap.parse_args()
    extra = ["--max-frames", str(args.max_frames)] if args.max_frames else []
    clips = [str(v) for v in args.videos]
    stream = StallingStream(frames=50, stall_after=25)  # a second of frames (enough to open it), then silence
    try:
        with tempfile.TemporaryDirectory() as tmp:
            alone = _run(clips, Path(tmp, "alone"), extra)
            beside = _run(
                [*clips, stream.url], Path(tmp, "stalled"), [*extra, "--open-timeout", str(args.open_timeout)]
            )
    finally:
        stream.close()
    clip_fps = {name: (s["fps"], beside["sources"][name]["fps"]) for name, s in alone["sources"].items()}
    ratios = {name: round(b / a, 3) if a else None for name, (a, b) in clip_fps.items()}
    for name, (a, b) in clip_fps.items():
        print(f"{name:20s} alone {a:6.2f} fps  beside a stalled stream {b:6.2f} fps  ratio {ratios[name]}")
    document = {
        "what": "three clips with --realtime, alone and beside a stalled live stream; fps per clip and the ratio",
        "command": "python tools/multi_source_stall.py"
        + (f" --max-frames {args.max_frames}" if args.max_frames else ""),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} CPU cores, {platform.platform()}",
        "clips": [Path(c).name for c in clips],
        "alone": alone,
        "beside_stalled": beside,
        "ratio": ratios,
        "stalled_stream_given_up": any("no frame for" in line for line in beside["errors"]),
        "keeps_90_percent": len(ratios) == 3 and all(r is not None and r >= KEEP for r in ratios.values()),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
