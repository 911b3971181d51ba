"""The track table: one row per (track, frame) position, as parallel numpy arrays.

Units and conventions: pixels with the origin at the top-left of the image, x to the right, y down;
frames are 0-based video frame indices. Rows are always kept sorted by (track, frame).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np

_TRACK_NAME = re.compile(r"^track_(\d+)$")


def track_name(track_id) -> str:
    """The name of a track OmniTrax made: `track_<id>` (Blender tracks, files, DeepLabCut individuals)."""
    return f"track_{int(track_id)}"


def name_of(names: dict | None, track_id) -> str:
    """The track's name in `names` (id -> name), else track_name(track_id)."""
    return str((names or {}).get(int(track_id)) or track_name(track_id))


def distinct_names(ids, names: dict | None) -> list[str]:
    """name_of() for each id; two tracks of one name are an error (files key individuals by name)."""
    from ..errors import OmniTraxError

    out = [name_of(names, t) for t in ids]
    if len(set(out)) != len(out):
        raise OmniTraxError("Two tracks have the same individual name; give each track a distinct name.")
    return out


def ids_for_names(names, known: dict | None = None) -> dict:
    """Track ids for track names (Blender tracks, DeepLabCut individuals), in the order given.

    Without `known`, a name `track_<n>` gets id n; with `known` (name -> id), those names keep their ids.
    Every other name gets the next free id above all of those.
    """
    names = list(names)
    ids = dict(known) if known else {n: int(m.group(1)) for n in names if (m := _TRACK_NAME.match(n))}
    next_id = max(ids.values(), default=-1) + 1
    for name in names:
        if name not in ids:
            ids[name], next_id = next_id, next_id + 1
    return ids

_DTYPES = {
    "track": np.int64, "frame": np.int64, "x": np.float64, "y": np.float64, "width": np.float64,
    "height": np.float64, "confidence": np.float64, "cls": np.int64, "predicted": bool,
}
# value used for a column the caller leaves out
_DEFAULTS = {"width": 0.0, "height": 0.0, "confidence": 1.0, "cls": 0, "predicted": False}


@dataclass
class Tracks:
    """Track positions.

    track:      int64 track id.
    frame:      int64 0-based video frame index.
    x, y:       float64 centre in pixels (origin top-left).
    width, height: float64 box size in pixels, 0 when unknown.
    confidence: float64 detector score (0 for positions that were not detected).
    cls:        int64 class id.
    predicted:  bool, True where the position was filled in a gap (filter prediction or
                interpolation), False where it was detected (or set by the user).
    """

    track: np.ndarray
    frame: np.ndarray
    x: np.ndarray
    y: np.ndarray
    width: np.ndarray = None
    height: np.ndarray = None
    confidence: np.ndarray = None
    cls: np.ndarray = None
    predicted: np.ndarray = None

    def __post_init__(self):
        n = np.asarray(self.track).size
        for name, dtype in _DTYPES.items():
            value = getattr(self, name)
            if value is None:
                value = np.full(n, _DEFAULTS[name], dtype)
            else:
                value = np.asarray(value, dtype=dtype)
                value = np.full(n, value, dtype) if value.ndim == 0 else value.reshape(-1)  # scalars broadcast
            if len(value) != n:
                raise ValueError(f"Tracks column '{name}' has {len(value)} rows, expected {n}")
            setattr(self, name, value)
        if n > 1:
            d_track, d_frame = np.diff(self.track), np.diff(self.frame)
            if not np.all((d_track > 0) | ((d_track == 0) & (d_frame >= 0))):
                order = np.lexsort((self.frame, self.track))
                for name in _DTYPES:
                    setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.track)

    def _columns(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def ids(self) -> list[int]:
        """Sorted unique track ids."""
        return [int(i) for i in np.unique(self.track)]

    def select(self, keep) -> "Tracks":
        """Rows chosen by a boolean mask or an index array."""
        return Tracks(**{name: col[keep] for name, col in self._columns().items()})

    def for_track(self, tid) -> "Tracks":
        """Rows of one track (views into this table)."""
        lo = np.searchsorted(self.track, tid, side="left")
        hi = np.searchsorted(self.track, tid, side="right")
        return self.select(slice(int(lo), int(hi)))

    def at_frame(self, frame) -> "Tracks":
        return self.select(self.frame == frame)

    def boxes(self) -> np.ndarray:
        """(N, 4) boxes as (left, top, width, height) in pixels."""
        return np.column_stack([self.x - self.width / 2.0, self.y - self.height / 2.0, self.width, self.height])

    def with_ids(self, mapping) -> "Tracks":
        """A copy with track ids relabelled by `mapping` (dict old -> new); ids not in it stay."""
        mapping = {int(k): int(v) for k, v in dict(mapping).items()}
        if not mapping or not len(self):
            return Tracks(**{name: col.copy() for name, col in self._columns().items()})
        uniq, inverse = np.unique(self.track, return_inverse=True)
        new = np.array([mapping.get(int(u), int(u)) for u in uniq], np.int64)[inverse]
        columns = self._columns()
        columns["track"] = new
        return Tracks(**columns)

    @classmethod
    def empty(cls) -> "Tracks":
        return cls(track=np.zeros(0, np.int64), frame=np.zeros(0, np.int64), x=np.zeros(0), y=np.zeros(0))

    @classmethod
    def concat(cls, parts) -> "Tracks":
        parts = [p for p in parts if p is not None]
        if not parts:
            return cls.empty()
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in _DTYPES})

    def equals(self, other: "Tracks") -> bool:
        """True when every column is identical (floats compared exactly)."""
        return len(self) == len(other) and all(
            np.array_equal(getattr(self, n), getattr(other, n)) for n in _DTYPES)
