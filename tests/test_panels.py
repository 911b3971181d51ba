"""Every panel's draw() runs on a real Movie Clip Editor context, and everything it draws exists.

One bpy run (tests/blender_scenarios/panels.py) records every panel; each test checks one behaviour."""
import cv2
import numpy as np
import pytest

from blender_harness import run_scenario


@pytest.fixture(scope="module")
def drawn(linux_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("panels")
    video = root / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return run_scenario("panels", "draw_every_panel", root / "home", zip_path=str(linux_zip), video=str(video))


def _entries(drawn, kind):
    return [(panel, entry) for panel, log in drawn.items() for entry in log if entry[0] == kind]


def test_every_panel_draws_something(drawn):
    for panel, log in drawn.items():
        assert log, f"{panel} drew nothing"


def test_panels_draw_only_existing_properties(drawn):
    for panel, entry in _entries(drawn, "prop"):
        assert entry[3], f"{panel} draws a property that does not exist: {entry[1]}.{entry[2]}"


def test_panels_draw_only_existing_operators(drawn):
    for panel, entry in _entries(drawn, "operator"):
        assert entry[2], f"{panel} draws an operator that does not exist: {entry[1]}"


def test_panel_buttons_set_only_existing_operator_properties(drawn):
    for panel, entry in _entries(drawn, "operator_prop"):
        assert entry[3], f"{panel} sets {entry[1]}.{entry[2]}, which does not exist"


def test_detector_specific_and_range_settings_are_drawn(drawn):
    # the branches really were drawn: detector-specific and range settings appear
    drawn_props = {entry[2] for _, entry in _entries(drawn, "prop")}
    assert {"model_path", "confidence", "polarity", "min_area", "max_distance", "frame_start",
            "export_dir"} <= drawn_props


def test_without_a_clip_the_main_panel_offers_the_sample(drawn):
    assert ["operator", "omnitrax.load_sample", True] in drawn["no_clip"]


def test_panels_offer_the_tracking_and_correction_operators(drawn):
    ops = {entry[1] for _, entry in _entries(drawn, "operator")}
    assert {"omnitrax.track", "omnitrax.export_tracks", "omnitrax.swap_tracks", "clip.track_markers",
            "clip.join_tracks"} <= ops


def test_clip_panel_shows_the_clip_size(drawn):
    assert any(e[0] == "label" and "64x48" in e[1] for e in drawn["OMNITRAX_PT_clip"])


def test_every_scene_setting_of_the_schema_is_in_a_panel(drawn):
    from omnitrax import settings as schema

    drawn_props = {entry[2] for _, entry in _entries(drawn, "prop")}
    missing = sorted(s.name for s in schema.SETTINGS if s.scene and s.name not in drawn_props)
    assert not missing, f"settings no panel shows: {missing}"
