"""Multi-object tracker: batched Kalman prediction, gated sparse assignment, buffer-and-recover.

Per frame the tracker predicts every live track one step (constant velocity), finds the
track/detection pairs whose centres lie within each track's gate (in the animal's own size, grown with
the prediction's uncertainty, capped by `max_distance` when given) with KD-trees, and chooses the pairs
of least total cost where leaving a track or a detection unmatched costs too, solving each connected
component of that sparse bipartite graph on its own (omnitrax.tracking.assignment). No dense
tracks x detections matrix is ever built, so a frame costs about O(N log N) in the number of animals.
New tracks are tentative until confirmed by a run of detections; a track found again after a gap
takes the velocity of the straight path from its last detection (observation-centric, as OC-SORT).

With a known number of animals (n_animals > 0) the tracker keeps exactly that many identities:
detections left over after the gated matching go, without a gate, to the identities lost for more
than max_gap frames (an animal that was lost re-appears somewhere), and identities never end.

Coordinates are pixels with the origin top-left, frames are 0-based video frame indices.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from ..detection.geometry import paired_box_iou
from ..errors import OmniTraxError
from .assignment import assign_min_cost
from .kalman import ConstantVelocityKalman
from .tracks import Tracks

COSTS = ("distance", "iou")
# in "iou" mode, a small distance term breaks ties between pairs whose boxes do not overlap
SIZE_CHANGE_WEIGHT = 0.7  # cost per pixel of box width + height change, next to centre distance
_IOU_DISTANCE_WEIGHT = 1e-3
# gating in the object's own scale: a detection may join a track if its centre lies within
# GATE_SIZE box sizes (sqrt(w h)) plus GATE_SIGMA standard deviations of the predicted position
GATE_SIZE = 1.0
GATE_SIGMA = 3.0
KNOWN_ANIMALS_GATE_SIZE = 2.5  # ... with a known number of animals
MAX_GATE_SIZES = 4.0  # ... but never more than this many box sizes
UNKNOWN_SIZE_GATE = 50.0  # px: the gate for detections without boxes when no max_distance is given
SIZE_SMOOTHING = 0.2  # weight of a new box in a track's smoothed size
VELOCITY_SIZE = 1.25  # a new track's velocity std, in box sizes per frame
WEAK_GATE = 0.1  # two-stage: weak detections must lie within this fraction of a track's gate
MIN_IOU = 0.2  # "iou" cost: pairs overlapping less are never matched
# "distance" cost with a detector's object boxes (scored): a detection whose box overlaps the track's predicted
# box less than this (IoU) never joins it. On MOT15's public detections this cut wrong joins of passers-by
# (pooled IDF1 0.466 -> 0.500, tools/bench_real.py); the ant sample's YOLO boxes overlap their predicted box
# frame to frame. Not for the background detector, whose blob boxes change shape when animals touch, nor with a
# known number of animals (the identity tests' crossing animals: IDF1 after --identify 0.99 -> 0.96 with it).
MIN_OVERLAP = 0.1
UNMATCHED_COST = 2.5  # "distance": cost of leaving a pair unmatched, in gates of a typical track
SCORE_WEIGHT = 1.0  # "distance": cost of a detection's doubt (1 - score), in gates of a typical track


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

    max_distance: a cap in pixels on the gate between a track's predicted centre and a detection
                  centre; 0 = none. The gate itself is in the object's scale: GATE_SIZE box sizes plus
                  GATE_SIGMA standard deviations of the predicted position (which grow while a track
                  coasts); for detections without boxes it is max_distance, or UNKNOWN_SIZE_GATE px.
    max_gap:      frames a confirmed track may go undetected and still be recovered (then it ends).
    min_length:   tracks with fewer detected positions are dropped from result() (seeded ones kept).
    cost:         "distance" (centre distance plus box size change, px) or "iou" (1 - IoU of
                  predicted vs detected box, at least MIN_IOU, still gated by centre distance). In
                  "distance" mode scored boxes must still overlap the predicted box a little (MIN_OVERLAP). Pairs
                  are chosen for the least total cost where leaving a track or detection unmatched
                  has a cost too, so a track is never pushed onto a poor neighbour to make one more pair.
    confirm:      a new track is tentative until it has this many detections in a row: tentative
                  tracks end at their first miss, never coast, and appear in result() only once
                  confirmed (then from their first detection). 1 = every track is confirmed at once.
                  A run shorter than that (e.g. two frames) keeps the tracks detected in all its frames.
    scored:       the detections' scores are confidences (YOLO, detection files; not the background
                  detector's contrasts): in "distance" mode a doubtful detection costs more, so a sure
                  one is preferred to a duplicate or false blob beside it.
    high_score:   two-stage association (ByteTrack): detections scoring at least this are matched
                  first and may start tracks; weaker ones may only continue confirmed tracks left
                  unmatched. 0 = one stage, every detection alike.
    process_noise, measurement_noise: Kalman filter variances (px^2/frame^4 acceleration, px^2).
    A track found again after a gap takes the velocity of the straight path from its last detection
    (observation-centric, as OC-SORT).
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

    def __init__(self, max_distance: float = 0.0, max_gap: int = 10, min_length: int = 10,
                 cost: str = "distance", process_noise: float = 1.0, measurement_noise: float = 1.0,
                 n_animals: int = 0, confirm: int = 1, high_score: float = 0.0, scored: bool = True):
        try:
            max_distance, process_noise, measurement_noise = (
                float(max_distance), float(process_noise), float(measurement_noise))
        except (TypeError, ValueError):
            raise OmniTraxError("Tracker settings max_distance, process_noise and measurement_noise must be "
                                "numbers.") from None
        if not np.isfinite(max_distance) or max_distance < 0:
            raise OmniTraxError(f"Tracker max_distance must be a number of pixels >= 0 (0: no cap), got "
                                f"{max_distance}.")
        if int(confirm) != confirm or confirm < 1:
            raise OmniTraxError(f"Tracker confirm must be a whole number of detections >= 1, got {confirm}.")
        if not 0 <= high_score <= 1:
            raise OmniTraxError(f"Tracker high_score must be between 0 and 1 (0: one stage), got {high_score}.")
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
        self.confirm = 1 if self.n_animals else int(confirm)  # known animals: every identity counts
        self.high_score = float(high_score)
        self.scored = bool(scored)
        self._unknown_gate = max_distance or UNKNOWN_SIZE_GATE
        self._kf = ConstantVelocityKalman(process_noise, measurement_noise,
                                          velocity_variance=(self._unknown_gate / 2.0) ** 2)
        # live tracks, aligned with the filter rows
        self._tid = np.zeros(0, np.int64)  # internal id (creation order)
        self._last = np.zeros(0, np.int64)  # last frame with a detection
        self._wh = np.zeros((0, 2))  # last box size, px
        self._size = np.zeros(0)  # smoothed box size sqrt(w h), px (0: unknown): the gate's scale
        self._last_xy = np.zeros((0, 2))  # last detected centre, px
        self._cls = np.zeros(0, np.int64)
        self._hits = np.zeros(0, np.int64)  # detections in a row
        self._confirmed = np.zeros(0, bool)
        # per internal id
        self._ever_confirmed = _Growing(bool, False)
        self._n_detected = _Growing(np.int64, 0)
        self._last_detected = _Growing(np.int64, -1)
        self._seeded = _Growing(bool, False)
        self._seed_id = _Growing(np.int64, -1)
        self._rows: list[dict] = []  # emitted rows, one dict of column arrays per frame
        self._frame: int | None = None
        self._first_update: int | None = None  # the first frame update() saw

    # --- public ---------------------------------------------------------------------------------

    @property
    def n_active(self) -> int:
        """Number of live confirmed tracks (detected now or coasting in a gap; with n_animals, every identity)."""
        return int(self._confirmed.sum())

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
        self._append_live(tids, xy, velocities, wh, np.zeros(k, np.int64), frame, confirmed=True)
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

        if self._first_update is None:
            self._first_update = frame
        if self._frame is not None:
            self._advance(frame)
            self._kf.predict()
        t_idx, d_idx = self._associate(xy, boxes, scores)
        if self.n_animals:
            self._update_known(frame, xy, boxes, scores, classes, t_idx, d_idx)
            return

        # matched tracks: correct the filter, record the detected positions; the others coast
        self._correct(t_idx, xy[d_idx], frame)
        self._record(frame, t_idx, d_idx, xy, boxes, scores, classes)
        # unmatched strong detections start tracks (tentative until confirmed)
        new = scores >= self.high_score
        new[d_idx] = False
        self._start(frame, np.flatnonzero(new), xy, boxes, scores, classes, confirmed=self.confirm <= 1)
        self._frame = frame
        self._drop_expired()

    def _record(self, frame, t_idx, d_idx, xy, boxes, scores, classes) -> None:
        """Rows for matched live rows t_idx (detections d_idx) and coasting rows for the others."""
        self._last[t_idx] = frame
        self._last_xy[t_idx] = xy[d_idx]
        self._wh[t_idx] = boxes[d_idx, 2:]
        self._smooth_sizes(t_idx, boxes[d_idx, 2:])
        self._cls[t_idx] = classes[d_idx]
        tids = self._tid[t_idx]
        self._n_detected.data[tids] += 1
        self._last_detected.data[tids] = frame
        self._emit(tids, frame, xy[d_idx], boxes[d_idx, 2:], scores[d_idx], classes[d_idx], False)
        # unmatched tracks coast: rows kept only if the track is recovered later
        unmatched = np.ones(len(self._tid), bool)
        unmatched[t_idx] = False
        self._emit_unmatched(unmatched, frame)

    def _start(self, frame, new, xy, boxes, scores, classes, confirmed: bool) -> None:
        """New tracks at detections `new`."""
        if not len(new):
            return
        tids = self._new_ids(len(new))
        self._append_live(tids, xy[new], None, boxes[new, 2:], classes[new], frame, confirmed=confirmed)
        self._n_detected.data[tids] = 1
        self._last_detected.data[tids] = frame
        self._emit(tids, frame, xy[new], boxes[new, 2:], scores[new], classes[new], False)

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
        confirmed = self._ever_confirmed.view.copy()
        if self._first_update is not None:
            # tentative tracks detected in every frame of a run too short to confirm them (a longer run
            # has confirmed any track with that many hits already)
            frames_seen = self._frame - self._first_update + 1
            unrefuted = (~self._confirmed) & (self._last == self._frame) & (self._hits >= frames_seen)
            confirmed[self._tid[unrefuted]] = True
        valid = seeded | (confirmed & (self._n_detected.view >= self.min_length))
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
        self._ever_confirmed.extend(np.zeros(k, bool))
        self._last_detected.extend(np.full(k, -1))
        self._seeded.extend(np.full(k, seeded_as is not None))
        self._seed_id.extend(np.full(k, -1) if seeded_as is None else seeded_as)
        return np.arange(start, start + k, dtype=np.int64)

    def _append_live(self, tids, xy, velocities, wh, cls, frame, confirmed: bool) -> None:
        wh = np.asarray(wh, np.float64).reshape(-1, 2)
        size = np.sqrt(np.prod(np.maximum(wh, 0), axis=1))
        self._kf.add(xy, velocities, velocity_variance=np.where(
            size > 0, (VELOCITY_SIZE * size) ** 2, (self._unknown_gate / 2.0) ** 2))
        self._hits = np.concatenate([self._hits, np.ones(len(tids), np.int64)])
        self._confirmed = np.concatenate([self._confirmed, np.full(len(tids), confirmed)])
        if confirmed:
            self._ever_confirmed.data[tids] = True
        self._tid = np.concatenate([self._tid, tids])
        self._last = np.concatenate([self._last, np.full(len(tids), frame, np.int64)])
        self._wh = np.concatenate([self._wh, wh])
        self._size = np.concatenate([self._size, size])
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
        alive = ((self._frame - self._last) <= self.max_gap) & (self._confirmed | (self._last == self._frame))
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
            self._tid, self._last, self._wh, self._cls, self._last_xy, self._hits, self._confirmed = (
                self._tid[alive], self._last[alive], self._wh[alive], self._cls[alive], self._last_xy[alive],
                self._hits[alive], self._confirmed[alive])
            self._size = self._size[alive]

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
        self._record(frame, t_idx, d_idx, xy, boxes, scores, classes)
        self._start(frame, new, xy, boxes, scores, classes, confirmed=True)
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

    def _correct(self, t_idx: np.ndarray, z: np.ndarray, frame: int) -> None:
        """Kalman update of matched tracks; after a gap the velocity is that of the straight path from the
        last detection (observation-centric); counts detections in a row and confirms tracks."""
        gap = frame - self._last[t_idx]
        self._kf.update(t_idx, z)
        after_gap = gap >= 2
        if after_gap.any():
            rows = t_idx[after_gap]
            self._kf.x[rows, 2:] = (z[after_gap] - self._last_xy[rows]) / gap[after_gap, None]
        self._hits[t_idx] = np.where(gap == 1, self._hits[t_idx] + 1, 1)
        confirmed = self._hits[t_idx] >= self.confirm
        self._confirmed[t_idx] |= confirmed
        self._ever_confirmed.data[self._tid[t_idx[confirmed]]] = True

    def _smooth_sizes(self, t_idx: np.ndarray, wh: np.ndarray) -> None:
        """Follow each matched track's box size (sqrt(w h)) with an exponential average: the gate's scale
        must not jump with one odd box."""
        size = np.sqrt(np.prod(np.maximum(wh, 0), axis=1))
        old = self._size[t_idx]
        self._size[t_idx] = np.where(size <= 0, old, np.where(old > 0, old + SIZE_SMOOTHING * (size - old), size))

    def _associate(self, xy, boxes, scores) -> tuple[np.ndarray, np.ndarray]:
        """Matched (live rows, detections): strong detections with every track, then (two-stage) weak
        ones with the confirmed tracks still free."""
        strong = scores >= self.high_score
        first = np.flatnonzero(strong)
        t_idx, d_idx = self._match(xy[first], boxes[first], scores[first], np.arange(len(self._tid)))
        d_idx = first[d_idx]
        if self.high_score > 0 and not strong.all():
            free = self._confirmed.copy()
            free[t_idx] = False
            weak = np.flatnonzero(~strong)
            t2, d2 = self._match(xy[weak], boxes[weak], scores[weak], np.flatnonzero(free), tighten=WEAK_GATE)
            t_idx, d_idx = np.concatenate([t_idx, t2]), np.concatenate([d_idx, weak[d2]])
        return t_idx, d_idx

    @property
    def _gate_size(self) -> float:
        """The gate in box sizes; wider with known animals, where no new track repairs a missed match."""
        return KNOWN_ANIMALS_GATE_SIZE if self.n_animals else GATE_SIZE

    def _gates(self, rows: np.ndarray) -> np.ndarray:
        """The gate radius (px) of live rows: in box sizes plus the predicted position's uncertainty."""
        size = self._size[rows]
        P = self._kf.P[rows]
        sigma = np.sqrt(np.maximum(P[:, 0, 0], P[:, 1, 1]))
        gate = np.where(size > 0, np.minimum(self._gate_size * size + GATE_SIGMA * sigma, MAX_GATE_SIZES * size),
                        self._unknown_gate)
        return np.minimum(gate, self.max_distance) if self.max_distance else gate

    def _match(self, xy: np.ndarray, boxes: np.ndarray, scores: np.ndarray, rows: np.ndarray,
               tighten: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (live rows, detection indices) of least total cost among the gated candidates (gates
        times `tighten`)."""
        n_t, n_d = len(rows), len(xy)
        if n_t == 0 or n_d == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = self._kf.positions[rows]
        gate = self._gates(rows) * tighten
        pairs = cKDTree(pos).sparse_distance_matrix(cKDTree(xy), float(gate.max()), output_type="ndarray")
        if not len(pairs):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ti, di, dist = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"]
        inside = dist <= gate[ti]
        ti, di, dist = ti[inside], di[inside], dist[inside]
        order = np.lexsort((di, ti))  # a fixed pair order for deterministic tie-breaking
        ti, di, dist = ti[order], di[order], dist[order]
        wh_t, wh_d = self._wh[rows][ti], boxes[di, 2:]
        if self.cost == "iou":
            predicted_boxes = np.column_stack([pos[ti] - wh_t / 2.0, wh_t])
            cost = 1.0 - paired_box_iou(predicted_boxes, boxes[di]) + _IOU_DISTANCE_WEIGHT * dist / gate[ti]
            limit = np.full(len(cost), 1.0 - MIN_IOU + _IOU_DISTANCE_WEIGHT)
        else:
            # centre distance, plus how much the box size changed: tells apart animals of different
            # size that walk over each other (boxes of size 0, i.e. unknown, add nothing)
            known = (wh_t > 0).all(axis=1) & (wh_d > 0).all(axis=1)
            change = np.where(known, SIZE_CHANGE_WEIGHT * np.abs(wh_t - wh_d).sum(axis=1), 0.0)
            # px; leaving a pair unmatched costs the same for every pair (a per-track cost would favour
            # some tracks over others): the gate of a track of the typical size
            sizes = self._size[rows]
            known_size = sizes[sizes > 0]
            typical = self._gate_size * float(np.median(known_size)) if len(known_size) else self._unknown_gate
            # a surer detection is preferred to a doubtful one nearby (a duplicate, a false blob)
            cost = dist + change
            # object boxes only, and not with a known number of animals (no new track repairs a missed match)
            if self.scored and not self.n_animals:
                predicted_boxes = np.column_stack([pos[ti] - wh_t / 2.0, wh_t])
                apart = known & (paired_box_iou(predicted_boxes, boxes[di]) < MIN_OVERLAP)
                cost = np.where(apart, np.inf, cost)
            if self.scored:
                cost = cost + SCORE_WEIGHT * typical * (1.0 - np.clip(scores[di], 0.0, 1.0))
            limit = np.full(len(cost), UNMATCHED_COST * typical)
        t, d = assign_min_cost(ti, di, cost, limit, n_t, n_d)
        return rows[t], d


def _gap_neighbours(tracks: Tracks):
    """For every predicted row (rows sorted by track, frame): the detected rows before (p) and after (q)
    it, and whether both exist in the same track (inside). Returns (rows, p, q, inside)."""
    pred = tracks.predicted
    n = len(tracks)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(~pred, idx, -1))
    nxt = np.minimum.accumulate(np.where(~pred, idx, n)[::-1])[::-1]
    rows = np.flatnonzero(pred)
    p, q = prev[rows], nxt[rows]
    inside = (p >= 0) & (q < n)
    p, q = np.where(inside, p, rows), np.where(inside, q, rows)
    inside &= (tracks.track[p] == tracks.track[rows]) & (tracks.track[q] == tracks.track[rows])
    return rows, p, q, inside


def _without_long_gaps(tracks: Tracks, max_gap: int) -> Tracks:
    """The rows of `tracks` less the predicted ones in gaps of more than max_gap missed frames."""
    if not tracks.predicted.any():
        return tracks
    rows, p, q, inside = _gap_neighbours(tracks)
    too_long = ~inside | (tracks.frame[q] - tracks.frame[p] - 1 > max_gap)
    if not too_long.any():
        return tracks
    keep = np.ones(len(tracks), bool)
    keep[rows[too_long]] = False
    return tracks.select(keep)


def _interpolate_gaps(tracks: Tracks) -> None:
    """Replace x, y, width, height of predicted rows by linear interpolation between the detected
    rows before and after them in the same track (in place; rows sorted by track, frame)."""
    if not tracks.predicted.any():
        return
    rows, p, q, inside = _gap_neighbours(tracks)
    rows, p, q = rows[inside], p[inside], q[inside]
    span = (tracks.frame[q] - tracks.frame[p]).astype(np.float64)
    w = (tracks.frame[rows] - tracks.frame[p]) / np.where(span > 0, span, 1.0)
    for name in ("x", "y", "width", "height"):
        col = getattr(tracks, name)
        col[rows] = col[p] + (col[q] - col[p]) * w
