"""Multi-object tracker: batched Kalman prediction, gated sparse assignment, buffer-and-recover.

Per frame the tracker predicts every live track one step (constant velocity), finds the
track/detection pairs whose centres lie within `max_distance` with KD-trees, splits that sparse
bipartite graph into connected components and solves each component on its own (closed form for
single-track or single-detection components, `linear_sum_assignment` for the rest). No dense
tracks x detections matrix is ever built, so a frame costs about O(N log N) in the number of animals.

With a known number of animals (n_animals > 0) the tracker keeps exactly that many identities:
detections left over after the gated matching go, without a gate, to the identities lost for more
than max_gap frames (an animal that was lost re-appears somewhere), and identities never end.

Coordinates are pixels with the origin top-left, frames are 0-based video frame indices.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import OmniTraxError
from .geometry import paired_box_iou
from .kalman import ConstantVelocityKalman
from .tracks import Tracks

COSTS = ("distance", "iou")
# in "iou" mode, a small distance term breaks ties between pairs whose boxes do not overlap
SIZE_CHANGE_WEIGHT = 0.5  # cost per pixel of box width + height change, next to centre distance
_IOU_DISTANCE_WEIGHT = 1e-3


def assign_sparse(rows, cols, costs, n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one assignment over candidate pairs (rows[k], cols[k]) with costs[k].

    Within each connected component of the candidate graph it finds the largest number of pairs
    and, among those, the smallest total cost. Returns matched (row indices, col indices), sorted
    by row. Ties are broken by pair order, so the result is deterministic.
    """
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    costs = np.asarray(costs, np.float64)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + n_rows)), shape=(n_rows + n_cols,) * 2)
    n_comp, labels = connected_components(graph, directed=False)
    label = labels[rows]
    rows_in = np.bincount(labels[:n_rows], minlength=n_comp)
    cols_in = np.bincount(labels[n_rows:], minlength=n_comp)
    simple = (rows_in[label] == 1) | (cols_in[label] == 1)

    out_r, out_c = [], []
    # a component with one row or one column: its cheapest pair (at most one pair is possible)
    s = np.flatnonzero(simple)
    if len(s):
        order = s[np.lexsort((s, costs[s], label[s]))]
        first = np.r_[True, label[order][1:] != label[order][:-1]]
        best = order[first]
        out_r.append(rows[best])
        out_c.append(cols[best])
    # the rest: a small dense problem per component
    c = np.flatnonzero(~simple)
    if len(c):
        c = c[np.argsort(label[c], kind="stable")]
        lab = label[c]
        # local row / column numbers inside each component, without a per-component np.unique
        r_ids, r_local, r_start = _local_index(lab, rows[c])
        c_ids, c_local, c_start = _local_index(lab, cols[c])
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        ends = np.r_[starts[1:], len(c)]
        k_all = costs[c]
        r_start, c_start = np.asarray(r_start), np.asarray(c_start)
        two_by_two = (np.diff(r_start) == 2) & (np.diff(c_start) == 2)
        # 2 x 2 components (the common case) in closed form: compare the two diagonals
        comp_of_pair = np.repeat(np.arange(len(starts)), ends - starts)
        sel = two_by_two[comp_of_pair]
        if sel.any():
            comp22 = np.flatnonzero(two_by_two)
            slot = np.full(len(starts), -1)
            slot[comp22] = np.arange(len(comp22))
            m = np.full((len(comp22), 2, 2), np.inf)
            m[slot[comp_of_pair[sel]], r_local[sel], c_local[sel]] = k_all[sel]
            diag_a = (m[:, 0, 0], m[:, 1, 1])
            diag_b = (m[:, 0, 1], m[:, 1, 0])
            n_a = np.isfinite(diag_a[0]).astype(int) + np.isfinite(diag_a[1])
            n_b = np.isfinite(diag_b[0]).astype(int) + np.isfinite(diag_b[1])
            cost_a = np.where(np.isfinite(diag_a[0]), diag_a[0], 0) + np.where(np.isfinite(diag_a[1]), diag_a[1], 0)
            cost_b = np.where(np.isfinite(diag_b[0]), diag_b[0], 0) + np.where(np.isfinite(diag_b[1]), diag_b[1], 0)
            use_a = (n_a > n_b) | ((n_a == n_b) & (cost_a <= cost_b))
            for local_r in (0, 1):
                local_c = np.where(use_a, local_r, 1 - local_r)
                ok = np.isfinite(m[np.arange(len(comp22)), local_r, local_c])
                out_r.append(r_ids[r_start[comp22[ok]] + local_r])
                out_c.append(c_ids[c_start[comp22[ok]] + local_c[ok]])
        # larger components: a small dense problem each
        for comp in np.flatnonzero(~two_by_two).tolist():
            a, b = starts[comp], ends[comp]
            r0, r1 = r_start[comp], r_start[comp + 1]
            c0, c1 = c_start[comp], c_start[comp + 1]
            k = k_all[a:b]
            forbidden = (float(k.max()) + 1.0) * (min(r1 - r0, c1 - c0) + 1)
            matrix = np.full((r1 - r0, c1 - c0), forbidden)
            matrix[r_local[a:b], c_local[a:b]] = k
            ri, ci = linear_sum_assignment(matrix)
            ok = matrix[ri, ci] < forbidden
            out_r.append(r_ids[r0 + ri[ok]])
            out_c.append(c_ids[c0 + ci[ok]])
    r = np.concatenate(out_r)
    col = np.concatenate(out_c)
    order = np.argsort(r, kind="stable")
    return r[order], col[order]


