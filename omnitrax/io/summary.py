"""Per-track movement summaries (distance, speed, in px and, with a scale, in real units; class) for exported
tracks."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..files import writing
from ..tracking.tracks import name_of
from .tracks_csv import class_label

SUMMARY_HEADER = ("track", "name", "class", "first_frame", "last_frame", "frames", "detected_frames", "distance_px",
                  "mean_speed_px_per_frame", "max_speed_px_per_frame", "mean_speed_px_per_s")


def unit_columns(unit: str) -> tuple[str, ...]:
    """The columns a scale adds: distance and speeds in real units (speeds per second)."""
    return (f"distance_{unit}", f"mean_speed_{unit}_per_s", f"max_speed_{unit}_per_s")


def track_class(cls: np.ndarray, class_names=None) -> str:
    """The most frequent class of a track's rows (ties: the lowest id), as its name when names are known."""
    if not len(cls):
        return ""
    values, counts = np.unique(np.asarray(cls, np.int64), return_counts=True)
    return class_label(int(values[np.argmax(counts)]), class_names)


def track_summaries(tracks, names: dict | None = None, fps: float = 0.0, scale: float = 0.0, unit: str = "mm",
                    class_names=None) -> list[dict]:
    """One row per track: path length over consecutive frames, mean/max speed in px/frame (and px/s), the
    most frequent class; with `scale` (px per unit) also distance in units and speeds in units/s (needs fps)."""
    rows = []
    for tid in tracks.ids():
        t = tracks.for_track(tid)
        steps = np.diff(t.frame)
        dist = np.hypot(np.diff(t.x), np.diff(t.y))
        speed = dist / np.maximum(steps, 1)
        frames_spanned = int(t.frame[-1] - t.frame[0]) if len(t) else 0
        mean_speed = float(dist.sum() / frames_spanned) if frames_spanned else 0.0
        max_speed = float(speed.max()) if len(speed) else 0.0
        row = {
            "track": int(tid), "name": name_of(names, tid), "class": track_class(t.cls, class_names),
            "first_frame": int(t.frame[0]), "last_frame": int(t.frame[-1]), "frames": len(t),
            "detected_frames": int((~np.asarray(t.predicted, bool)).sum()),
            "distance_px": round(float(dist.sum()), 3), "mean_speed_px_per_frame": round(mean_speed, 4),
            "max_speed_px_per_frame": round(max_speed, 4),
            "mean_speed_px_per_s": round(mean_speed * fps, 4) if fps else "",
        }
        if scale:
            distance, mean_col, max_col = unit_columns(unit)
            row[distance] = round(float(dist.sum()) / scale, 4)
            row[mean_col] = round(mean_speed * fps / scale, 4) if fps else ""
            row[max_col] = round(max_speed * fps / scale, 4) if fps else ""
        rows.append(row)
    return rows


def write_summaries(path, rows) -> Path:
    """The summary CSV: SUMMARY_HEADER, then the unit columns when the rows have them."""
    extra = [k for k in (rows[0] if rows else {}) if k not in SUMMARY_HEADER]
    with writing(path) as path, open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_HEADER + tuple(extra))
        writer.writeheader()
        writer.writerows(rows)
    return path
