"""Tracking scores against ground truth: MOTA, IDF1, HOTA, precision, recall and the error counts.

CLEAR-MOT and identity scores come from the `motmetrics` package (1.4.0). motmetrics 1.4.0 has no
HOTA, so HOTA is computed here from its definition (Luiten et al., "HOTA: A Higher Order Metric for
Evaluating Multi-Object Tracking", IJCV 2020): for each localisation threshold alpha in
0.05, 0.10, ..., 0.95, HOTA_alpha = sqrt(DetA_alpha * AssA_alpha), and HOTA is their mean. Per frame,
ground truth and predictions are matched one-to-one by the Hungarian algorithm on
similarity x global alignment score (how much the two identities overlap over the whole sequence),
as in the paper's reference implementation; a match counts as a true positive at alpha when its
similarity is >= alpha.

Counts (CLEAR MOT, from motmetrics, over the scored frames): `fp` predicted positions matched to no
ground truth, `fn` ground-truth positions matched to no prediction, `id_switches` ground-truth positions
matched to another predicted identity than at their previous match, `fragmentations` the times a
ground-truth trajectory goes from tracked to untracked and is tracked again later (a gap in its
coverage; a switch without a gap is not a fragmentation). MOTA = 1 - (fn + fp + id_switches) / positions.

Matching: match="distance" compares centres (pixels); a pair is allowed within `threshold` px
(default 20) and its HOTA similarity is max(0, 1 - d / threshold). match="iou" compares boxes; a pair
is allowed with IoU >= threshold (default 0.5) and its similarity is the IoU. Only frames that have
ground truth are scored.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..detection.geometry import box_iou
from ..errors import OmniTraxError
from ..tracking.tracks import Tracks

HOTA_ALPHAS = np.round(np.arange(1, 20) * 0.05, 2)  # 0.05 .. 0.95
_EPS = 1e-9
MATCHES = ("distance", "iou")


def _frame_similarity(g: Tracks, p: Tracks, threshold: float, match: str):
    """(similarity in [0, 1], motmetrics distance with NaN for pairs that may not match)."""
    if match == "iou":
        sim = box_iou(g.boxes(), p.boxes())
        dist = 1.0 - sim
        dist[sim < threshold] = np.nan
    else:
        d = np.hypot(g.x[:, None] - p.x[None, :], g.y[:, None] - p.y[None, :])
        sim = np.clip(1.0 - d / threshold, 0.0, None)
        dist = d ** 2
        dist[d > threshold] = np.nan
    return sim, dist


def _split_by_frame(tracks: Tracks, frames: np.ndarray) -> list[Tracks]:
    order = np.lexsort((tracks.track, tracks.frame))
    sorted_frames = tracks.frame[order]
    lo = np.searchsorted(sorted_frames, frames, "left")
    hi = np.searchsorted(sorted_frames, frames, "right")
    return [tracks.select(order[a:b]) for a, b in zip(lo, hi)]


def hota(frames_gt: list[Tracks], frames_pred: list[Tracks], similarities: list[np.ndarray]) -> dict:
    """HOTA, DetA, AssA (means over alpha) from per-frame tables and similarity matrices."""
    gt_ids, gt_index = np.unique(np.concatenate([g.track for g in frames_gt] + [np.zeros(0, np.int64)]),
                                 return_inverse=True)
    pr_ids, pr_index = np.unique(np.concatenate([p.track for p in frames_pred] + [np.zeros(0, np.int64)]),
                                 return_inverse=True)
    n_g, n_p = len(gt_ids), len(pr_ids)
    # per-frame dense index of each row's identity
    g_idx = [np.searchsorted(gt_ids, g.track) for g in frames_gt]
    p_idx = [np.searchsorted(pr_ids, p.track) for p in frames_pred]
    gt_count = np.zeros(n_g)
    pr_count = np.zeros(n_p)
    overlap = np.zeros((n_g, n_p))  # soft count of frames where identities g and p coincide
    for gi, pi, sim in zip(g_idx, p_idx, similarities):
        gt_count[gi] += 1
        pr_count[pi] += 1
        if sim.size:
            denom = sim.sum(axis=0)[None, :] + sim.sum(axis=1)[:, None] - sim
            share = np.divide(sim, denom, out=np.zeros_like(sim), where=denom > _EPS)
            np.add.at(overlap, (gi[:, None], pi[None, :]), share)
    alignment = overlap / np.maximum(gt_count[:, None] + pr_count[None, :] - overlap, _EPS)

    n_alpha = len(HOTA_ALPHAS)
    tp = np.zeros(n_alpha)
    matches = np.zeros((n_alpha, n_g, n_p))
    for gi, pi, sim in zip(g_idx, p_idx, similarities):
        if not sim.size:
            continue
        score = alignment[gi[:, None], pi[None, :]] * sim
        rows, cols = linear_sum_assignment(-score)
        s = sim[rows, cols]
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = s >= alpha - _EPS
            tp[a] += ok.sum()
            np.add.at(matches[a], (gi[rows[ok]], pi[cols[ok]]), 1)
    n_gt_dets, n_pr_dets = gt_count.sum(), pr_count.sum()
    det_a = tp / np.maximum(n_gt_dets + n_pr_dets - tp, 1)  # TP / (TP + FN + FP)
    ass_a = np.zeros(n_alpha)
    for a in range(n_alpha):
        m = matches[a]
        per_pair = m / np.maximum(gt_count[:, None] + pr_count[None, :] - m, 1)
        ass_a[a] = (m * per_pair).sum() / max(tp[a], 1)
    hota_alpha = np.sqrt(det_a * ass_a)
    return {"HOTA": float(hota_alpha.mean()), "DetA": float(det_a.mean()), "AssA": float(ass_a.mean())}


def evaluate(gt: Tracks, pred: Tracks, threshold=None, match: str = "distance") -> dict:
    """Scores of `pred` against `gt`: MOTA, IDF1, HOTA, precision, recall (floats), id_switches (int).

    Also DetA and AssA (HOTA's detection and association parts) and the counts fp, fn and
    fragmentations (ints; see the module docstring). A score that is undefined
    (e.g. precision of an empty prediction) is reported as 0.0.
    """
    import motmetrics as mm

    match = str(match).lower()
    if match not in MATCHES:
        raise OmniTraxError(f"Unknown match '{match}'; choose distance (centres, px) or iou (boxes).")
    if threshold is None:
        threshold = 20.0 if match == "distance" else 0.5
    threshold = float(threshold)
    if match == "distance" and not threshold > 0:
        raise OmniTraxError(f"The distance threshold must be a positive number of pixels, got {threshold}.")
    if match == "iou" and not 0 < threshold <= 1:
        raise OmniTraxError(f"The IoU threshold must be in (0, 1], got {threshold}.")
    if not len(gt):
        raise OmniTraxError("The ground truth has no positions to score against.")
    if match == "iou" and ((gt.width <= 0) | (gt.height <= 0)).any():
        raise OmniTraxError("IoU matching needs boxes, but the ground truth has positions without a box size; "
                            "use match='distance'.")

    frames = np.unique(gt.frame)
    frames_gt = _split_by_frame(gt, frames)
    frames_pred = _split_by_frame(pred, frames)
    acc = mm.MOTAccumulator(auto_id=False)
    similarities = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        for f, g, p in zip(frames.tolist(), frames_gt, frames_pred):
            sim, dist = _frame_similarity(g, p, threshold, match)
            similarities.append(sim)
            acc.update(g.track.tolist(), p.track.tolist(), dist, frameid=f)
        summary = mm.metrics.create().compute(
            acc, metrics=["mota", "idf1", "precision", "recall", "num_switches", "num_false_positives", "num_misses",
                         "num_fragmentations"], name="run")

    def value(name):
        v = float(summary[name].iloc[0])
        return v if np.isfinite(v) else 0.0

    scores = {"MOTA": value("mota"), "IDF1": value("idf1"), "precision": value("precision"),
              "recall": value("recall"), "id_switches": int(value("num_switches")),
              "fp": int(value("num_false_positives")), "fn": int(value("num_misses")),
              "fragmentations": int(value("num_fragmentations"))}
    scores.update(hota(frames_gt, frames_pred, similarities))
    return {k: scores[k] for k in ("MOTA", "IDF1", "HOTA", "precision", "recall", "id_switches", "DetA", "AssA",
                                  "fp", "fn", "fragmentations")}
