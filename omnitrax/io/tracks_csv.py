"""Track tables as CSV: OmniTrax's own format, and the upstream-OmniTrax per-track ("legacy") files.

Own format: one file, header `track,frame,x,y,width,height,confidence,class,predicted`, pixels with the
origin top-left, 0-based video frames, predicted as 0/1. Floats have a fixed number of decimals
(3 for pixels, 4 for confidence), so writing the same tracks twice gives byte-identical files.

Legacy format: one `<name>.csv` per track, header `frame;x;y;class`, Blender frame numbers and
pixels with the origin bottom-left, detected positions only; the class is its name when the model's
class names are known (as upstream wrote its labels), else its id.

Class names: `<stem>_classes.csv` (`id,name`) beside the tracks CSV, whose class column stays an id.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError
from ..files import ensure_folder, safe_file_name, writing
from ..tracking.tracks import Tracks, name_of

HEADER = ("track", "frame", "x", "y", "width", "height", "confidence", "class", "predicted")
LEGACY_HEADER = "frame;x;y;class"
_INT_COLUMNS = {"track", "frame", "class"}


def _fmt_px(a) -> list[str]:
    return [f"{v:.3f}" for v in np.asarray(a, np.float64).tolist()]


def write_tracks_csv(path, tracks: Tracks) -> Path:
    """Write `tracks` to `path` (parent folders are created). Returns the path."""
    t = tracks
    conf = [f"{v:.4f}" for v in t.confidence.tolist()]
    rows = zip(t.track.tolist(), t.frame.tolist(), _fmt_px(t.x), _fmt_px(t.y), _fmt_px(t.width),
               _fmt_px(t.height), conf, t.cls.tolist(), t.predicted.astype(int).tolist())
    lines = [",".join(HEADER)] + [f"{a},{b},{c},{d},{e},{f},{g},{h},{i}" for a, b, c, d, e, f, g, h, i in rows]
    with writing(path) as path, open(path, "w", newline="\n", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def read_tracks_csv(path) -> Tracks:
    """Read a file written by write_tracks_csv. Bad input raises OmniTraxError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Tracks file '{path}' not found; check the path.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OmniTraxError(f"Tracks file '{path}' is not a text CSV file.") from None
    lines = text.splitlines()
    if not lines:
        raise OmniTraxError(f"Tracks file '{path}' is empty; expected the header {','.join(HEADER)}.")
    header = tuple(c.strip() for c in lines[0].split(","))
    if header != HEADER:
        raise OmniTraxError(f"Tracks file '{path}' line 1: header is '{lines[0].strip()}', expected "
                            f"'{','.join(HEADER)}'; is this an OmniTrax tracks CSV?")
    data = _fast_table(lines[1:], len(HEADER))
    if data is not None and _valid_table(data):
        columns = dict(zip(HEADER, data.T))
    else:  # slow path: finds the offending line, or accepts what the fast parser could not read
        columns = _parse_lines(path, lines)
    return Tracks(track=columns["track"], frame=columns["frame"], x=columns["x"], y=columns["y"],
                  width=columns["width"], height=columns["height"], confidence=columns["confidence"],
                  cls=columns["class"], predicted=np.asarray(columns["predicted"]) != 0)


