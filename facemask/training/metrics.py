"""Classification metrics and the plots a training run leaves behind; no scikit-learn needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.core.types import shown_confidence


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


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises the log loss on a held-out split (grid search, 0.2-5)."""
    logits = np.log(np.clip(np.asarray(probs, np.float64), 1e-7, 1.0))
    temps = np.exp(np.linspace(np.log(0.2), np.log(5.0), 301))

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    return float(temps[int(np.argmin([nll(t) for t in temps]))])


def reliability_bins(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Per bin of shown confidence (the predicted class's probability): count, mean confidence, accuracy."""
    conf = np.asarray(probs).max(axis=1)
    correct = np.asarray(probs).argmax(axis=1) == np.asarray(y)
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    return [
        {
            "low": round(float(edges[i]), 3),
            "high": round(float(edges[i + 1]), 3),
            "n": int((which == i).sum()),
            "confidence": float(conf[which == i].mean()) if (which == i).any() else None,
            "accuracy": float(correct[which == i].mean()) if (which == i).any() else None,
        }
        for i in range(n_bins)
    ]


def calibration_report(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> dict:
    """Expected calibration error: the count-weighted gap between shown confidence and accuracy."""
    bins = reliability_bins(probs, y, n_bins)
    n = sum(b["n"] for b in bins)
    ece = sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in bins if b["n"]) / max(1, n)
    return {"ece": round(float(ece), 4), "bins": bins}


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


def plot_confusion(matrix, labels, path: Path, title: str = "") -> None:
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.4, 4.4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        dark = v > matrix.max() / 2  # white digits on dark cells, black on light ones
        ax.text(j, i, str(v), ha="center", va="center", color="white" if dark else "black", fontsize=12)
    if title:
        ax.set_title(title, fontsize=9)
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


def plot_reliability(probs: np.ndarray, y: np.ndarray, path: Path, title: str = "") -> None:
    """Reliability diagram: accuracy against shown confidence; the diagonal is perfect calibration."""
    plt = _pyplot()
    report = calibration_report(probs, y)
    bins = [b for b in report["bins"] if b["n"]]
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0.5, 1], [0.5, 1], "--", color="gray", label="perfect")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label="model")
    for b in bins:
        ax.annotate(
            str(b["n"]), (b["confidence"], b["accuracy"]), fontsize=7, xytext=(3, -10), textcoords="offset points"
        )
    ax.set_xlabel("shown confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} ECE {report['ece']:.3f}".strip(), fontsize=9)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_grid(
    images: np.ndarray, y_true, y_pred, p_mask, path: Path, labels=LABELS, max_images: int = 36, confidence=None
) -> None:
    """Test crops with predictions; wrong ones get a red title and come first, then the classes alternate.

    `confidence`: the shown label's probability per crop, for more than two labels (else from `p_mask`).
    """
    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    right = [np.flatnonzero((y_true == y_pred) & (y_true == c)) for c in range(len(labels))]
    right = [r for r in right if len(r)]  # a class a split lacks (not_face in test) must not end the alternation
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
        conf = shown_confidence(labels[y_pred[i]], p_mask[i]) if confidence is None else confidence[i]
        title = f"{labels[y_pred[i]]} {conf:.0%}" + (f"\n(true {labels[y_true[i]]})" if wrong else "")
        ax.set_title(title, color="red" if wrong else "green", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
