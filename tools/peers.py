"""Peer trackers for the benchmarks: SORT, ByteTrack and OC-SORT (our own clean re-implementations) and
norfair (an adapter).

Benchmark-only code: nothing in omnitrax/ imports this module. Each peer tracks a whole sequence of
detections ({frame: omnitrax.detection.detections.Detections}, the same input TrackingRun takes) with
`track(detections) -> omnitrax.tracking.tracks.Tracks` (0-based track ids, 0-based frames, box centre
x, y and width, height in px, confidence = the detection score where known, predicted=False), so
omnitrax.io.evaluate.evaluate(gt, pred, match="iou") scores them like our tracker.

SortTracker follows the published description of SORT (Bewley, Ge, Ott, Ramos, Upcroft, "Simple Online
and Realtime Tracking", ICIP 2016); the code is written here from that description, not taken from the
GPL reference implementation:
- state (cx, cy, s, r, vx, vy, vs): box centre, area s, aspect ratio r = w / h (constant: no velocity),
  a linear constant-velocity Kalman filter; the measurement is (cx, cy, s, r). The noise magnitudes
  (not in the paper) are the reference implementation's defaults, so the peer behaves like SORT as
  people run it: measurement variance 1 px^2 for the centre and 10 for s and r, initial variance 10
  for the measured part and 10^4 for the velocities (unobserved at birth), process variance 1 for
  (cx, cy, s, r), 0.01 for (vx, vy) and 10^-4 for vs. The area velocity is zeroed when the next area
  would not be positive.
- each frame: predict every track; IoU between predicted and detected boxes; Hungarian assignment
  (scipy linear_sum_assignment) maximising IoU; matches below iou_threshold (0.3) rejected; matched
  tracks updated, every unmatched detection starts a track; a track unmatched for more than max_age
  frames (1) is deleted.
- output per frame: the (filtered) boxes of the tracks updated in that frame that have min_hits (3)
  consecutive matched frames after their first detection, or any such track during the first min_hits
  frames of the sequence (SORT's start-up rule). SORT never outputs a box for a frame without a match.

ByteTracker follows ByteTrack (Zhang, Sun, Jiang, Yu, Weng, Yuan, Luo, Liu, Wang, "ByteTrack: Multi-Object
Tracking by Associating Every Detection Box", ECCV 2022), written here from the paper and the rules of its
reference implementation (github ifzhang/ByteTrack, yolox/tracker/byte_tracker.py), not copied from it:
- state (cx, cy, a, h, vcx, vcy, va, vh): box centre, aspect ratio a = w / h, height, a linear constant-velocity
  Kalman filter whose noise scales with the box height h (DeepSORT's): process std (h/20, h/20, 0.01, h/20) for
  the position part and (h/160, h/160, 1e-5, h/160) for the velocities, measurement std (h/20, h/20, 0.1, h/20),
  initial std (2h/20, 2h/20, 0.01, 2h/20, 10h/160, 10h/160, 1e-5, 10h/160). A lost track's vh is zeroed before
  each prediction. Newborn (unconfirmed) tracks are not predicted before their second match (as the reference).
- each frame the detections are split: high score > track_thresh (0.5), low 0.1 < score < track_thresh, the
  rest dropped. (1) high detections with the confirmed tracks and the lost ones, cost 1 - IoU * score (score
  fusion; fuse_score=False gives the reference's mot20 setting, 1 - IoU), the optimal matching that only uses
  pairs with cost < match_thresh (0.8) (lap.lapjv with a cost limit, as the reference, not Hungarian and then
  rejection); a lost track matched is re-found with its id.
  (2) low detections with the tracks still unmatched that were tracked (not lost) last frame, cost 1 - IoU,
  limit 0.5; tracked tracks still unmatched become lost. (3) unconfirmed tracks (born last frame) with the high
  detections left, cost 1 - IoU * score, limit 0.7; an unconfirmed track unmatched is deleted. (4) every high
  detection left with score >= track_thresh + 0.1 starts an unconfirmed track; in the very first frame new
  tracks are confirmed at once. (5) a lost track is removed when more than track_buffer (30) * frame_rate / 30
  frames have passed since its last match. The reference's bookkeeping is kept as it is: the removed track
  stays in the lost list one frame more (it can still be re-found then), and a track re-found that way is
  deleted at once the next time it is lost. (6) a tracked and a lost track whose boxes overlap with IoU > 0.85
  are duplicates: the one with the shorter history (last match - birth frame) is deleted.
- output per frame: the filtered box of every confirmed track matched in that frame (the reference's
  online_targets); lost tracks are not output. IoU is the plain box IoU (the reference's cython_bbox adds one
  pixel to widths and heights; boxmot does not).

OcSortTracker follows OC-SORT (Cao, Pang, Weng, Khirodkar, Kitani, "Observation-Centric SORT: Rethinking SORT
for Robust Multi-Object Tracking", CVPR 2023), written here from the paper and the rules of its reference
implementation (github noahcao/OC_SORT, trackers/ocsort_tracker/ocsort.py, OCSort.update), not copied from it.
Parameters are the reference repository's defaults (utils/args.py, OCSort): det_thresh 0.6 (boxmot: 0.2),
max_age 30, min_hits 3, iou_threshold 0.3, delta_t 3, inertia 0.2, IoU association, use_byte False.
- SORT's Kalman filter and noise (above), updated in Joseph form as the reference's filter does.
- detections with score > det_thresh are used (with use_byte, those with 0.1 < score < det_thresh are matched
  after the first round to the unmatched tracks' predictions by IoU, as the reference); each frame: predict;
  (1) first round: Hungarian on -(IoU + OCM) between detections and predicted boxes, where observation-centric
  momentum OCM = inertia * score * (pi/2 - angle) / pi, angle between the track's motion direction and the
  direction from its reference observation to the detection. The reference observation is the one made
  delta_t frames back, else the oldest within the last delta_t frames, else the latest; the motion direction is
  the unit vector from the reference observation to the new one, updated at every observation. A track
  without an observation after its birth gets no OCM. When the pairs with IoU > iou_threshold are already one-to-one
  they are taken as they are. Pairs with IoU < iou_threshold are rejected. (2) observation-centric recovery
  (OCR): the detections left against the last observed boxes of the tracks left, Hungarian on -IoU, pairs
  below iou_threshold rejected. (3) each detection left starts a track (its birth box is not counted as an
  observation, as the reference); a track unmatched for more than max_age frames is deleted.
- observation-centric re-update (ORU): at the first missed frame after an observation the filter's state is
  saved; when the track is matched again after the gap, the filter goes back to that state and is updated
  along a virtual trajectory, linear in (cx, cy, w, h) from the last observation to the new one, one virtual
  observation per frame with a prediction between them; its last point is the new observation itself, which
  the filter then also takes as the regular update (the reference applies it twice too).
- output per frame: the tracks matched in that frame with hit_streak >= min_hits (consecutive matches after
  birth), or any track matched in the first min_hits frames of the sequence; the box is the track's last
  observation, i.e. the detection it matched (the birth box for a track without one), not the filtered one.
  Coasting tracks output nothing. The MOT evaluators' post-filters (box area, aspect ratio) of both reference
  repositories are not applied: they are tuned to pedestrians.

NorfairTracker runs norfair 2.2.0's Tracker on the two box corners ((x1, y1), (x2, y2)) of each
detection with distance_function="iou" (norfair's distance 1 - IoU) and distance_threshold=0.7,
i.e. a match needs IoU > 0.3, the setting norfair's own box demos (YOLOv5/YOLOv7) use for bounding
boxes; every other argument is norfair's default (hit_counter_max=15, initialization_delay=7,
pointwise_hit_counter_max=4, detection_threshold=0, its OptimizedKalmanFilterFactory). Output per
frame: the estimate of every active (initialised, alive) object, as norfair's own MOTChallenge
evaluation writes them (norfair/metrics.py): objects coast on their filter for a few frames
without a detection.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from omnitrax.detection.detections import Detections
from omnitrax.detection.geometry import box_iou
from omnitrax.tracking.tracks import Tracks

PEERS = ("sort", "bytetrack", "ocsort", "norfair")


def _frames(detections: dict, start: int = 0, stop: int | None = None):
    stop = max(detections, default=-1) + 1 if stop is None else stop
    for f in range(start, stop):
        yield f, detections.get(f, Detections.empty())


def _tracks(rows: list) -> Tracks:
    """Tracks from (ids, frame, boxes ltwh, scores) tuples per frame."""
    rows = [r for r in rows if len(r[0])]
    if not rows:
        return Tracks.empty()
    ids = np.concatenate([r[0] for r in rows])
    frames = np.concatenate([np.full(len(r[0]), r[1], np.int64) for r in rows])
    boxes = np.vstack([r[2] for r in rows])
    scores = np.concatenate([r[3] for r in rows])
    return Tracks(track=ids, frame=frames, x=boxes[:, 0] + boxes[:, 2] / 2, y=boxes[:, 1] + boxes[:, 3] / 2,
                  width=boxes[:, 2], height=boxes[:, 3], confidence=scores, cls=np.zeros(len(ids), np.int64),
                  predicted=np.zeros(len(ids), bool))


# ----------------------------------------------------------------------------------------------- SORT

_DIM = 7
_F = np.eye(_DIM)
_F[0, 4] = _F[1, 5] = _F[2, 6] = 1.0  # constant velocity for cx, cy, s
_H = np.eye(4, _DIM)
_R = np.diag([1.0, 1.0, 10.0, 10.0])
_Q = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 1e-4])
_P0 = np.diag([10.0, 10.0, 10.0, 10.0, 1e4, 1e4, 1e4])


def _to_z(boxes: np.ndarray) -> np.ndarray:
    """(left, top, w, h) -> (cx, cy, s = w h, r = w / h)."""
    w, h = boxes[:, 2], np.maximum(boxes[:, 3], 1e-9)
    return np.column_stack([boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w * h, w / h])


def _to_box(x: np.ndarray) -> np.ndarray:
    """State rows -> (left, top, w, h); NaN where s r is not positive."""
    s, r = x[:, 2], x[:, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.sqrt(s * r)
        h = s / w
    return np.column_stack([x[:, 0] - w / 2, x[:, 1] - h / 2, w, h])


class _Peer:
    """A tracker with update(boxes, scores) -> (ids, boxes, scores) of the objects it outputs this frame."""

    def track(self, detections: dict, start: int = 0, stop: int | None = None) -> Tracks:
        rows = []
        for f, dets in _frames(detections, start, stop):
            ids, boxes, scores = self.update(dets.boxes, dets.scores)
            rows.append((ids, f, boxes, scores))
        return _tracks(rows)


class SortTracker(_Peer):
    """SORT on boxes: Kalman (cx, cy, s, r) + Hungarian on IoU; see the module docstring."""

    name = "SORT"

    def __init__(self, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3):
        self.max_age, self.min_hits, self.iou_threshold = int(max_age), int(min_hits), float(iou_threshold)
        self.x = np.zeros((0, _DIM))  # one row per live track
        self.P = np.zeros((0, _DIM, _DIM))
        self.ids = np.zeros(0, np.int64)
        self.since_update = np.zeros(0, np.int64)  # frames since the last matched detection
        self.streak = np.zeros(0, np.int64)  # consecutive matched frames (after the first detection)
        self.score = np.zeros(0)
        self.frame_count = 0
        self._next_id = 0

    def settings(self) -> str:
        return f"SortTracker(max_age={self.max_age}, min_hits={self.min_hits}, iou_threshold={self.iou_threshold})"

    def _keep(self, keep) -> None:
        self.x, self.P, self.ids = self.x[keep], self.P[keep], self.ids[keep]
        self.since_update, self.streak, self.score = self.since_update[keep], self.streak[keep], self.score[keep]

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None):
        """One frame of (left, top, w, h) boxes -> (ids, boxes, scores) of the tracks SORT outputs now."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        self.frame_count += 1
        # predict
        grow = self.x[:, 2] + self.x[:, 6] <= 0
        self.x[grow, 6] = 0.0
        self.x = self.x @ _F.T
        self.P = _F @ self.P @ _F.T + _Q
        self.streak[self.since_update > 0] = 0
        self.since_update += 1
        predicted = _to_box(self.x)
        self._keep(np.isfinite(predicted).all(axis=1))
        predicted = predicted[np.isfinite(predicted).all(axis=1)]
        # associate
        matched_t = np.zeros(0, np.int64)
        matched_d = np.zeros(0, np.int64)
        if len(boxes) and len(predicted):
            iou = box_iou(boxes, predicted)
            d, t = linear_sum_assignment(-iou)
            ok = iou[d, t] >= self.iou_threshold
            matched_d, matched_t = d[ok], t[ok]
        # update the matched tracks
        if len(matched_t):
            P = self.P[matched_t]
            S = _H @ P @ _H.T + _R
            K = P @ _H.T @ np.linalg.inv(S)
            innovation = _to_z(boxes[matched_d]) - self.x[matched_t] @ _H.T
            self.x[matched_t] += np.einsum("nij,nj->ni", K, innovation)
            self.P[matched_t] = (np.eye(_DIM) - K @ _H) @ P
            self.since_update[matched_t] = 0
            self.streak[matched_t] += 1
            self.score[matched_t] = scores[matched_d]
        # new tracks from the unmatched detections
        new = np.setdiff1d(np.arange(len(boxes)), matched_d)
        if len(new):
            x0 = np.zeros((len(new), _DIM))
            x0[:, :4] = _to_z(boxes[new])
            self.x = np.vstack([self.x, x0])
            self.P = np.concatenate([self.P, np.repeat(_P0[None], len(new), axis=0)])
            self.ids = np.r_[self.ids, np.arange(self._next_id, self._next_id + len(new))]
            self._next_id += len(new)
            self.since_update = np.r_[self.since_update, np.zeros(len(new), np.int64)]
            self.streak = np.r_[self.streak, np.zeros(len(new), np.int64)]
            self.score = np.r_[self.score, scores[new]]
        # output, then delete the tracks unmatched for too long
        out = (self.since_update < 1) & ((self.streak >= self.min_hits) | (self.frame_count <= self.min_hits))
        result = self.ids[out], _to_box(self.x[out]), self.score[out]
        self._keep(self.since_update <= self.max_age)
        return result



