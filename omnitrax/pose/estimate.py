"""Pose estimation over a video: every tracked animal's ROI, a batch of frames per network call.

Each video frame is decoded once, in order (VideoSource.frames); no per-track seeking. Keypoints come
back in full-frame pixels (origin top-left, integer = pixel centre) with 0-based frame indices.
"""
from __future__ import annotations

import numpy as np

from ..errors import OmniTraxError
from ..settings import BY_NAME as _SETTINGS
from ..tracking.tracks import Tracks
from ..video import VideoSource
from . import crops
from .poses import Poses

DEFAULT_ROI_SIZE = _SETTINGS["pose_roi_size"].default  # px, one default for every entry point
DEFAULT_PADDING = _SETTINGS["pose_padding"].default  # px
MAX_CROPS_PER_CALL = 256  # a batch is run early when it holds this many crops
SEEK_GAP = 100  # frames: a longer jump between wanted frames reopens the reader instead of decoding through


def _frame_runs(wanted: np.ndarray) -> list[tuple[int, int]]:
    """Sorted frame indices -> [start, stop) ranges read sequentially (split at gaps > SEEK_GAP)."""
    if not len(wanted):
        return []
    cuts = np.nonzero(np.diff(wanted) > SEEK_GAP)[0]
    starts = np.concatenate([[wanted[0]], wanted[cuts + 1]])
    stops = np.concatenate([wanted[cuts], [wanted[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def _wanted_frames(frames, tracks: Tracks | None, frame_count: int, full_frame: bool, name: str) -> np.ndarray:
    if frames is None:
        if full_frame:
            return np.arange(frame_count)
        wanted = np.unique(tracks.frame)
    else:
        try:
            wanted = np.unique(np.asarray(list(frames), np.int64))
        except (TypeError, ValueError):
            raise OmniTraxError(f"Frames must be whole 0-based frame numbers, got {frames!r}.") from None
        if len(wanted) and (wanted[0] < 0 or wanted[-1] >= frame_count):
            raise OmniTraxError(f"Frames {wanted[0]}..{wanted[-1]} are outside {name} (frames 0.."
                                f"{frame_count - 1}).")
        if not full_frame:
            wanted = wanted[np.isin(wanted, tracks.frame)]
    return wanted


def estimate_poses(video_path, tracks: Tracks | None, model, frames=None, full_frame: bool = False,
                   roi_mode: str = "constant", roi_size: int = DEFAULT_ROI_SIZE, padding: float = DEFAULT_PADDING,
                   batch_frames: int = 4, on_progress=None, should_stop=None) -> Poses:
    """Keypoints of every tracked animal in a video.

    video_path: the video file (or an open VideoSource, left open).
    tracks:     positions per track and frame (pixels, 0-based frames); every row is used, predicted
                (gap-filled) rows too. Ignored with full_frame.
    model:      a loaded PoseModel (or anything with predict(images) -> (K, J, 3), joint_names,
                skeleton and input_size).
    frames:     0-based frames to process (default: all frames with tracks; with full_frame, all).
    full_frame: one pose per frame on the whole frame (a single animal, track id 0).
    roi_mode, roi_size, padding: the ROI per animal, see crops.roi_boxes (pixels). Crops are
                roi_size pixels square (the model's input_size when it has one): "constant" ROIs are
                cut at 1:1, "box" ROIs are resized to it.
    batch_frames: frames whose crops go into one predict call.
    on_progress(done, total): called once per processed frame. should_stop(): polled per frame; when
                it returns True, the frames read so far are finished and their poses returned.
    """
    if int(batch_frames) != batch_frames or batch_frames < 1:
        raise OmniTraxError(f"batch_frames must be a whole number >= 1, got {batch_frames!r}.")
    if roi_mode not in crops.ROI_MODES:
        raise OmniTraxError(f"Unknown ROI mode '{roi_mode}'; choose one of {', '.join(crops.ROI_MODES)}.")
    if not full_frame and (tracks is None or not len(tracks)):
        raise OmniTraxError("There are no tracks to estimate poses for; track the video first, or use full-frame "
                            "pose for a single animal.")
    input_size = getattr(model, "input_size", None)
    if full_frame and input_size is not None:
        raise OmniTraxError(f"This model needs {input_size} px square crops; full-frame pose works only with "
                            f"models that take any image size.")
    out_size = int(input_size or roi_size) if not full_frame else 0
    own_video = not isinstance(video_path, VideoSource)
    video = VideoSource(video_path, min_frames=1) if own_video else video_path
    try:
        if not full_frame and (tracks.frame.min() < 0 or tracks.frame.max() >= video.frame_count):
            raise OmniTraxError(f"The tracks reach frame {int(tracks.frame.max())} but {video.path.name} has frames "
                                f"0..{video.frame_count - 1}; are these the tracks of this video?")
        wanted = _wanted_frames(frames, tracks, video.frame_count, full_frame, video.path.name)
        runner = _Runner(model, tracks, full_frame, roi_mode, roi_size, padding, out_size)
        total, done = len(wanted), 0
        pending, stopped = [], False  # frames read but not yet run
        keep = set(wanted.tolist())
        for start, stop in _frame_runs(wanted):
            for index, frame in video.frames(start, stop):
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                if index not in keep:  # decoded on the way to the next wanted frame
                    continue
                runner.add(index, frame)
                pending.append(index)
                if len(pending) >= batch_frames or runner.n_crops >= MAX_CROPS_PER_CALL:
                    runner.run()
                    done = _report(pending, done, total, on_progress)
                    pending = []
            if stopped:
                break
        runner.run()
        _report(pending, done, total, on_progress)
        return runner.result()
    finally:
        if own_video:
            video.close()


def _report(indices, done, total, on_progress) -> int:
    for _ in indices:
        done += 1
        if on_progress is not None:
            on_progress(done, total)
    return done


class _Runner:
    """Collects crops of several frames, runs them in one predict call and keeps the poses."""

    def __init__(self, model, tracks, full_frame, roi_mode, roi_size, padding, out_size):
        self.model, self.full_frame, self.out_size = model, full_frame, out_size
        self.parts: list[Poses] = []
        self._crops, self._rois, self._ids, self._frames = [], [], [], []
        if not full_frame:
            # rows grouped by frame, ROIs for all rows at once
            self.order = np.argsort(tracks.frame, kind="stable")
            self.sorted_frames = tracks.frame[self.order]
            self.ids = tracks.track
            xy = np.column_stack([tracks.x, tracks.y])
            self.rois = crops.roi_boxes(xy, tracks.boxes(), mode=roi_mode, size=roi_size, padding=padding)

    @property
    def n_crops(self) -> int:
        return sum(len(c) for c in self._crops)

    def add(self, index: int, frame: np.ndarray):
        """Queue the crops of one frame."""
        if self.full_frame:
            self._crops.append(frame[None])
            self._rois.append(None)
            self._ids.append(np.zeros(1, np.int64))
        else:
            lo = np.searchsorted(self.sorted_frames, index, "left")
            hi = np.searchsorted(self.sorted_frames, index, "right")
            rows = self.order[lo:hi]
            self._crops.append(crops.extract(frame, self.rois[rows], self.out_size))
            self._rois.append(self.rois[rows])
            self._ids.append(self.ids[rows])
        self._frames.append(np.full(len(self._ids[-1]), index, np.int64))

    def run(self):
        if not self._crops:
            return
        keypoints = np.asarray(self.model.predict(np.concatenate(self._crops)), np.float64)
        if not self.full_frame:  # the full frame is its own crop: keypoints are frame pixels already
            keypoints = crops.to_frame(keypoints, np.concatenate(self._rois), self.out_size)
        self.parts.append(Poses.from_keypoints(np.concatenate(self._ids), np.concatenate(self._frames), keypoints,
                                               self.model.joint_names, self.model.skeleton))
        self._crops, self._rois, self._ids, self._frames = [], [], [], []

    def result(self) -> Poses:
        if not self.parts:
            return Poses.empty(self.model.joint_names, self.model.skeleton)
        return Poses.concat(self.parts)
