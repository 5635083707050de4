"""Weighted box fusion: several detectors' boxes for one image become one set of faces.

After Solovyev et al., "Weighted boxes fusion" (2021). NMS keeps one detector's box and throws
the others away; fusion averages the boxes that agree, so two detectors that each half-see a
masked face give one box between them, and a face only one detector saw keeps that detector's
share of the score. That share is what lets a second detector add the faces the first misses
without admitting every weak box it emits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facemask.core.boxes import iou_matrix
from facemask.core.types import Faces


def weighted_box_fusion(sets: Sequence[Faces], weights: Sequence[float], iou: float) -> Faces:
    """Fuse the faces of `len(sets)` detectors.

    Boxes are taken best score first; each joins the cluster whose fused box it overlaps most
    at IoU > `iou`, or starts a cluster. A cluster's box is the score-weighted mean of its
    members' corners. Its score is sum_d weight_d * best score of detector d in the cluster,
    divided by the sum of all weights, so a detector that missed the face counts as score 0.
    """
    if len(sets) != len(weights) or not sets:
        raise ValueError(
            f"weighted_box_fusion needs one weight per detector, got {len(sets)} sets, {len(weights)} weights"
        )
    w = np.asarray(weights, np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"fusion weights must be >= 0 with a positive sum, got {list(weights)}")
    xyxy = np.concatenate([s.xyxy for s in sets]).astype(np.float64)
    score = np.concatenate([s.score for s in sets]).astype(np.float64)
    source = np.concatenate([np.full(len(s), d) for d, s in enumerate(sets)]).astype(np.int64)
    members: list[list[int]] = []
    fused = np.zeros((0, 4))
    for i in np.argsort(-score, kind="stable"):
        overlaps = iou_matrix(xyxy[i : i + 1], fused)[0] if len(fused) else np.zeros(0)
        best = int(np.argmax(overlaps)) if len(overlaps) else -1
        if best >= 0 and overlaps[best] > iou:
            members[best].append(int(i))
            idx = members[best]
            fused[best] = (score[idx, None] * xyxy[idx]).sum(axis=0) / max(score[idx].sum(), 1e-12)
        else:
            members.append([int(i)])
            fused = np.vstack([fused, xyxy[i]])
    fused_score = np.zeros(len(members))
    for c, idx in enumerate(members):
        for d in np.unique(source[idx]):
            fused_score[c] += w[d] * score[idx][source[idx] == d].max()
    return Faces(xyxy=fused.astype(np.float32), score=(fused_score / w.sum()).astype(np.float32))
