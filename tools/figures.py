"""The figures a user reads, tied to the benchmark JSONs they come from, so none can go stale unseen.

    python tools/figures.py --check   # seconds; the test suite runs it (tests/test_figures.py)
    python tools/figures.py           # re-runs every benchmark whose figures are quoted (long), then checks

FIGURES maps each figure quoted in README.md and docs/benchmarks.md to the JSON under docs/bench/
and the key it comes from: the quoted text with `{}` where each figure stands, the keys, and how the
doc writes each value. `--check` fails (exit 1) when a quoted figure differs from what its JSON
gives, or when a quoted text is no longer found (reworded: update FIGURES with the doc). It also
reports, without failing, each JSON older than the last change to the code it measures: each one
records the commit it ran at and a tree hash of the code it depends on (written by every benchmark
tool through facemask/evaluation/provenance.py code_provenance); a JSON from before that record is
reported as stale/unknown.

A key is a path into the JSON: `/` between levels, `[field=value]` picks the list item with that
field, `*` takes every item (the doc then quotes their range, min-max), and a trailing `*100` scales
the value (a share quoted as a percentage).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from facemask.evaluation.provenance import code_tree, last_change

REPO = Path(__file__).resolve().parents[1]
BENCH = "docs/bench"
NUMBER = r"(\d[\d.,]*(?:-\d[\d.,]*)?)"  # 39, 5.3, 16.0-17.3


@dataclass(frozen=True)
class Figure:
    """Figures quoted in `doc` as `text` (`{}` for each), from `keys` of `source` (a file in docs/bench), written
    with `forms` (one per key; a range over `*` takes two fields, min and max). The first place the text is
    quoted is checked: in the whole doc, or from the heading `section` on, to the next heading."""

    doc: str
    text: str
    source: str
    keys: tuple[str, ...]
    forms: tuple[str, ...]
    section: str | None = None


def _model_row(name: str, bold: bool = False) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The README's models table, one row: folder and scene accuracy (%), ECE folder / scenes, ms per face."""
    at = f"results/[model={name}]"
    acc = "**{} %**" if bold else "{} %"
    text = f"| {acc} | {acc} | {{}} / {{}} | {{}} ms |"
    keys = (
        f"{at}/folder:mask-classification/accuracy*100",
        f"{at}/scenes:mask-detection/accuracy*100",
        f"{at}/folder:mask-classification/calibration_ece",
        f"{at}/scenes:mask-detection/calibration_ece",
        f"{at}/ms_per_face",
    )
    return text, keys, ("{:.2f}", "{:.2f}", "{:.3f}", "{:.3f}", "{:.1f}")


def _models(names: dict[str, str]) -> list[Figure]:
    rows = []
    for lead, name in names.items():
        text, keys, forms = _model_row(name, bold=name == "default")
        rows.append(Figure("README.md", f"{lead} {text}", "classifier_test_splits.json", keys, forms))
    return rows


RATIO = "rows/[video={}]/{}"
FIGURES: tuple[Figure, ...] = (
    Figure(
        "README.md",
        "four 720p clips with `--realtime` run at {} fps each that way, against {} fps with every 4th frame detected",
        "multi_source.json",
        ("runs/default cadence/*/fps", "runs/--detect-every 4/*/fps"),
        ("{:.1f}-{:.1f}", "{:.1f}-{:.1f}"),
    ),
    Figure(
        "README.md",
        "Ten files (the five shared clips, twice each): {} s one after another in this process",
        "batch_ray.json",
        ("sequential_s",),
        ("{:.1f}",),
    ),
    Figure(
        "README.md",
        "{} s on a local Ray cluster with 2 workers, {}x in wall time",
        "batch_ray.json",
        ("ray_2_workers_s", "throughput_ratio"),
        ("{:.1f}", "{:.2f}"),
    ),
    Figure(
        "README.md", "the files themselves go through {}x faster", "batch_ray.json", ("processing_ratio",), ("{:.2f}",)
    ),
    *_models(
        {
            "fine-tuned, 112 px | 3.98 MB": "default",
            "distilled from the mean | 0.94 MB": "lite",
            "averaged | 25.8 MB": "ensemble",
            "ResNet50 + small head, 96 px | 24.0 MB": "resnet50",
            "the earlier lite, 112 px | 0.94 MB": "lite112",
            "folder set only | 0.94 MB": "lite128",
        }
    ),
    Figure(
        "README.md",
        "this 2-core CPU: {} fps on a 720p clip, {}x the widely copied SSD + Keras loop measured in the same run; "
        "{}x its frame rate on a street crowd while finding {}x as many faces",
        "reference_ratio.json",
        tuple(RATIO.format(v, k) for v, k in [("nomask_man.mp4", "facemask_fps"), ("nomask_man.mp4", "fps_ratio")])
        + tuple(RATIO.format("dancers_nomask.mp4", k) for k in ("fps_ratio", "faces_ratio")),
        ("{:.0f}", "{:.1f}", "{:.2f}", "{:.1f}"),
    ),
    Figure(
        "README.md",
        "the image preset finds {} of the faces of 32 px or more ({} of the masked ones) at by-eye precision {}, "
        "and {} of them are found and labelled right",
        "detection_centerface_accurate_test.json",
        ("recall/all/>=32", "recall/masked/>=32", "by_eye/precision_ge32_by_eye", "found_and_right_ge32/all"),
        ("{:.3f}", "{:.3f}", "{:.3f}", "{:.3f}"),
    ),
    Figure(
        "README.md",
        "all 853 scenes cost {}x a plain 300x300 res10 pass each",
        "detection_centerface_accurate_all.json",
        ("timing/ratio_to_300x300",),
        ("{:.2f}",),
    ),
)

