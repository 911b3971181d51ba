"""Settings files (TOML / YAML): round trips, unknown names, relative paths, enum case, bad values."""
from pathlib import Path

import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.settings_file import POSE_DEFAULTS, read_settings, write_settings
from omnitrax.tracking.settings import TrackingSettings


def _changed():
    tracking = TrackingSettings(detector="background", model_path="/models/ants.cfg", confidence=0.3125,
                                network_size=640, polarity="either", min_area=33, max_distance=42.5,
                                min_length=3, cost="iou", process_noise=1e-5, stitch=False,
                                names_path='/odd "quoted" \\ path/ä.names')
    pose = dict(POSE_DEFAULTS, pose_model_path="/models/dlc", pose_roi_mode="box", pose_roi_size=128,
                pose_padding=4, pcutoff=0.75)
    return tracking, pose


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".yml"])
def test_round_trip_is_equal(tmp_path, suffix):
    tracking, pose = _changed()
    path = write_settings(tmp_path / f"settings{suffix}", tracking, pose)
    got_tracking, got_pose = read_settings(path)
    assert got_tracking == tracking
    assert got_pose == pose
    # writing what was read gives the same bytes
    again = write_settings(tmp_path / f"again{suffix}", got_tracking, got_pose)
    assert again.read_bytes() == path.read_bytes()


def test_toml_is_flat_sections(tmp_path):
    tracking, pose = _changed()
    text = write_settings(tmp_path / "s.toml", tracking, pose).read_text()
    assert "[tracking]\n" in text and "[pose]\n" in text
    assert 'detector = "background"\n' in text and "stitch = false\n" in text and "pose_roi_size = 128\n" in text


def test_defaults_when_missing_and_flat_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('min_length = 7\npose_roi_size = 64\n')  # top-level keys without sections
    tracking, pose = read_settings(path)
    assert tracking == TrackingSettings(min_length=7)
    assert pose == dict(POSE_DEFAULTS, pose_roi_size=64)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_settings(empty) == (TrackingSettings(), POSE_DEFAULTS)


@pytest.mark.parametrize("text, name", [
    ("[tracking]\nmax_distnce = 3\n", "tracking.max_distnce"),
    ("[pose]\ndetector = 'yolo'\n", "pose.detector"),
    ("colour = 'red'\n", "colour"),
])
def test_unknown_key_lists_known_names(tmp_path, text, name):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(OmniTraxError) as info:
        read_settings(path)
    message = str(info.value)
    assert name in message and "max_distance" in message and "pose_roi_mode" in message
    assert "\n" not in message


def test_relative_paths_resolve_against_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "settings.yaml").write_text(
        "tracking:\n  model_path: models/yolo.cfg\n  weights_path: //models/yolo.weights\n"
        "  names_path: /abs/ants.names\npose:\n  pose_model_path: ../dlc\n")
    monkeypatch.chdir(tmp_path)  # the working folder must not matter
    tracking, pose = read_settings(Path("project/settings.yaml"))
    assert tracking.model_path == str(folder / "models" / "yolo.cfg")
    assert tracking.weights_path == str(folder / "models" / "yolo.weights")
    assert tracking.names_path == "/abs/ants.names"
    assert pose["pose_model_path"] == str(tmp_path / "dlc")
    assert pose["pose_skeleton_path"] == ""  # empty stays empty


def test_enum_values_upper_case_accepted_and_written_lower(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[tracking]\ndetector = "BACKGROUND"\npolarity = "Lighter"\ncost = "IOU"\n'
                    '[pose]\npose_roi_mode = "BOX"\n')
    tracking, pose = read_settings(path)
    assert (tracking.detector, tracking.polarity, tracking.cost, pose["pose_roi_mode"]) == \
        ("background", "lighter", "iou", "box")
    out = write_settings(tmp_path / "out.yaml", {**tracking.to_dict(), "detector": "BACKGROUND"},
                         dict(pose, pose_roi_mode="BOX"))
    text = out.read_text()
    assert "detector: background" in text and "pose_roi_mode: box" in text


@pytest.mark.parametrize("text, words", [
    ('[tracking]\ndetector = "sonar"\n', "detector"),
    ('[pose]\npose_roi_mode = "circle"\n', "pose_roi_mode"),
    ('[tracking]\nmin_length = "ten"\n', "min_length"),
    ('[tracking]\nstitch = 1\n', "stitch"),
    ('[tracking]\nmax_gap = 2.5\n', "max_gap"),
    ('[tracking]\nnetwork_size = 400\n', "multiple of 32"),
    ('[tracking\n', "not valid TOML"),
])
def test_bad_values_are_one_line_errors(tmp_path, text, words):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(OmniTraxError) as info:
        read_settings(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(OmniTraxError, match="not found"):
        read_settings(tmp_path / "missing.toml")
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(OmniTraxError, match=r"\.toml, \.yaml or \.yml"):
        read_settings(tmp_path / "s.json")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(OmniTraxError, match="sections"):
        read_settings(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("tracking: [unclosed\n")
    with pytest.raises(OmniTraxError, match="not valid YAML"):
        read_settings(tmp_path / "bad.yaml")
    with pytest.raises(OmniTraxError, match="Unknown setting.*pose_colour"):
        write_settings(tmp_path / "w.toml", TrackingSettings(), {"pose_colour": 1})
