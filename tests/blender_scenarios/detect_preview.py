"""Preview Detection with the installed add-on (tests/test_blender_detect_preview.py): a synthetic clip, the
background detector, previews into good folders (whole clip; a narrower scene range with a mask), then
export folders that cannot be written, all in one Blender process."""
import contextlib
import os
import tempfile
from pathlib import Path

import bpy

from blender_scenarios.bpy_helpers import clip_editor, four_point_hole, install


@contextlib.contextmanager
def stdout_of_blender(into: list):
    """Collect what Blender writes to the process's stdout (where bpy.ops prints INFO reports in
    background mode) while the block runs; appended to `into` as one string."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            capture.seek(0)
            into.append(capture.read().decode("utf-8", "replace"))


def _run(clip):
    """(sorted result or None, INFO text printed by Blender, ERROR report text or '')."""
    printed = []
    with clip_editor(clip):
        try:
            with stdout_of_blender(printed):
                status = sorted(bpy.ops.omnitrax.detect_preview())
            return status, printed[0], ""
        except RuntimeError as exc:  # background mode: the ERROR report comes back as RuntimeError
            return None, printed[0] if printed else "", str(exc)


def _left_half_hole(clip):
    """A mask whose subtracting layer covers the left half of the frame (straight-edged rectangle)."""
    w, h = clip.size
    mask, points, to_mask = four_point_hole(clip, "left_hole")
    for point, corner in zip(points, [(-10, -10), (w / 2, -10), (w / 2, h + 10), (-10, h + 10)]):
        point.co = point.handle_left = point.handle_right = to_mask(*corner)
    return mask


def preview_and_refusals(zip_path, video, clip_start, good, masked, range_start, range_end, refused):
    """Preview into `good` (whole clip), into `masked` (scene frames range_start..range_end, the left half
    masked out), then into each export folder of `refused` ({case: folder}); files are listed by the test."""
    install(zip_path)
    clip = bpy.data.movieclips.load(video)
    clip.frame_start = clip_start
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = clip_start, clip_start + clip.frame_duration - 1
    props = scene.omnitrax
    props.detector = "BACKGROUND"  # polarity stays automatic: the preview reports what it chose
    props.use_scene_range = True
    result = {"registered": hasattr(bpy.types, "OMNITRAX_OT_detect_preview")}

    props.export_dir = good
    status, printed, error = _run(clip)
    result["good"] = {"status": status, "printed": printed, "error": error,
                      "images": {im.name: list(im.size) for im in bpy.data.images if im.filepath}}

    props.export_dir = masked
    scene.frame_start, scene.frame_end = range_start, range_end
    props.mask = _left_half_hole(clip)
    status, printed, error = _run(clip)
    result["masked"] = {"status": status, "printed": printed, "error": error}
    props.mask = None
    scene.frame_start, scene.frame_end = clip_start, clip_start + clip.frame_duration - 1

    result["refused"] = {}
    for case, folder in refused.items():
        props.export_dir = folder
        status, printed, error = _run(clip)
        result["refused"][case] = {"status": status, "error": error}
    # a mask that encloses no area is refused too (the mask travels as for tracking)
    props.export_dir = str(Path(good).parent / "open_mask")
    mask = bpy.data.masks.new("line")
    spline = mask.layers.new().splines.new()
    spline.points.add(1)
    spline.points[0].co, spline.points[1].co = (0.1, 0.1), (0.9, 0.9)
    spline.use_cyclic = False
    props.mask = mask
    status, printed, error = _run(clip)
    result["refused"]["open_mask"] = {"status": status, "error": error}
    return result
