"""One pose-estimation run inside Blender: inputs read from the scene, the network run in a worker
thread (no bpy there), keypoints written as markers on the main thread at the end."""
from __future__ import annotations

import threading
import time

import bpy
import numpy as np

from ..errors import OmniTraxError
from . import markers
from .context import frame_range, selected_track_names
from .coords import ClipFrames, clip_video


class BlenderPoseJob:
    """Estimate poses for the clip's animal tracks (or the full frame) over the scene's frame range."""

    def __init__(self, context, clip, full_frame: bool):
        props = context.scene.omnitrax
        self.clip = clip
        self.frames = ClipFrames.of(clip)
        self.full_frame = full_frame
        self.pcutoff = props.pcutoff
        if props.pose_model_path:
            folder = bpy.path.abspath(props.pose_model_path)
        else:  # the bundled ant model, as the detector falls back to the bundled ant detector
            from .. import resources

            folder = str(resources.default_pose_model())
        self.model_folder = folder
        self.skeleton = bpy.path.abspath(props.pose_skeleton_path) if props.pose_skeleton_path else None
        self.video = clip_video(clip)  # the movie, or the image sequence from the clip's first frame
        start, stop = frame_range(context.scene, props, clip, self.frames)
        self.video_frames = np.arange(start, stop)
        self.roi = dict(roi_mode=props.pose_roi_mode.lower(), roi_size=props.pose_roi_size,
                        padding=props.pose_padding)
        if full_frame:
            self.tracks, self.names = None, {0: "frame"}
        else:
            chosen = selected_track_names(clip) if props.pose_selected_only else None
            if props.pose_selected_only and not chosen:
                raise OmniTraxError("No tracks are selected; select some or turn off 'Selected tracks only'.")
            tracks, self.names = markers.read_tracks(clip, self.frames, chosen)
            tracks = tracks.select((tracks.frame >= start) & (tracks.frame < stop))
            if not len(tracks):
                raise OmniTraxError("There are no animal tracks in the frame range; track the clip first, or use "
                                    "full-frame pose for a single animal.")
            self.tracks = tracks
            self.video_frames = np.unique(tracks.frame)
        self.total = len(self.video_frames)
        self.done = 0
        self.description = ""
        self.result = None
        self.error = None
        self._stop = False
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name="omnitrax-pose", daemon=True)

    # --- worker thread: core only, no bpy ------------------------------------------------------
    def _work(self):
        try:
            from ..pose.estimate import estimate_poses
            from ..pose.model import PoseModel

            model = PoseModel.load(self.model_folder, skeleton_config=self.skeleton)
            self.description = model.description
            try:
                self.result = estimate_poses(self.video, self.tracks, model, frames=self.video_frames,
                                             full_frame=self.full_frame, on_progress=self._progress,
                                             should_stop=lambda: self._stop, **self.roi)
            finally:
                model.close()
        except Exception as exc:  # handed to the main thread, which reports it
            self.error = exc

    def _progress(self, done, total):
        self.done = done

    # --- main thread: the job interface of blender.modal.JobOperator ----------------------------
    def start(self):
        self._thread.start()

    def step(self, budget_s: float = 0.1) -> bool:
        """The network runs in its own thread: start it, then report whether it still runs."""
        if self._thread.ident is None:
            self.start()
        if not self.running():
            return False
        self._thread.join(min(budget_s, 0.05))
        return self.running()

    def refresh(self) -> None:
        pass  # keypoints are written once, at the end

    def finish(self, stopped: bool) -> str:
        self._thread.join()
        n = self.write_results()
        return (f"OmniTrax pose {'stopped' if stopped else 'finished'}: {self.done}/{self.total} frames, "
                f"{n} keypoint tracks ({self.description})")

    def undo(self) -> None:
        pass  # nothing is written before finish(); write_poses replaces the keypoints in one go

    def close(self) -> None:
        self._stop = True

    def stop(self):
        self._stop = True

    @property
    def stopped(self) -> bool:
        """True once stop() was asked (Esc)."""
        return self._stop

    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self):
        self._thread.join()

    def status_text(self) -> str:
        fps = self.done / max(time.perf_counter() - self._started, 1e-9)
        return f"OmniTrax pose: frame {self.done}/{self.total} · {fps:.1f} fps · Esc to stop"

    def write_results(self) -> int:
        """Keypoint markers for what was estimated (all of it, or up to the stop)."""
        from .pose_markers import write_poses

        if self.error is not None:
            raise self.error
        if self.result is None or not len(self.result):
            return 0
        return write_poses(self.clip, self.result, self.frames, self.names, self.pcutoff)
