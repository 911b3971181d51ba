"""Write a .blend with the clip and one tracking track per animal, without a Blender window.

`python -m omnitrax track VIDEO --blend OUT.blend` calls write_blend(), which runs this module in a
separate Python process with the bpy package (the CLI itself never imports Blender). The markers are
written by the same code the add-on uses, so the .blend opens with tracks exactly as if tracked in
Blender, and the scene carries the settings used.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import OmniTraxError


def write_blend(video, tracks, out_path: Path, settings) -> Path:
    from ..io.tracks_csv import write_tracks_csv

    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "tracks.csv"
        write_tracks_csv(csv_path, tracks)
        package_root = Path(__file__).resolve().parents[2]
        cmd = [sys.executable, "-m", "omnitrax.blender.headless", str(Path(video).resolve()), str(csv_path),
               str(out_path), json.dumps(settings.to_dict())]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(package_root))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if "No module named 'bpy'" in proc.stderr:
            raise OmniTraxError("Writing a .blend needs the bpy package (pip install bpy==5.0.1).")
        raise OmniTraxError(f"Could not write {out_path.name}: {last}")
    return out_path


def _blender_main(video: str, csv_path: str, out_path: str, settings_json: str) -> None:
    import os

    import bpy

    import omnitrax
    from omnitrax.io.tracks_csv import read_tracks_csv

    from .coords import ClipFrames
    from .markers import write_tracks

    bpy.ops.wm.read_homefile(use_empty=True)
    omnitrax.register()
    scene = bpy.context.scene
    clip = bpy.data.movieclips.load(video)
    if clip.size[0] == 0:
        raise SystemExit(f"Blender cannot read the video {video}")
    scene.active_clip = clip
    scene.frame_start = clip.frame_start
    scene.frame_end = clip.frame_start + clip.frame_duration - 1
    scene.render.fps = max(int(round(clip.fps)), 1)
    settings = json.loads(settings_json)
    props = scene.omnitrax
    for name, value in settings.items():
        if hasattr(props, name) and name != "backend":
            setattr(props, name, value.upper() if name in ("detector", "polarity", "cost") else value)
    tracks = read_tracks_csv(csv_path)
    write_tracks(clip, tracks, ClipFrames.of(clip), constant_size=settings.get("constant_box", 0),
                 search_px=settings.get("max_distance", 0))
    bpy.ops.wm.save_as_mainfile(filepath=out_path)
    try:  # the clip path relative to the .blend, so both can move together
        bpy.ops.file.make_paths_relative()
        bpy.ops.wm.save_mainfile()
    except RuntimeError:  # e.g. on another drive: keep the absolute path
        pass
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    _blender_main(*sys.argv[1:5])
