"""What tools/score_detection.py prints and draws: the terminal summary and the precision/recall curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facemask.training.voc import SIZE_BUCKETS


def plot_curve(curves: list[dict], report: dict, path: Path, floor: float, cuts: tuple[float, ...]) -> dict:
    """Precision/recall (faces >= 32 px) over the score cut, the operating point marked; returns summary points.

    One curve: every cut of one run at the floor. Several: one run per cut, each giving one point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_big, n_masked = report["support"]["all"][">=32"], report["support"]["masked"][">=32"]
    if len(curves) == 1:
        tp, fp, masked = curves[0]["tp"], curves[0]["fp"], curves[0]["masked"]
    else:  # the full count of each run, loosest cut first
        tp, fp, masked = (np.array([c[k][-1] if len(c[k]) else 0 for c in curves]) for k in ("tp", "fp", "masked"))
    recall, precision = tp / max(n_big, 1), tp / np.maximum(tp + fp, 1)
    cfg = report["detector"]
    style = {"lw": 1.5} if len(curves) == 1 else {"lw": 1.5, "marker": "."}
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(recall, precision, label="all faces >= 32 px", **style)
    ax.plot(masked / max(n_masked, 1), precision, ls="--", label="masked recall (same cut)", **style)
    ax.plot(
        [report["recall"]["all"][">=32"]],
        [report["precision_ge32"]],
        "o",
        color="black",
        label=f"operating point (confidence {cfg['confidence']})",
    )
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0, 1),
        ylim=(0.5, 1.01),
        title=f"{cfg['backend']} {cfg['mode']}, {report['split']} split ({report['images']} scenes)",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    at = {
        f"recall_at_precision_{p}": round(float(recall[precision >= p].max()), 4) if (precision >= p).any() else None
        for p in (0.9, 0.95)
    }
    where = {"min_score": floor} if len(curves) == 1 else {"cuts": list(cuts)}
    return {"png": str(path), **where, **at}


def format_summary(report: dict) -> str:
    """The report as a few lines for the terminal; the JSON holds everything."""
    t, cfg = report["timing"], report["detector"]
    columns = (*SIZE_BUCKETS, ">=32", "all")
    lines = [
        f"{cfg['backend']} {cfg['mode']}, confidence {cfg['confidence']}, {report['split']} split, "
        f"{report['images']} images:"
        f" detector {t['detector_ms_mean']} ms/image, {t['ratio_to_300x300']}x a 300x300 pass"
        f" ({t['reference_300x300_ms_mean']} ms)",
        f"{'recall':<10}" + "".join(f"{c:>8}" for c in columns),
    ]
    for row, values in report["recall"].items():
        cells = "".join(f"{'-' if values[c] is None else format(values[c], '.3f'):>8}" for c in columns)
        lines.append(f"{row:<10}{cells}   (n>=32: {report['support'][row]['>=32']})")
    lines.append(
        f"precision >=32 px: {report['precision_ge32']} "
        f"(TP {report['true_positives_ge32']}, FP {report['false_positives']}"
        f" of which {report['false_positives_below_32px']} < 32 px; "
        f"{report['ignored_on_faces_below_32px']} on faces < 32 px ignored)"
    )
    if "label_accuracy_ge32" in report:
        acc, right = report["label_accuracy_ge32"], report["found_and_right_ge32"]
        lines.append(
            f"labels >=32 px: accuracy {acc['all']} on {acc['n']} (masked {acc['masked']}, unmasked {acc['unmasked']};"
            f" incorrect read no_mask {acc['incorrect_read_as_no_mask']});"
            f" classifier {t['classifier_ms_mean']} ms/image"
        )
        lines.append(
            f"found-and-right >=32 px: {right['all']} (masked {right['masked']}, unmasked {right['unmasked']};"
            f" with incorrect as no_mask {right['incl_incorrect']})"
        )
        if "incorrect_mask" in acc:
            i = acc["incorrect_mask"]
            lines.append(
                f"incorrect_mask >=32 px: recall {i['recall']} of {i['n']}, precision {i['precision']} of {i['read']}"
                f" read so; read as a violation {i['read_as_violation']}"
            )
    if "by_eye" in report:
        e = report["by_eye"]
        lines.append(
            f"precision >=32 px by eye: {e['precision_ge32_by_eye']} ({e['faces']} of {e['unmatched']} unmatched boxes "
            f"are faces; {e['not_faces']} not, {e['undecided']} undecided, {e['not_looked_at']} not looked at)"
        )
    if "curve" in report:
        c = report["curve"]
        lines.append(
            f"curve {c['png']}: recall at precision 0.90 {c['recall_at_precision_0.9']}, "
            f"at 0.95 {c['recall_at_precision_0.95']}"
        )
    return "\n".join(lines)
