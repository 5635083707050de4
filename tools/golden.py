"""Golden records of what `facemask` outputs, so a restructuring can be shown to change none of it.

Runs the CLI as a user would (`python -m facemask ...` in a subprocess, cwd = the repo under
test, its own package first on PYTHONPATH, FACEMASK_* variables cleared) and writes one JSON:

- `video/CLIP/SCHEDULE` for the five shared clips at the default schedule and `--detect-every 5`,
  headless: the JSON Lines (`--json`), the summary (`--summary`), the events (`--events`), the
  exit code and the console lines;
- `images`: the document of `facemask detect` on the 853 scenes (`results`, `skipped`);
- `evaluate`: the `facemask evaluate --json` report on mask-classification.

Timings are not outputs that a restructuring must keep: the value of any key in TIMING_KEYS, or
ending in `_ms` or `_fps`, is replaced by "<timing>" at any depth (the key stays, so a key that
appears or vanishes still shows), and wall time and fps in console lines are masked the same way.
`time_s` and `duration_s` are kept: they are video time (frame index / the file's fps), the same
on every run. Paths under the repo, the data folder and the temp folder become <repo>, <data>
and <tmp>, so two worktrees give identical records. Annotated media (`--output`, snapshots'
pixels) are not recorded.

usage: python tools/golden.py --out golden.json [--repo PATH] [--data PATH] [--quick]
       python tools/golden.py --compare A.json B.json [--show N]

`--quick` (smoke tests only): 30 frames a clip, the first 20 scenes, 20 images a class.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("mask_woman", "nomask_man", "putting_mask_on", "medical_staff_masks", "dancers_nomask")
SCHEDULES: dict[str, tuple[str, ...]] = {"default": (), "detect-every-5": ("--detect-every", "5")}
QUICK_FRAMES, QUICK_SCENES, QUICK_PER_CLASS = 30, 20, 20
TIMING_KEYS = frozenset({"fps", "wall_s", "wall_time_s", "elapsed", "elapsed_s", "seconds", "stage_ms"})
TIMING_SUFFIXES = ("_ms", "_fps")
CONSOLE_TIMING = re.compile(r"\d+(?:\.\d+)?(?= ?(?:fps|ms)\b)|(?<=\bin )\d+(?:\.\d+)?(?= s\b)")
MISSING = "<missing>"


class GoldenError(Exception):
    """Bad input: reported as one `error:` line."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        """One `error:` line, as the product gives, instead of usage + message."""
        raise GoldenError(message)


@dataclass
class Context:
    repo: Path
    data: Path
    tmp: Path
    quick: bool


def run_cli(ctx: Context, args: list[str]) -> dict:
    """Run `python -m facemask ARGS` in the repo under test; its exit code and console are outputs too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEMASK_")}  # no ambient settings
    env["PYTHONPATH"] = str(ctx.repo)  # the package of the repo under test, not an installed one
    proc = subprocess.run(
        [sys.executable, "-m", "facemask", *args], cwd=ctx.repo, env=env, capture_output=True, text=True
    )
    lines = {name: [CONSOLE_TIMING.sub("<timing>", s) for s in text.splitlines()] for name, text in
             (("stdout", proc.stdout), ("stderr", proc.stderr))}  # fmt: skip
    return {"rc": proc.returncode, **lines}


def read_json(path: Path) -> Any:
    """The file's JSON, or None when the run did not write it (the rc says why)."""
    return json.loads(path.read_text()) if path.is_file() else None


def read_jsonl(path: Path) -> list | None:
    """The JSON Lines as a list (one record a frame or event), or None when not written."""
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else None


def record_video(ctx: Context, clip: str, schedule: str) -> dict:
    """One clip under one schedule: frames, summary and events, written where the flags say."""
    out = ctx.tmp / f"{clip}-{schedule}"  # fixed names: random ones would differ between runs
    out.mkdir()
    args = ["detect", str(ctx.data / "videos" / f"{clip}.mp4"), "--no-display", "--json", str(out / "frames.jsonl")]
    args += ["--summary", str(out / "summary.json"), "--events", str(out / "events.jsonl"), *SCHEDULES[schedule]]
    if ctx.quick:
        args += ["--max-frames", str(QUICK_FRAMES)]
    record = run_cli(ctx, args)
    record["summary"] = read_json(out / "summary.json")
    record["events"] = read_jsonl(out / "events.jsonl")
    record["frames"] = read_jsonl(out / "frames.jsonl")
    return record