def _local_index(group: np.ndarray, values: np.ndarray):
    """For values grouped by `group` (group sorted ascending): the distinct values of each group,
    concatenated group by group (ids), each value's position within its group's distinct values
    (local), and where each group's distinct values start in ids (starts, one extra at the end)."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    new = np.r_[True, (g[1:] != g[:-1]) | (v[1:] != v[:-1])]
    uid = np.cumsum(new) - 1
    ids = v[new]
    group_of_id = g[new]
    starts = np.flatnonzero(np.r_[True, group_of_id[1:] != group_of_id[:-1]])
    starts = np.r_[starts, len(ids)]
    first_uid_of_group = np.repeat(starts[:-1], np.diff(starts))  # per distinct value
    local = np.empty(len(values), np.int64)
    local[order] = uid - first_uid_of_group[uid]
    return ids, local, starts.tolist()


class _Growing:
    """A 1-D numpy array that grows by appending (amortised doubling)."""

    def __init__(self, dtype, fill):
        self.data = np.full(64, fill, dtype)
        self.fill = fill
        self.n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, self.data.dtype).reshape(-1)
        need = self.n + len(values)
        if need > len(self.data):
            bigger = np.full(max(need, 2 * len(self.data)), self.fill, self.data.dtype)
            bigger[:self.n] = self.data[:self.n]
            self.data = bigger
        self.data[self.n:need] = values
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self.data[:self.n]


class Tracker:
    """Frame-by-frame tracker.

    max_distance: gate in pixels between a track's predicted centre and a detection centre.
    max_gap:      frames a track may go undetected and still be recovered (then it ends).
    min_length:   tracks with fewer detected positions are dropped from result() (seeded ones kept).
    cost:         "distance" (centre distance, px) or "iou" (1 - IoU of predicted vs detected box,
                  still gated by centre distance).
    process_noise, measurement_noise: Kalman filter variances (px^2/frame^4 acceleration, px^2).
    n_animals:    how many animals the video shows (0: unknown, the default). When known:
                  - at most n_animals identities are made (seeded ones count; while fewer exist,
                    unmatched detections start them, highest scores first);
                  - identities never end and are all kept by result() whatever their length; gaps up
                    to max_gap frames are interpolated, longer ones have no rows. After more than
                    max_gap frames without a detection an identity is lost: it waits at its last
                    detected position with zero velocity (gated matching still finds it there), and
                    its filter restarts at the detection that finds it;
                  - after the gated matching, the detections still unmatched go to the lost
                    identities, by least total distance from their last detected positions and with
                    no gate; the weakest of any detections beyond that are ignored. An identity that
                    missed only a few frames (<= max_gap) is left to the gated matching, so a false
                    detection elsewhere does not pull it away.
    """

    def __init__(self, max_distance: float = 50.0, max_gap: int = 10, min_length: int = 10,
                 cost: str = "distance", process_noise: float = 1.0, measurement_noise: float = 1.0,
                 n_animals: int = 0):
        try:
            max_distance, process_noise, measurement_noise = (
                float(max_distance), float(process_noise), float(measurement_noise))
        except (TypeError, ValueError):
            raise OmniTraxError("Tracker settings max_distance, process_noise and measurement_noise must be "
                                "numbers.") from None
        if not np.isfinite(max_distance) or max_distance <= 0:
            raise OmniTraxError(f"Tracker max_distance must be a positive number of pixels, got {max_distance}.")
        if int(max_gap) != max_gap or max_gap < 0:
            raise OmniTraxError(f"Tracker max_gap must be a whole number of frames >= 0, got {max_gap}.")
        if int(min_length) != min_length or min_length < 1:
            raise OmniTraxError(f"Tracker min_length must be a whole number >= 1, got {min_length}.")
        if str(cost).lower() not in COSTS:
            raise OmniTraxError(f"Tracker cost '{cost}' is not one of {', '.join(COSTS)}.")
        for name, value in (("process_noise", process_noise), ("measurement_noise", measurement_noise)):
            if not np.isfinite(value) or value <= 0:
                raise OmniTraxError(f"Tracker {name} must be a positive number, got {value}.")
        try:
            whole = int(n_animals) == n_animals
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole or n_animals < 0:
            raise OmniTraxError(f"Tracker n_animals must be a whole number >= 0 (0: unknown), got {n_animals!r}.")
        self.max_distance = max_distance
        self.max_gap = int(max_gap)
        self.min_length = int(min_length)
        self.cost = str(cost).lower()
        self.n_animals = int(n_animals)
        self._kf = ConstantVelocityKalman(process_noise, measurement_noise,
                                          velocity_variance=(max_distance / 2.0) ** 2)
        # live tracks, aligned with the filter rows
        self._tid = np.zeros(0, np.int64)  # internal id (creation order)
        self._last = np.zeros(0, np.int64)  # last frame with a detection
        self._wh = np.zeros((0, 2))  # last box size, px
        self._last_xy = np.zeros((0, 2))  # last detected centre, px
        self._cls = np.zeros(0, np.int64)
        # per internal id
        self._n_detected = _Growing(np.int64, 0)
        self._last_detected = _Growing(np.int64, -1)
        self._seeded = _Growing(bool, False)
        self._seed_id = _Growing(np.int64, -1)
        self._rows: list[dict] = []  # emitted rows, one dict of column arrays per frame
        self._frame: int | None = None

    # --- public ---------------------------------------------------------------------------------

    @property
    def n_active(self) -> int:
        """Number of live tracks (detected now or coasting in a gap; with n_animals, every identity)."""
        return len(self._tid)

    @property
    def frame(self) -> int | None:
        """The last frame processed (or seeded), None before the first."""
        return self._frame

    def seed(self, ids, xy, velocities=None, boxes=None, frame=None) -> None:
        """Start tracks with the caller's ids at `frame` (e.g. markers the user corrected).

        ids (K,) ints >= 0; xy (K, 2) px; velocities (K, 2) px/frame; boxes (K, 4) left, top, w, h.
        Each seeded track gets a detected row at `frame` and is kept whatever its length; ids for
        new tracks start above the largest seeded id.
        """
        if frame is None:
            raise OmniTraxError("Seeding the tracker needs the frame the seed positions belong to.")
        frame = int(frame)
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (not np.issubdtype(ids.dtype, np.number) or np.any(ids != np.round(ids)) or ids.min() < 0):
            raise OmniTraxError("Seed track ids must be whole numbers >= 0.")
        ids = ids.astype(np.int64)
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        k = len(ids)
        if len(xy) != k:
            raise OmniTraxError(f"Got {k} seed ids but {len(xy)} seed positions.")
        if len(np.unique(ids)) != k or np.isin(ids, self._seed_id.view).any():
            raise OmniTraxError("Seed track ids must be unique.")
        if not np.isfinite(xy).all():
            raise OmniTraxError("Seed positions must be finite pixel coordinates.")
        velocities = None if velocities is None else np.asarray(velocities, np.float64).reshape(-1, 2)
        if velocities is not None and len(velocities) != k:
            raise OmniTraxError(f"Got {k} seed ids but {len(velocities)} seed velocities.")
        wh = np.zeros((k, 2))
        if boxes is not None:
            boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
            if len(boxes) != k:
                raise OmniTraxError(f"Got {k} seed ids but {len(boxes)} seed boxes.")
            wh = boxes[:, 2:].copy()
        if self._frame is not None and frame < self._frame:
            raise OmniTraxError(f"Seed frame {frame} is before the last tracked frame {self._frame}.")
        if self._frame is not None and frame > self._frame:
            self._advance(frame)
            self._kf.predict()
            self._emit_unmatched(np.ones(len(self._tid), bool), frame)
            self._frame = frame
            self._drop_expired()
        self._frame = frame
        tids = self._new_ids(k, seeded_as=ids)
        self._append_live(tids, xy, velocities, wh, np.zeros(k, np.int64), frame)
        self._n_detected.data[tids] = 1
        self._last_detected.data[tids] = frame
        self._emit(tids, frame, xy, wh, np.ones(k), np.zeros(k, np.int64), False)

    def update(self, frame, xy, boxes=None, scores=None, classes=None) -> None:
        """Process the detections of one video frame (indices strictly increasing).

        xy (N, 2) centres px; boxes (N, 4) left, top, width, height px; scores (N,); classes (N,).
        A jump of k frames since the last call predicts k steps (the skipped frames count as gap).
        """
        frame = int(frame)
        if self._frame is not None and frame <= self._frame:
            raise OmniTraxError(f"Frames must be given in increasing order: got {frame} after {self._frame}.")
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        n = len(xy)
        boxes = np.zeros((n, 4)) if boxes is None else np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(n) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        classes = np.zeros(n, np.int64) if classes is None else np.asarray(classes).reshape(-1).astype(np.int64)
        if not (len(boxes) == len(scores) == len(classes) == n):
            raise OmniTraxError(f"Detections of frame {frame} disagree in length: {n} centres, {len(boxes)} "
                                f"boxes, {len(scores)} scores, {len(classes)} classes.")
        if not np.isfinite(xy).all():
            raise OmniTraxError(f"Detections of frame {frame} contain positions that are not finite numbers.")

        if self._frame is not None:
            self._advance(frame)
            self._kf.predict()
        t_idx, d_idx = self._match(xy, boxes)
        if self.n_animals:
            self._update_known(frame, xy, boxes, scores, classes, t_idx, d_idx)
            return

        # matched tracks: correct the filter, record the detected positions
        self._kf.update(t_idx, xy[d_idx])
        self._last[t_idx] = frame
        self._last_xy[t_idx] = xy[d_idx]
        self._wh[t_idx] = boxes[d_idx, 2:]
        self._cls[t_idx] = classes[d_idx]
        tids = self._tid[t_idx]
        self._n_detected.data[tids] += 1
        self._last_detected.data[tids] = frame
        self._emit(tids, frame, xy[d_idx], boxes[d_idx, 2:], scores[d_idx], classes[d_idx], False)
        # unmatched tracks coast: rows kept only if the track is recovered later
        unmatched = np.ones(len(self._tid), bool)
        unmatched[t_idx] = False
        self._emit_unmatched(unmatched, frame)
        # unmatched detections start tracks
        new = np.ones(n, bool)
        new[d_idx] = False
        new = np.flatnonzero(new)
        if len(new):
            tids = self._new_ids(len(new))
            self._append_live(tids, xy[new], None, boxes[new, 2:], classes[new], frame)
            self._n_detected.data[tids] = 1
            self._last_detected.data[tids] = frame
            self._emit(tids, frame, xy[new], boxes[new, 2:], scores[new], classes[new], False)
        self._frame = frame
        self._drop_expired()

    def result(self) -> Tracks:
        """All tracks so far, each up to its last detection.

        Gap positions (predicted=True) are linear interpolations between the detections either side.
        Tracks with fewer than min_length detections are dropped (seeded tracks are kept); new tracks
        get dense ids in order of first appearance, starting above the largest seeded id. With
        n_animals every identity is kept and gaps longer than max_gap frames have no rows.
        """
        if not self._rows:
            return Tracks.empty()
        if len(self._rows) > 1:
            self._rows = [{k: np.concatenate([r[k] for r in self._rows]) for k in self._rows[0]}]
        rows = self._rows[0]
        tid, frame, predicted = rows["tid"], rows["frame"], rows["predicted"]
        seeded = self._seeded.view
        valid = seeded | (self._n_detected.view >= self.min_length)
        if self.n_animals:
            valid = np.ones(len(seeded), bool)
        keep = valid[tid] & (~predicted | (frame < self._last_detected.view[tid]))
        labels = np.full(len(valid), -1, np.int64)
        labels[seeded] = self._seed_id.view[seeded]
        fresh = valid & ~seeded
        base = int(self._seed_id.view[seeded].max()) + 1 if seeded.any() else 0
        labels[fresh] = base + np.arange(int(fresh.sum()))
        out = Tracks(track=labels[tid[keep]], frame=frame[keep], x=rows["x"][keep], y=rows["y"][keep],
                     width=rows["w"][keep], height=rows["h"][keep], confidence=rows["conf"][keep],
                     cls=rows["cls"][keep], predicted=predicted[keep])
        if self.n_animals:
            out = _without_long_gaps(out, self.max_gap)
        _interpolate_gaps(out)
        return out

    # --- internals ------------------------------------------------------------------------------

    def _new_ids(self, k: int, seeded_as=None) -> np.ndarray:
        start = self._n_detected.n
        self._n_detected.extend(np.zeros(k))
        self._last_detected.extend(np.full(k, -1))
        self._seeded.extend(np.full(k, seeded_as is not None))
        self._seed_id.extend(np.full(k, -1) if seeded_as is None else seeded_as)
        return np.arange(start, start + k, dtype=np.int64)

    def _append_live(self, tids, xy, velocities, wh, cls, frame) -> None:
        self._kf.add(xy, velocities)
        self._tid = np.concatenate([self._tid, tids])
        self._last = np.concatenate([self._last, np.full(len(tids), frame, np.int64)])
        self._wh = np.concatenate([self._wh, np.asarray(wh, np.float64).reshape(-1, 2)])
        self._last_xy = np.concatenate([self._last_xy, np.asarray(xy, np.float64).reshape(-1, 2)])
        self._cls = np.concatenate([self._cls, np.asarray(cls, np.int64)])

    def _emit(self, tids, frame, xy, wh, conf, cls, predicted: bool) -> None:
        k = len(tids)
        if not k:
            return
        self._rows.append({
            "tid": np.asarray(tids, np.int64), "frame": np.full(k, frame, np.int64),
            "x": np.array(xy[:, 0], np.float64), "y": np.array(xy[:, 1], np.float64),
            "w": np.array(wh[:, 0], np.float64), "h": np.array(wh[:, 1], np.float64),
            "conf": np.asarray(conf, np.float64), "cls": np.asarray(cls, np.int64),
            "predicted": np.full(k, predicted)})

    def _emit_unmatched(self, mask, frame) -> None:
        if self.n_animals:  # lost identities write no rows: a gap longer than max_gap stays empty
            mask = mask & ((frame - self._last) <= self.max_gap)
        idx = np.flatnonzero(mask)
        self._emit(self._tid[idx], frame, self._kf.positions[idx], self._wh[idx], np.zeros(len(idx)),
                   self._cls[idx], True)

    def _drop_expired(self) -> None:
        """End tracks that could no longer be recovered at the next frame (with n_animals: freeze them)."""
        alive = (self._frame - self._last) <= self.max_gap
        if not alive.all():
            if self.n_animals:
                # lost identities wait where they were last seen: zero velocity, so predict() leaves them
                # there; the covariance is reset each frame, as it would otherwise grow without bound
                lost = np.flatnonzero(~alive)
                self._kf.x[lost, :2] = self._last_xy[lost]
                self._kf.x[lost, 2:] = 0.0
                self._kf.P[lost] = self._kf.P0
                return
            self._kf.keep(alive)
            self._tid, self._last, self._wh, self._cls, self._last_xy = (
                self._tid[alive], self._last[alive], self._wh[alive], self._cls[alive], self._last_xy[alive])

    def _advance(self, frame: int) -> None:
        """Coast all tracks through the frames strictly between the last one and `frame`."""
        while self._frame < frame - 1 and len(self._tid):
            if self.n_animals and ((self._frame - self._last) > self.max_gap).all():
                break  # every identity is lost and frozen: nothing moves and no rows are written
            self._kf.predict()
            self._frame += 1
            self._emit_unmatched(np.ones(len(self._tid), bool), self._frame)
            self._drop_expired()

    def _update_known(self, frame, xy, boxes, scores, classes, t_idx, d_idx) -> None:
        """update() after the gated matching (t_idx, d_idx) when the number of animals is known."""
        lost = (frame - 1 - self._last) > self.max_gap  # frozen at the last detected position
        free = lost.copy()  # lost identities that the gated matching did not find
        free[t_idx] = False
        free = np.flatnonzero(free)
        left = np.ones(len(xy), bool)
        left[d_idx] = False
        left = np.flatnonzero(left)
        left = left[np.argsort(-scores[left], kind="stable")]  # strongest first
        slots = max(self.n_animals - self._n_detected.n, 0)
        new, left = np.sort(left[:slots]), left[slots:]
        if len(left) and len(free):
            r_t, r_d = self._assign_ungated(free, left, xy, scores)
        else:
            r_t = r_d = np.zeros(0, np.int64)
        # gated matches of coasting identities correct the filter; lost identities restart theirs at
        # the detection that found them (their old velocity means nothing now)
        coasting = ~lost[t_idx]
        self._kf.update(t_idx[coasting], xy[d_idx[coasting]])
        restart_t = np.concatenate([t_idx[~coasting], r_t])
        restart_d = np.concatenate([d_idx[~coasting], r_d])
        self._kf.x[restart_t, :2] = xy[restart_d]
        self._kf.x[restart_t, 2:] = 0.0
        self._kf.P[restart_t] = self._kf.P0
        t_idx, d_idx = np.concatenate([t_idx, r_t]), np.concatenate([d_idx, r_d])
        self._last[t_idx] = frame
        self._last_xy[t_idx] = xy[d_idx]
        self._wh[t_idx] = boxes[d_idx, 2:]
        self._cls[t_idx] = classes[d_idx]
        tids = self._tid[t_idx]
        self._n_detected.data[tids] += 1
        self._last_detected.data[tids] = frame
        self._emit(tids, frame, xy[d_idx], boxes[d_idx, 2:], scores[d_idx], classes[d_idx], False)
        unmatched = np.ones(len(self._tid), bool)
        unmatched[t_idx] = False
        self._emit_unmatched(unmatched, frame)
        if len(new):
            tids = self._new_ids(len(new))
            self._append_live(tids, xy[new], None, boxes[new, 2:], classes[new], frame)
            self._n_detected.data[tids] = 1
            self._last_detected.data[tids] = frame
            self._emit(tids, frame, xy[new], boxes[new, 2:], scores[new], classes[new], False)
        self._frame = frame
        self._drop_expired()

    def _assign_ungated(self, free, left, xy, scores) -> tuple[np.ndarray, np.ndarray]:
        """Live rows `free` (unmatched lost identities) to detections `left` (strongest first), no gate.

        Every detection is placed when there are enough identities; otherwise the strongest ones
        are, and among detections of equal score the assignment of least total distance decides.
        """
        pos = self._kf.positions[free]
        d = np.hypot(pos[:, None, 0] - xy[left][None, :, 0], pos[:, None, 1] - xy[left][None, :, 1])
        k = len(free)
        if len(left) > k:
            s = scores[left]
            cut = s[k - 1]  # left is sorted by score, descending
            candidate = s >= cut
            left, d, sure = left[candidate], d[:, candidate], s[candidate] > cut
            # all k identities get a detection; each one of the cut-off score costs more than any sum
            # of distances, so every stronger detection is placed first
            d = d + np.where(sure, 0.0, (float(d.max()) + 1.0) * (k + 1))
        ri, ci = linear_sum_assignment(d)
        return free[ri], left[ci]

    def _match(self, xy: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_t, n_d = len(self._tid), len(xy)
        if n_t == 0 or n_d == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = self._kf.positions
        pairs = cKDTree(pos).sparse_distance_matrix(cKDTree(xy), self.max_distance, output_type="ndarray")
        if not len(pairs):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ti, di, dist = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"]
        order = np.lexsort((di, ti))  # a fixed pair order for deterministic tie-breaking
        ti, di, dist = ti[order], di[order], dist[order]
        if self.cost == "iou":
            wh = self._wh[ti]
            predicted_boxes = np.column_stack([pos[ti] - wh / 2.0, wh])
            cost = 1.0 - paired_box_iou(predicted_boxes, boxes[di]) + _IOU_DISTANCE_WEIGHT * dist / self.max_distance
        else:
            # centre distance, plus how much the box size changed: tells apart animals of different
            # size that walk over each other (boxes of size 0, i.e. unknown, add nothing)
            wh_t, wh_d = self._wh[ti], boxes[di, 2:]
            known = (wh_t > 0).all(axis=1) & (wh_d > 0).all(axis=1)
            cost = dist + np.where(known, SIZE_CHANGE_WEIGHT * np.abs(wh_t - wh_d).sum(axis=1), 0.0)
        return assign_sparse(ti, di, cost, n_t, n_d)


def _without_long_gaps(tracks: Tracks, max_gap: int) -> Tracks:
    """The rows of `tracks` less the predicted ones in gaps of more than max_gap missed frames."""
    pred = tracks.predicted
    if not pred.any():
        return tracks
    n = len(tracks)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(~pred, idx, -1))
    nxt = np.minimum.accumulate(np.where(~pred, idx, n)[::-1])[::-1]
    rows = np.flatnonzero(pred)
    p, q = prev[rows], nxt[rows]
    inside = (p >= 0) & (q < n)
    p, q = np.where(inside, p, rows), np.where(inside, q, rows)
    inside &= (tracks.track[p] == tracks.track[rows]) & (tracks.track[q] == tracks.track[rows])
    too_long = ~inside | (tracks.frame[q] - tracks.frame[p] - 1 > max_gap)
    if not too_long.any():
        return tracks
    keep = np.ones(n, bool)
    keep[rows[too_long]] = False
    return tracks.select(keep)


def _interpolate_gaps(tracks: Tracks) -> None:
    """Replace x, y, width, height of predicted rows by linear interpolation between the detected
    rows before and after them in the same track (in place; rows sorted by track, frame)."""
    pred = tracks.predicted
    if not pred.any():
        return
    n = len(tracks)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(~pred, idx, -1))
    nxt = np.minimum.accumulate(np.where(~pred, idx, n)[::-1])[::-1]
    rows = np.flatnonzero(pred)
    p, q = prev[rows], nxt[rows]
    ok = (p >= 0) & (q < n)
    rows, p, q = rows[ok], p[ok], q[ok]
    ok = (tracks.track[p] == tracks.track[rows]) & (tracks.track[q] == tracks.track[rows])
    rows, p, q = rows[ok], p[ok], q[ok]
    span = (tracks.frame[q] - tracks.frame[p]).astype(np.float64)
    w = (tracks.frame[rows] - tracks.frame[p]) / np.where(span > 0, span, 1.0)
    for name in ("x", "y", "width", "height"):
        col = getattr(tracks, name)
        col[rows] = col[p] + (col[q] - col[p]) * w
