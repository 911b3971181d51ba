"""Tracking with the installed add-on on a synthetic clip that starts at scene frame clip_start
(tests/test_blender_tracking.py)."""
import types

import bpy

from blender_scenarios.bpy_helpers import (addon_module, clip_editor, dump, four_point_hole, install, open_clip,
                                           render_shown)


def _setup(zip_path, video, clip_start):
    mod = install(zip_path)
    return (mod, *open_clip(video, clip_start))


def track(clip, **kw):
    """The Track operator's result in a Clip Editor showing clip, or its ERROR report text."""
    with clip_editor(clip):
        try:
            return sorted(bpy.ops.omnitrax.track(**kw))
        except RuntimeError as exc:
            return str(exc)


def restart_and_export(zip_path, video, clip_start, out1, out2, out3, blend):
    """Track From Start, export (plain, then preview + legacy), save, reload and export again."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    result = {"status": track(clip, restart=True)}
    result["markers"] = dump(clip)
    result["owned"] = list(clip.get("omnitrax_owned_tracks", []))
    props.export_dir = out1
    with clip_editor(clip):
        bpy.ops.omnitrax.export_tracks()
    props.export_dir = out3
    with clip_editor(clip):
        bpy.ops.omnitrax.export_tracks(preview=True, legacy=True)
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend)
    clip = bpy.data.movieclips[0]
    bpy.context.scene.omnitrax.export_dir = out2
    with clip_editor(clip):
        bpy.ops.omnitrax.export_tracks()
    result["markers_after_reload"] = dump(clip)
    return result


def continue_from_correction(zip_path, video, clip_start, k):
    """Track, rename one track and swap two identities at scene frame clip_start + k, continue from there."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    result = {"first": track(clip, restart=True)}
    before = dump(clip)
    names = sorted(before)
    # the user renames one track (any name must work as a seed) and swaps two identities at frame k
    a, b = names[0], names[1]
    clip.tracking.tracks[b].name = "Track.001"
    b = "Track.001"
    kf = clip_start + k
    marker_frame = kf - clip.frame_start + 1
    ma = clip.tracking.tracks[a].markers.find_frame(marker_frame, exact=True)
    mb = clip.tracking.tracks[b].markers.find_frame(marker_frame, exact=True)
    ma.co, mb.co = tuple(mb.co), tuple(ma.co)
    ma.mute = mb.mute = False
    corrected = dump(clip)
    scene.frame_current = kf
    result["second"] = track(clip, restart=False)
    result.update(before=before, corrected=corrected, after=dump(clip), a=a, b=b, kf=kf, renamed_from=names[1])
    return result


def failed_and_stopped_runs(zip_path, video, clip_start):
    """A run with a missing model, then a run stopped after 12 frames (what Esc does in the modal loop)."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    result = {"first": track(clip, restart=True)}
    before = dump(clip)
    props.detector = "YOLO"
    props.model_path = "/no/such/model.onnx"
    result["bad_model"] = track(clip, restart=True)
    result["unchanged_after_error"] = dump(clip) == before
    # a stop after a few frames: the job writes what it has
    props.detector = "BACKGROUND"
    props.model_path = ""
    job_module = addon_module(mod, "blender.tracking_job")
    with clip_editor(clip):
        job = job_module.BlenderTrackingJob(bpy.context, clip, restart=True)
        while job.progress is None or job.progress.done < 12:
            job.step(0.0)
        job.write_results()
        job.close()
    result["stopped_done"] = job.progress.done
    result["stopped"] = dump(clip)
    return result


def curved_mask(zip_path, video, clip_start, cx, cy, radius):
    """Track with a mask whose subtracted layer is a circle (four Bezier points) around (cx, cy) px."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    w, h = clip.size
    mask, points, to_mask = four_point_hole(clip, "arena")
    k = 0.5523
    for point, (dx, dy, hx, hy) in zip(points,
                                       [(1, 0, 0, -1), (0, -1, -1, 0), (-1, 0, 0, 1), (0, 1, 1, 0)]):
        point.co = to_mask(cx + radius * dx, cy + radius * dy)
        point.handle_left = to_mask(cx + radius * (dx - k * hx), cy + radius * (dy - k * hy))
        point.handle_right = to_mask(cx + radius * (dx + k * hx), cy + radius * (dy + k * hy))
    props.mask = mask
    return {"status": track(clip, restart=True), "markers": dump(clip), "size": [w, h]}


