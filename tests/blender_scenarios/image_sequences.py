"""Image sequences as Movie Clips with the installed add-on (tests/test_blender_image_sequences.py): the same
clip as a lossless video, as PNG frames and as 16-bit TIFF frames, tracked, exported, posed and previewed;
what Blender shows of a sequence at given scene frames; a sequence with an unreadable and one with a missing
frame."""
import os

import bpy

from blender_scenarios.bpy_helpers import clip_editor, dump, install, open_clip, render_shown


def pose_dump(clip):
    """{keypoint track name: [[scene frame, x px, y px], ...]} of the 'OmniTrax Poses' object."""
    obj = clip.tracking.objects.get("OmniTrax Poses")
    w, h = clip.size
    return {} if obj is None else {t.name: [[m.frame + clip.frame_start - 1, m.co[0] * w - 0.5,
                                             (1 - m.co[1]) * h - 0.5] for m in t.markers] for t in obj.tracks}


def call(clip, op, **kw):
    """An operator's result in a Clip Editor showing clip, or the text of its ERROR report."""
    with clip_editor(clip):
        try:
            return sorted(op(**kw))
        except RuntimeError as exc:
            return str(exc)


def sequences(zip_path, clips, clip_start, out_dir, offset, scene_frames, broken, gap, pose_model):
    """clips: {label: file to load}; broken / gap: first frames of a sequence with an unreadable / a missing
    frame; pose_model: a DeepLabCut model folder ("" the bundled one), or None: no poses."""
    install(zip_path)
    result = {}
    for label, path in clips.items():
        clip, scene, props = open_clip(path, clip_start)
        r = result[label] = {"source": clip.source, "duration": clip.frame_duration, "name": clip.name}
        r["status"] = call(clip, bpy.ops.omnitrax.track, restart=True)
        r["markers"] = dump(clip)
        props.export_dir = os.path.join(out_dir, label)
        r["export"] = call(clip, bpy.ops.omnitrax.export_tracks, preview=label == "png")
        if label == "png":
            r["detect_preview"] = call(clip, bpy.ops.omnitrax.detect_preview)
        if pose_model is not None and label in ("video", "png"):
            props.pose_model_path = pose_model  # "": the bundled ant model
            r["pose"] = call(clip, bpy.ops.omnitrax.estimate_poses)
            r["poses"] = pose_dump(clip)
        r["files"] = sorted(os.listdir(props.export_dir))
    # what Blender shows of the TIFF sequence, with frame_offset too, and the markers tracked there
    clip, scene, props = open_clip(clips["tif"], clip_start)
    clip.frame_offset = offset
    scene.frame_end = clip_start + clip.frame_duration - 1 - offset
    result["shown"] = {"status": call(clip, bpy.ops.omnitrax.track, restart=True), "markers": dump(clip)}
    render_shown(clip, scene, scene_frames, out_dir)
    for label, path in (("broken", broken), ("gap", gap)):
        clip, scene, props = open_clip(path, clip_start)
        result[label] = {"duration": clip.frame_duration, "status": call(clip, bpy.ops.omnitrax.track, restart=True),
                         "markers": dump(clip)}
    return result