def load_numbers(lines):
    """Comma-separated numeric lines as a 2-D float array, or None when numpy cannot read them all (the
    callers then parse line by line to say which line is wrong)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(lines, delimiter=",", comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        return None


def _fast_table(lines, n_columns: int):
    """The rows as an (N, n_columns) float array, or None when numpy cannot read them."""
    data = load_numbers(lines)
    if data is None:
        return None
    if data.size == 0:
        return np.zeros((0, n_columns))
    return data if data.shape[1] == n_columns else None


def _valid_table(data: np.ndarray) -> bool:
    ints = data[:, [0, 1, 7]]
    return bool(np.isfinite(data).all() and (ints == np.round(ints)).all()
                and np.isin(data[:, 8], (0.0, 1.0)).all())


def _parse_lines(path, lines) -> dict:
    columns = {name: [] for name in HEADER}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != len(HEADER):
            raise OmniTraxError(f"Tracks file '{path}' line {number}: {len(cells)} values, expected "
                                f"{len(HEADER)} ({','.join(HEADER)}).")
        for name, cell in zip(HEADER, cells):
            try:
                value = int(cell) if name in _INT_COLUMNS or name == "predicted" else float(cell)
            except ValueError:
                raise OmniTraxError(f"Tracks file '{path}' line {number}: {name} '{cell.strip()}' is not a "
                                    f"{'whole ' if name in _INT_COLUMNS else ''}number.") from None
            if name == "predicted" and value not in (0, 1):
                raise OmniTraxError(f"Tracks file '{path}' line {number}: predicted must be 0 or 1, "
                                    f"got '{cell.strip()}'.")
            if name not in _INT_COLUMNS and name != "predicted" and not np.isfinite(value):
                raise OmniTraxError(f"Tracks file '{path}' line {number}: {name} '{cell.strip()}' is not finite.")
            columns[name].append(value)
    return columns


CLASSES_HEADER = "id,name"


def write_classes(path, class_names) -> Path:
    """`id,name` rows for the model's classes (names quoted as CSV needs)."""
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CLASSES_HEADER.split(","))
    writer.writerows(enumerate(class_names))
    with writing(path) as path, open(path, "w", newline="", encoding="utf-8") as f:
        f.write(text.getvalue())
    return path


def read_classes(path) -> list[str]:
    """The class names of a `<stem>_classes.csv`, in id order (ids must be 0..N-1)."""
    import csv

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise OmniTraxError(f"Cannot read the class names file '{path}': {e.strerror}.") from None
    if not rows or ",".join(rows[0]) != CLASSES_HEADER:
        raise OmniTraxError(f"'{path.name}' is not a classes file: its first line must be '{CLASSES_HEADER}'.")
    try:
        ids = [int(r[0]) for r in rows[1:]]
    except (ValueError, IndexError):
        raise OmniTraxError(f"'{path.name}' has a row without a whole-number id.") from None
    if ids != list(range(len(ids))):
        raise OmniTraxError(f"'{path.name}' must list the ids 0, 1, 2 ... in order.")
    return [r[1] if len(r) > 1 else "" for r in rows[1:]]


def class_label(class_id: int, class_names=None) -> str:
    """A class as exports show it: its name when names are known and it has one, else its id."""
    if class_names and 0 <= class_id < len(class_names):
        return str(class_names[class_id])
    return str(class_id)


def write_legacy(folder, tracks: Tracks, frame_height, names=None, scene_frame=None,
                 class_names=None) -> list[Path]:
    """Write one upstream-OmniTrax CSV per track into `folder`; returns the paths written.

    names:       dict track id -> name (file `<name>.csv`); default `track_<id>`.
    scene_frame: callable mapping an array of 0-based video frames to Blender frame numbers;
                 default video frame + 1.
    frame_height: image height in pixels, for the bottom-left origin (y_out = frame_height - y).
    class_names: the model's class names; the class column then holds the name (upstream's label).
    Only detected rows (predicted == False) are written.
    """
    if frame_height is None or not np.isfinite(frame_height) or frame_height <= 0:
        raise OmniTraxError(f"The legacy export needs a positive frame height in pixels, got {frame_height}.")
    folder = ensure_folder(folder, what="legacy folder", instead="folder")
    names = dict(names or {})
    detected = tracks.select(~tracks.predicted)
    written, used = [], set()
    for tid in tracks.ids():
        rows = detected.for_track(tid)
        if not len(rows):
            continue
        name = safe_file_name(name_of(names, tid))
        if name.lower() in used:
            raise OmniTraxError(f"Two tracks would both be written to '{name}.csv'; give them distinct names.")
        used.add(name.lower())
        frames = rows.frame + 1 if scene_frame is None else np.asarray(scene_frame(rows.frame))
        frames = np.rint(np.asarray(frames, np.float64)).astype(np.int64)
        lines = [LEGACY_HEADER] + [
            f"{f};{x};{y};{c}" for f, x, y, c in
            zip(frames.tolist(), _fmt_px(rows.x), _fmt_px(float(frame_height) - rows.y),
                [class_label(c, class_names) for c in rows.cls.tolist()])]
        path = folder / f"{name}.csv"
        with writing(path) as path, open(path, "w", newline="\n", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        written.append(path)
    return written
