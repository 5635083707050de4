#!/usr/bin/env python
"""How long a photo in a second browser tab waits while a clip runs in the first (issue 14).

The web page shares one set of models between tabs behind one lock. It is taken per model
call, so a photo should take about as long during a clip as alone. This runs the page's own
functions (`analyzer_for`, `process_clip`) in two threads, as Streamlit's tabs would:

    python tools/app_lock_wait.py --json docs/bench/app_lock_wait.json
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from pathlib import Path

import cv2

from facemask.app.clip import process_clip
from facemask.app.page import analyzer_for
from facemask.app.settings import Settings
from facemask.evaluation.provenance import code_provenance
from facemask.io.safeio import write_text

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", type=Path, default=DATA / "videos" / "nomask_man.mp4")
    p.add_argument("--photo", type=Path, default=DATA / "mask-detection" / "images" / "maksssksksss83.jpg")
    p.add_argument("--model", default="default")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    logging.disable(logging.WARNING)
    settings = Settings(a.model, 0.5, 0.5, 200, 60.0)
    photo, data = cv2.imread(str(a.photo)), a.clip.read_bytes()
    clip_analyzer, photo_analyzer = analyzer_for(settings, "fast"), analyzer_for(settings, "accurate")
    photo_analyzer.analyze(photo)  # warm both up: the first call allocates
    clip_analyzer.analyze(photo)

    t0 = time.perf_counter()
    photo_analyzer.analyze(photo)
    alone_s = time.perf_counter() - t0
    result: dict = {}

    def run_clip() -> None:
        start = time.perf_counter()
        clip = process_clip(a.clip.name, data, clip_analyzer, 60.0)
        result["clip"] = {"frames": clip.frames, "seconds": round(time.perf_counter() - start, 2)}

    worker = threading.Thread(target=run_clip)
    worker.start()
    time.sleep(3.0)  # the clip is well under way
    t0 = time.perf_counter()
    photo_analyzer.analyze(photo)
    during_s = time.perf_counter() - t0
    clip_running = worker.is_alive()
    worker.join()
    report = {
        "clip": a.clip.name,
        **result["clip"],
        "photo": a.photo.name,
        "model": a.model,
        "photo_alone_s": round(alone_s, 2),
        "photo_during_clip_s": round(during_s, 2),
        "clip_was_still_running": clip_running,
    }
    text = json.dumps(report | code_provenance(__file__), indent=1)
    print(text)
    if a.json:
        write_text(a.json, text + "\n")


if __name__ == "__main__":
    main()
