"""The OmniTrax ground-truth CSV: one row per animal and frame, with the animal's box, centre, body parts,
heading and length (pixels, origin top-left, 0-based frame index).

omnitrax.testclips writes it beside every clip it renders; `omnitrax evaluate --gt` reads it (as well as
MOTChallenge files) to score tracks against it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

#: ground-truth columns, in CSV order (GroundTruth adds "frame" in front)
KEYS = ("id", "x", "y", "left", "top", "width", "height", "head_x", "head_y", "thorax_x", "thorax_y",
        "abdomen_x", "abdomen_y", "angle", "length")
CSV_COLUMNS = ("frame",) + KEYS


class GroundTruth:
    """Per-frame ground truth of a clip as columns (numpy arrays) named by CSV_COLUMNS."""

    def __init__(self, columns: dict):
        n = len(columns["frame"])
        for key in CSV_COLUMNS:
            value = np.asarray(columns[key], np.int64 if key in ("frame", "id") else np.float64)
            if value.shape != (n,):
                raise ValueError(f"ground-truth column {key} has shape {value.shape}, expected ({n},)")
            setattr(self, key, value)

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def from_rows(cls, rows_per_frame) -> "GroundTruth":
        """From the rows omnitrax.testclips.render_frames yields, one dict per frame, in frame order (frame 0 first)."""
        rows_per_frame = list(rows_per_frame)
        columns = {"frame": np.concatenate([np.full(len(r["id"]), f, np.int64)
                                            for f, r in enumerate(rows_per_frame)] or [np.zeros(0, np.int64)])}
        for key in KEYS:
            columns[key] = np.concatenate([np.asarray(r[key], np.float64) for r in rows_per_frame]
                                          or [np.zeros(0)])
        return cls(columns)

    def columns(self) -> dict:
        return {key: getattr(self, key) for key in CSV_COLUMNS}

    def to_csv(self, path) -> Path:
        """Write a CSV with header CSV_COLUMNS; frame and id as integers, the rest with 3 decimals."""
        path = Path(path)
        table = np.column_stack([getattr(self, k) for k in CSV_COLUMNS]) if len(self) else np.zeros((0, 16))
        fmt = ["%d", "%d"] + ["%.3f"] * (len(CSV_COLUMNS) - 2)
        np.savetxt(path, table, fmt=fmt, delimiter=",", header=",".join(CSV_COLUMNS), comments="")
        return path

    @classmethod
    def from_csv(cls, path) -> "GroundTruth":
        path = Path(path)
        if not path.is_file():
            raise OmniTraxError(f"Ground-truth file {path} not found: check the path.")
        with path.open() as f:
            header = f.readline().strip().split(",")
        if header != list(CSV_COLUMNS):
            raise OmniTraxError(f"{path} is not an OmniTrax ground-truth CSV: its header must be "
                                f"{','.join(CSV_COLUMNS)}.")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2).reshape(-1, len(CSV_COLUMNS))
        return cls({key: table[:, i] for i, key in enumerate(CSV_COLUMNS)})

    def at_frame(self, frame: int) -> dict:
        """Rows (dict of arrays keyed by KEYS) of one 0-based frame."""
        keep = self.frame == frame
        return {key: getattr(self, key)[keep] for key in KEYS}

    def to_tracks(self):
        """The ground truth as omnitrax.tracking.tracks.Tracks (track = id)."""
        from ..tracking.tracks import Tracks

        n = len(self)
        return Tracks(track=self.id.copy(), frame=self.frame.copy(), x=self.x.copy(), y=self.y.copy(),
                      width=self.width.copy(), height=self.height.copy(), confidence=np.ones(n),
                      cls=np.zeros(n, np.int64), predicted=np.zeros(n, bool))
