"""Classification metrics and the plots a training run leaves behind; no scikit-learn needed."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facemask import LABELS


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(LABELS)) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve via the rank statistic; `score` rises with class 1."""
    y_true, score = np.asarray(y_true), np.asarray(score, np.float64)
    pos, neg = score[y_true == 1], score[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = np.empty(len(score))
    order = np.argsort(score, kind="mergesort")
    ranks[order] = np.arange(1, len(score) + 1)
    for value in np.unique(score):  # average ties
        tied = score == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[y_true == 1].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def classification_report(y_true, y_pred, labels=LABELS) -> dict:
    """The evaluate JSON: n, accuracy, per-class P/R/F1/support, confusion matrix."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    m = confusion(y_true, y_pred, len(labels))
    per_class = {}
    for i, name in enumerate(labels):
        tp = int(m[i, i])
        precision = tp / m[:, i].sum() if m[:, i].sum() else 0.0
        recall = tp / m[i, :].sum() if m[i, :].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": int(m[i, :].sum()),
        }
    return {
        "n": len(y_true),
        "accuracy": round(float((y_true == y_pred).mean()) if len(y_true) else 0.0, 4),
        "per_class": per_class,
        "confusion_matrix": {"labels": list(labels), "matrix": m.tolist()},
    }


def best_threshold(y_true_no_mask: np.ndarray, p_no_mask: np.ndarray) -> float:
    """The P(no_mask) cut that maximises accuracy on a validation split; 0.5 on ties."""
    candidates = np.unique(np.concatenate([[0.5], np.round(p_no_mask, 4)]))
    acc = [((p_no_mask >= t) == y_true_no_mask).mean() for t in candidates]
    best = max(acc)
    ties = candidates[np.isclose(acc, best)]
    return float(ties[np.argmin(np.abs(ties - 0.5))])


def format_table(report: dict) -> str:
    lines = [f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, r in report["per_class"].items():
        lines.append(f"{name:<10}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}{r['support']:>10}")
    lines.append(f"accuracy {report['accuracy']:.4f} on {report['n']} images")
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix, labels, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(np.asarray(matrix)):
        ax.text(j, i, str(v), ha="center", va="center", color="black", fontsize=12)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix in ("", "val_"):
            if prefix + key in history:
                ax.plot(range(1, len(history[prefix + key]) + 1), history[prefix + key], label=prefix + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_grid(images: np.ndarray, y_true, y_pred, p_mask, path: Path, labels=LABELS, max_images: int = 36) -> None:
    """Test crops with predictions; wrong ones get a red title and come first, then the classes alternate."""
    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    right = [np.flatnonzero((y_true == y_pred) & (y_true == c)) for c in range(len(labels))]
    interleaved = [i for group in zip(*right) for i in group]
    order = np.concatenate([wrong, interleaved]).astype(int)[:max_images]
    cols = 6
    rows = max(1, int(np.ceil(len(order) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2, rows * 2.2), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, order):
        wrong = y_true[i] != y_pred[i]
        ax.imshow(images[i])
        conf = p_mask[i] if y_pred[i] == labels.index("mask") else 1 - p_mask[i]
        title = f"{labels[y_pred[i]]} {conf:.0%}" + (f"\n(true {labels[y_true[i]]})" if wrong else "")
        ax.set_title(title, color="red" if wrong else "green", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