def first_files(folder: Path, n: int, dest: Path) -> Path:
    """Copy the first n files of a folder (sorted by name) into dest, for the quick subsets."""
    dest.mkdir(parents=True)
    for path in sorted(p for p in folder.iterdir() if p.is_file())[:n]:
        shutil.copy2(path, dest / path.name)
    return dest


def record_images(ctx: Context) -> dict:
    """The folder mode's one document, split into its results and skipped lists."""
    scenes = ctx.data / "mask-detection" / "images"
    if ctx.quick:
        scenes = first_files(scenes, QUICK_SCENES, ctx.tmp / "scenes")
    record = run_cli(ctx, ["detect", str(scenes), "--json", str(ctx.tmp / "images.json")])
    doc = read_json(ctx.tmp / "images.json")
    extra = {k: v for k, v in (doc or {}).items() if k not in ("results", "skipped")}
    return {**record, **extra, "skipped": (doc or {}).get("skipped"), "results": (doc or {}).get("results")}


def record_evaluate(ctx: Context) -> dict:
    """The evaluate report (aggregate metrics) and its console table."""
    folder = ctx.data / "mask-classification"
    if ctx.quick:
        for cls in sorted(p for p in folder.iterdir() if p.is_dir()):
            first_files(cls, QUICK_PER_CLASS, ctx.tmp / "classes" / cls.name)
        folder = ctx.tmp / "classes"
    record = run_cli(ctx, ["evaluate", str(folder), "--json", str(ctx.tmp / "evaluate.json")])
    return {**record, "report": read_json(ctx.tmp / "evaluate.json")}


def scrub(value: Any, paths: list[tuple[str, str]]) -> Any:
    """Timing values out, machine-specific paths to placeholders, at any depth."""
    if isinstance(value, dict):
        return {
            k: "<timing>" if k in TIMING_KEYS or k.endswith(TIMING_SUFFIXES) else scrub(v, paths)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v, paths) for v in value]
    if isinstance(value, str):
        for path, name in paths:
            value = value.replace(path, name)
    return value


def record_all(ctx: Context) -> dict:
    """Every section, in a fixed order, scrubbed."""
    sections: dict[str, Any] = {}
    jobs = [(f"video/{c}/{s}", lambda c=c, s=s: record_video(ctx, c, s)) for c in CLIPS for s in SCHEDULES]
    jobs += [("images", lambda: record_images(ctx)), ("evaluate", lambda: record_evaluate(ctx))]
    for name, job in jobs:
        print(f"recording {name}", file=sys.stderr, flush=True)
        sections[name] = job()
        if sections[name]["rc"]:  # may be the product's answer (a partial folder is 1), may be a broken run
            tail = sections[name]["stderr"][-1:] or ["(no stderr)"]
            print(f"warning: {name}: facemask exited {sections[name]['rc']}: {tail[0]}", file=sys.stderr)
    roots = {str(ctx.tmp): "<tmp>", str(ctx.data): "<data>", str(ctx.repo): "<repo>"}
    roots.update({os.path.realpath(p): n for p, n in roots.items()})
    return scrub(sections, sorted(roots.items(), key=lambda kv: -len(kv[0])))  # longest first: nested roots


