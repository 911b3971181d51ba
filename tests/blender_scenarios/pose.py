"""Pose estimation with the installed add-on on a clip whose keypoints are known to the pixel
(tests/test_blender_pose.py). Three animal tracks follow `centres` ([animal][frame] -> [x, y] px)."""
import time
import types

import bpy

from blender_scenarios.bpy_helpers import addon_module, clip_editor, install

NAMES = ["track_0", "Worker A", "track_7"]  # any animal track name works


def _setup(zip_path, video, clip_start, centres, out):
    mod = install(zip_path)
    clip = bpy.data.movieclips.load(video)
    clip.frame_start = clip_start
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = clip_start, clip_start + clip.frame_duration - 1
    w, h = clip.size
    for name, xy in zip(NAMES, centres):
        track = clip.tracking.tracks.new(name=name, frame=1)
        for f, (x, y) in enumerate(xy):
            track.markers.insert_frame(f + 1, co=((x + 0.5) / w, 1 - (y + 0.5) / h))
    props = scene.omnitrax
    props.pose_roi_size = 48
    props.export_dir = out
    return mod, clip, props


def pose_dump(clip):
    """{keypoint track name: [[scene frame, x px, y px, muted], ...]} of the 'OmniTrax Poses' object."""
    obj = clip.tracking.objects.get("OmniTrax Poses")
    if obj is None:
        return {}
    w, h = clip.size
    return {t.name: [[m.frame + clip.frame_start - 1, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5, m.mute]
                     for m in t.markers] for t in obj.tracks}


def run(clip, op, **kw):
    with clip_editor(clip):
        try:
            return sorted(op(**kw))
        except RuntimeError as exc:
            return str(exc)


def estimate_correct_export_stop(zip_path, video, clip_start, model, out, centres):
    """A missing model, a real run, the overlay's skeleton, a corrected keypoint exported, a run stopped at
    once, then per-track and full-frame runs on a clip without animal tracks."""
    mod, clip, props = _setup(zip_path, video, clip_start, centres, out)
    w, h = clip.size
    result = {}
    props.pose_model_path = model + "_missing"
    result["missing_model"] = run(clip, bpy.ops.omnitrax.estimate_poses)
    result["after_error"] = pose_dump(clip)
    props.pose_model_path = model
    result["status"] = run(clip, bpy.ops.omnitrax.estimate_poses)
    result["poses"] = pose_dump(clip)
    result["meta"] = clip["omnitrax_pose"].to_dict()
    result["camera_tracks"] = sorted(t.name for t in clip.tracking.tracks)
    overlay = addon_module(mod, "blender.overlay")
    pose_markers = addon_module(mod, "blender.pose_markers")
    result["layers"] = overlay.layer_names()
    shapes = pose_markers.skeleton_shapes(clip, clip_start + 2, labels=True).normalised()
    result["skeleton"] = {"segments": (shapes.segments * [w, h]).tolist(), "points": len(shapes.points),
                          "labels": sorted(label.text for label in shapes.labels)}
    # the user corrects one keypoint: track_7's green point at the clip's 4th frame
    obj = clip.tracking.objects["OmniTrax Poses"]
    marker = obj.tracks["track_7.green"].markers.find_frame(4, exact=True)
    marker.co = ((100 + 0.5) / w, 1 - (50 + 0.5) / h)
    result["export"] = run(clip, bpy.ops.omnitrax.export_poses)
    # the export options: frames 2-4 of the clip only, a folder for the clip, one file and one video per animal
    props.export_dir, props.use_scene_range = out + "/options", False
    props.frame_start, props.frame_end = clip_start + 1, clip_start + 3
    result["export_options"] = run(clip, bpy.ops.omnitrax.export_poses, per_track=True, crop_pixels=True,
                                   preview=True, per_track_videos=True, frame_range_only=True, subfolders=True)
    props.export_dir, props.use_scene_range = out, True
    # a run stopped before its first frame (Esc at once) changes nothing
    before = pose_dump(clip)
    job_module = addon_module(mod, "blender.pose_job")
    with clip_editor(clip):
        job = job_module.BlenderPoseJob(bpy.context, clip, full_frame=False)
    job.stop()
    job.start()
    job.wait()
    result["stopped_written"] = job.write_results()
    result["unchanged_after_stop"] = pose_dump(clip) == before
    # a clip without animal tracks: per-track pose asks for tracks; full frame runs on whole frames
    for t in list(clip.tracking.tracks):
        t.select = True
    with clip_editor(clip):
        bpy.ops.clip.delete_track(confirm=False)
    result["no_tracks"] = run(clip, bpy.ops.omnitrax.estimate_poses)
    result["full_frame"] = run(clip, bpy.ops.omnitrax.estimate_poses, full_frame=True)
    result["full_frame_poses"] = {k: v for k, v in pose_dump(clip).items() if k.startswith("frame.")}
    return result


def estimate(zip_path, video, clip_start, model, out, centres):
    """One Estimate Poses run with `model`."""
    mod, clip, props = _setup(zip_path, video, clip_start, centres, out)
    props.pose_model_path = model
    return {"status": run(clip, bpy.ops.omnitrax.estimate_poses), "poses": pose_dump(clip)}


def modal_loop(zip_path, video, clip_start, model, out, centres):
    """modal() driven by timer events as Blender's event loop would, until the worker thread is done."""
    mod, clip, props = _setup(zip_path, video, clip_start, centres, out)
    ops = addon_module(mod, "blender.operators.pose")
    job_module = addon_module(mod, "blender.pose_job")
    Op = ops.OMNITRAX_OT_estimate_poses
    props.pose_model_path = model
    result = {"ticks": []}
    with clip_editor(clip):
        ctx = bpy.context
        reports = []
        job = job_module.BlenderPoseJob(ctx, clip, full_frame=False)
        op = types.SimpleNamespace(_job=job, _timer=None, _stopped=False,
                                   report=lambda kind, text: reports.append(text))
        for name in ("_finish", "_fail", "_cleanup"):
            setattr(op, name, types.MethodType(getattr(Op, name), op))
        job.start()
        result["mouse"] = sorted(Op.modal(op, ctx, types.SimpleNamespace(type="MOUSEMOVE")))
        ctx.window_manager.progress_begin(0, job.total)
        for _ in range(600):
            state = sorted(Op.modal(op, ctx, types.SimpleNamespace(type="TIMER")))
            result["ticks"].append(state)
            if state != ["RUNNING_MODAL"]:
                break
            time.sleep(0.05)
    result["reports"] = reports
    result["keypoint_tracks"] = len(pose_dump(clip))
    return result


def keypoints_in_blend(blend):
    """{keypoint track: [[marker frame, x px, y px], ...]} of the 'OmniTrax Poses' object in a .blend."""
    bpy.ops.wm.open_mainfile(filepath=blend)
    clip = bpy.data.movieclips[0]
    w, h = clip.size
    obj = clip.tracking.objects["OmniTrax Poses"]
    return {t.name: [[m.frame, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5] for m in t.markers] for t in obj.tracks}
