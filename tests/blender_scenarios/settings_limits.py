"""The panel's properties against the settings schema, bad settings files, every numeric field at its
limits, poses at the largest region (tests/test_blender_settings_limits.py)."""
import bpy

from blender_scenarios.bpy_helpers import clip_editor, install


def fields_files_and_limits(zip_path, video, names, bad_files, limit_cases):
    install(zip_path)
    clip = bpy.data.movieclips.load(video)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 2
    props = scene.omnitrax
    result = {"properties": {}}
    for name in names:
        p = props.bl_rna.properties[name]
        entry = {"type": p.type, "default": p.default if p.type != "ENUM" else p.default.lower()}
        if p.type in ("INT", "FLOAT"):
            entry.update(hard_min=p.hard_min, hard_max=p.hard_max)
        if p.type == "ENUM":
            entry["items"] = [i.identifier.lower() for i in p.enum_items]
        if p.type == "STRING":
            entry["subtype"] = p.subtype
            entry["blend_relative"] = bool(getattr(p, "is_path_supports_blend_relative", True))
        result["properties"][name] = entry
    export = props.bl_rna.properties["export_dir"]
    result["export_dir_relative"] = bool(getattr(export, "is_path_supports_blend_relative", True))

    def values():
        return {n: getattr(props, n) for n in names}

    def op(fn, **kw):
        with clip_editor(clip):
            try:
                return sorted(fn(**kw)), ""
            except RuntimeError as exc:
                return None, str(exc)

    # a settings file with one value out of range is refused whole: nothing changes, nothing is clamped
    props.confidence = 0.3
    before = values()
    result["bad_files"] = {}
    for label, path in bad_files.items():
        status, msg = op(bpy.ops.omnitrax.load_settings, filepath=path)
        result["bad_files"][label] = {"status": status, "msg": msg, "unchanged": values() == before}

    # every numeric field at its limits runs
    result["limits"] = []
    for name, detector in limit_cases:
        p = props.bl_rna.properties[name]
        for value in (p.hard_min, p.hard_max):
            for n in names:
                props.property_unset(n)
            props.detector = detector
            setattr(props, name, value)
            status, msg = op(bpy.ops.omnitrax.track, restart=True)
            result["limits"].append({"name": name, "value": value, "detector": detector, "status": status,
                                     "msg": msg})

    # poses at the largest region the panel allows, in both region modes
    for n in names:
        props.property_unset(n)
    props.detector = "YOLO"
    props.min_length = 1
    result["pose_tracks"] = op(bpy.ops.omnitrax.track, restart=True)
    result["pose"] = []
    for mode in ("CONSTANT", "BOX"):
        props.pose_roi_mode = mode
        props.pose_roi_size = props.bl_rna.properties["pose_roi_size"].hard_max
        props.pose_padding = props.bl_rna.properties["pose_padding"].hard_max
        status, msg = op(bpy.ops.omnitrax.estimate_poses)
        result["pose"].append({"mode": mode, "status": status, "msg": msg})
    props.pose_model_path = "/no/such/pose/model"
    result["pose_bad_model"] = op(bpy.ops.omnitrax.estimate_poses)
    return result
