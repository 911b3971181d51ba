"""The conversions between Blender's clip world and the core's: the clip's video, frames and pixel
coordinates.

Core: a video is what omnitrax.video.VideoSource opens (a movie file, or an image sequence named by its
first frame file); 0-based video frame indices; pixels with the origin at the top-left and pixel centres
at integer coordinates (OpenCV). Blender: markers live at *clip* frame numbers (1 = first clip frame,
shown at scene frame `clip.frame_start`); the image shown at scene frame f is video frame
f - frame_start + frame_offset (Blender's movieclip_load_movie_file; for an image sequence the file
numbered n0 + that, n0 being the number in clip.filepath: get_sequence_filepath, so video frame 0 is the
file the clip was opened with, as in the core). Marker `co` is normalised, origin bottom-left, and pixel i
spans [i, i+1] / size, so its centre is (i + 0.5) / size.
Every operator goes through these functions; nothing else converts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError


def clip_video(clip) -> str:
    """The path the core opens for this clip (VideoSource, TrackingRun, poses, previews, exports): the movie
    file, or the image sequence's first frame file (the core reads the series from that number on, as
    Blender shows it). A missing file is one clear OmniTraxError."""
    import bpy

    path = Path(bpy.path.abspath(clip.filepath, library=clip.library))
    if clip.source == "SEQUENCE":
        if not path.is_file():
            raise OmniTraxError(f"The first frame of clip '{clip.name}' is missing ({path}); relink the clip.")
    elif not path.is_file():
        raise OmniTraxError(f"The video of clip '{clip.name}' is missing ({path}); relink the clip.")
    return str(path)


def clip_stem(clip) -> str:
    """The stem of the clip's output files: the clip's name without its extension; for an image sequence
    whose clip still has the first frame's file name (Blender's default), the sequence's stem as the
    command line names it (omnitrax.video.source_stem: its folder's name, or its prefix)."""
    name = Path(clip.name).stem
    if clip.source == "SEQUENCE":
        import bpy

        first = Path(bpy.path.abspath(clip.filepath, library=clip.library))
        if clip.name == first.name or clip.name.rsplit(".", 1)[0] == first.name:  # "frame_0001.png(.001)"
            from ..video import source_stem

            return source_stem(first)
    return name


def clip_fps(clip, scene) -> float:
    """Frames per second of the clip: the movie's own, else (image sequences have none) the scene's."""
    if clip.fps > 0:
        return float(clip.fps)
    return float(scene.render.fps) / float(scene.render.fps_base or 1.0)


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
    directly (OpenCV, cheap: no frame is decoded), and image sequences by their first frame.
    """
    import bpy
    import cv2

    path = bpy.path.abspath(clip.filepath, library=clip.library)
    if clip.source == "MOVIE":
        capture = cv2.VideoCapture(path)
        try:
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            capture.release()
        if width > 0 and height > 0:
            return width, height
    elif clip.source == "SEQUENCE":  # the first frame's own size (every frame of a sequence has it)
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is not None and image.size:
            return int(image.shape[1]), int(image.shape[0])
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
