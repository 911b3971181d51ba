"""Install / enable / disable / reinstall / uninstall the extension zip (tests/test_extension.py)."""
import os
import sys

import bpy

import addon_utils  # only importable once bpy is

from blender_scenarios.bpy_helpers import install

HEAVY = ("cv2", "scipy", "tensorflow", "torch", "dlclive")


def install_disable_reinstall_uninstall(zip_path):
    out = {}
    install(zip_path)
    out["heavy_after_enable"] = [m for m in HEAVY if m in sys.modules]
    out["scene_prop"] = hasattr(bpy.types.Scene, "omnitrax")
    scene = bpy.context.scene
    out["settings_detector"] = scene.omnitrax.detector
    out["panels"] = sorted(
        (name, cls.bl_space_type, cls.bl_region_type, getattr(cls, "bl_category", ""))
        for name in dir(bpy.types) if name.startswith("OMNITRAX_PT")
        for cls in [getattr(bpy.types, name)])
    out["operators"] = sorted(name for name in dir(bpy.ops.omnitrax))
    out["load_sample_poll"] = bpy.ops.omnitrax.load_sample.poll()
    site = os.path.join(bpy.utils.user_resource("EXTENSIONS"), ".local", "lib", "python3.11", "site-packages")
    out["wheels_installed"] = sorted(n for n in os.listdir(site) if n in ("cv2", "scipy"))

    # disable, then enable again
    addon_utils.disable("bl_ext.user_default.omnitrax", default_set=True)
    out["scene_prop_after_disable"] = hasattr(bpy.types.Scene, "omnitrax")
    out["classes_after_disable"] = [c for c in dir(bpy.types) if c.startswith("OMNITRAX")]
    out["ops_after_disable"] = [n for n in dir(bpy.ops.omnitrax)]
    addon_utils.enable("bl_ext.user_default.omnitrax", default_set=True)
    out["scene_prop_after_reenable"] = hasattr(bpy.types.Scene, "omnitrax")

    # installing the same zip again over itself works
    install(zip_path)
    out["scene_prop_after_reinstall"] = hasattr(bpy.types.Scene, "omnitrax")

    repos = [r.module for r in bpy.context.preferences.extensions.repos]
    result = bpy.ops.extensions.package_uninstall(repo_index=repos.index("user_default"), pkg_id="omnitrax")
    out["uninstall"] = sorted(result)
    out["scene_prop_after_uninstall"] = hasattr(bpy.types.Scene, "omnitrax")
    out["classes_after_uninstall"] = [c for c in dir(bpy.types) if c.startswith("OMNITRAX")]
    out["files_after_uninstall"] = os.path.exists(os.path.join(bpy.utils.user_resource("EXTENSIONS"),
                                                               "user_default", "omnitrax"))
    return out
