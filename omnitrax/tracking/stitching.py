"""Offline track stitching: join a track that ended to one that starts shortly after, nearby.

Units: pixels (origin top-left), 0-based video frames, velocities in pixels per frame.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import OmniTraxError
from .assignment import assign_sparse
from .tracks import Tracks

VELOCITY_WINDOW = 10  # frames at a track's end used to estimate its end velocity


def _end_velocity(t: Tracks) -> np.ndarray:
    """Mean velocity (px/frame) over the detected positions in the last VELOCITY_WINDOW frames."""
    rows = np.flatnonzero(~t.predicted) if (~t.predicted).sum() >= 2 else np.arange(len(t))
    rows = rows[t.frame[rows] >= t.frame[rows[-1]] - VELOCITY_WINDOW]
    a, b = rows[0], rows[-1]
    span = t.frame[b] - t.frame[a]
    if span <= 0:
        return np.zeros(2)
    return np.array([t.x[b] - t.x[a], t.y[b] - t.y[a]]) / span


def stitch(tracks: Tracks, max_gap: int = 30, max_distance: float = 100.0, keep_ids=()) -> Tracks:
    """Link track ends to later track starts and return the joined, renumbered tracks.

    A pair (A ends at frame e, B starts at frame s) is a candidate when 0 < s - e <= max_gap, the
    distance between A's end position extrapolated with its end velocity to frame s and B's start is
    <= max_distance, and the plain distance between A's end and B's start is <= 2 * max_distance plus the
    way A travels at its end speed in the gap.
    Candidates are chosen by one global assignment (most links, then least total distance). B then
    takes A's id and the frames between are filled with linearly interpolated rows, predicted=True.
    Ids in keep_ids are never changed and two of them are never joined (if a chain holds one, the
    chain takes that id); all other ids are renumbered 0, 1, ... in order of first frame, skipping
    the keep_ids values.
    """
    if int(max_gap) != max_gap or max_gap < 1:
        raise OmniTraxError(f"Stitching max_gap must be a whole number of frames >= 1, got {max_gap}.")
    if not np.isfinite(max_distance) or max_distance <= 0:
        raise OmniTraxError(f"Stitching max_distance must be a positive number of pixels, got {max_distance}.")
    keep = {int(k) for k in keep_ids}
    if not len(tracks):
        return Tracks.empty()
    ids = np.array(tracks.ids(), np.int64)
    n = len(ids)
    first_row = np.searchsorted(tracks.track, ids, "left")
    last_row = np.searchsorted(tracks.track, ids, "right") - 1
    start_frame, end_frame = tracks.frame[first_row], tracks.frame[last_row]
    start_xy = np.column_stack([tracks.x[first_row], tracks.y[first_row]])
    end_xy = np.column_stack([tracks.x[last_row], tracks.y[last_row]])
    is_keep = np.isin(ids, list(keep))

    links = []
    if n > 1:
        velocity = np.array([_end_velocity(tracks.select(slice(first_row[i], last_row[i] + 1))) for i in range(n)])
        speed = np.hypot(velocity[:, 0], velocity[:, 1])
        # the plain distance may also hold the way travelled at the end speed (fast animals, long gaps)
        radius = 2.0 * max_distance + float(speed.max()) * max_gap
        pairs = cKDTree(end_xy).sparse_distance_matrix(cKDTree(start_xy), radius, output_type="ndarray")
        e, s = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
        gap = start_frame[s] - end_frame[e]
        ok = (gap > 0) & (gap <= max_gap) & ~(is_keep[e] & is_keep[s])
        ok &= pairs["v"] <= 2.0 * max_distance + speed[e] * np.maximum(gap, 0)
        e, s, gap = e[ok], s[ok], gap[ok]
        if len(e):
            predicted_start = end_xy[e] + velocity[e] * gap[:, None]
            cost = np.hypot(*(predicted_start - start_xy[s]).T)
            ok = cost <= max_distance
            e, s, cost = e[ok], s[ok], cost[ok]
            order = np.lexsort((s, e))
            e, s, cost = e[order], s[order], cost[order]
            rows, cols = assign_sparse(e, s, cost, n, n)
            link_cost = dict(zip(zip(e.tolist(), s.tolist()), cost.tolist()))
            links = sorted(zip(rows.tolist(), cols.tolist()), key=lambda p: (link_cost[p], p))

    # join chains cheapest link first; never put two keep_ids in one chain
    parent = list(range(n))
    keep_in = is_keep.tolist()

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    accepted = []
    for a, b in links:
        ra, rb = root(a), root(b)
        if keep_in[ra] and keep_in[rb]:
            continue
        parent[rb] = ra
        keep_in[ra] = keep_in[ra] or keep_in[rb]
        accepted.append((a, b))

    # final id per chain: its keep id, else the id of its earliest track; then renumber the rest
    chain = np.array([root(i) for i in range(n)])
    chain_keep = {}
    chain_start = {}
    for i in np.argsort(start_frame, kind="stable").tolist():
        r = int(chain[i])
        chain_start.setdefault(r, (int(start_frame[i]), int(ids[i])))
        if is_keep[i]:
            chain_keep[r] = int(ids[i])
    free = (k for k in range(n + len(keep) + 1) if k not in keep)
    chain_id = {}
    for r in sorted(chain_start, key=chain_start.get):
        chain_id[r] = chain_keep[r] if r in chain_keep else next(free)
    new_id = np.array([chain_id[int(chain[i])] for i in range(n)], np.int64)

    out = tracks.with_ids(dict(zip(ids.tolist(), new_id.tolist())))
    fills = [_gap_rows(tracks, last_row[a], first_row[b], new_id[a]) for a, b in accepted]
    return Tracks.concat([out] + fills)


def fill_gaps(tracks: Tracks, max_gap: int) -> Tracks:
    """`tracks` plus interpolated rows (predicted=True) in every gap of at most max_gap missing frames
    inside a track (rows sorted by track, frame)."""
    if len(tracks) < 2:
        return tracks
    same = tracks.track[1:] == tracks.track[:-1]
    missing = tracks.frame[1:] - tracks.frame[:-1] - 1
    ends = np.flatnonzero(same & (missing > 0) & (missing <= max_gap))
    if not len(ends):
        return tracks
    fills = [_gap_rows(tracks, int(r), int(r) + 1, int(tracks.track[r])) for r in ends]
    return Tracks.concat([tracks] + fills)


def _gap_rows(tracks: Tracks, end_row: int, start_row: int, tid: int) -> Tracks:
    """Linearly interpolated rows for the frames strictly between two rows, predicted=True."""
    f0, f1 = int(tracks.frame[end_row]), int(tracks.frame[start_row])
    frames = np.arange(f0 + 1, f1)
    w = (frames - f0) / (f1 - f0)

    def lerp(col):
        return col[end_row] + (col[start_row] - col[end_row]) * w

    k = len(frames)
    return Tracks(track=np.full(k, tid), frame=frames, x=lerp(tracks.x), y=lerp(tracks.y),
                  width=lerp(tracks.width), height=lerp(tracks.height), confidence=np.zeros(k),
                  cls=np.full(k, tracks.cls[end_row]), predicted=np.ones(k, bool))
