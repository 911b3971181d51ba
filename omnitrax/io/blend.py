"""Write a .blend with the clip and one tracking track per animal (and keypoints), without a window.

`omnitrax track VIDEO --blend OUT.blend` calls write_blend(), and `omnitrax pose ... --blend OUT.blend`
calls add_poses_to_blend(). Both run omnitrax.blender.headless in a separate Python process with the bpy
package, so nothing here (nor the CLI) imports Blender. The markers are written there by the same code the
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

#: the Blender side, run as `python -m BLENDER_MODULE ...` (the bpy package must be importable there)
BLENDER_MODULE = "omnitrax.blender.headless"


def write_blend(video, tracks, out_path: Path, settings, class_names=None) -> Path:
    from ..video import clip_file  # a movie, or an image sequence's first frame (Blender opens it as a clip)
    from .tracks_csv import write_tracks_csv

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
    proc = subprocess.run([sys.executable, "-m", BLENDER_MODULE, *args], capture_output=True,
                          text=True, cwd=str(package_root))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if "No module named 'bpy'" in proc.stderr:
            raise OmniTraxError("Writing a .blend needs the bpy package (pip install bpy==5.0.1).")
        raise OmniTraxError(f"Could not write {out_path.name}: {last}")
