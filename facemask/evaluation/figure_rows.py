"""The rows of the figure tables the README and docs/benchmarks.md quote (tools/figures.py lists them): one
builder per kind of row, so a table's columns are written once."""

from __future__ import annotations

from facemask.evaluation.figures import Figure

BENCHMARKS = "docs/benchmarks.md"
RATIO = "rows/[video={}]/{}"  # a clip's row in reference_ratio*.json


def model_row(name: str, bold: bool = False) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
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


def model_rows(names: dict[str, str]) -> list[Figure]:
    rows = []
    for lead, name in names.items():
        text, keys, forms = model_row(name, bold=name == "default")
        rows.append(Figure("README.md", f"{lead} {text}", "classifier_test_splits.json", keys, forms))
    return rows


def held_out_row(lead: str, source: str, history: bool = False) -> Figure:
    """A row of benchmarks.md's held-out table: recall (all, masked), precision (by eye, scored), found-and-right
    and label accuracy, all of faces of 32 px or more, then the cost against a 300x300 res10 pass."""
    keys = ("recall/all/>=32", "recall/masked/>=32", "by_eye/precision_ge32_by_eye", "precision_ge32")
    keys += ("found_and_right_ge32/all", "label_accuracy_ge32/all", "timing/ratio_to_300x300")
    text = f"| {lead} |" + " {} |" * 6 + " {}x |"
    return Figure(BENCHMARKS, text, source, keys, ("{:.3f}",) * 6 + ("{:.2f}",), history=history)


def reference_row(video: str) -> Figure:
    """A row of benchmarks.md's reference table: fps of each and their ratio, faces a frame, people."""
    fields = ("reference_fps", "facemask_fps", "fps_ratio", "reference_faces_per_frame", "facemask_faces_per_frame")
    keys = tuple(RATIO.format(video, field) for field in (*fields, "people", "people_by_eye"))
    text = f"| `{video}` | {{}} | {{}} | **{{}}x** | {{}} / {{}} | {{}} / {{}} |"
    return Figure(BENCHMARKS, text, "reference_ratio.json", keys, ("{:.2f}",) * 3 + ("{:.3f}",) * 2 + ("{}",) * 2)


def blur_row(clip: str) -> Figure:
    """A row of benchmarks.md's blur table: share hidden and worst face, by the run's own faces and by an
    independent detector's, and the frame rate with `--blur`."""
    at = f"clips/{clip}"
    keys = tuple(f"{at}/{m}/{k}" for m in ("own", "independent") for k in ("share_hidden", "worst/ratio"))
    text = f"| `{clip}` |" + " {} |" * 4 + " {} fps |"
    return Figure(BENCHMARKS, text, "blur_clips.json", (*keys, f"{at}/fps_with_blur"), ("{:.3f}",) * 4 + ("{:.1f}",))


def install_figure(text: str, source: str, keys: tuple[str, ...], history: bool = False) -> Figure:
    """Install sizes (MB, written 2,640) and times (s) the README quotes."""
    return Figure("README.md", text, source, keys, ("{:,}",) * len(keys), history=history)
