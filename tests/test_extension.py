"""The built extension zips: platforms, contents, and install / enable / disable / uninstall in real bpy."""
import zipfile

from blender_harness import run_in_blender

PLATFORM_WHEEL_TAGS = {
    "linux_x64": "manylinux",
    "windows_x64": "win_amd64",
    "macos_arm64": "arm64",
    "macos_x64": "x86_64",
}


def test_four_platform_zips_each_carry_only_their_wheels(extension_zips):
    assert sorted(extension_zips) == sorted(PLATFORM_WHEEL_TAGS)
    for platform, zip_path in extension_zips.items():
        names = zipfile.ZipFile(zip_path).namelist()
        assert "blender_manifest.toml" in names and "__init__.py" in names
        assert not any("__pycache__" in n for n in names)
        wheels = [n for n in names if n.endswith(".whl")]
        assert {w.split("/")[-1].split("-")[0] for w in wheels} == {"opencv_python_headless", "scipy"}
        tag = PLATFORM_WHEEL_TAGS[platform]
        assert all(tag in w and (platform != "macos_x64" or "arm64" not in w) for w in wheels), (platform, wheels)


INSTALL_SCRIPT = '''
import addon_utils
HEAVY = ("cv2", "scipy", "tensorflow", "torch", "dlclive")
out = {}
mod = install(ZIP)
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
install(ZIP)
out["scene_prop_after_reinstall"] = hasattr(bpy.types.Scene, "omnitrax")

repos = [r.module for r in bpy.context.preferences.extensions.repos]
result = bpy.ops.extensions.package_uninstall(repo_index=repos.index("user_default"), pkg_id="omnitrax")
out["uninstall"] = sorted(result)
out["scene_prop_after_uninstall"] = hasattr(bpy.types.Scene, "omnitrax")
out["classes_after_uninstall"] = [c for c in dir(bpy.types) if c.startswith("OMNITRAX")]
out["files_after_uninstall"] = os.path.exists(os.path.join(bpy.utils.user_resource("EXTENSIONS"),
                                                           "user_default", "omnitrax"))
report(out)
'''


def test_zip_installs_registers_and_uninstalls_cleanly(linux_zip, tmp_path):
    out = run_in_blender(f"ZIP = {str(linux_zip)!r}\n" + INSTALL_SCRIPT, tmp_path / "home")

    assert out["heavy_after_enable"] == [], "enabling the add-on must not import heavy packages"
    assert out["scene_prop"] and out["settings_detector"] == "YOLO"
    panel_ids = [p[0] for p in out["panels"]]
    assert {"OMNITRAX_PT_clip", "OMNITRAX_PT_detection", "OMNITRAX_PT_tracking", "OMNITRAX_PT_manual",
            "OMNITRAX_PT_export"} <= set(panel_ids)
    assert all(p[1:] == ["CLIP_EDITOR", "TOOLS", "OmniTrax"] for p in out["panels"]), out["panels"]
    assert {"load_sample", "track", "export_tracks", "swap_tracks"} <= set(out["operators"])
    assert out["wheels_installed"] == ["cv2", "scipy"], "bundled wheels must be installed with the zip"

    assert not out["scene_prop_after_disable"]
    assert out["classes_after_disable"] == [] and out["ops_after_disable"] == []
    assert out["scene_prop_after_reenable"]
    assert out["scene_prop_after_reinstall"]

    assert out["uninstall"] == ["FINISHED"]
    assert not out["scene_prop_after_uninstall"] and out["classes_after_uninstall"] == []
    assert not out["files_after_uninstall"]
