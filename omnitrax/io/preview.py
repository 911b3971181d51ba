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
from ..files import ensure_folder, output_file

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
    job = PreviewVideos(video, out_path, tracks=tracks, poses=poses, names=names, start=start, stop=stop,
                        pcutoff=pcutoff)
    job.run(on_progress)
    return job.written[0]


class PreviewVideos:
    """The preview video (`out_path`, whole frames) and/or one cropped video per track (`per_track`, a
    folder: `<name>.mp4`, `crop` px squares following the animal, for the frames it is tracked), written
    frame by frame: steps() yields (done, total) after each frame, so callers show progress and stop
    (close() then finishes the files written so far: valid videos up to that frame). run() does it all.
    """

    def __init__(self, video, out_path=None, tracks=None, poses=None, names=None, start=0, stop=None,
                 pcutoff: float = 0.5, per_track=None, crop: int = 128):
        from ..video import VideoSource

        if tracks is None and poses is None:
            raise OmniTraxError("Nothing to draw: give tracks and/or poses for the preview video.")
        if out_path is None and per_track is None:
            raise OmniTraxError("Nothing to write: give the preview video's path and/or a folder for per-track videos.")
        if per_track is not None and tracks is None:
            raise OmniTraxError("Videos per animal follow the tracks: give the tracks too.")
        self.tracks, self.poses, self.names, self.pcutoff = tracks, poses, dict(names or {}), pcutoff
        self.crop = int(crop)
        self.out_path = output_file(out_path) if out_path is not None else None
        self.per_track = ensure_folder(per_track, what="folder for the videos per animal") if per_track else None
        self.source = VideoSource(video, min_frames=1)
        self.start = int(start)
        self.stop = self.source.frame_count if stop is None else min(int(stop), self.source.frame_count)
        self.written: list[Path] = []
        self._writers: dict = {}  # track id (or None: the whole frame) -> cv2.VideoWriter

    @property
    def total(self) -> int:
        return self.stop - self.start

    def _writer(self, key, path: Path, size):
        import cv2

        writer = self._writers.get(key)
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), self.source.fps, size)
            if not writer.isOpened():
                raise OmniTraxError(f"Cannot write the video '{path}'; check the folder is writable.")
            self._writers[key] = writer
            self.written.append(path)
        return writer

    def steps(self):
        from ..files import safe_file_name
        from ..pose.crops import extract, roi_boxes
        from ..tracking.tracks import name_of

        size = (self.source.width, self.source.height)
        try:
            for index, frame in self.source.frames(self.start, self.stop):
                if self.tracks is not None:
                    _draw_tracks(frame, self.tracks, index, self.names)
                if self.poses is not None:
                    _draw_poses(frame, self.poses, index, self.pcutoff)
                if self.out_path is not None:
                    self._writer(None, self.out_path, size).write(frame)
                if self.per_track is not None:
                    here = self.tracks.select(self.tracks.frame == index)
                    rois = roi_boxes(np.column_stack([here.x, here.y]), size=self.crop)
                    for tid, crop in zip(here.track.tolist(), extract(frame, rois, self.crop)):
                        path = self.per_track / f"{safe_file_name(name_of(self.names, tid))}.mp4"
                        self._writer(int(tid), path, (self.crop, self.crop)).write(crop)
                yield index - self.start + 1, self.total
        finally:
            self.close()

    def run(self, on_progress=None) -> list[Path]:
        for done, total in self.steps():
            if on_progress is not None:
                on_progress(done, total)
        return self.written

    def close(self) -> None:
        for writer in self._writers.values():
            writer.release()
        self._writers.clear()
        self.source.close()


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