def commit_of(repo: Path) -> str | None:
    """The repo's HEAD, for the reader; not compared."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or None


def record(repo: Path, data: Path | None, out: Path, quick: bool) -> None:
    """Check the inputs before minutes of running, record, write."""
    repo = repo.resolve()
    data = (data or repo.parent / "shared" / "data").resolve()
    if not (repo / "facemask" / "__main__.py").is_file():
        raise GoldenError(f"{repo}: not a facemask checkout (no facemask/__main__.py)")
    clips = [data / "videos" / f"{c}.mp4" for c in CLIPS]
    for need in (*clips, data / "mask-detection" / "images", data / "mask-classification"):
        if not need.exists():
            raise GoldenError(f"{need}: missing (give the shared data folder with --data)")
    if not out.parent.is_dir():
        raise GoldenError(f"{out}: its folder does not exist")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        sections = record_all(Context(repo, data, Path(tmp).resolve(), quick))
    meta = {"quick": quick, "commit": commit_of(repo), "timing_keys": sorted(TIMING_KEYS)}
    meta["timing_suffixes"] = list(TIMING_SUFFIXES)
    try:
        out.write_text(json.dumps({"meta": meta, "sections": sections}, indent=1) + "\n")
    except OSError as exc:
        raise GoldenError(f"{out}: cannot write ({exc.strerror})") from None
    print(f"wrote {out} ({len(sections)} sections, {time.monotonic() - start:.0f} s)", file=sys.stderr)
    empty = [n for n, s in sections.items() if None in (s.get("frames", 0), s.get("results", 0), s.get("report", 0))]
    if empty:  # a record without the main output compares equal to another broken one: say so
        raise GoldenError(f"no output recorded for {', '.join(empty)} (see the warnings; the file is written)")


def flatten(section: dict) -> list[tuple[str, Any]]:
    """A section as labelled records: each item of a list (frame, result, line) is one record."""
    out: list[tuple[str, Any]] = []
    for key, value in section.items():
        if isinstance(value, list):
            out += [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        else:
            out.append((key, value))
    return out


def short(value: Any, width: int = 160) -> str:
    """One value on part of a line: whole frames would drown the leaf that changed."""
    text = value if value is MISSING else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def leaf_diffs(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two records differ, down to the leaves, so a diff reads `.faces[0].confidence: 0.98 -> 0.97`."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        found = [d for k in keys for d in leaf_diffs(a.get(k, MISSING), b.get(k, MISSING), f"{path}.{k}")]
        return found or ([f"{path or '.'}: key order {list(a)} -> {list(b)}"] if list(a) != list(b) else [])
    if isinstance(a, list) and isinstance(b, list):  # item by item; the longer one's extra items differ from nothing
        pad = [MISSING] * abs(len(a) - len(b))
        pairs = zip(a + pad[: len(b) - len(a)], b + pad[: len(a) - len(b)])
        return [d for i, (x, y) in enumerate(pairs) for d in leaf_diffs(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path or '.'}: {short(a)} -> {short(b)}"]


def compare_section(name: str, a: dict | None, b: dict | None, show: int) -> bool:
    """Print one section's verdict and its first differing records; True when identical."""
    if a is None or b is None:
        print(f"{name}: only in {'B' if a is None else 'A'}")
        return False
    ra, rb = dict(flatten(a)), dict(flatten(b))  # matched by label, so a missing key shifts nothing
    labels = list(ra) + [label for label in rb if label not in ra]
    n = len(labels)
    differ = [(label, leaf_diffs(ra.get(label, MISSING), rb.get(label, MISSING))) for label in labels]
    differ = [d for d in differ if d[1]]
    if not differ:
        print(f"{name}: identical ({n} records)")
        return True
    print(f"{name}: {len(differ)} of {n} records differ; the first {min(show, len(differ))}:")
    for label, leaves in differ[:show]:
        print(f"  {label}")
        for line in leaves[:8]:
            print(f"    {line}")
        if len(leaves) > 8:
            print(f"    ... {len(leaves) - 8} more")
    return False


def load(path: Path) -> dict:
    """A golden record, or one error line saying why the file is not one."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldenError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sections"), dict):
        raise GoldenError(f"{path}: not a golden record (no 'sections')")
    return doc


def compare(path_a: Path, path_b: Path, show: int) -> int:
    """Per section: identical, or the first differing records; 1 when anything differs."""
    a, b = load(path_a), load(path_b)
    qa, qb = a.get("meta", {}).get("quick"), b.get("meta", {}).get("quick")
    if qa != qb:
        raise GoldenError(f"one record is --quick and the other is not ({path_a}: {qa}, {path_b}: {qb})")
    sa, sb = a["sections"], b["sections"]
    names = list(sa) + [n for n in sb if n not in sa]
    same = [compare_section(n, sa.get(n), sb.get(n), show) for n in names]
    print(f"{sum(same)} of {len(same)} sections identical" + ("" if all(same) else "; outputs DIFFER"))
    return 0 if all(same) else 1


def main(argv: list[str] | None = None) -> int:
    """Record or compare; 0 done/identical, 1 outputs differ, 2 bad input or nothing recorded."""
    parser = Parser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=Path, help="record the outputs into this JSON file")
    mode.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"), help="compare two records")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to run (default: this file's)")
    parser.add_argument("--data", type=Path, help="shared data folder (default: REPO/../shared/data)")
    parser.add_argument("--quick", action="store_true", help="small subsets, for smoke tests")
    parser.add_argument("--show", type=int, default=5, metavar="N", help="differing records shown per section")
    try:
        args = parser.parse_args(argv)
        if args.compare:
            return compare(*args.compare, max(1, args.show))
        record(args.repo, args.data, args.out, args.quick)
        return 0
    except GoldenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
