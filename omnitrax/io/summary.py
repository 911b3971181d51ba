"""Per-track movement summaries (distance, speed) for exported tracks."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..tracking.tracks import name_of
from .files import writing

SUMMARY_HEADER = ("track", "name", "first_frame", "last_frame", "frames", "detected_frames", "distance_px",
                  "mean_speed_px_per_frame", "max_speed_px_per_frame", "mean_speed_px_per_s")


def track_summaries(tracks, names: dict | None = None, fps: float = 0.0) -> list[dict]:
    """One row per track: path length over consecutive frames, mean/max speed in px/frame (and px/s)."""
    rows = []
    for tid in tracks.ids():
        t = tracks.for_track(tid)
        steps = np.diff(t.frame)
        dist = np.hypot(np.diff(t.x), np.diff(t.y))
        speed = dist / np.maximum(steps, 1)
        frames_spanned = int(t.frame[-1] - t.frame[0]) if len(t) else 0
        mean_speed = float(dist.sum() / frames_spanned) if frames_spanned else 0.0
        rows.append({
            "track": int(tid), "name": name_of(names, tid),
            "first_frame": int(t.frame[0]), "last_frame": int(t.frame[-1]), "frames": len(t),
            "detected_frames": int((~np.asarray(t.predicted, bool)).sum()),
            "distance_px": round(float(dist.sum()), 3), "mean_speed_px_per_frame": round(mean_speed, 4),
            "max_speed_px_per_frame": round(float(speed.max()) if len(speed) else 0.0, 4),
            "mean_speed_px_per_s": round(mean_speed * fps, 4) if fps else "",
        })
    return rows


def write_summaries(path, rows) -> Path:
    with writing(path) as path, open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path