# ----------------------------------------------------------------------------------------- assignment

def _assign_limited(cost: np.ndarray, limit: float):
    """Optimal partial matching of rows to columns that only uses pairs with cost < limit.

    Minimises the sum of (cost - limit) over the matched pairs, which is what lap.lapjv(cost,
    extend_cost=True, cost_limit=limit) solves in ByteTrack: a pair worse than the limit is never
    matched, and the matching is not first made on every pair and then thinned out."""
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    r, c = linear_sum_assignment(np.minimum(cost - limit, 0.0))
    ok = cost[r, c] < limit
    return r[ok], c[ok]


# ------------------------------------------------------------------------------------------ ByteTrack

_BT_F = np.eye(8)
_BT_F[:4, 4:] = np.eye(4)  # constant velocity for (cx, cy, a, h)
_BT_POS, _BT_VEL = 1.0 / 20, 1.0 / 160  # std_weight_position, std_weight_velocity
_BT_LOW = 0.1  # detections at or below this score are dropped
_BT_SECOND, _BT_UNCONFIRMED, _BT_NEW_MARGIN, _BT_DUPLICATE = 0.5, 0.7, 0.1, 0.15


def _to_xyah(boxes: np.ndarray) -> np.ndarray:
    """(left, top, w, h) -> (cx, cy, a = w / h, h)."""
    return np.column_stack([boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2,
                            boxes[:, 2] / boxes[:, 3], boxes[:, 3]])


