"""A preview video: the clip with every track's box, id and recent path, and skeletons when given.

For checking results outside Blender (and sharing them). Pixels with the origin at the top-left,
0-based video frames, as everywhere in the core. Written with OpenCV's mp4v codec (plays in VLC and
Blender; browsers may need a re-encode).
"""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError
from .files import output_file

TRAIL_FRAMES = 25


def track_colour_bgr(track_id: int) -> tuple[int, int, int]:
    """A stable, well-separated colour per track id (golden-angle hues)."""
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * 0.618033988749895) % 1.0, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def write_preview(video, out_path, tracks=None, poses=None, names=None, start=0, stop=None,
                  pcutoff: float = 0.5, on_progress=None) -> Path:
    """Draw tracks (boxes, ids, trails; predicted positions dashed-thin) and poses onto the video.

    names: track id -> label (default the id). Keypoints below pcutoff are drawn hollow.
    """
    import cv2

    from ..video import VideoSource

    if tracks is None and poses is None:
        raise OmniTraxError("Nothing to draw: give tracks and/or poses for the preview video.")
    out_path = output_file(out_path)
    names = dict(names or {})
    with VideoSource(video, min_frames=1) as source:
        stop = source.frame_count if stop is None else min(stop, source.frame_count)
        writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), source.fps,
                                 (source.width, source.height))
        if not writer.isOpened():
            raise OmniTraxError(f"Cannot write the preview video '{out_path}'; check the folder is writable.")
        try:
            for index, frame in source.frames(start, stop):
                if tracks is not None:
                    _draw_tracks(frame, tracks, index, names)
                if poses is not None:
                    _draw_poses(frame, poses, index, pcutoff)
                writer.write(frame)
                if on_progress is not None:
                    on_progress(index - start + 1, stop - start)
        finally:
            writer.release()
    return out_path


def _draw_tracks(frame, tracks, index, names) -> None:
    import cv2

    recent = tracks.select((tracks.frame <= index) & (tracks.frame > index - TRAIL_FRAMES))
    for tid in recent.ids():
        rows = recent.for_track(tid)
        colour = track_colour_bgr(tid)
        path = np.round(np.column_stack([rows.x, rows.y])).astype(np.int32)
        if len(path) > 1:
            cv2.polylines(frame, [path], False, colour, 1, cv2.LINE_AA)
        if rows.frame[-1] != index:
            continue
        x, y, w, h = rows.x[-1], rows.y[-1], rows.width[-1], rows.height[-1]
        if w > 0 and h > 0:
            thickness = 1 if rows.predicted[-1] else 2
            cv2.rectangle(frame, (int(round(x - w / 2)), int(round(y - h / 2))),
                          (int(round(x + w / 2)), int(round(y + h / 2))), colour, thickness, cv2.LINE_AA)
        label = str(names.get(int(tid), int(tid)))
        cv2.putText(frame, label, (int(round(x + w / 2)) + 2, int(round(y - h / 2)) - 2),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)


def _draw_poses(frame, poses, index, pcutoff) -> None:
    import cv2

    here = poses.at_frame(index)
    joints = list(poses.joint_names)
    for tid in here.ids():
        kp = here.keypoints(tid, index)  # (J, 3)
        colour = track_colour_bgr(tid)
        for a, b in poses.skeleton:
            if a in joints and b in joints:
                pa, pb = kp[joints.index(a)], kp[joints.index(b)]
                if np.isfinite(pa[:2]).all() and np.isfinite(pb[:2]).all():
                    cv2.line(frame, tuple(np.round(pa[:2]).astype(int)), tuple(np.round(pb[:2]).astype(int)),
                             colour, 1, cv2.LINE_AA)
        for x, y, likelihood in kp:
            if np.isfinite(x) and np.isfinite(y):
                cv2.circle(frame, (int(round(x)), int(round(y))), 2, colour,
                           -1 if likelihood >= pcutoff else 1, cv2.LINE_AA)
