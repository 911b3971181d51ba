"""Export Tracks / Export Poses into places that cannot be written (tests/test_blender_export_errors.py)."""
import bpy

from blender_scenarios.bpy_helpers import clip_editor, install


def export_into_places(zip_path, video, cases, good, pose_cases):
    """cases: [[name, export folder, export_tracks keywords], ...]; poses are exported too for the names
    in pose_cases; a last export into the folder `good`. Whether the clip changed is kept per case."""
    install(zip_path)
    clip = bpy.data.movieclips.load(video)
    props = bpy.context.scene.omnitrax
    for i in range(3):
        track = clip.tracking.tracks.new(name=f"track_{i}", frame=1)
        for f in range(1, 9):
            track.markers.insert_frame(f, co=(0.2 + 0.2 * i + 0.01 * f, 0.5 - 0.01 * f))
    poses = clip.tracking.objects.new("OmniTrax Poses")
    clip.tracking.objects.active = clip.tracking.objects[0]
    for i in range(3):
        keypoint = poses.tracks.new(name=f"track_{i}.head", frame=1)
        for f in range(1, 9):
            keypoint.markers.insert_frame(f, co=(0.21 + 0.2 * i + 0.01 * f, 0.52 - 0.01 * f))
    clip["omnitrax_pose"] = {"joints": ["head"], "skeleton": []}

    def dump():
        return {obj.name: {t.name: [[m.frame, round(m.co[0], 6), round(m.co[1], 6), m.mute] for m in t.markers]
                           for t in obj.tracks} for obj in clip.tracking.objects}

    def run(op, **kw):
        with clip_editor(clip):
            try:
                return sorted(op(**kw))
            except RuntimeError as exc:  # background mode: the ERROR report comes back as RuntimeError
                return str(exc)

    before = dump()
    result = {}
    for case, folder, kw in cases:
        props.export_dir = folder
        result[case] = {"tracks": run(bpy.ops.omnitrax.export_tracks, **kw)}
        if case in pose_cases:
            result[case]["poses"] = run(bpy.ops.omnitrax.export_poses)
        result[case]["unchanged"] = dump() == before
    props.export_dir = good
    result["good"] = {"tracks": run(bpy.ops.omnitrax.export_tracks, legacy=True),
                      "poses": run(bpy.ops.omnitrax.export_poses), "unchanged": dump() == before}
    return result