def _xyah_box(mean: np.ndarray) -> np.ndarray:
    """State rows (cx, cy, a, h, ...) -> (left, top, w, h)."""
    w, h = mean[:, 2] * mean[:, 3], mean[:, 3]
    return np.column_stack([mean[:, 0] - w / 2, mean[:, 1] - h / 2, w, h])


def _diag(std: np.ndarray) -> np.ndarray:
    """(n, k) standard deviations -> (n, k, k) diagonal covariances."""
    out = np.zeros(std.shape + (std.shape[1],))
    idx = np.arange(std.shape[1])
    out[:, idx, idx] = std ** 2
    return out


class ByteTracker(_Peer):
    """ByteTrack: Kalman (cx, cy, a, h) + two IoU associations (high, then low scores); see the module docstring."""

    name = "ByteTrack"

    def __init__(self, track_thresh: float = 0.5, match_thresh: float = 0.8, track_buffer: int = 30,
                 frame_rate: float = 30, fuse_score: bool = True):
        self.track_thresh, self.match_thresh = float(track_thresh), float(match_thresh)
        self.track_buffer, self.frame_rate, self.fuse_score = int(track_buffer), float(frame_rate), bool(fuse_score)
        self.det_thresh = self.track_thresh + _BT_NEW_MARGIN
        self.max_time_lost = int(self.frame_rate / 30.0 * self.track_buffer)
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 8, 8))
        self.ids = np.zeros(0, np.int64)
        self.tracked = np.zeros(0, bool)  # state Tracked (matched last frame); False: Lost
        self.activated = np.zeros(0, bool)  # confirmed
        self.last = np.zeros(0, np.int64)  # frame_id of the last match (end_frame)
        self.start = np.zeros(0, np.int64)  # frame_id of the birth
        self.score = np.zeros(0)
        self.condemned = np.zeros(0, bool)  # lost past the buffer once: dropped the next frame it is lost
        self.frame_id = 0
        self._next_id = 0

    def settings(self) -> str:
        return (f"ByteTracker(track_thresh={self.track_thresh}, match_thresh={self.match_thresh}, "
                f"track_buffer={self.track_buffer}, frame_rate={self.frame_rate:g}, fuse_score={self.fuse_score})")

    def _keep(self, keep) -> None:
        for name in ("mean", "cov", "ids", "tracked", "activated", "last", "start", "score", "condemned"):
            setattr(self, name, getattr(self, name)[keep])

    def _predict(self, idx: np.ndarray) -> None:
        mean = self.mean[idx].copy()
        mean[~self.tracked[idx], 7] = 0.0  # a lost track's height stops changing
        h = mean[:, 3]
        std = np.column_stack([_BT_POS * h, _BT_POS * h, np.full_like(h, 1e-2), _BT_POS * h,
                               _BT_VEL * h, _BT_VEL * h, np.full_like(h, 1e-5), _BT_VEL * h])
        self.mean[idx] = mean @ _BT_F.T
        self.cov[idx] = _BT_F @ self.cov[idx] @ _BT_F.T + _diag(std)

    def _update(self, idx: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> None:
        """Kalman update of the tracks idx with (left, top, w, h) boxes; the tracks become Tracked and confirmed."""
        if not len(idx):
            return
        mean, cov = self.mean[idx], self.cov[idx]
        h = mean[:, 3]
        S = cov[:, :4, :4] + _diag(np.column_stack([_BT_POS * h, _BT_POS * h, np.full_like(h, 1e-1), _BT_POS * h]))
        K = np.linalg.solve(S, cov[:, :4, :]).transpose(0, 2, 1)  # P H' S^-1 (S and P symmetric)
        self.mean[idx] = mean + np.einsum("nij,nj->ni", K, _to_xyah(boxes) - mean[:, :4])
        self.cov[idx] = cov - K @ S @ K.transpose(0, 2, 1)
        self.tracked[idx], self.activated[idx] = True, True
        self.last[idx], self.score[idx] = self.frame_id, scores

    def _cost(self, idx: np.ndarray, boxes: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
        iou = box_iou(_xyah_box(self.mean[idx]), boxes)
        return 1.0 - (iou * scores[None, :] if scores is not None else iou)

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None):
        """One frame of (left, top, w, h) boxes -> (ids, boxes, scores) of the tracks ByteTrack outputs now."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        self.frame_id += 1
        high = scores > self.track_thresh
        low = (scores > _BT_LOW) & (scores < self.track_thresh)
        hb, hs, lb = boxes[high], scores[high], boxes[low]
        fused = hs if self.fuse_score else None
        unconfirmed = np.flatnonzero(self.tracked & ~self.activated)
        pool = np.flatnonzero(~self.tracked | self.activated)  # confirmed Tracked + Lost
        self._predict(pool)
        # first association: high-score detections with confirmed and lost tracks
        t1, d1 = _assign_limited(self._cost(pool, hb, fused), self.match_thresh)
        rest = np.setdiff1d(np.arange(len(pool)), t1)
        self._update(pool[t1], hb[d1], hs[d1])
        # second association: low-score detections with the tracks still unmatched that were Tracked
        r = pool[rest][self.tracked[pool[rest]]]
        t2, d2 = _assign_limited(self._cost(r, lb, None), _BT_SECOND)
        self._update(r[t2], lb[d2], scores[low][d2])
        self.tracked[np.setdiff1d(r, r[t2])] = False  # -> Lost
        # unconfirmed tracks with the high-score detections left
        left = np.setdiff1d(np.arange(len(hb)), d1)
        t3, d3 = _assign_limited(self._cost(unconfirmed, hb[left], fused[left] if fused is not None else None),
                                 _BT_UNCONFIRMED)
        self._update(unconfirmed[t3], hb[left[d3]], hs[left[d3]])
        left = np.setdiff1d(left, left[d3])
        # drop unmatched unconfirmed tracks; a lost track past the buffer is condemned, and dropped the next frame
        # it is lost (the reference's bookkeeping: it can be re-found once more, then never after)
        keep = np.ones(len(self.ids), bool)
        keep[np.setdiff1d(unconfirmed, unconfirmed[t3])] = False
        keep &= self.tracked | ~self.condemned
        self.condemned |= ~self.tracked & (self.frame_id - self.last > self.max_time_lost)
        self._keep(keep)
        # new tracks from the high-score detections left that clear det_thresh
        new = left[hs[left] >= self.det_thresh]
        if len(new):
            h = hb[new, 3]
            std = np.column_stack([2 * _BT_POS * h, 2 * _BT_POS * h, np.full_like(h, 1e-2), 2 * _BT_POS * h,
                                   10 * _BT_VEL * h, 10 * _BT_VEL * h, np.full_like(h, 1e-5), 10 * _BT_VEL * h])
            n = len(new)
            self.mean = np.vstack([self.mean, np.column_stack([_to_xyah(hb[new]), np.zeros((n, 4))])])
            self.cov = np.concatenate([self.cov, _diag(std)])
            self.ids = np.r_[self.ids, np.arange(self._next_id, self._next_id + n)]
            self._next_id += n
            self.tracked = np.r_[self.tracked, np.ones(n, bool)]
            self.activated = np.r_[self.activated, np.full(n, self.frame_id == 1)]
            self.last = np.r_[self.last, np.full(n, self.frame_id)]
            self.start = np.r_[self.start, np.full(n, self.frame_id)]
            self.score = np.r_[self.score, hs[new]]
            self.condemned = np.r_[self.condemned, np.zeros(n, bool)]
        # a Tracked and a Lost track on the same box (IoU > 0.85): keep the one tracked for longer
        tr, lo = np.flatnonzero(self.tracked), np.flatnonzero(~self.tracked)
        if len(tr) and len(lo):
            p, q = np.nonzero(1.0 - box_iou(_xyah_box(self.mean[tr]), _xyah_box(self.mean[lo])) < _BT_DUPLICATE)
            if len(p):
                longer = (self.last[tr[p]] - self.start[tr[p]]) > (self.last[lo[q]] - self.start[lo[q]])
                keep = np.ones(len(self.ids), bool)
                keep[lo[q[longer]]] = False
                keep[tr[p[~longer]]] = False
                self._keep(keep)
        out = self.tracked & self.activated
        return self.ids[out], _xyah_box(self.mean[out]), self.score[out]


# -------------------------------------------------------------------------------------------- OC-SORT

def _joseph_update(x: np.ndarray, P: np.ndarray, z: np.ndarray):
    """SORT-model Kalman update of rows x (n, 7), P (n, 7, 7) with z (n, 4), in Joseph form (as OC-SORT's filter)."""
    S = P[:, :4, :4] + _R
    K = np.linalg.solve(S, P[:, :4, :]).transpose(0, 2, 1)  # P H' S^-1
    x = x + np.einsum("nij,nj->ni", K, z - x[:, :4])
    I_KH = np.eye(_DIM) - K @ _H
    P = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ _R @ K.transpose(0, 2, 1)
    return x, P


def _centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:4] / 2


class OcSortTracker(_Peer):
    """OC-SORT: SORT + observation-centric re-update, momentum and recovery; see the module docstring."""

    name = "OC-SORT"

    def __init__(self, det_thresh: float = 0.6, max_age: int = 30, min_hits: int = 3, iou_threshold: float = 0.3,
                 delta_t: int = 3, inertia: float = 0.2, use_byte: bool = False):
        self.det_thresh, self.max_age, self.min_hits = float(det_thresh), int(max_age), int(min_hits)
        self.iou_threshold, self.delta_t, self.inertia = float(iou_threshold), int(delta_t), float(inertia)
        self.use_byte = bool(use_byte)
        k = max(self.delta_t, 1)
        self.x = np.zeros((0, _DIM))
        self.P = np.zeros((0, _DIM, _DIM))
        self.ids = np.zeros(0, np.int64)
        self.age = np.zeros(0, np.int64)  # predictions since birth
        self.since_update = np.zeros(0, np.int64)
        self.streak = np.zeros(0, np.int64)  # hit_streak
        self.has_obs = np.zeros(0, bool)  # any observation after the birth detection
        self.last_obs = np.zeros((0, 4))  # last observed box (left, top, w, h)
        self.score = np.zeros(0)  # score of the last observation (or of the birth detection)
        self.obs_box = np.zeros((0, k, 4))  # the last k observations and the ages they were made at
        self.obs_age = np.zeros((0, k), np.int64)
        self.velocity = np.zeros((0, 2))  # unit direction (dy, dx) of the motion; 0 until two observations
        self.observed = np.zeros(0, bool)  # the filter's last update had an observation
        self.frozen = np.zeros(0, bool)  # a state saved at the first missed frame (for ORU)
        self.frozen_x = np.zeros((0, _DIM))
        self.frozen_P = np.zeros((0, _DIM, _DIM))
        self.frame_count = 0
        self._next_id = 0

    _FIELDS = ("x", "P", "ids", "age", "since_update", "streak", "has_obs", "last_obs", "score", "obs_box",
               "obs_age", "velocity", "observed", "frozen", "frozen_x", "frozen_P")

    def settings(self) -> str:
        return (f"OcSortTracker(det_thresh={self.det_thresh}, max_age={self.max_age}, min_hits={self.min_hits}, "
                f"iou_threshold={self.iou_threshold}, delta_t={self.delta_t}, inertia={self.inertia}, "
                f"use_byte={self.use_byte})")

    def _keep(self, keep) -> None:
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name)[keep])

    def _previous_obs(self, idx: np.ndarray):
        """Per track: the observation delta_t frames back (else the nearest newer one within delta_t, else the
        latest), as OC-SORT's k_previous_obs; and whether the track has any observation."""
        ages, boxes = self.obs_age[idx], self.obs_box[idx]
        valid = ages >= 0
        window = valid & (ages >= self.age[idx, None] - self.delta_t) & (ages <= self.age[idx, None] - 1)
        oldest_in = np.argmin(np.where(window, ages, np.iinfo(np.int64).max), axis=1)
        latest = np.argmax(np.where(valid, ages, -1), axis=1)
        pick = np.where(window.any(axis=1), oldest_in, latest)
        return boxes[np.arange(len(idx)), pick], self.has_obs[idx]

    def _observe(self, idx: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> None:
        """Update the tracks idx with observed (left, top, w, h) boxes: OCM velocity, ORU, the filter."""
        if not len(idx):
            return
        # observation-centric momentum: direction from the observation delta_t back to this one
        prev, has = self._previous_obs(idx)
        d = _centres(boxes) - _centres(prev)
        v = d[:, ::-1] / (np.hypot(d[:, 0], d[:, 1]) + 1e-6)[:, None]
        self.velocity[idx[has]] = v[has]
        # observation-centric re-update: back to the state saved at the first missed frame, then filter along a
        # straight line from the last observation to this one (whose last point is this observation)
        oru = self.frozen[idx]
        if oru.any():
            j = idx[oru]
            last_age = self.obs_age[j].max(axis=1)
            gap = self.age[j] - last_age
            z1, z2 = _to_z(self.last_obs[j]), _to_z(boxes[oru])
            wh1 = np.column_stack([np.sqrt(z1[:, 2] * z1[:, 3]), np.sqrt(z1[:, 2] / z1[:, 3])])
            wh2 = np.column_stack([np.sqrt(z2[:, 2] * z2[:, 3]), np.sqrt(z2[:, 2] / z2[:, 3])])
            x, P = self.frozen_x[j].copy(), self.frozen_P[j].copy()
            for i in range(int(gap.max())):
                m = gap > i
                f = ((i + 1) / gap[m])[:, None]
                c = z1[m, :2] + f * (z2[m, :2] - z1[m, :2])
                wh = wh1[m] + f * (wh2[m] - wh1[m])
                zv = np.column_stack([c, wh[:, 0] * wh[:, 1], wh[:, 0] / wh[:, 1]])
                x[m], P[m] = _joseph_update(x[m], P[m], zv)
                more = m & (gap > i + 1)
                x[more] = x[more] @ _F.T
                P[more] = _F @ P[more] @ _F.T + _Q
            self.x[j], self.P[j] = x, P
            self.frozen[j] = False
        # store the observation
        slot = np.argmin(self.obs_age[idx], axis=1)  # the oldest (or an empty) slot
        self.obs_box[idx, slot] = boxes
        self.obs_age[idx, slot] = self.age[idx]
        self.last_obs[idx], self.score[idx], self.has_obs[idx] = boxes, scores, True
        self.since_update[idx] = 0
        self.streak[idx] += 1
        self.x[idx], self.P[idx] = _joseph_update(self.x[idx], self.P[idx], _to_z(boxes))
        self.observed[idx] = True

    def _match(self, iou: np.ndarray, cost: np.ndarray):
        """Hungarian on cost (or the one-to-one pairs above the IoU threshold), then pairs below it dropped."""
        if not iou.size:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        a = iou > self.iou_threshold
        if a.sum(axis=1).max() == 1 and a.sum(axis=0).max() == 1:
            r, c = np.nonzero(a)
        else:
            r, c = linear_sum_assignment(cost)
        ok = iou[r, c] >= self.iou_threshold
        return r[ok], c[ok]

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None):
        """One frame of (left, top, w, h) boxes -> (ids, boxes, scores) of the tracks OC-SORT outputs now."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        self.frame_count += 1
        high = scores > self.det_thresh
        low = (scores > 0.1) & (scores < self.det_thresh)
        db, ds = boxes[high], scores[high]
        # predict
        self.x[self.x[:, 2] + self.x[:, 6] <= 0, 6] = 0.0
        self.x = self.x @ _F.T
        self.P = _F @ self.P @ _F.T + _Q
        self.age += 1
        self.streak[self.since_update > 0] = 0
        self.since_update += 1
        predicted = _to_box(self.x)
        ok = np.isfinite(predicted).all(axis=1)
        self._keep(ok)
        predicted = predicted[ok]
        n = len(self.ids)
        # first round: IoU + velocity direction consistency (OCM)
        iou = box_iou(db, predicted)
        cost = -iou
        if iou.size:
            prev, has = self._previous_obs(np.arange(n))
            d = _centres(db)[None, :, :] - _centres(prev)[:, None, :]  # (track, det, xy)
            d /= (np.hypot(d[..., 0], d[..., 1]) + 1e-6)[..., None]
            cos = np.clip(self.velocity[:, None, 1] * d[..., 0] + self.velocity[:, None, 0] * d[..., 1], -1, 1)
            angle = (np.pi / 2 - np.abs(np.arccos(cos))) / np.pi
            cost = -(iou + (has[:, None] * angle * self.inertia).T * ds[:, None])
        md, mt = self._match(iou, cost)
        um_d, um_t = np.setdiff1d(np.arange(len(db)), md), np.setdiff1d(np.arange(n), mt)
        updates = [(mt, db[md], ds[md])]
        # BYTE (off by default): low-score detections with the unmatched tracks' predictions
        if self.use_byte and low.any() and len(um_t):
            lb, ls = boxes[low], scores[low]
            iou_low = box_iou(lb, predicted[um_t])
            if iou_low.max() > self.iou_threshold:
                r, c = linear_sum_assignment(-iou_low)
                ok = iou_low[r, c] >= self.iou_threshold
                updates.append((um_t[c[ok]], lb[r[ok]], ls[r[ok]]))
                um_t = np.setdiff1d(um_t, um_t[c[ok]])
        # second round (OCR): the detections left with the last observations of the tracks left
        if len(um_d) and len(um_t):
            iou_left = box_iou(db[um_d], self.last_obs[um_t]) * self.has_obs[um_t][None, :]
            if iou_left.max() > self.iou_threshold:
                r, c = linear_sum_assignment(-iou_left)
                ok = iou_left[r, c] >= self.iou_threshold
                updates.append((um_t[c[ok]], db[um_d[r[ok]]], ds[um_d[r[ok]]]))
                um_d, um_t = np.setdiff1d(um_d, um_d[r[ok]]), np.setdiff1d(um_t, um_t[c[ok]])
        for t, b, s in updates:
            self._observe(t, b, s)
        # unmatched tracks: the first miss after an observation saves the state for ORU
        first_miss = um_t[self.observed[um_t]]
        self.frozen[first_miss] = True
        self.frozen_x[first_miss], self.frozen_P[first_miss] = self.x[first_miss], self.P[first_miss]
        self.observed[um_t] = False
        # new tracks from the detections left
        if len(um_d):
            k, m = self.obs_box.shape[1], len(um_d)
            x0 = np.zeros((m, _DIM))
            x0[:, :4] = _to_z(db[um_d])
            add = dict(x=x0, P=np.repeat(_P0[None], m, axis=0), ids=np.arange(self._next_id, self._next_id + m),
                       age=np.zeros(m, np.int64), since_update=np.zeros(m, np.int64), streak=np.zeros(m, np.int64),
                       has_obs=np.zeros(m, bool), last_obs=np.zeros((m, 4)), score=ds[um_d],
                       obs_box=np.zeros((m, k, 4)), obs_age=np.full((m, k), -1, np.int64),
                       velocity=np.zeros((m, 2)), observed=np.zeros(m, bool), frozen=np.zeros(m, bool),
                       frozen_x=np.zeros((m, _DIM)), frozen_P=np.zeros((m, _DIM, _DIM)))
            self._next_id += m
            for name in self._FIELDS:
                setattr(self, name, np.concatenate([getattr(self, name), add[name]]))
        # output: the last observation of each track updated now that has min_hits, then delete the old tracks
        out = (self.since_update < 1) & ((self.streak >= self.min_hits) | (self.frame_count <= self.min_hits))
        shown = np.where(self.has_obs[:, None], self.last_obs, _to_box(self.x))
        result = self.ids[out], shown[out], self.score[out]
        self._keep(self.since_update <= self.max_age)
        return result



# -------------------------------------------------------------------------------------------- norfair

class NorfairTracker(_Peer):
    """norfair.Tracker on box corners with IoU distance (threshold 0.7); see the module docstring."""

    name = "norfair"

    def __init__(self, distance_function: str = "iou", distance_threshold: float = 0.7, **kwargs):
        from norfair import Tracker

        self.kwargs = dict(distance_function=distance_function, distance_threshold=distance_threshold, **kwargs)
        self._tracker = Tracker(**self.kwargs)

    def settings(self) -> str:
        import norfair

        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"norfair {getattr(norfair, '__version__', '?')} Tracker({args})"

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None):
        from norfair import Detection

        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        dets = [Detection(points=np.array([[l, t], [l + w, t + h]]), scores=np.array([s, s]))
                for (l, t, w, h), s in zip(boxes.tolist(), scores.tolist())]
        objects = self._tracker.update(detections=dets)
        if not objects:
            return np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
        est = np.array([o.estimate for o in objects]).reshape(-1, 4)  # x1, y1, x2, y2
        ids = np.array([o.id - 1 for o in objects], np.int64)  # norfair's ids start at 1
        conf = np.array([float(np.mean(o.last_detection.scores)) if o.last_detection.scores is not None else 1.0
                         for o in objects])
        return ids, np.column_stack([est[:, :2], est[:, 2:] - est[:, :2]]), conf



def make(name: str, **kwargs):
    """A peer tracker by name: 'sort', 'bytetrack', 'ocsort' or 'norfair'."""
    name = name.lower()
    if name == "sort":
        return SortTracker(**kwargs)
    if name == "bytetrack":
        return ByteTracker(**kwargs)
    if name == "ocsort":
        return OcSortTracker(**kwargs)
    if name == "norfair":
        return NorfairTracker(**kwargs)
    raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")
