"""The built extension zips: platforms, contents, and install / enable / disable / uninstall in real bpy."""
import zipfile

import pytest

from blender_harness import run_scenario

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


@pytest.fixture(scope="module")
def lifecycle(linux_zip, tmp_path_factory):
    """One bpy run (tests/blender_scenarios/extension.py): install, disable, enable, reinstall, uninstall."""
    return run_scenario("extension", "install_disable_reinstall_uninstall", tmp_path_factory.mktemp("home"),
                        zip_path=str(linux_zip))


def test_enabling_imports_no_heavy_package(lifecycle):
    assert lifecycle["heavy_after_enable"] == [], "enabling the add-on must not import heavy packages"


def test_enabling_adds_the_scene_settings(lifecycle):
    assert lifecycle["scene_prop"] and lifecycle["settings_detector"] == "YOLO"


def test_panels_are_in_the_clip_editor_toolbar_tab(lifecycle):
    panel_ids = [p[0] for p in lifecycle["panels"]]
    assert {"OMNITRAX_PT_clip", "OMNITRAX_PT_detection", "OMNITRAX_PT_tracking", "OMNITRAX_PT_manual",
            "OMNITRAX_PT_export"} <= set(panel_ids)
    assert all(p[1:] == ["CLIP_EDITOR", "TOOLS", "OmniTrax"] for p in lifecycle["panels"]), lifecycle["panels"]


def test_operators_are_registered(lifecycle):
    assert {"load_sample", "track", "export_tracks", "swap_tracks"} <= set(lifecycle["operators"])


def test_bundled_wheels_are_installed_with_the_zip(lifecycle):
    assert lifecycle["wheels_installed"] == ["cv2", "scipy"], "bundled wheels must be installed with the zip"


def test_disable_removes_every_class_and_operator(lifecycle):
    assert not lifecycle["scene_prop_after_disable"]
    assert lifecycle["classes_after_disable"] == [] and lifecycle["ops_after_disable"] == []


def test_enable_again_after_disable(lifecycle):
    assert lifecycle["scene_prop_after_reenable"]


def test_install_over_itself_works(lifecycle):
    assert lifecycle["scene_prop_after_reinstall"]


def test_uninstall_removes_classes_and_files(lifecycle):
    assert lifecycle["uninstall"] == ["FINISHED"]
    assert not lifecycle["scene_prop_after_uninstall"] and lifecycle["classes_after_uninstall"] == []
    assert not lifecycle["files_after_uninstall"]