def swap_and_undo(zip_path, video, clip_start, swap_at):
    """Track, swap two tracks from scene frame clip_start + swap_at, then undo twice.

    Operators called from Python push no undo step (Blender leaves that to the caller); a click in the
    UI pushes one after every operator registered with UNDO, as these undo_push calls do here."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    bpy.ops.ed.undo_push(message="clip loaded")
    result = {"status": track(clip, restart=True)}
    result["undo_flags"] = [sorted(getattr(bpy.types, n).bl_options)
                            for n in ("OMNITRAX_OT_track", "OMNITRAX_OT_swap_tracks")]
    bpy.ops.ed.undo_push(message="Track Animals")
    tracked = dump(clip)
    a, b = sorted(tracked)[:2]
    for t in clip.tracking.tracks:
        t.select = t.name in (a, b)
    scene.frame_current = clip_start + swap_at
    with clip_editor(clip):
        result["swap"] = sorted(bpy.ops.omnitrax.swap_tracks())
    swapped = dump(clip)
    bpy.ops.ed.undo_push(message="Swap Identities")
    bpy.ops.ed.undo()
    clip = bpy.data.movieclips[0]
    after_first_undo = dump(clip)
    bpy.ops.ed.undo()
    clip = bpy.data.movieclips[0]
    result.update(tracked=tracked, swapped=swapped, after_first_undo=after_first_undo,
                  after_second_undo=dump(clip), a=a, b=b, k=clip_start + swap_at)
    return result


def render_shown_frames(zip_path, video, clip_start, offset, scene_frames, out_dir):
    """With frame_offset set too, track, then render what Blender shows (the compositor's Movie Clip
    node) at scene_frames into out_dir/shown_<frame>.png."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    clip.frame_offset = offset
    scene.frame_end = clip_start + clip.frame_duration - 1 - offset
    result = {"status": track(clip, restart=True), "markers": dump(clip), "duration": clip.frame_duration}
    render_shown(clip, scene, scene_frames, out_dir)
    return result


def modal_loop_then_esc(zip_path, video, clip_start, ticks):
    """The Track operator's modal() driven tick by tick as Blender's event loop would (a mouse move,
    `ticks` timer events, then Esc); bpy without a window manager loop cannot deliver the events itself."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    operators = addon_module(mod, "blender.operators.tracking")
    job_module = addon_module(mod, "blender.tracking_job")
    job_module.LIVE_WRITE_INTERVAL = 0.0  # refresh the markers on every tick, however slow this machine is
    job_module.LIVE_WRITE_COST_FACTOR = 0
    Op = operators.OMNITRAX_OT_track
    result = {"statuses": [], "live_tracks": []}
    with clip_editor(clip):
        ctx = bpy.context
        reports = []
        op = types.SimpleNamespace(_job=job_module.BlenderTrackingJob(ctx, clip, True), _timer=None,
                                   _stopped=False, report=lambda kind, text: reports.append((sorted(kind), text)))
        for name in ("_finish", "_fail", "_cleanup"):
            setattr(op, name, types.MethodType(getattr(Op, name), op))
        step = op._job.step
        op._job.step = lambda budget: step(0.0)  # one frame per tick, however fast this machine is
        ctx.window_manager.progress_begin(0, op._job.run.total)
        timer, esc, mouse = (types.SimpleNamespace(type=t) for t in ("TIMER", "ESC", "MOUSEMOVE"))
        result["mouse"] = sorted(Op.modal(op, ctx, mouse))
        for _ in range(ticks):
            result["statuses"].append(sorted(Op.modal(op, ctx, timer)))
            result["live_tracks"].append(len(clip.tracking.tracks))
        result["done_before_esc"] = op._job.progress.done
        result["total"] = op._job.run.total
        result["esc"] = sorted(Op.modal(op, ctx, esc))
    result["reports"] = reports
    result["markers"] = dump(clip)
    return result


def runtime_preferences(zip_path, video, clip_start):
    """Track with the bundled YOLO model once per runtime preference; what each run said it used."""
    mod, clip, scene, props = _setup(zip_path, video, clip_start)
    props.detector = "YOLO"
    prefs = bpy.context.preferences.addons[mod.__name__].preferences
    job_module = addon_module(mod, "blender.tracking_job")
    result = {"devices": [i.identifier for i in prefs.bl_rna.properties["backend"].enum_items],
              "runtimes": [i.identifier for i in prefs.bl_rna.properties["runtime"].enum_items]}
    for runtime in ("OPENCV", "ONNXRUNTIME"):
        prefs.runtime = runtime
        with clip_editor(clip):
            job = job_module.BlenderTrackingJob(bpy.context, clip, True)
            result[runtime] = {"description": job.run.description}
            job.run.close()
            result[runtime]["status"] = track(clip, restart=True)
        result[runtime]["markers"] = dump(clip)
    prefs.runtime, prefs.backend = "ONNXRUNTIME", "OPENCL"
    result["opencl_onnxruntime"] = track(clip, restart=True)
    # a compute device saved before the preference took the schema's name (compute_device) carries over, once
    prefs.property_unset("backend")
    prefs.compute_device = "CPU"
    addon_module(mod, "blender.properties").carry_renamed_preferences()
    result["carried"] = [prefs.backend, prefs.is_property_set("compute_device")]
    prefs.compute_device = "CUDA"  # an old value never overrides one saved under the new name
    prefs.backend = "OPENCL"
    addon_module(mod, "blender.properties").carry_renamed_preferences()
    result["not_carried"] = [prefs.backend, prefs.is_property_set("compute_device")]
    return result
