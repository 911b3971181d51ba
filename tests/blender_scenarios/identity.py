"""Identify Animals with the installed add-on on a clip of individually distinct animals that cross often
(tests/test_blender_identity.py): a stopped run, a finished run, undo, stepping through the uncertain
fragments, a user's correction kept (locked tracks), and a run without the number of animals."""
import types

import bpy

from blender_scenarios.bpy_helpers import addon_module, clip_editor, dump, install, open_clip


def _op(name, **kw):
    """bpy.ops.omnitrax.<name>(**kw) in a Clip Editor showing the active clip: its result, or the ERROR text."""
    clip = bpy.context.scene.active_clip
    with clip_editor(clip):
        try:
            return sorted(getattr(bpy.ops.omnitrax, name)(**kw))
        except RuntimeError as exc:
            return str(exc)


def identify_everything(zip_path, video, clip_start, animals, esc_after):
    mod, (clip, scene, props) = install(zip_path), open_clip(video, clip_start)
    scene.active_clip = clip
    props.animals = animals
    result = {"track": _op("track", restart=True)}
    tracked = dump(clip)
    result["tracked"] = tracked

    # --- Esc after a few ticks of the modal loop: nothing changes
    operators = addon_module(mod, "blender.operators.identity")
    job_module = addon_module(mod, "blender.identity_job")
    Op = operators.OMNITRAX_OT_identify
    with clip_editor(clip):
        ctx = bpy.context
        reports = []
        op = types.SimpleNamespace(_job=job_module.BlenderIdentityJob(ctx, clip), _timer=None, _stopped=False,
                                   report=lambda kind, text: reports.append((sorted(kind), text)))
        for name in ("_finish", "_fail", "_cleanup"):
            setattr(op, name, types.MethodType(getattr(Op, name), op))
        step = op._job.step
        op._job.step = lambda budget: step(0.0)  # one progress step per tick, however fast this machine is
        ctx.window_manager.progress_begin(0, 100)
        timer, esc = (types.SimpleNamespace(type=t) for t in ("TIMER", "ESC"))
        result["ticks"] = [sorted(Op.modal(op, ctx, timer)) for _ in range(esc_after)]
        result["done_before_esc"] = op._job.done
        result["esc"] = sorted(Op.modal(op, ctx, esc))
        result["esc_report"] = reports[-1]
    result["after_esc"] = dump(clip)

    # --- a finished run, then undo
    bpy.ops.ed.undo_push(message="tracked")
    result["identify"] = _op("identify")
    clip = bpy.data.movieclips[0]
    result["identified"] = dump(clip)
    stored = clip.get("omnitrax_uncertain")
    result["uncertain"] = [dict(f) for f in stored["fragments"]] if stored else None
    result["fragments_total"] = int(stored["total"]) if stored else 0
    result["selected_after"] = sorted(t.name for t in clip.tracking.tracks if t.select)
    result["owned_after"] = sorted(clip.get("omnitrax_owned_tracks", []))
    result["undo_flags"] = sorted(bpy.types.OMNITRAX_OT_identify.bl_options)
    bpy.ops.ed.undo_push(message="Identify Animals")
    bpy.ops.ed.undo()
    clip = bpy.data.movieclips[0]
    scene, props = bpy.context.scene, bpy.context.scene.omnitrax  # undo replaced every datablock
    scene.active_clip = clip
    result["after_undo"] = dump(clip)

    # --- identify again, step through the uncertain fragments
    result["identify_again"] = _op("identify")
    clip = bpy.data.movieclips[0]
    steps = []
    for _ in range(3):
        status = _op("identity_step", direction=1)
        steps.append([status, scene.frame_current, sorted(t.name for t in clip.tracking.tracks if t.select)])
    result["steps"] = steps
    result["back"] = [_op("identity_step", direction=-1), scene.frame_current]

    # --- the user corrects: swaps two tracks from a frame on and locks both (checked); identify again
    identified = dump(clip)
    a, b = sorted(identified)[:2]
    for t in clip.tracking.tracks:
        t.select = t.name in (a, b)
    scene.frame_current = clip_start + 40
    result["swap"] = _op("swap_tracks")
    clip.tracking.tracks[a].lock = clip.tracking.tracks[b].lock = True
    result["corrected"] = dump(clip)
    result["locked"] = [a, b]
    result["identify_corrected"] = _op("identify")
    clip = bpy.data.movieclips[0]
    result["after_correction"] = dump(clip)
    result["locked_after"] = sorted(t.name for t in clip.tracking.tracks if t.lock)

    # --- no number of animals: one line, nothing changed
    props.animals = 0
    before = dump(clip)
    result["no_animals"] = _op("identify")
    result["unchanged_without_animals"] = dump(clip) == before
    return result
