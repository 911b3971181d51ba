"""One tracking run inside Blender: settings from the scene, seeds from markers, results to markers.

The run touches only the tracks it writes. Before it starts it snapshots them, so a failure restores
them exactly and a stop keeps what was tracked so far, consistently: markers up to the seed frame are
the user's, markers after it are the run's.
"""
from __future__ import annotations

import time

import bpy
import numpy as np

from ..errors import OmniTraxError
from ..video import UnreadableFrame
from . import markers
from .properties import settings_from_scene
from .context import frame_range, machine_settings
from .coords import ClipFrames, clip_size, clip_video

#: the markers tracked so far are rewritten at most this often, and never taking over ~20% of the time
LIVE_WRITE_INTERVAL = 1.0
LIVE_WRITE_COST_FACTOR = 5  # ... and at most every 5x the time the last rewrite took


class BlenderTrackingJob:
    """Track `clip` from the scene's settings; restart=False continues from the current frame."""

    def __init__(self, context, clip, restart: bool):
        from ..tracking.pipeline import Seeds, TrackingRun
        from .masks import region_mask

        scene = context.scene
        props = scene.omnitrax
        self.context = context
        self.clip = clip
        self.frames = ClipFrames.of(clip)
        width, height = clip_size(clip)
        if width == 0 or height == 0 or clip.frame_duration == 0:
            raise OmniTraxError(f"Blender cannot read the clip '{clip.filepath}': check that the file exists "
                                f"and is a video or image sequence.")
        settings = settings_from_scene(props, machine_settings(context))
        start, stop = frame_range(scene, props, clip, self.frames)

        seeds = None
        self.names = {}  # seeded track id -> the user's track name
        existing, id_to_name = markers.read_tracks(clip, self.frames)
        owned = markers.owned_names(clip)
        touched = set(owned)
        if not restart:
            current = int(self.frames.video_from_scene(scene.frame_current))
            if not start <= current < stop:
                raise OmniTraxError(f"The current frame {scene.frame_current} is outside the frame range to track "
                                    f"(scene frames {int(self.frames.scene_from_video(start))}-"
                                    f"{int(self.frames.scene_from_video(stop - 1))}): go to a frame inside it.")
            here = existing.select((existing.frame == current) & ~existing.predicted)
            if len(here):
                ids = here.track
                before = existing.select((existing.frame == current - 1) & ~existing.predicted)
                velocities = np.zeros((len(ids), 2))
                for i, tid in enumerate(ids):
                    prev = before.select(before.track == tid)
                    if len(prev):
                        velocities[i] = [here.x[i] - prev.x[0], here.y[i] - prev.y[0]]
                boxes = np.column_stack([here.x - here.width / 2, here.y - here.height / 2, here.width,
                                         here.height])
                seeds = Seeds(frame=current, ids=ids, xy=np.column_stack([here.x, here.y]),
                              velocities=velocities, boxes=boxes)
                self.names = {int(t): id_to_name[int(t)] for t in ids}
                touched |= set(self.names.values())
                if current + 1 >= stop:
                    raise OmniTraxError(f"Frame {scene.frame_current} is the last frame of the range: there is "
                                        f"nothing after it to track. Extend the frame range or go to an earlier frame.")
            start = current + 1 if seeds is not None else current
            self.keep_before = int(self.frames.marker_from_video(start))
            remaining = {t.name for t in clip.tracking.tracks}  # every track keeps its markers before `start`
        else:
            self.keep_before = None  # restart replaces all of OmniTrax's earlier tracks
            remaining = {t.name for t in clip.tracking.tracks} - owned  # the user's own tracks stay
        # names (and so ids) new tracks must not take: every track that stays, and every seeded id
        self._reserved_names = remaining
        self._reserved_ids = set(self.names) | {i for i, n in id_to_name.items() if n in remaining}
        self._written = set()  # names of the new tracks written so far (live refreshes)
        self._names_before = {t.name for t in clip.tracking.tracks}
        self.snapshot = markers.snapshot(clip, touched)
        self.run = TrackingRun(settings, video_path=clip_video(clip), start=start, stop=stop,
                               seeds=seeds, mask=region_mask(props.mask, width, height))
        self.settings = settings
        self.started = time.perf_counter()
        self.last_write = self.started
        self.last_write_cost = 0.0
        self.progress = None
        self.detections_per_frame = []  # for the shortfall warning at the end (shortfall())
        self._steps = self.run.steps()
        self._stop = False
        self.problem = ""  # why the run ended before its range did (the JobOperator reports it as an error)

    # --- the job interface of blender.modal.JobOperator ---------------------------------------------
    @property
    def description(self) -> str:
        return self.run.description

    @property
    def total(self) -> int:
        return self.run.total

    @property
    def done(self) -> int:
        return self.progress.done if self.progress is not None else 0

    def stop(self) -> None:
        self._stop = True

    def refresh(self) -> None:
        self.refresh_live()

    def finish(self, stopped: bool) -> str:
        n = self.write_results()
        done = f"{self.done}/{self.total} frames" if self.progress is not None else "no frames"
        if self.problem:
            return f"OmniTrax stopped: {self.problem} Kept {n} tracks of the {done} before it."
        return f"OmniTrax {'stopped' if stopped else 'finished'}: {n} tracks, {done}"

    def undo(self) -> None:
        self.restore_snapshot()

    def shortfall(self) -> str | None:
        """A warning line when the detector kept fewer than the Number of animals in many frames (with what
        to try), else None (omnitrax.detection.shortfall)."""
        from ..detection.shortfall import shortfall_message

        text = shortfall_message(self.detections_per_frame, self.settings, self.run.detector, style="blender")
        return f"OmniTrax: {text}" if text else None

    # --- running ------------------------------------------------------------------------------
    def step(self, budget_s: float = 0.1) -> bool:
        """Track frames for about budget_s seconds; False when the range is done."""
        if self._stop:
            return False
        until = time.perf_counter() + budget_s
        while True:  # at least one frame per call
            try:
                self.progress = next(self._steps)
                self.detections_per_frame.append(self.progress.detections)
            except StopIteration:
                return False
            except UnreadableFrame as exc:  # a frame file of a sequence: keep what came before, as on Esc
                self.problem = str(exc)
                return False
            if time.perf_counter() >= until:
                return True

    def status_text(self) -> str:
        p = self.progress
        if p is None:
            return "OmniTrax: starting…"
        return (f"OmniTrax: frame {p.done}/{p.total} · {p.fps:.0f} fps · {p.tracks} tracks · Esc to stop")

    # --- results ------------------------------------------------------------------------------
    def _named(self, tracks):
        """Tracks with seeded ids kept and new ids given the smallest free names, in the tracker's order.

        The tracker numbers its tracks deterministically, so the same input gives the same names: a
        rerun of Track From Start replaces track_0.. by track_0.., and no new track ever takes the
        name (or id) of a track that stays, whatever the user named their own tracks.
        """
        new_ids = sorted(set(tracks.ids()) - set(self.names))
        remap, names, candidate = {}, dict(self.names), 0
        for tid in new_ids:
            while candidate in self._reserved_ids or markers.track_name(candidate) in self._reserved_names:
                candidate += 1
            remap[tid] = candidate
            names[candidate] = markers.track_name(candidate)
            candidate += 1
        return tracks.with_ids(remap), names

    def refresh_live(self) -> None:
        """Show the tracks so far as markers, if enough time has passed since the last refresh."""
        now = time.perf_counter()
        if now - self.last_write < max(LIVE_WRITE_INTERVAL, LIVE_WRITE_COST_FACTOR * self.last_write_cost):
            return
        self.write_results()
        self.last_write = time.perf_counter()
        self.last_write_cost = self.last_write - now

    def write_results(self) -> int:
        """Replace the touched tracks by snapshot-before-the-seed-frame + this run's tracks."""
        tracks, names = self._named(self.run.result())
        current = {t.name for t in self.clip.tracking.tracks}
        markers.delete_tracks(self.context, self.clip, (set(self.snapshot) | self._written) & current)
        markers.restore(self.clip, self.snapshot,
                        keep_before=self.keep_before if self.keep_before is not None else -10**9)
        if len(tracks):
            written = markers.write_tracks(self.clip, tracks, self.frames, names=names,
                                           constant_size=self.settings.constant_box,
                                           search_px=self.settings.max_distance)
            self._written = set(written.values()) - set(self.names.values())
            markers.set_class_names(self.clip, self.run.class_names)
        else:
            self._written = set()
        return len(tracks.ids())

    def restore_snapshot(self) -> None:
        """Undo everything this run wrote (used when it fails)."""
        current = {t.name for t in self.clip.tracking.tracks}
        created = current - set(self.snapshot) - self._names_before
        markers.delete_tracks(self.context, self.clip, (set(self.snapshot) | created) & current)
        markers.restore(self.clip, self.snapshot)

    def close(self):
        self.run.close()
