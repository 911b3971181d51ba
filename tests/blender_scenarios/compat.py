"""Every supported Blender (issue 17): install the zip, track the sample from the operator, continue,
export, disable. Runs in the bpy of another Blender's venv (tests/test_compat_blender.py)."""
import os
import sys

import bpy

from blender_scenarios.bpy_helpers import clip_editor, install


def track_continue_export(zip_path, video, out_dir):
    import numpy

    result = {"blender": bpy.app.version_string, "python": sys.version.split()[0], "numpy": numpy.__version__}
    mod = install(zip_path)
    import cv2
    import scipy

    result.update(cv2=cv2.__version__, scipy=scipy.__version__,
                  scipy_from_extension=os.environ["HOME"] in scipy.__file__)
    clip = bpy.data.movieclips.load(video)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = clip.frame_start, clip.frame_start + clip.frame_duration - 1
    scene.frame_current = clip.frame_start

    def op(fn, **kw):
        with clip_editor(clip):
            try:
                return sorted(fn(**kw))
            except RuntimeError as exc:
                return str(exc)

    result["track"] = op(bpy.ops.omnitrax.track, restart=True)
    result["tracks"] = len(clip.tracking.tracks)
    before = {t.name: [tuple(m.co) for m in t.markers if m.frame <= 125] for t in clip.tracking.tracks}
    scene.frame_current = clip.frame_start + 124
    result["continue"] = op(bpy.ops.omnitrax.track, restart=False)
    result["continue_kept_past"] = all(
        [tuple(m.co) for m in clip.tracking.tracks[n].markers if m.frame <= 125] == ms for n, ms in before.items()
        if n in clip.tracking.tracks)
    result["tracks_after_continue"] = len(clip.tracking.tracks)
    scene.omnitrax.export_dir = out_dir
    result["export"] = op(bpy.ops.omnitrax.export_tracks)
    result["exported"] = sorted(os.listdir(out_dir))
    bpy.ops.preferences.addon_disable(module=mod.__name__)
    result["disabled"] = mod.__name__ not in bpy.context.preferences.addons
    result["unregistered"] = not hasattr(bpy.types.Scene, "omnitrax")
    return result
