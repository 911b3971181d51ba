"""The two conversions between Blender's clip world and the core's: frames and pixel coordinates.

Core: 0-based video frame indices; pixels with the origin at the top-left and pixel centres at
integer coordinates (OpenCV). Blender: markers live at *clip* frame numbers (1 = first clip frame,
shown at scene frame `clip.frame_start`); the image shown at scene frame f is video frame
f - frame_start + frame_offset (Blender's movieclip_load_movie_file). Marker `co` is normalised,
origin bottom-left, and pixel i spans [i, i+1] / size, so its centre is (i + 0.5) / size.
Every operator goes through these functions; nothing else converts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClipFrames:
    """Frame numbering of one movie clip."""

    frame_start: int = 1  # scene frame at which the clip's first frame is shown
    frame_offset: int = 0  # video frames skipped at the start of the file

    @classmethod
    def of(cls, clip) -> "ClipFrames":
        return cls(int(clip.frame_start), int(clip.frame_offset))

    def video_from_scene(self, scene_frame):
        return np.asarray(scene_frame) - self.frame_start + self.frame_offset

    def scene_from_video(self, video_index):
        return np.asarray(video_index) + self.frame_start - self.frame_offset

    def marker_from_video(self, video_index):
        """Clip frame number (what MovieTrackingMarker.frame holds) showing this video frame."""
        return np.asarray(video_index) - self.frame_offset + 1

    def video_from_marker(self, marker_frame):
        return np.asarray(marker_frame) - 1 + self.frame_offset

    def marker_from_scene(self, scene_frame):
        return np.asarray(scene_frame) - self.frame_start + 1


def clip_size(clip) -> tuple[int, int]:
    """The clip's true width and height in pixels.

    MovieClip.size is only the size of the last frame Blender decoded, and a .blend opened in a fresh
    session may report a placeholder (256 x 256) until the clip is drawn; so movie files are asked
    directly (OpenCV, cheap: no frame is decoded).
    """
    if clip.source == "MOVIE":
        import bpy
        import cv2

        capture = cv2.VideoCapture(bpy.path.abspath(clip.filepath, library=clip.library))
        try:
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            capture.release()
        if width > 0 and height > 0:
            return width, height
    return int(clip.size[0]), int(clip.size[1])


def pixels_to_marker(xy, width: int, height: int) -> np.ndarray:
    """(N, 2) top-left pixel coordinates -> (N, 2) normalised bottom-left marker coordinates."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return np.column_stack([(xy[:, 0] + 0.5) / width, 1.0 - (xy[:, 1] + 0.5) / height])


def marker_to_pixels(co, width: int, height: int) -> np.ndarray:
    """Inverse of pixels_to_marker."""
    co = np.asarray(co, dtype=np.float64).reshape(-1, 2)
    return np.column_stack([co[:, 0] * width - 0.5, (1.0 - co[:, 1]) * height - 0.5])


def box_size_to_marker(wh, width: int, height: int) -> np.ndarray:
    """(N, 2) box sizes in pixels -> normalised sizes (no flip: sizes have no origin)."""
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    return wh / np.array([width, height], dtype=np.float64)
