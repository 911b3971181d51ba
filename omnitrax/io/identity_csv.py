"""`<stem>_identity.csv`: the identity pass's fragments, one row each, uncertain ones flagged (bpy-free).

Columns: fragment (index), track (the input track id), first_frame, last_frame (0-based video frames,
inclusive), identity (the animal, 0..N-1; -1: none could be given), confidence (0..1), uncertain
(1: check it), crops (how many clean views showed its appearance).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

COLUMNS = ("fragment", "track", "first_frame", "last_frame", "identity", "confidence", "uncertain", "crops")


def write_identity_csv(path, table) -> Path:
    """Write a FragmentTable (omnitrax.identity.pipeline) to `path`."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for k in range(len(table)):
            writer.writerow([int(table.fragment[k]), int(table.track[k]), int(table.first[k]), int(table.last[k]),
                             int(table.identity[k]), f"{float(table.confidence[k]):.4f}",
                             int(bool(table.uncertain[k])), int(table.crops[k])])
    return path


def read_identity_csv(path) -> dict:
    """{column: numpy array} of an identity CSV."""
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Identity file {path} not found: check the path.")
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise OmniTraxError(f"{path} is not an OmniTrax identity CSV: its header must be {','.join(COLUMNS)}.")
    table = np.array(rows[1:], dtype=float).reshape(-1, len(COLUMNS))
    return {c: table[:, i] if c == "confidence" else table[:, i].astype(np.int64) for i, c in enumerate(COLUMNS)}
