"""The report of the five shared clips (and of a batch of them), opened in Chromium with the network off and shot.

usage:
  python tools/report_clips.py RUNS_DIR [--batch BATCH_DIR] [--shot docs/report_screenshot.png]

RUNS_DIR holds one run per shared clip, made beforehand by the lead (this tool runs no detector):
  for v in ../shared/data/videos/*.mp4; do n=$(basename "$v" .mp4)
    facemask detect "$v" --no-display --blur --output RUNS_DIR/$n.mp4 --json RUNS_DIR/$n.jsonl \\
      --events RUNS_DIR/${n}_events.jsonl --summary RUNS_DIR/${n}_summary.json; done
  facemask batch ../shared/data/videos --output BATCH_DIR --video --blur --report BATCH_DIR/report.html
It writes RUNS_DIR/report.html (and BATCH_DIR/report.html unless the batch wrote it) with `facemask
report`, opens each in Debian's Chromium (.ci/install_chromium.sh) through Playwright with every
request but the page itself refused, checks that nothing was fetched and each source's timeline is
drawn, and saves a full-page screenshot of each (the first to --shot).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def make_report(run: Path, dest: Path) -> None:
    """`facemask report RUN --output DEST`, as a user runs it."""
    subprocess.run([sys.executable, "-m", "facemask", "report", str(run), "--output", str(dest)], check=True)


def shoot(report: Path, shot: Path) -> dict:
    """Open `report` offline, count what it tried to fetch and the charts it drew, and screenshot it whole."""
    from playwright.sync_api import sync_playwright

    fetched: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
            page = context.new_page()
            page.on("request", lambda r: fetched.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(report.resolve().as_uri(), wait_until="load")
            found = {
                "sections": page.locator("section").count(),
                "timelines": page.locator("svg g#people").count(),
                "thumbnails": page.locator("figure img").count(),
                "broken_images": page.evaluate("[...document.images].filter(i => !i.naturalWidth).length"),
                "fetched": fetched,
            }
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="folder with the five clips' runs (JSON Lines, summaries, events)")
    parser.add_argument("--batch", type=Path, help="a `facemask batch` output folder of the same clips")
    parser.add_argument("--shot", type=Path, default=Path("docs/report_screenshot.png"), help="the screenshot")
    args = parser.parse_args()
    targets = [(args.runs, args.runs / "report.html", args.shot)]
    if args.batch is not None:
        targets.append((args.batch, args.batch / "report.html", args.shot.with_name(args.shot.stem + "_batch.png")))
    failed = False
    for run, report, shot in targets:
        if not (report.is_file() and run == args.batch):  # a batch run with --report already wrote its own
            make_report(run, report)
        found = shoot(report, shot)
        print(f"{report}: {found} -> {shot}")
        failed |= bool(found["fetched"]) or found["broken_images"] > 0 or found["timelines"] == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
