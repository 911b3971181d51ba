"""Class names kept per marker frame, Set Scale and the exports that carry them, with the installed
add-on (tests/test_blender_units_classes.py)."""
import csv

import bpy

from blender_scenarios.bpy_helpers import clip_editor, install, open_clip


def _csv(path, delimiter=","):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _exported(folder, stem):
    from pathlib import Path

    folder = Path(folder)
    legacy = {p.stem: _csv(p, ";") for p in sorted((folder / f"{stem}_legacy").glob("*.csv"))}
    return {"tracks": _csv(folder / f"{stem}_tracks.csv"), "summary": _csv(folder / f"{stem}_summary.csv"),
            "classes": _csv(folder / f"{stem}_classes.csv"), "legacy": legacy}


def _add_marker_track(clip, name, marker_frame, xy_px):
    w, h = clip.size
    track = clip.tracking.tracks.new(name=name, frame=marker_frame)
    track.markers.insert_frame(marker_frame, co=((xy_px[0] + 0.5) / w, 1 - (xy_px[1] + 0.5) / h))
    return track


def classes_and_scale(zip_path, video, model, names, out1, out2, blend, ruler_px, ruler_length):
    install(zip_path)
    clip, scene, props = open_clip(video, 1)
    props.detector = "YOLO"
    props.model_path, props.names_path = model, names
    props.network_size, props.confirm, props.min_length = 320, 1, 1
    result = {}
    with clip_editor(clip):
        result["track"] = sorted(bpy.ops.omnitrax.track(restart=True))
    # Set Scale: errors first (nothing selected), then from two reference markers on a "ruler"
    for t in clip.tracking.tracks:
        t.select = False
    with clip_editor(clip):
        try:
            bpy.ops.omnitrax.set_scale(length=ruler_length)
            result["no_selection"] = "no error"
        except RuntimeError as exc:
            result["no_selection"] = str(exc)
    a = _add_marker_track(clip, "ruler_a", 1, ruler_px[0])
    b = _add_marker_track(clip, "ruler_b", 1, ruler_px[1])
    for t in clip.tracking.tracks:
        t.select = t.name in ("ruler_a", "ruler_b")
    scene.frame_current = 1
    with clip_editor(clip):
        result["set_scale"] = sorted(bpy.ops.omnitrax.set_scale(length=ruler_length))
        result["scale"] = props.scale
        bpy.ops.clip.delete_track()  # the reference tracks are not animals
    result["tracks_left"] = sorted(t.name for t in clip.tracking.tracks)
    del a, b
    # the user's own track of an animal walking 4 px per frame (100 px/s at 25 fps) for 30 frames
    walker = _add_marker_track(clip, "walker", 1, (60.0, 120.0))
    for f in range(2, 31):
        x, y = 60.0 + 4 * (f - 1), 120.0
        walker.markers.insert_frame(f, co=((x + 0.5) / clip.size[0], 1 - (y + 0.5) / clip.size[1]))
    props.export_dir = out1
    with clip_editor(clip):
        result["export"] = sorted(bpy.ops.omnitrax.export_tracks(legacy=True))
    result["first"] = _exported(out1, "discs")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend)
    clip = bpy.data.movieclips[0]
    bpy.context.scene.omnitrax.export_dir = out2
    with clip_editor(clip):
        bpy.ops.omnitrax.export_tracks(legacy=True)
    result["after_reload"] = _exported(out2, "discs")
    result["scale_after_reload"] = bpy.context.scene.omnitrax.scale
    return result
