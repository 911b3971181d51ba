"""The Blender side of the headless .blend writer (omnitrax.io.blend): run as `python -m
omnitrax.blender.headless tracks|poses ...` in a Python with the bpy package, never imported by the core.

`tracks VIDEO TRACKS_CSV OUT SETTINGS_JSON [CLASS_NAMES_JSON]` writes a .blend with the clip and one tracking
track per animal; `poses BLEND POSES_NPZ PCUTOFF` adds keypoints to such a .blend. The markers are written by
the same code the add-on uses, so the .blend opens exactly as if tracked in Blender.
"""
from __future__ import annotations

import json
import sys


def _blender_main(video: str, csv_path: str, out_path: str, settings_json: str, class_names_json: str = "[]") -> None:
    import os

    import bpy

    import omnitrax
    from omnitrax.io.tracks_csv import read_tracks_csv
    from omnitrax.tracking.settings import TrackingSettings
    from omnitrax.video import DEFAULT_FPS

    from .coords import ClipFrames
    from .markers import set_class_names, write_tracks
    from .properties import apply_settings

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups beside the file we write
    omnitrax.register()
    scene = bpy.context.scene
    clip = bpy.data.movieclips.load(video)
    if clip.size[0] == 0:
        raise SystemExit(f"Blender cannot read the video {video}")
    scene.active_clip = clip
    scene.frame_start = clip.frame_start
    scene.frame_end = clip.frame_start + clip.frame_duration - 1
    scene.render.fps = max(int(round(clip.fps or DEFAULT_FPS)), 1)  # an image sequence has no fps of its own
    settings = json.loads(settings_json)
    apply_settings(scene.omnitrax, TrackingSettings.from_mapping(settings), {})
    tracks = read_tracks_csv(csv_path)
    write_tracks(clip, tracks, ClipFrames.of(clip), constant_size=settings.get("constant_box", 0),
                 search_px=settings.get("max_distance", 0))
    set_class_names(clip, json.loads(class_names_json))
    bpy.ops.wm.save_as_mainfile(filepath=out_path)
    try:  # the clip path relative to the .blend, so both can move together
        bpy.ops.file.make_paths_relative()
        bpy.ops.wm.save_mainfile()
    except RuntimeError:  # e.g. on another drive: keep the absolute path
        pass
    sys.stdout.flush()
    os._exit(0)


def _blender_poses(blend_path: str, data_path: str, pcutoff: str) -> None:
    import os

    import bpy
    import numpy as np

    import omnitrax
    from omnitrax.pose.poses import Poses
    from omnitrax.tracking.tracks import ids_for_names, name_of

    from .coords import ClipFrames
    from .pose_markers import write_poses

    bpy.ops.wm.open_mainfile(filepath=blend_path)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backup of the file we update
    omnitrax.register()
    clip = bpy.data.movieclips[0]
    d = np.load(data_path)
    poses = Poses(track=d["track"], frame=d["frame"], joint=d["joint"], x=d["x"], y=d["y"],
                  likelihood=d["likelihood"], joint_names=list(d["joint_names"]),
                  skeleton=[tuple(b) for b in d["skeleton"]])
    frames = ClipFrames.of(clip)
    names = {i: n for n, i in ids_for_names(t.name for t in clip.tracking.tracks).items()}
    write_poses(clip, poses, frames, {t: name_of(names, t) for t in poses.ids()}, float(pcutoff))
    bpy.ops.wm.save_mainfile()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1] == "poses":
        _blender_poses(*sys.argv[2:5])
    else:
        _blender_main(*sys.argv[2:7])
