"""Export clips' tracks and keypoints, read from the markers as the user left them, into files and videos.

ExportJob is what Export Tracks / Export Poses run (modal: progress bar, Esc): for the active clip or every
clip of the .blend, into the export folder (or one sub-folder per clip), optionally only the frames of the
tracking range. Files come first (fast), then the videos frame by frame; Esc leaves the files complete
and the videos valid up to the frame reached. Each clip's folder also gets `<stem>_run.toml`: the
settings used (a settings file Load Settings reads) with the date and versions.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path

import bpy
import numpy as np

from ..errors import OmniTraxError
from ..files import ensure_folder, output_file
from . import markers
from .context import frame_range, machine_settings, selected_track_names
from .coords import ClipFrames, clip_fps, clip_size, clip_stem, clip_video


def export_folder(export_dir: str) -> Path:
    """The export folder as an absolute path ('//' = next to the saved .blend)."""
    if not export_dir:
        raise OmniTraxError("Choose an export folder in the OmniTrax Export panel.")
    if export_dir.startswith("//") and not bpy.data.filepath:
        raise OmniTraxError("The export folder is relative to the .blend file ('//'), which is not saved yet: "
                            "save the .blend or choose an absolute folder.")
    return Path(bpy.path.abspath(export_dir))


@dataclass
class ExportOptions:
    """What Export Tracks / Export Poses write (the operators' properties of the same names)."""

    selected_only: bool = False  # only the selected tracks (each clip's own selection)
    frame_range_only: bool = False  # only the frames of the tracking range (panel's or scene's)
    all_clips: bool = False  # every movie clip of the .blend, not only the active one
    subfolders: bool = False  # one sub-folder per clip (named like its files)
    legacy: bool = False  # tracks: upstream OmniTrax's per-track files
    preview: bool = False  # the whole-frame video with tracks (and skeletons) drawn
    per_track_videos: bool = False  # one cropped video per animal
    per_track: bool = False  # poses: one single-animal DeepLabCut CSV per track
    crop_pixels: bool = False  # poses: the per-track files in ROI pixels

    @classmethod
    def of(cls, operator) -> "ExportOptions":
        return cls(**{f.name: getattr(operator, f.name) for f in fields(cls) if hasattr(operator, f.name)})


def _clips(kind: str, all_clips: bool, active) -> list:
    """The clips to export: the active one, or every clip of the .blend that has tracks (keypoints)."""
    if not all_clips:
        return [active]
    from .pose_markers import POSE_OBJECT

    def has(clip):
        if kind == "tracks":
            return len(clip.tracking.tracks) > 0
        poses = clip.tracking.objects.get(POSE_OBJECT)
        return poses is not None and len(poses.tracks) > 0

    clips = [c for c in bpy.data.movieclips if has(c)]
    if not clips:
        raise OmniTraxError(f"No clip of this .blend has {'tracks' if kind == 'tracks' else 'keypoints'} to "
                            f"export; {'track' if kind == 'tracks' else 'estimate poses in'} one first.")
    return clips


def _range(context, clip, options) -> tuple[int, int] | None:
    """Video frames [start, stop) to export, None for all."""
    if not options.frame_range_only:
        return None
    return frame_range(context.scene, context.scene.omnitrax, clip, ClipFrames.of(clip))


def _in_range(table, video_range):
    if video_range is None:
        return table
    start, stop = video_range
    return table.select((table.frame >= start) & (table.frame < stop))


def _clip_tracks(clip, options, video_range, what: str = "tracks to export"):
    chosen = selected_track_names(clip) if options.selected_only else None
    if options.selected_only and not chosen:
        raise OmniTraxError(f"No tracks of clip '{clip.name}' are selected; select some or turn off "
                            f"'Selected tracks only'.")
    tracks, names = markers.read_tracks(clip, ClipFrames.of(clip), chosen)
    tracks = _in_range(tracks, video_range)
    if not len(tracks):
        where = " in the frame range" if video_range is not None else ""
        raise OmniTraxError(f"Clip '{clip.name}' has no {what}{where}; track it first.")
    return tracks, names


def _run_log(context, clip, folder: Path, stem: str, video_range) -> Path:
    from ..io.run_log import write_run_log
    from .properties import scene_settings

    tracking, pose = scene_settings(context.scene.omnitrax, machine_settings(context))
    frames = f"{video_range[0]}-{video_range[1] - 1}" if video_range else "all"
    return write_run_log(folder / f"{stem}_run.toml", tracking, pose, source=str(Path(clip_video(clip)).resolve()),
                         frames=frames,
                         host=f"Blender {bpy.app.version_string}")


def export_clip_tracks(context, clip, folder: Path, options: ExportOptions, video_range=None):
    """<stem>_tracks.csv, _classes.csv (class names known), _summary.csv (in units with a scale), the legacy
    files when asked; returns (files written, the videos still to write or None)."""
    from ..io.exports import ExportContext, write_track_files

    props = context.scene.omnitrax
    tracks, names = _clip_tracks(clip, options, video_range)
    stem = clip_stem(clip)
    video_job = _video_job(context, clip, folder, stem, "preview", tracks, None, names, options, video_range)
    frames = ClipFrames.of(clip)
    export = ExportContext(frame_height=clip_size(clip)[1], fps=clip_fps(clip, context.scene), scale=props.scale,
                           unit=props.unit.lower(), class_names=markers.class_names(clip), names=names,
                           scene_frame=frames.scene_from_video)
    written = write_track_files(folder, stem, tracks, ["csv", "summary"] + (["legacy"] if options.legacy else []),
                                export, what="export folder")
    return written, video_job


def export_clip_poses(context, clip, folder: Path, options: ExportOptions, video_range=None):
    """<stem>_poses.csv (and .h5 when PyTables is there), per-track files when asked; returns (files written,
    note, the videos still to write or None)."""
    try:
        import pandas  # noqa: F401  (the DeepLabCut files are written with pandas)
    except ImportError:
        raise OmniTraxError("Exporting poses needs pandas: install the pose-estimation packages in the OmniTrax "
                            "add-on preferences.") from None
    from ..pose.export import write_dlc_csv, write_dlc_h5, write_dlc_single
    from ..tracking.tracks import ids_for_names
    from .pose_markers import read_poses

    animal_ids = ids_for_names(t.name for t in clip.tracking.tracks)  # as read_tracks numbers them
    poses, names = read_poses(clip, ClipFrames.of(clip), animal_ids or None)
    if options.selected_only:
        chosen = set(selected_track_names(clip))
        if not chosen:
            raise OmniTraxError(f"No tracks of clip '{clip.name}' are selected; select some or turn off "
                                f"'Selected tracks only'.")
        poses = poses.select(np.isin(poses.track, [t for t, n in names.items() if n in chosen]))
    poses = _in_range(poses, video_range)
    if not len(poses):
        where = " in the frame range" if video_range is not None else ""
        raise OmniTraxError(f"Clip '{clip.name}' has no keypoints to export{where}; estimate poses first.")
    stem = clip_stem(clip)
    tracks = None
    if options.crop_pixels or options.per_track_videos or options.preview:
        tracks, _ = _clip_tracks(clip, ExportOptions(frame_range_only=options.frame_range_only), video_range)
    video_job = _video_job(context, clip, folder, stem, "pose_preview", tracks, poses, names, options, video_range)
    output_file(folder / f"{stem}_poses.csv")
    written = [write_dlc_csv(folder / f"{stem}_poses.csv", poses, names=names)]
    note = ""
    try:
        written.append(write_dlc_h5(folder / f"{stem}_poses.h5", poses, names=names))
    except OmniTraxError as exc:  # no PyTables in this Blender: CSV only
        note = f" ({exc})"
    if options.per_track:
        single = poses
        if options.crop_pixels:
            from ..pose.crops import relative_to_rois

            props = context.scene.omnitrax
            single = relative_to_rois(poses, tracks, props.pose_roi_mode.lower(), props.pose_roi_size,
                                      props.pose_padding)
        written += write_dlc_single(folder / f"{stem}_poses", single, names=names)
    return written, note, video_job


def _video_job(context, clip, folder, stem, kind, tracks, poses, names, options, video_range):
    """The preview video and/or videos per animal to write (PreviewVideos), or None when none is asked."""
    if not (options.preview or options.per_track_videos):
        return None
    from ..io.preview import PreviewVideos

    start, stop = video_range if video_range is not None else (0, None)
    return PreviewVideos(clip_video(clip), folder / f"{stem}_{kind}.mp4" if options.preview else None,
                         tracks=tracks, poses=poses, names=names, start=start, stop=stop,
                         pcutoff=context.scene.omnitrax.pcutoff,
                         per_track=folder / f"{stem}_videos" if options.per_track_videos else None,
                         crop=context.scene.omnitrax.pose_roi_size)


class ExportJob:
    """Export Tracks / Export Poses as a modal job (see modal.py): every clip's files at once, then the
    videos frame by frame."""

    def __init__(self, context, clip, kind: str, options: ExportOptions):
        self.context, self.kind, self.options = context, kind, options
        out = export_folder(context.scene.omnitrax.export_dir)
        ensure_folder(out, what="export folder", writable=True)
        self.written: list[Path] = []
        self.notes: list[str] = []
        self.videos = []
        self.problem = ""
        try:
            self._export_files(context, clip, out)
        except BaseException:
            self.close()
            raise
        self.folder = out
        self.total = sum(v.total for v in self.videos)
        self.done = 0
        self._steps = [v.steps() for v in self.videos]
        self._stopped = False
        n = len(self.written)
        self.description = (f"exporting {n} file(s)" + (f", then {len(self.videos)} clip video job(s) of "
                                                         f"{self.total} frames" if self.videos else ""))

    def _export_files(self, context, clip, out: Path) -> None:
        options, kind = self.options, self.kind
        for one in _clips(kind, options.all_clips, clip):
            stem = clip_stem(one)
            folder = ensure_folder(out / stem, what="clip folder", instead="folder") if options.subfolders else out
            video_range = _range(context, one, options)
            if kind == "tracks":
                files, video = export_clip_tracks(context, one, folder, options, video_range)
            else:
                files, note, video = export_clip_poses(context, one, folder, options, video_range)
                if note:
                    self.notes.append(note)
            self.written += files + [_run_log(context, one, folder, stem, video_range)]
            if video is not None:
                self.videos.append(video)

    def step(self, budget_s: float) -> bool:
        end = time.perf_counter() + budget_s
        while self._steps and not self._stopped:
            try:
                next(self._steps[0])
                self.done += 1
            except StopIteration:
                self._steps.pop(0)
            if time.perf_counter() >= end:
                break
        return bool(self._steps) and not self._stopped

    def refresh(self) -> None:
        pass

    def status_text(self) -> str:
        return f"OmniTrax: writing videos, frame {self.done}/{self.total} · Esc to stop"

    def stop(self) -> None:
        self._stopped = True

    def finish(self, stopped: bool) -> str:
        self.close()
        videos = [p for v in self.videos for p in v.written]
        line = f"Exported {len(self.written) + len(videos)} file(s) to {self.folder}{''.join(self.notes)}"
        if stopped and self.total:
            line += f"; stopped: the videos hold frames up to {self.done} of {self.total}"
        return line

    def undo(self) -> None:
        pass  # exports change no Blender data; files written so far are complete ones

    def close(self) -> None:
        for steps in getattr(self, "_steps", []):
            steps.close()  # finishes the video files written so far
        self._steps = []
        for video in self.videos:
            video.close()
