"""Save and load the scene's OmniTrax settings with the installed extension in the real bpy."""
from blender_harness import run_in_blender

from omnitrax.settings_file import POSE_DEFAULTS, TRACKING_DEFAULTS, read_settings

NAMES = [n for n in (*TRACKING_DEFAULTS, *POSE_DEFAULTS) if n != "backend"]


def test_save_reset_load_round_trip(linux_zip, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    toml, yaml_file, bad = tmp_path / "settings.toml", tmp_path / "settings.yaml", tmp_path / "bad.toml"
    bad.write_text("[tracking]\nmax_distnce = 3\n")
    script = f'''
install({str(linux_zip)!r})
assert hasattr(bpy.types, "OMNITRAX_OT_save_settings")  # the add-on registers the settings operators
bpy.ops.wm.save_as_mainfile(filepath={str(project / "scene.blend")!r})
names = {NAMES!r}
p = bpy.context.scene.omnitrax

def values():
    return {{n: getattr(p, n) for n in names}}

defaults = values()
p.detector, p.polarity, p.cost, p.pose_roi_mode = "BACKGROUND", "EITHER", "IOU", "BOX"
p.confidence, p.network_size, p.min_area, p.max_distance, p.stitch = 0.25, 640, 33, 42.5, False
p.process_noise, p.pcutoff, p.pose_roi_size, p.pose_padding = 0.3, 0.8, 64, 3
p.model_path, p.pose_model_path = "//models/ants.cfg", "/abs/dlc_model"
changed = values()
result = {{"defaults": defaults, "changed": changed}}
result["save"] = [list(bpy.ops.omnitrax.save_settings(filepath={str(toml)!r})),
                  list(bpy.ops.omnitrax.save_settings(filepath={str(yaml_file)!r}))]
for path, key in (({str(toml)!r}, "toml"), ({str(yaml_file)!r}, "yaml")):
    for n in names:
        p.property_unset(n)
    result["reset_" + key] = values()
    result["load_" + key] = list(bpy.ops.omnitrax.load_settings(filepath=path))
    result["loaded_" + key] = values()
try:
    bpy.ops.omnitrax.load_settings(filepath={str(bad)!r})
    result["bad"] = "no error"
except RuntimeError as exc:
    result["bad"] = str(exc)
result["after_bad"] = values()
report(result)
'''
    r = run_in_blender(script, tmp_path / "home")
    assert r["save"] == [["FINISHED"], ["FINISHED"]]
    assert r["changed"] != r["defaults"]
    assert r["reset_toml"] == r["defaults"] and r["reset_yaml"] == r["defaults"]
    expected = dict(r["changed"], model_path=str(project / "models" / "ants.cfg"))  # `//` made absolute
    for key in ("toml", "yaml"):
        assert r["load_" + key] == ["FINISHED"]
        assert r["loaded_" + key] == expected, key
    assert "max_distnce" in r["bad"] and "max_distance" in r["bad"]
    assert r["after_bad"] == expected  # a rejected file changes nothing

    # the core reads what Blender wrote: lower-case enums, absolute paths
    text = toml.read_text()
    assert 'detector = "background"' in text and f'model_path = "{project / "models" / "ants.cfg"}"' in text
    for path in (toml, yaml_file):
        tracking, pose = read_settings(path)
        assert (tracking.detector, tracking.polarity, tracking.cost) == ("background", "either", "iou")
        assert (tracking.network_size, tracking.min_area, tracking.stitch) == (640, 33, False)
        assert abs(tracking.confidence - 0.25) < 1e-6 and abs(tracking.max_distance - 42.5) < 1e-6
        assert pose["pose_roi_mode"] == "box" and pose["pose_roi_size"] == 64 and pose["pose_padding"] == 3
        assert pose["pose_model_path"] == "/abs/dlc_model"
