"""MOTChallenge text files: `frame,id,left,top,width,height,conf,x,y,z` with 1-based frames.

Pixels with the origin top-left; boxes as (left, top, width, height). In memory frames are 0-based
video frame indices (file frame - 1). Lines may have 6 to 10 comma-separated columns; when column 8
is present and >= 0 it is read as the class id (MOT ground truth files keep the class there).

Track ids: MOTChallenge ids start at 1, OmniTrax's track ids at 0. write_mot writes id + 1 (track_0 is
id 1 in the file). read_tracks reads a file whose ids are all >= 1 as 1-based and subtracts 1, so what
write_mot wrote reads back with exactly the ids it had, and MOTChallenge ground truth and results get
0-based ids like our own tracks. A file that has an id 0 (or below) was written 0-based by some other
tool: its ids are kept as they are. Either way the identities (which rows are one track) are never
changed, only the numbers. Detection files (id -1, or any id) are read by read_detections, which
ignores the id column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..detection.detections import Detections
from ..errors import OmniTraxError
from ..files import writing
from ..tracking.tracks import Tracks
from .tracks_csv import load_numbers


def write_mot(path, tracks: Tracks) -> Path:
    """Write `tracks` as MOTChallenge results (`frame+1,id+1,left,top,w,h,conf,-1,-1,-1`), 1-based ids."""
    t = tracks
    if len(t) and t.track.min() < 0:
        raise OmniTraxError(f"Cannot write track id {int(t.track.min())} to a MOT file: track ids must be >= 0.")
    order = np.lexsort((t.track, t.frame))  # MOT files are sorted by frame, then id
    boxes = t.boxes()[order]
    cols = zip((t.frame[order] + 1).tolist(), (t.track[order] + 1).tolist(), boxes[:, 0].tolist(), boxes[:, 1].tolist(),
               boxes[:, 2].tolist(), boxes[:, 3].tolist(), t.confidence[order].tolist())
    lines = [f"{f},{i},{l:.3f},{tp:.3f},{w:.3f},{h:.3f},{c:.4f},-1,-1,-1" for f, i, l, tp, w, h, c in cols]
    with writing(path) as path, open(path, "w", newline="\n", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def _read_table(path) -> np.ndarray:
    """(N, 8) float array: frame, id, left, top, width, height, conf, class (-1 when absent)."""
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"MOT file '{path}' not found; check the path.")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise OmniTraxError(f"MOT file '{path}' is not a text file.") from None
    fast = _fast_table(lines)
    if fast is not None:
        return fast
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if not 6 <= len(cells) <= 10:
            raise OmniTraxError(f"MOT file '{path}' line {number}: {len(cells)} columns, expected 6 to 10 "
                                f"(frame,id,left,top,width,height,conf,...).")
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise OmniTraxError(f"MOT file '{path}' line {number}: '{line.strip()}' has a value that is not a "
                                f"number.") from None
        if not all(np.isfinite(values)):
            raise OmniTraxError(f"MOT file '{path}' line {number}: values must be finite numbers.")
        if values[0] < 1 or values[0] != int(values[0]):
            raise OmniTraxError(f"MOT file '{path}' line {number}: frame '{cells[0]}' must be a whole number "
                                f">= 1 (MOT frames are 1-based).")
        if values[1] != int(values[1]):
            raise OmniTraxError(f"MOT file '{path}' line {number}: id '{cells[1]}' must be a whole number.")
        if values[4] < 0 or values[5] < 0:
            raise OmniTraxError(f"MOT file '{path}' line {number}: box width and height must not be negative.")
        conf = values[6] if len(values) > 6 else 1.0
        cls = values[7] if len(values) > 7 else -1.0
        rows.append(values[:6] + [conf, cls])
    if not rows:
        raise OmniTraxError(f"MOT file '{path}' is empty; expected lines frame,id,left,top,width,height,conf.")
    return np.asarray(rows, np.float64)


def _fast_table(lines):
    """The (N, 8) table when numpy reads every line and all values are valid, else None."""
    data = load_numbers(lines)
    if data is None or data.size == 0 or not 6 <= data.shape[1] <= 10 or not np.isfinite(data).all():
        return None
    frame, tid = data[:, 0], data[:, 1]
    if (frame < 1).any() or (frame != np.round(frame)).any() or (tid != np.round(tid)).any() \
            or (data[:, 4:6] < 0).any():
        return None
    n = len(data)
    conf = data[:, 6] if data.shape[1] > 6 else np.ones(n)
    cls = data[:, 7] if data.shape[1] > 7 else np.full(n, -1.0)
    return np.column_stack([data[:, :6], conf, cls])


def _classes(table: np.ndarray) -> np.ndarray:
    cls = table[:, 7]
    return np.where(cls >= 0, np.rint(cls), 0).astype(np.int64)


def read_tracks(path) -> Tracks:
    """Tracks from a MOTChallenge file (ground truth or results).

    Track id = file id - 1 when every id in the file is >= 1 (MOTChallenge's 1-based ids, and what
    write_mot writes), else the file id (a 0-based file); see the module docstring.
    """
    table = _read_table(path)
    left, top, w, h = table[:, 2], table[:, 3], table[:, 4], table[:, 5]
    ids = table[:, 1].astype(np.int64)
    if ids.min() >= 1:
        ids = ids - 1
    return Tracks(track=ids, frame=table[:, 0].astype(np.int64) - 1,
                  x=left + w / 2.0, y=top + h / 2.0, width=w, height=h, confidence=table[:, 6],
                  cls=_classes(table), predicted=np.zeros(len(table), bool))


def read_detections(path) -> dict[int, Detections]:
    """Detections per 0-based frame from a MOTChallenge file (id column ignored; conf -> scores)."""
    table = _read_table(path)
    frames = table[:, 0].astype(np.int64) - 1
    order = np.argsort(frames, kind="stable")
    table, frames = table[order], frames[order]
    classes = _classes(table)
    starts = np.flatnonzero(np.r_[True, np.diff(frames) != 0])
    ends = np.r_[starts[1:], len(frames)]
    return {int(frames[a]): Detections.from_boxes(table[a:b, 2:6], table[a:b, 6], classes[a:b])
            for a, b in zip(starts, ends)}
