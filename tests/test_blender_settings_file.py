"""Save and load the scene's OmniTrax settings with the installed extension in the real bpy.

One bpy run (tests/blender_scenarios/settings.py) per module; each test checks one behaviour of it."""
import pytest
from blender_harness import run_scenario

from omnitrax.settings_file import POSE_DEFAULTS, TRACKING_DEFAULTS, read_settings

NAMES = [n for n in (*TRACKING_DEFAULTS, *POSE_DEFAULTS) if n not in ("backend", "runtime")]  # machine settings


@pytest.fixture(scope="module")
def round_trip(linux_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("settings_file")
    project = root / "project"
    project.mkdir()
    toml, yaml_file, bad = root / "settings.toml", root / "settings.yaml", root / "bad.toml"
    bad.write_text("[tracking]\nmax_distnce = 3\n")
    from omnitrax.settings_file import default_settings_text

    defaults_file = root / "defaults.toml"
    defaults_file.write_text(default_settings_text())  # what `omnitrax settings` prints
    r = run_scenario("settings", "save_reset_load", root / "home", zip_path=str(linux_zip),
                     blend=str(project / "scene.blend"), names=NAMES, toml=str(toml), yaml_file=str(yaml_file),
                     bad=str(bad), defaults_file=str(defaults_file))
    expected = dict(r["changed"], model_path=str(project / "models" / "ants.cfg"))  # `//` made absolute
    return dict(r, project=project, toml=toml, yaml_file=yaml_file, expected=expected)


def test_save_settings_writes_toml_and_yaml(round_trip):
    assert round_trip["save"] == [["FINISHED"], ["FINISHED"]]


def test_the_scenario_changes_the_settings(round_trip):
    assert round_trip["changed"] != round_trip["defaults"]


def test_unset_resets_every_setting_to_its_default(round_trip):
    r = round_trip
    assert r["reset_toml"] == r["defaults"] and r["reset_yaml"] == r["defaults"]


@pytest.mark.parametrize("key", ["toml", "yaml"])
def test_load_restores_the_saved_settings_with_paths_made_absolute(round_trip, key):
    assert round_trip["load_" + key] == ["FINISHED"]
    assert round_trip["loaded_" + key] == round_trip["expected"], key


def test_a_misspelt_setting_is_named_with_its_correction(round_trip):
    assert "max_distnce" in round_trip["bad"] and "max_distance" in round_trip["bad"]


def test_a_rejected_file_changes_nothing(round_trip):
    assert round_trip["after_bad"] == round_trip["expected"]


def test_saved_toml_has_lower_case_enums_and_absolute_paths(round_trip):
    text = round_trip["toml"].read_text()
    project = round_trip["project"]
    assert 'detector = "background"' in text and f'model_path = "{project / "models" / "ants.cfg"}"' in text


@pytest.mark.parametrize("name", ["toml", "yaml_file"])
def test_the_core_reads_what_blender_wrote(round_trip, name):
    tracking, pose = read_settings(round_trip[name])
    assert (tracking.detector, tracking.polarity, tracking.cost) == ("background", "either", "iou")
    assert (tracking.network_size, tracking.min_area, tracking.stitch) == (640, 33, False)
    assert abs(tracking.confidence - 0.25) < 1e-6 and abs(tracking.max_distance - 42.5) < 1e-6
    assert pose["pose_roi_mode"] == "box" and pose["pose_roi_size"] == 64 and pose["pose_padding"] == 3
    assert pose["pose_model_path"] == "/abs/dlc_model"


def test_loading_the_default_settings_file_gives_exactly_the_panel_defaults(round_trip):
    r = round_trip
    assert r["load_defaults"] == ["FINISHED"]
    assert r["after_defaults"] == r["defaults"]  # every name a scene.omnitrax property, every value its default
