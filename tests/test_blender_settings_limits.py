"""The panel accepts exactly what the core runs (issue 18): Blender's properties come from the schema, a bad
settings file changes nothing, and every value at the edge of a field tracks (or poses) without a bug report.

One bpy run (tests/blender_scenarios/settings_limits.py) per module; each test checks one behaviour of it."""
from pathlib import Path

import pytest
from blender_harness import run_scenario

from omnitrax import settings as schema

SCENE_SETTINGS = [s for s in schema.SETTINGS if s.scene]

BAD = {
    "huge min_area": "[tracking]\nconfidence = 0.9\nmin_area = 1000000000000\n",
    "confidence 5": "[tracking]\nconfidence = 5.0\n",
    "pose ROI 2": "[pose]\npose_roi_size = 2\n",
    "nan": "[tracking]\nprocess_noise = nan\n",
    "threshold 255": "[tracking]\nthreshold = 255\n",
    "min above max": "[tracking]\nmin_area = 50\nmax_area = 40\n",
}


def _limit_cases():
    for s in SCENE_SETTINGS:
        if s.kind in (int, float) and s.group != "pose":
            yield s.name, "YOLO" if s.group == "detection" else "BACKGROUND"


@pytest.fixture(scope="module")
def limits_run(linux_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("settings_limits")
    files = {}
    for label, text in BAD.items():
        path = root / (label.replace(" ", "_") + ".toml")
        path.write_text(text)
        files[label] = str(path)
    sample_clip = Path(__file__).resolve().parents[1] / "data" / "sample" / "ants.avi"
    return run_scenario("settings_limits", "fields_files_and_limits", root / "home", timeout=900,
                        zip_path=str(linux_zip), video=str(sample_clip), names=[s.name for s in SCENE_SETTINGS],
                        bad_files=files, limit_cases=list(_limit_cases()))


def test_property_defaults_are_the_schema_defaults(limits_run):
    for s in SCENE_SETTINGS:
        p = limits_run["properties"][s.name]
        if s.kind is float:
            assert abs(p["default"] - s.default) < 1e-6 * max(1.0, abs(s.default)), s.name
        else:
            assert p["default"] == s.default, s.name


def test_numeric_property_limits_are_the_schema_limits(limits_run):
    for s in SCENE_SETTINGS:
        p = limits_run["properties"][s.name]
        if s.kind in (int, float):
            assert abs(p["hard_min"] - s.min) <= 1e-6 * max(1.0, abs(s.min)), (s.name, p)
            assert abs(p["hard_max"] - s.max) <= 1e-6 * max(1.0, abs(s.max)), (s.name, p)


def test_enum_items_are_the_schema_choices(limits_run):
    for s in SCENE_SETTINGS:
        if s.choices:
            assert limits_run["properties"][s.name]["items"] == list(s.values), s.name


def test_path_properties_are_file_or_folder_paths_that_may_be_blend_relative(limits_run):
    for s in SCENE_SETTINGS:
        p = limits_run["properties"][s.name]
        if s.path:
            assert p["subtype"] == ("FILE_PATH" if s.path == "file" else "DIR_PATH") and p["blend_relative"], s.name
    assert limits_run["export_dir_relative"]


@pytest.mark.parametrize("label", sorted(BAD))
def test_a_settings_file_with_a_bad_value_is_refused_with_one_line(limits_run, label):
    outcome = limits_run["bad_files"][label]
    assert outcome["status"] is None, label
    msg = outcome["msg"].strip()
    assert "\n" not in msg and "Traceback" not in msg and "ValueError" not in msg, (label, msg)
    assert "out of range" in msg or "finite" in msg or "larger than" in msg, (label, msg)


@pytest.mark.parametrize("label", sorted(BAD))
def test_a_refused_settings_file_changes_nothing(limits_run, label):
    assert limits_run["bad_files"][label]["unchanged"], label


def test_every_numeric_field_at_its_limits_tracks(limits_run):
    assert limits_run["limits"], "no limit cases ran"
    for case in limits_run["limits"]:
        assert case["status"] == ["FINISHED"] or (
            case["status"] is None and "failed (" not in case["msg"] and "Traceback" not in case["msg"]), case
        assert case["status"] == ["FINISHED"], case  # every value the panel accepts tracks


def test_poses_at_the_largest_region_in_both_modes(limits_run):
    for case in limits_run["pose"]:
        assert case["status"] == ["FINISHED"], case


def test_a_missing_pose_model_is_named_as_a_pose_problem(limits_run):
    status, msg = limits_run["pose_bad_model"]
    assert status is None and "Tracking" not in msg and "no/such/pose/model" in msg, msg
