"""Write a .blend with the clip and one tracking track per animal (and keypoints), without a window.

`python -m omnitrax track VIDEO --blend OUT.blend` calls write_blend(), and `python -m omnitrax pose ...
--blend OUT.blend` calls add_poses_to_blend(); both run this module in a separate Python process with
the bpy package (the CLI itself never imports Blender). The markers are written by the same code the
add-on uses, so the .blend opens exactly as if tracked in Blender, and the scene carries the settings.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import OmniTraxError
from ..files import output_file


def write_blend(video, tracks, out_path: Path, settings, class_names=None) -> Path:
    from ..io.tracks_csv import write_tracks_csv
    from ..video import clip_file  # a movie, or an image sequence's first frame (Blender opens it as a clip)

    out_path = output_file(Path(out_path).resolve(), what="folder for the .blend")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "tracks.csv"
        write_tracks_csv(csv_path, tracks)
        _run_blender(["tracks", str(clip_file(video).resolve()), str(csv_path), str(out_path),
                      json.dumps(settings.to_dict()), json.dumps(list(class_names or []))], out_path)
    return out_path


def add_poses_to_blend(blend_path: Path, poses, pcutoff: float = 0.5) -> Path:
    """Store keypoints as markers in a .blend written by write_blend (tracks named track_<id>)."""
    import numpy as np

    blend_path = Path(blend_path).resolve()
    if not blend_path.is_file():
        raise OmniTraxError(f"{blend_path} not found; write it first with `omnitrax track VIDEO --blend ...`.")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "poses.npz"
        np.savez(data, track=poses.track, frame=poses.frame, joint=poses.joint, x=poses.x, y=poses.y,
                 likelihood=poses.likelihood, joint_names=np.array(poses.joint_names),
                 skeleton=np.array(poses.skeleton, dtype=str).reshape(-1, 2))
        _run_blender(["poses", str(blend_path), str(data), str(pcutoff)], blend_path)
    return blend_path


def _run_blender(args: list, out_path: Path) -> None:
    package_root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "omnitrax.blender.headless", *args], capture_output=True,
                          text=True, cwd=str(package_root))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if "No module named 'bpy'" in proc.stderr:
            raise OmniTraxError("Writing a .blend needs the bpy package (pip install bpy==5.0.1).")
        raise OmniTraxError(f"Could not write {out_path.name}: {last}")


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
