"""Cut tracks into fragments: stretches in which a track surely follows one animal.

A track may swap animals wherever it touches another track (centres within about one body size, or
boxes overlapping), has a gap, or jumps, so it is cut there: in a touch at every close approach (where
a tracker swaps), else at the closest moment. Detected rows whose nearest other track is not close are
the fragment's clean views, where its appearance is taken.

Units: pixels (origin top-left), 0-based video frames. Rows are those of a Tracks table (sorted by
track, frame); `fragment[i]` is the fragment of row i.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..tracking.tracks import Tracks

TOUCH_SIZES = 1.0  # centres closer than this many body sizes (mean of the two) touch
CUT_SIZES = 0.6  # a touch is cut where the centres come closer than this (each such approach once) ...
PROMINENCE = 0.15  # ... counting two approaches apart when the animals part by this much in between
CLEAR_SIZES = 0.7  # a detected row whose nearest other track is farther than this is a clean view
JUMP_SIZES = 1.0  # a track moving more than this many body sizes in one frame has jumped
UNKNOWN_SIZE = 24.0  # px: body size of rows without a box when no row has one

# how a fragment begins or ends
START, CROSSING, GAP, JUMP = 0, 1, 2, 3
KINDS = ("start", "crossing", "gap", "jump")


@dataclass
class Fragments:
    """Fragments of a Tracks table.

    fragment:   (rows,) fragment index of every row of the tracks.
    clear:      (rows,) the row is a clean view: detected, no other track's centre close (CLEAR_SIZES).
    track, first, last: (F,) the input track and first / last frame of each fragment.
    begins, ends: (F,) how it begins / ends: START (the track's own start or end), CROSSING, GAP, JUMP.
    partners:   (F,) arrays of the fragments this one may have swapped with where it begins (the other
                tracks' fragments touching it in the crossing before it); empty unless begins == CROSSING.
    size:       body size of the animals, px (median over the rows).
    """

    fragment: np.ndarray
    clear: np.ndarray
    track: np.ndarray
    first: np.ndarray
    last: np.ndarray
    begins: np.ndarray
    ends: np.ndarray
    partners: list
    size: float

    def __len__(self) -> int:
        return len(self.track)

    def previous(self) -> np.ndarray:
        """(F,) the fragment before each one in its track (-1: none)."""
        prev = np.full(len(self), -1, np.int64)
        same = self.track[1:] == self.track[:-1]  # fragments are numbered in (track, frame) order
        prev[1:][same] = np.flatnonzero(same)
        return prev

    def following(self) -> np.ndarray:
        """(F,) the fragment after each one in its track (-1: none)."""
        nxt = np.full(len(self), -1, np.int64)
        same = self.track[1:] == self.track[:-1]
        nxt[:-1][same] = np.flatnonzero(same) + 1
        return nxt


def body_sizes(tracks: Tracks) -> np.ndarray:
    """Body size per row, px: the box diagonal (about the body length at any heading); rows without a
    box take the median of those with one."""
    size = np.hypot(np.maximum(tracks.width, 0), np.maximum(tracks.height, 0))
    known = size > 0
    fill = float(np.median(size[known])) if known.any() else UNKNOWN_SIZE
    return np.where(known, size, fill)


def touching_pairs(tracks: Tracks, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (i, j), i < j, of different tracks in the same frame that touch, and their centre distance.

    Touch: centres closer than TOUCH_SIZES times the mean body size, or boxes that overlap."""
    if len(tracks) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    reach = float(size.max()) * max(TOUCH_SIZES, 1.0)
    # frames far apart along a third axis: one KD-tree query finds the close pairs of every frame
    spacing = 4.0 * reach + 1.0
    points = np.column_stack([tracks.x, tracks.y, tracks.frame * spacing])
    pairs = cKDTree(points).query_pairs(reach, output_type="ndarray")
    if not len(pairs):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    keep = (tracks.frame[i] == tracks.frame[j]) & (tracks.track[i] != tracks.track[j])
    i, j = i[keep], j[keep]
    dist = np.hypot(tracks.x[i] - tracks.x[j], tracks.y[i] - tracks.y[j])
    near = dist < TOUCH_SIZES * 0.5 * (size[i] + size[j])
    boxes = (tracks.width[i] > 0) & (tracks.width[j] > 0)
    overlap = boxes & (np.abs(tracks.x[i] - tracks.x[j]) < 0.5 * (tracks.width[i] + tracks.width[j])) & (
        np.abs(tracks.y[i] - tracks.y[j]) < 0.5 * (tracks.height[i] + tracks.height[j]))
    touch = near | overlap
    i, j, dist = i[touch], j[touch], dist[touch]
    swap = i > j
    i[swap], j[swap] = j[swap], i[swap]
    return i, j, dist


def split_fragments(tracks: Tracks) -> Fragments:
    """The fragments of `tracks` (see the module docstring)."""
    n = len(tracks)
    size = body_sizes(tracks)
    ti, tj, tdist = touching_pairs(tracks, size)
    pair = tdist / (0.5 * (size[ti] + size[tj]))  # in the pair's mean body size: both are cut alike
    closest = np.full(n, np.inf)  # distance to the nearest touching row, in body sizes
    np.minimum.at(closest, ti, pair)
    np.minimum.at(closest, tj, pair)
    clear = (closest > CLEAR_SIZES) & ~tracks.predicted

    # hard breaks between consecutive rows of a track: a gap in frames, or a jump
    same = np.r_[False, tracks.track[1:] == tracks.track[:-1]]
    step = np.r_[0.0, np.hypot(np.diff(tracks.x), np.diff(tracks.y))]
    gap = same & (np.r_[0, np.diff(tracks.frame)] > 1)
    jump = same & ~gap & (step > JUMP_SIZES * size)
    begins = np.where(~same, START, np.where(gap, GAP, np.where(jump, JUMP, -1)))  # per row; -1: no break
    # touches: both tracks are cut after each close approach of the pair
    cuts = _touch_cuts(tracks, ti, tj, pair)
    after_cut = np.r_[False, np.isin(np.arange(n - 1), cuts[:, :2].ravel())] & same if n else np.zeros(0, bool)
    begins = np.where((begins < 0) & after_cut, CROSSING, begins)

    starts = np.flatnonzero(begins >= 0)
    kinds = begins[starts].astype(np.int64)
    count = len(starts)
    fragment = np.cumsum(begins >= 0) - 1
    stops = np.r_[starts[1:], n].astype(np.int64)
    last_of_track = np.r_[tracks.track[starts[1:]] != tracks.track[starts[1:] - 1], True] if count else \
        np.zeros(0, bool)
    ends = np.where(last_of_track, START, np.r_[kinds[1:], START][:count]).astype(np.int64)

    # swap partners of the fragment after a cut: the other track's fragments before and after it
    found = [[] for _ in range(count)]
    for a, b in ((0, 1), (1, 0)):
        for ra, rb in zip(cuts[:, a].tolist(), cuts[:, b].tolist()):
            if ra + 1 < n and same[ra + 1] and begins[ra + 1] == CROSSING:
                found[fragment[ra + 1]].append(fragment[rb])
                if rb + 1 < n and same[rb + 1]:
                    found[fragment[ra + 1]].append(fragment[rb + 1])
    partners = [np.unique(np.asarray(p, np.int64)) for p in found]
    empty = np.zeros(0, np.int64)
    return Fragments(fragment=fragment, clear=clear, track=tracks.track[starts] if count else empty,
                     first=tracks.frame[starts] if count else empty,
                     last=tracks.frame[stops - 1] if count else empty, begins=kinds, ends=ends, partners=partners,
                     size=float(np.median(size)) if n else UNKNOWN_SIZE)


def _touch_cuts(tracks: Tracks, ti, tj, pair) -> np.ndarray:
    """(K, 2) rows (of each of the two tracks) after which a touch is cut: for each run of frames in which
    two tracks touch, at every close approach (CUT_SIZES, PROMINENCE), else at the closest moment."""
    from scipy.signal import find_peaks

    if not len(ti):
        return np.zeros((0, 2), np.int64)
    a, b = tracks.track[ti], tracks.track[tj]
    order = np.lexsort((tracks.frame[ti], b, a))
    ti, tj, pair, a, b = ti[order], tj[order], pair[order], a[order], b[order]
    frames = tracks.frame[ti]
    new_run = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (np.diff(frames) != 1)]
    bounds = np.r_[np.flatnonzero(new_run), len(ti)]
    out = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        d = pair[lo:hi]
        # padded: approaches at the run's ends count too
        peaks, _ = find_peaks(-np.r_[np.inf, d, np.inf], height=-CUT_SIZES, prominence=PROMINENCE)
        at = peaks - 1 if len(peaks) else np.array([int(np.argmin(d))])
        out.extend(zip(ti[lo + at].tolist(), tj[lo + at].tolist()))
    return np.asarray(out, np.int64).reshape(-1, 2)
