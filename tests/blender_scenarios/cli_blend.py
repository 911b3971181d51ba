"""Open a .blend written by `omnitrax track --blend` in plain bpy, without the add-on (tests/test_cli.py)."""
import bpy


def open_tracked_blend(blend):
    """The clip's path, the OmniTrax detector setting if the scene has one, and every marker
    ({track: [[marker frame, x px, y px, muted], ...]})."""
    bpy.ops.wm.open_mainfile(filepath=blend)
    clip = bpy.data.movieclips[0]
    w, h = clip.size
    return {"detector": bpy.context.scene.omnitrax.detector if hasattr(bpy.context.scene, "omnitrax") else None,
            "clip_path": bpy.path.abspath(clip.filepath),
            "tracks": {t.name: [[m.frame, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5, m.mute] for m in t.markers]
                       for t in clip.tracking.tracks}}
