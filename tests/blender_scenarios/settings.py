"""Save and load the scene's OmniTrax settings (tests/test_blender_settings_file.py)."""
import bpy

from blender_scenarios.bpy_helpers import install


def save_reset_load(zip_path, blend, names, toml, yaml_file, bad, defaults_file):
    """Change every setting, save TOML and YAML, reset, load each back; then load a file with a typo; then
    load the file `omnitrax settings` prints (defaults_file) over the changed settings."""
    install(zip_path)
    assert hasattr(bpy.types, "OMNITRAX_OT_save_settings")  # the add-on registers the settings operators
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    p = bpy.context.scene.omnitrax

    def values():
        return {n: getattr(p, n) for n in names}

    defaults = values()
    p.detector, p.polarity, p.cost, p.pose_roi_mode = "BACKGROUND", "EITHER", "IOU", "BOX"
    p.confidence, p.network_size, p.min_area, p.max_distance, p.stitch = 0.25, 640, 33, 42.5, False
    p.process_noise, p.pcutoff, p.pose_roi_size, p.pose_padding = 0.3, 0.8, 64, 3
    p.model_path, p.pose_model_path = "//models/ants.cfg", "/abs/dlc_model"
    changed = values()
    result = {"defaults": defaults, "changed": changed}
    result["save"] = [list(bpy.ops.omnitrax.save_settings(filepath=toml)),
                      list(bpy.ops.omnitrax.save_settings(filepath=yaml_file))]
    for path, key in ((toml, "toml"), (yaml_file, "yaml")):
        for n in names:
            p.property_unset(n)
        result["reset_" + key] = values()
        result["load_" + key] = list(bpy.ops.omnitrax.load_settings(filepath=path))
        result["loaded_" + key] = values()
    try:
        bpy.ops.omnitrax.load_settings(filepath=bad)
        result["bad"] = "no error"
    except RuntimeError as exc:
        result["bad"] = str(exc)
    result["after_bad"] = values()
    result["load_defaults"] = list(bpy.ops.omnitrax.load_settings(filepath=defaults_file))
    result["after_defaults"] = values()
    return result
