"""How right the identity pass is against ground truth: its fragments, its uncertain list, the swaps.

Each detected input row is matched to the nearest ground-truth animal of its frame (within `threshold`
px; rows that bridge a gap are not: they are where the tracker guessed); a fragment's animal is the
commonest one of its rows. Identities are matched to animals one to one by the
most rows in common (Hungarian). A fragment is wrong when it got no identity or one that stands for
another animal. The uncertain list is scored against the wrong fragments (precision: listed ones that
are wrong; recall: wrong ones listed, also by rows), and against the swaps of the tracks it started from
(a track's consecutive fragments on different animals): each is corrected, listed (the fragment after
it, or before it, is uncertain) or missed.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree


def row_animals(tracks, truth, threshold: float) -> np.ndarray:
    """(rows,) the ground-truth animal nearest each row of `tracks` in its frame, -1 beyond threshold px."""
    out = np.full(len(tracks), -1, np.int64)
    order = np.argsort(truth.frame, kind="stable")
    frames = truth.frame[order]
    for f in np.unique(tracks.frame).tolist():
        rows = np.flatnonzero(tracks.frame == f)
        g = order[np.searchsorted(frames, f, "left"):np.searchsorted(frames, f, "right")]
        if not len(g):
            continue
        d, k = cKDTree(np.column_stack([truth.x[g], truth.y[g]])).query(np.column_stack([tracks.x[rows],
                                                                                         tracks.y[rows]]))
        out[rows] = np.where(d <= threshold, truth.track[g][k], -1)
    return out


def score_identities(tracks, fragments, table, truth, threshold: float | None = None, min_rows: int = 5) -> dict:
    """Scores of one identity pass: `tracks` its input, `fragments` (omnitrax.identity.fragments) and
    `table` (FragmentTable) its result, `truth` ground-truth Tracks. threshold: px (default: a third of
    the median box diagonal of the truth). Fragments of fewer than min_rows rows (the few frames inside a
    touch, where even the truth's nearest animal is a toss-up) are left out of the fragment and swap
    counts (not of the row counts)."""
    if threshold is None:
        diag = np.hypot(truth.width, truth.height)
        threshold = float(np.median(diag[diag > 0])) / 3.0 if (diag > 0).any() else 10.0
    animal = np.where(tracks.predicted, -1, row_animals(tracks, truth, threshold))  # bridged gaps: no animal
    n_frag = len(table)
    rows = np.bincount(fragments.fragment, minlength=n_frag)
    truth_of = np.full(n_frag, -1, np.int64)
    for f in range(n_frag):
        a = animal[fragments.fragment == f]
        a = a[a >= 0]
        if len(a):
            truth_of[f] = int(np.bincount(a).argmax())
    identities = int(max(table.identity.max(initial=-1), 0)) + 1
    animals = int(max(truth.track.max(initial=-1), truth_of.max(initial=-1), 0)) + 1
    common = np.zeros((identities, animals))
    ok = (table.identity >= 0) & (truth_of >= 0)
    np.add.at(common, (table.identity[ok], truth_of[ok]), rows[ok])
    r, c = linear_sum_assignment(-common)
    stands_for = dict(zip(r.tolist(), c.tolist()))
    wrong = np.array([table.identity[f] < 0 or (truth_of[f] >= 0 and stands_for.get(int(table.identity[f])) !=
                                                 truth_of[f]) for f in range(n_frag)], bool)
    listed = np.asarray(table.uncertain, bool)
    counted = rows >= min_rows
    hit = wrong & listed & counted
    prev = fragments.previous()
    # consecutive counted fragments of a track (those between them are too short to count)
    last_counted = np.full(n_frag, -1, np.int64)
    for f in range(n_frag):
        p = prev[f]
        last_counted[f] = -1 if p < 0 else (p if counted[p] else last_counted[p])
    swaps = [f for f in range(n_frag) if counted[f] and last_counted[f] >= 0 and truth_of[f] >= 0
             and truth_of[last_counted[f]] >= 0 and truth_of[f] != truth_of[last_counted[f]]]
    before = {f: int(last_counted[f]) for f in swaps}
    corrected = [f for f in swaps if not wrong[f] and not wrong[before[f]]]
    # listed: the fragment after the swap, the one before it, or one between them
    flagged = [f for f in swaps if listed[f] or listed[before[f]:f].any()]
    return {
        "fragments": n_frag, "counted": int(counted.sum()), "wrong": int((wrong & counted).sum()),
        "wrong_rows": int(rows[wrong].sum()), "rows": int(rows.sum()),
        "listed": int((listed & counted).sum()), "listed_wrong": int(hit.sum()),
        "precision": float(hit.sum() / (listed & counted).sum()) if (listed & counted).any() else 1.0,
        "recall": float(hit.sum() / (wrong & counted).sum()) if (wrong & counted).any() else 1.0,
        "recall_rows": float(rows[hit].sum() / rows[wrong & counted].sum()) if (wrong & counted).any() else 1.0,
        "swaps": len(swaps), "swaps_corrected": len(corrected), "swaps_listed": len(flagged),
        "swaps_missed": len([f for f in swaps if f not in corrected and f not in flagged]),
    }
