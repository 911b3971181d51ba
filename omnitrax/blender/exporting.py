"""Export the clip's tracks, read from the markers as the user left them, into files."""
from __future__ import annotations

from pathlib import Path

import bpy

from ..errors import OmniTraxError
from ..io.files import ensure_folder, output_file
from . import markers
from .context import selected_track_names
from .coords import ClipFrames, clip_size, clip_stem, clip_video


def export_folder(export_dir: str) -> Path:
    """The export folder as an absolute path ('//' = next to the saved .blend)."""
    if not export_dir:
        raise OmniTraxError("Choose an export folder in the OmniTrax Export panel.")
    if export_dir.startswith("//") and not bpy.data.filepath:
        raise OmniTraxError("The export folder is relative to the .blend file ('//'), which is not saved yet: "
                            "save the .blend or choose an absolute folder.")
    return Path(bpy.path.abspath(export_dir))


def export_clip_poses(clip, export_dir: str) -> tuple[list, str]:
    """<clip>_poses.csv (and .h5 when PyTables is there) from the keypoint markers as the user left them."""
    try:
        import pandas  # noqa: F401  (the DeepLabCut files are written with pandas)
    except ImportError:
        raise OmniTraxError("Exporting poses needs pandas: install the pose-estimation packages in the OmniTrax "
                            "add-on preferences.") from None
    from ..pose.export import write_dlc_csv, write_dlc_h5
    from .pose_markers import read_poses

    out = export_folder(export_dir)
    from ..tracking.tracks import ids_for_names

    animal_ids = ids_for_names(t.name for t in clip.tracking.tracks)  # as read_tracks numbers them
    poses, names = read_poses(clip, ClipFrames.of(clip), animal_ids or None)
    if not len(poses):
        raise OmniTraxError(f"Clip '{clip.name}' has no keypoints to export; estimate poses first.")
    ensure_folder(out, what="export folder", writable=True)
    stem = clip_stem(clip)
    output_file(out / f"{stem}_poses.csv")
    written = [write_dlc_csv(out / f"{stem}_poses.csv", poses, names=names)]
    note = ""
    try:
        written.append(write_dlc_h5(out / f"{stem}_poses.h5", poses, names=names))
    except OmniTraxError as exc:  # no PyTables in this Blender: CSV only
        note = f" ({exc})"
    return written, note


def export_clip_tracks(clip, export_dir: str, selected_only: bool = False, legacy: bool = False,
                       preview: bool = False) -> list:
    from ..io import summary, tracks_csv

    out = export_folder(export_dir)
    chosen = selected_track_names(clip) if selected_only else None
    if selected_only and not chosen:
        raise OmniTraxError("No tracks are selected; select some or turn off 'Selected tracks only'.")
    frames = ClipFrames.of(clip)
    tracks, names = markers.read_tracks(clip, frames, chosen)
    if not len(tracks):
        raise OmniTraxError(f"Clip '{clip.name}' has no tracks to export; track it first.")
    ensure_folder(out, what="export folder", writable=True)
    stem = clip_stem(clip)
    for name in ("tracks.csv", "summary.csv") + (("preview.mp4",) if preview else ()):
        output_file(out / f"{stem}_{name}")  # refuse before writing anything, not half-way
    if legacy:
        ensure_folder(out / f"{stem}_legacy", what="legacy folder", instead="folder")
    written = [tracks_csv.write_tracks_csv(out / f"{stem}_tracks.csv", tracks)]
    written.append(summary.write_summaries(out / f"{stem}_summary.csv",
                                           summary.track_summaries(tracks, names, fps=clip.fps)))
    if legacy:
        written += tracks_csv.write_legacy(out / f"{stem}_legacy", tracks, frame_height=clip_size(clip)[1],
                                           names=names, scene_frame=frames.scene_from_video)
    if preview:
        from ..io.preview import write_preview

        written.append(write_preview(clip_video(clip), out / f"{stem}_preview.mp4", tracks=tracks,
                                     names=names))
    return [Path(p) for p in written]
