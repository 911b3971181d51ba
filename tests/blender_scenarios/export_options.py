"""Export options with the installed add-on: all clips into one folder each, the active clip only, and a
video export stopped with Esc (tests/test_blender_export_options.py)."""
import bpy

from blender_scenarios.bpy_helpers import addon_module, clip_editor, install, open_clip


def _track(clip):
    with clip_editor(clip):
        return sorted(bpy.ops.omnitrax.track(restart=True))


def all_clips_and_stop(zip_path, video_a, video_b, out_all, out_one, out_stop):
    mod = install(zip_path)
    clip_b, scene, props = open_clip(video_b, 1)
    result = {"track_b": _track(clip_b)}
    clip_a, scene, props = open_clip(video_a, 1)  # the active clip from here on
    result["track_a"] = _track(clip_a)
    result["tracks"] = {"arena_a": len(clip_a.tracking.tracks), "arena_b": len(clip_b.tracking.tracks)}
    props.export_dir = out_all
    with clip_editor(clip_a):
        result["all"] = sorted(bpy.ops.omnitrax.export_tracks(all_clips=True, subfolders=True))
    props.export_dir = out_one
    with clip_editor(clip_a):
        result["one"] = sorted(bpy.ops.omnitrax.export_tracks())
    # a preview export stopped after a few frames (what Esc does): files complete, the video valid so far
    props.export_dir = out_stop
    exporting = addon_module(mod, "blender.exporting")
    with clip_editor(clip_a):
        job = exporting.ExportJob(bpy.context, clip_a, "tracks", exporting.ExportOptions(preview=True))
        result["total"] = job.total
        steps = 0
        while steps < 5 and job.step(0.0):
            steps += 1
        job.stop()
        result["more_after_stop"] = job.step(0.0)
        result["stop_line"] = job.finish(True)
    result["done"] = job.done
    return result
