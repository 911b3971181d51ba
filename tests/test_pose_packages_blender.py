"""The pose-package installer inside real Blender: install operator, activation, preferences drawing."""
from blender_harness import run_in_blender
from test_installer import make_wheel

SESSION_ONE = '''
import importlib
ext = install(ZIP)
pp = importlib.import_module(ext.__name__ + ".blender.pose_packages")
assert hasattr(bpy.types, "OMNITRAX_OT_install_pose_packages")  # the add-on registers the installer

class Recorder:
    """A UILayout stand-in that records what draw_preferences draws."""
    def __init__(self, log):
        self.log = log
    def label(self, text="", icon="NONE", **kw):
        self.log.append(["label", text, icon])
    def operator(self, idname, text="", **kw):
        category, name = idname.split(".")
        self.log.append(["operator", idname, name in dir(getattr(bpy.ops, category)), text])
    def prop(self, data, name, **kw):
        self.log.append(["prop", name, name in data.bl_rna.properties])
    def separator(self, **kw):
        pass
    def _nested(self, *a, **kw):
        return Recorder(self.log)
    row = column = box = split = _nested

out = {"target": str(pp.target_path())}
try:
    import otx_tiny_alpha
    out["importable_before"] = True
except ModuleNotFoundError:
    out["importable_before"] = False
out["result"] = sorted(bpy.ops.omnitrax.install_pose_packages(
    requirements="otx_tiny_alpha==1.0\\notx_tiny_beta", find_links=WHEELS, no_index=True))
import otx_tiny_alpha
out["module_file"] = otx_tiny_alpha.__file__
out["version"] = otx_tiny_alpha.VERSION
try:
    bpy.ops.omnitrax.install_pose_packages(requirements="otx_no_such_package", find_links=WHEELS, no_index=True)
    out["failure"] = None
except RuntimeError as exc:
    out["failure"] = str(exc)
out["check"] = sorted(bpy.ops.omnitrax.check_pose_packages(probe_devices=False))

log = []
pp.draw_preferences(Recorder(log), bpy.context,
                    packages=("otx_tiny_alpha==1.0", "otx_tiny_beta", "otx_tiny_gamma==3.0"))
out["draw_tiny"] = log
log = []
pp.draw_preferences(Recorder(log), bpy.context)
out["draw_default"] = log
pp.unregister()
out["registered_after_unregister"] = hasattr(bpy.types, "OMNITRAX_OT_install_pose_packages")
out["target_on_path_after_unregister"] = out["target"] in sys.path
report(out)
'''

SESSION_TWO = '''
import importlib
ext = install(ZIP)
pp = importlib.import_module(ext.__name__ + ".blender.pose_packages")
assert hasattr(bpy.types, "OMNITRAX_OT_install_pose_packages")  # the add-on registers the installer
import otx_tiny_alpha
report({"target_on_path": str(pp.target_path()) in sys.path, "file": otx_tiny_alpha.__file__})
'''


def test_install_operator_in_blender(linux_zip, tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "otx_tiny_alpha", "1.0")
    make_wheel(wheels, "otx_tiny_beta", "0.5")
    header = f"ZIP = {str(linux_zip)!r}\nWHEELS = {str(wheels)!r}\n"
    home = tmp_path / "home"

    out = run_in_blender(header + SESSION_ONE, home, keep_extensions=True)

    target = out["target"]
    assert target.startswith(str(home)) and target.endswith("pose_site_packages_py311")
    assert "/extensions/.user/user_default/omnitrax/" in target
    assert out["importable_before"] is False
    assert out["result"] == ["FINISHED"]
    assert out["module_file"].startswith(target) and out["version"] == "1.0"
    assert "otx_no_such_package" in out["failure"] and "see the log at" in out["failure"]
    assert out["check"] == ["FINISHED"]

    labels = [e for e in out["draw_tiny"] if e[0] == "label"]
    texts = [e[1] for e in labels]
    assert ["label", "otx_tiny_alpha 1.0", "CHECKMARK"] in labels
    assert ["label", "otx_tiny_beta 0.5", "CHECKMARK"] in labels
    assert ["label", "otx_tiny_gamma: not installed (needs 3.0)", "X"] in labels
    assert f"Folder: {target}" in texts
    assert any(t.startswith("Log: ") and t.endswith("pose_install.log") for t in texts)
    assert any("otx_no_such_package" in t for t in texts)  # the last install's failure is shown
    ops = [e for e in out["draw_tiny"] if e[0] == "operator"]
    assert ["operator", "omnitrax.install_pose_packages", True, "Install pose-estimation packages"] in ops
    assert ["operator", "omnitrax.check_pose_packages", True, "Check"] in ops

    default_texts = [e[1] for e in out["draw_default"] if e[0] == "label"]
    for name in ("deeplabcut-live", "tensorflow-cpu", "torch", "torchvision", "numpy"):
        assert any(t.startswith(name + " ") or t.startswith(name + ":") for t in default_texts), name
    assert "numpy 1.26.4" in default_texts  # Blender's own numpy, found first on sys.path

    assert out["registered_after_unregister"] is False
    assert out["target_on_path_after_unregister"] is False

    # a new Blender session finds the packages installed before, without installing again
    again = run_in_blender(header + SESSION_TWO, home)
    assert again["target_on_path"] is True and again["file"].startswith(target)
