"""Peer trackers for the benchmarks: SORT (our own clean re-implementation) and norfair (an adapter).

Benchmark-only code: nothing in omnitrax/ imports this module. Each peer tracks a whole sequence of
detections ({frame: omnitrax.tracking.detections.Detections}, the same input TrackingRun takes) with
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

from omnitrax.tracking.detections import Detections
from omnitrax.tracking.geometry import box_iou
from omnitrax.tracking.tracks import Tracks

PEERS = ("sort", "norfair")


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
    """A peer tracker by name: 'sort' or 'norfair'."""
    name = name.lower()
    if name == "sort":
        return SortTracker(**kwargs)
    if name == "norfair":
        return NorfairTracker(**kwargs)
    raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")
