"""The pose table: one row per (track, frame, joint) keypoint, as parallel numpy arrays.

Units and conventions: full-frame pixels, origin top-left, integer coordinates are pixel centres;
frames are 0-based video frame indices. Rows are kept sorted by (track, frame, joint).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

def _positions(keys: np.ndarray, values: np.ndarray):
    """For each value, its index in `keys` (any order) and whether it is there at all."""
    order = np.argsort(keys, kind="stable")
    at = np.clip(np.searchsorted(keys[order], values), 0, len(keys) - 1)
    return order[at], keys[order][at] == values


_COLUMNS = {"track": np.int64, "frame": np.int64, "joint": np.int64,
            "x": np.float64, "y": np.float64, "likelihood": np.float64}


@dataclass
class Poses:
    """Keypoints of tracked animals.

    track:       int64 track id (0 for a full-frame, single-animal run).
    frame:       int64 0-based video frame index.
    joint:       int64 index into joint_names.
    x, y:        float64 position in full-frame pixels (origin top-left).
    likelihood:  float64 network score, 0..1.
    joint_names: body-part names, in joint-index order.
    skeleton:    joint-name pairs to draw as bones.
    """

    track: np.ndarray
    frame: np.ndarray
    joint: np.ndarray
    x: np.ndarray
    y: np.ndarray
    likelihood: np.ndarray
    joint_names: list = field(default_factory=list)
    skeleton: list = field(default_factory=list)

    def __post_init__(self):
        n = np.asarray(self.track).size
        for name, dtype in _COLUMNS.items():
            value = np.asarray(getattr(self, name), dtype=dtype).reshape(-1)
            if len(value) != n:
                raise ValueError(f"Poses column '{name}' has {len(value)} rows, expected {n}")
            setattr(self, name, value)
        self.joint_names = [str(j) for j in self.joint_names]
        self.skeleton = [tuple(b) for b in self.skeleton]
        if n and (self.joint.min() < 0 or self.joint.max() >= len(self.joint_names)):
            raise ValueError(f"joint indices must lie in 0..{len(self.joint_names) - 1}")
        if n > 1:
            order = np.lexsort((self.joint, self.frame, self.track))
            if np.any(order != np.arange(n)):
                for name in _COLUMNS:
                    setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.track)

    def ids(self) -> list[int]:
        """Sorted unique track ids."""
        return [int(i) for i in np.unique(self.track)]

    def frames(self) -> np.ndarray:
        """Sorted unique frame indices."""
        return np.unique(self.frame)

    def select(self, keep) -> "Poses":
        """Rows chosen by a boolean mask or an index array."""
        return Poses(**{n: getattr(self, n)[keep] for n in _COLUMNS}, joint_names=self.joint_names,
                     skeleton=self.skeleton)

    def for_track(self, tid) -> "Poses":
        lo, hi = np.searchsorted(self.track, tid, "left"), np.searchsorted(self.track, tid, "right")
        return self.select(slice(int(lo), int(hi)))

    def at_frame(self, frame) -> "Poses":
        return self.select(self.frame == frame)

    def keypoints(self, tid, frame) -> np.ndarray:
        """(J, 3) x, y, likelihood of one track at one frame; NaN for joints without a row."""
        out = np.full((len(self.joint_names), 3), np.nan)
        rows = self.for_track(tid)
        rows = rows.select(rows.frame == frame)
        out[rows.joint] = np.column_stack([rows.x, rows.y, rows.likelihood])
        return out

    def to_array(self, ids=None, frames=None):
        """Dense (F, T, J, 3) array of x, y, likelihood (NaN where missing).

        ids / frames: the track ids and frames to lay out (default: all present, sorted).
        Returns (array, frames, ids).
        """
        ids = np.asarray(self.ids() if ids is None else list(ids), np.int64)
        frames = self.frames() if frames is None else np.asarray(frames, np.int64)
        out = np.full((len(frames), len(ids), len(self.joint_names), 3), np.nan)
        if len(self) and len(ids) and len(frames):
            fi, f_ok = _positions(frames, self.frame)
            ti, t_ok = _positions(ids, self.track)
            ok = f_ok & t_ok
            out[fi[ok], ti[ok], self.joint[ok]] = np.column_stack([self.x, self.y, self.likelihood])[ok]
        return out, frames, ids

    @classmethod
    def from_keypoints(cls, tracks, frames, keypoints, joint_names, skeleton=()) -> "Poses":
        """Rows from K keypoint sets: tracks (K,), frames (K,), keypoints (K, J, 3)."""
        keypoints = np.asarray(keypoints, np.float64).reshape(-1, len(joint_names), 3)
        k, j = keypoints.shape[:2]
        return cls(track=np.repeat(np.asarray(tracks, np.int64), j), frame=np.repeat(np.asarray(frames, np.int64), j),
                   joint=np.tile(np.arange(j), k), x=keypoints[..., 0], y=keypoints[..., 1],
                   likelihood=keypoints[..., 2], joint_names=joint_names, skeleton=skeleton)

    @classmethod
    def empty(cls, joint_names=(), skeleton=()) -> "Poses":
        z = np.zeros(0)
        return cls(track=z, frame=z, joint=z, x=z, y=z, likelihood=z, joint_names=list(joint_names),
                   skeleton=list(skeleton))

    @classmethod
    def concat(cls, parts) -> "Poses":
        """One table from several with the same joint names (None parts are skipped)."""
        parts = [p for p in parts if p is not None]
        if not parts:
            return cls.empty()
        names = parts[0].joint_names
        if any(p.joint_names != names for p in parts):
            raise ValueError("cannot concatenate poses with different joint names")
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in _COLUMNS},
                   joint_names=names, skeleton=parts[0].skeleton)