# How each quoted JSON is measured again (from the repo root); without --check every one runs, in this order.
COMMANDS = {
    "multi_source.json": "python tools/multi_source_bench.py --json docs/bench/multi_source.json",
    "batch_ray.json": "python tools/batch_bench.py --json docs/bench/batch_ray.json",
    "classifier_test_splits.json": "python tools/score_classifier.py --model default --model lite0 --model lite "
    "--model ensemble --model resnet50 --model lite112 --model lite128 --json docs/bench/classifier_test_splits.json",
    "detection_centerface_accurate_test.json": "python tools/score_detection.py --face-detector centerface "
    "--mode accurate --split test --by-eye docs/bench/by_eye/test_unmatched_accurate.json "
    "docs/bench/by_eye/test_centerface.json --json docs/bench/detection_centerface_accurate_test.json",
    "detection_centerface_accurate_all.json": "python tools/score_detection.py --face-detector centerface "
    "--mode accurate --split all --json docs/bench/detection_centerface_accurate_all.json",
    "reference_ratio.json": "python tools/compare_reference.py --people --json docs/bench/reference_ratio.json",
}


def resolve(doc, key: str):
    """The value (or, through `*`, the values) at `key` in a JSON document; KeyError naming the part not found."""
    scale = 1.0
    if key.endswith("*100"):
        key, scale = key[: -len("*100")], 100.0
    values = [doc]
    for part in key.split("/"):
        picked = re.fullmatch(r"\[(\w+)=(.*)\]", part)
        if part == "*":
            values = [v for value in values for v in (value.values() if isinstance(value, dict) else value)]
        elif picked:
            field, want = picked.groups()
            values = [next(v for v in value if str(v.get(field)) == want) for value in values]
        else:
            values = [value[part] for value in values]
    values = [v * scale for v in values]
    return values if "*" in key.split("/") else values[0]


def expected(figure: Figure, doc: dict) -> list[str]:
    """Each figure as the doc should write it, from its JSON."""
    out = []
    for key, form in zip(figure.keys, figure.forms):
        value = resolve(doc, key)
        out.append(form.format(min(value), max(value)) if isinstance(value, list) else form.format(value))
    return out


def _flat(text: str) -> str:
    """Whitespace as one space: a quoted text may wrap anywhere in the Markdown."""
    return re.sub(r"\s+", " ", text)


def quoted_in(figure: Figure, root: Path) -> str | None:
    """The part of the doc the figure is looked for in: all of it, or its section (None: no such heading)."""
    text = (root / figure.doc).read_text()
    if figure.section is None:
        return text
    lines = text.splitlines()
    if figure.section not in lines:
        return None
    start = lines.index(figure.section) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def check_figure(figure: Figure, root: Path) -> list[str]:
    """What is wrong with one quoted figure (nothing: an empty list)."""
    source = root / BENCH / figure.source
    try:
        want = expected(figure, json.loads(source.read_text()))
    except (OSError, ValueError, KeyError, StopIteration, TypeError) as exc:
        return [f"{figure.source}: cannot read {', '.join(figure.keys)} ({type(exc).__name__}: {exc})"]
    pattern = re.escape(_flat(figure.text)).replace(r"\{\}", NUMBER)
    found = re.search(pattern, _flat(quoted_in(figure, root) or ""))  # the first a reader meets
    if found is None:
        return [f"{figure.doc}: no longer quotes {figure.text!r} (reworded? update FIGURES in tools/figures.py)"]
    if list(found.groups()) != want:
        said, should = figure.text.format(*found.groups()), figure.text.format(*want)
        return [f"{figure.doc}: {said!r}, but {figure.source} gives {should!r}"]
    return []


def staleness(source: str, root: Path) -> str | None:
    """Why a JSON may no longer describe the code (None: it measured the code as it is now)."""
    doc = json.loads((root / BENCH / source).read_text())
    if not doc.get("code_tree"):
        return f"{source}: stale/unknown: it records no commit or code tree (measured before figures.py)"
    paths = doc.get("code_paths") or []
    if doc.get("code_dirty"):
        return f"{source}: measured on uncommitted changes at {str(doc.get('commit'))[:7]}"
    if code_tree(paths) != doc["code_tree"]:
        return f"{source}: older than its code ({', '.join(paths)} last changed in {last_change(paths)})"
    return None


def check(root: Path = REPO, figures: tuple[Figure, ...] = FIGURES) -> int:
    """0 when every quoted figure equals its JSON, 1 otherwise; stale JSONs are reported either way."""
    problems = [p for figure in figures for p in check_figure(figure, root)]
    sources = list(dict.fromkeys(figure.source for figure in figures))
    for note in filter(None, (staleness(source, root) for source in sources)):
        print(f"note: {note}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    n = sum(len(f.keys) for f in figures)
    print(f"{n} quoted figures from {len(sources)} JSONs: " + (f"{len(problems)} differ" if problems else "all match"))
    return 1 if problems else 0


def rerun(root: Path = REPO) -> int:
    """Measure every quoted JSON again (each command writes its JSON with its provenance), then check."""
    for source in dict.fromkeys(figure.source for figure in FIGURES):
        command = COMMANDS[source]
        print(f"running: {command}", flush=True)
        if subprocess.run(shlex.split(command), cwd=root).returncode != 0:
            print(f"error: {source}: the benchmark failed", file=sys.stderr)
            return 1
    return check(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only compare quoted figures with their JSONs (cheap)")
    args = parser.parse_args(argv)
    return check() if args.check else rerun()


if __name__ == "__main__":
    sys.exit(main())
