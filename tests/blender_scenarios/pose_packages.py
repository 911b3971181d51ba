"""The pose-package installer of the installed add-on (tests/test_pose_packages_blender.py)."""
import sys

import bpy

from blender_scenarios.bpy_helpers import addon_module, install


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


def _installer(zip_path):
    ext = install(zip_path)
    pp = addon_module(ext, "blender.pose_packages")
    assert hasattr(bpy.types, "OMNITRAX_OT_install_pose_packages")  # the add-on registers the installer
    return pp


def install_check_and_draw(zip_path, wheels):
    """Install two tiny packages from the `wheels` folder, fail on a missing one, check, draw the
    preferences (tiny and default package lists), unregister."""
    pp = _installer(zip_path)
    out = {"target": str(pp.target_path())}
    try:
        import otx_tiny_alpha  # noqa: F401
        out["importable_before"] = True
    except ModuleNotFoundError:
        out["importable_before"] = False
    out["result"] = sorted(bpy.ops.omnitrax.install_pose_packages(
        requirements="otx_tiny_alpha==1.0\notx_tiny_beta", find_links=wheels, no_index=True))
    import otx_tiny_alpha
    out["module_file"] = otx_tiny_alpha.__file__
    out["version"] = otx_tiny_alpha.VERSION
    try:
        bpy.ops.omnitrax.install_pose_packages(requirements="otx_no_such_package", find_links=wheels,
                                               no_index=True)
        out["failure"] = None
    except RuntimeError as exc:
        out["failure"] = str(exc)
    out["check"] = sorted(bpy.ops.omnitrax.check_pose_packages(probe_devices=False))

    log = []
    pp.draw_preferences(Recorder(log), bpy.context,
                        packages=("otx_tiny_alpha==1.0", "otx_tiny_beta", "otx_tiny_gamma==3.0"))
    out["draw_tiny"] = log

    # the acceleration: this platform's choices, a refused one, the package list of another one
    prefs = bpy.context.preferences.addons[pp._extension_package()].preferences
    out["accelerations"] = [i.identifier for i in prefs.bl_rna.properties["pose_acceleration"].enum_items]
    out["acceleration_default"] = prefs.pose_acceleration
    log_file = pp.install.log_path(pp.target_path())
    log_before = log_file.read_bytes()
    try:
        bpy.ops.omnitrax.install_pose_packages(acceleration="coreml")
        out["refused"] = None
    except RuntimeError as exc:
        out["refused"] = str(exc)
    out["pip_ran_for_refused"] = log_file.read_bytes() != log_before
    prefs.pose_acceleration = "cuda"
    log = []
    pp.draw_preferences(Recorder(log), bpy.context)
    out["draw_cuda"] = log
    prefs.pose_acceleration = "cpu"

    # the device check, without the slow torch/tensorflow imports
    pp.PROBE_FRAMEWORKS = ("onnxruntime", "opencv")
    out["check_devices"] = sorted(bpy.ops.omnitrax.check_pose_packages(probe_devices=True))
    log = []
    pp.draw_preferences(Recorder(log), bpy.context)
    out["draw_default"] = log
    pp.unregister()
    out["registered_after_unregister"] = hasattr(bpy.types, "OMNITRAX_OT_install_pose_packages")
    out["target_on_path_after_unregister"] = out["target"] in sys.path
    return out


def import_installed(zip_path):
    """A later session in the same home: are the packages installed before importable?"""
    pp = _installer(zip_path)
    import otx_tiny_alpha
    return {"target_on_path": str(pp.target_path()) in sys.path, "file": otx_tiny_alpha.__file__}
