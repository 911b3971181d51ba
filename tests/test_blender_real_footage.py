"""Track with the background detector's defaults in real Blender on a clip with the difficulties of real lab
footage: animals lighter than the floor, two that never move and one that rests for 80% of the clip, specks.
One bpy process runs the scenario (tests/blender_scenarios/real_footage.py); each test checks one behaviour."""
import shutil

import cv2
import numpy as np
import pytest

from blender_harness import run_scenario

N_FRAMES, N_ANIMALS, CLIP_START = 80, 4, 3


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from omnitrax.testclips import render_clip, render_frames

    folder = tmp_path_factory.mktemp("real_footage")
    video = folder / "flies.avi"
    options = dict(seed=7, polarity="light_on_dark", width=320, height=240, specks=25)  # seed 7: animals apart
    truth = render_clip(video, n_frames=N_FRAMES, n_animals=N_ANIMALS, still=2, resting=1, **options)
    (floor, _), = render_frames(n_frames=1, n_animals=0, **options)
    cv2.imwrite(str(folder / "arena.png"), floor)
    cv2.imwrite(str(folder / "small.png"), cv2.resize(floor, (160, 120)))
    return video, truth, folder


@pytest.fixture(scope="module")
def result(linux_zip, clip, tmp_path_factory):
    video, _, folder = clip
    blend_dir = tmp_path_factory.mktemp("blend")
    for name in ("arena.png", "small.png"):
        shutil.copy(folder / name, blend_dir / name)
    return run_scenario("real_footage", "resting_animals", tmp_path_factory.mktemp("home"), zip_path=str(linux_zip),
                        video=str(video), clip_start=CLIP_START, blend=str(blend_dir / "flies.blend"))


def _nearest_track_errors(markers, truth, video_frame):
    """For each animal in one video frame: the distance to the nearest unmuted marker, px."""
    here = truth.frame == video_frame
    gt = np.c_[truth.x[here], truth.y[here]]
    found = np.array([[x, y] for ms in markers.values() for f, x, y, muted in ms
                      if f == video_frame + CLIP_START and not muted]).reshape(-1, 2)
    if not len(found):
        return np.full(len(gt), np.inf)
    return np.linalg.norm(gt[:, None] - found[None], axis=2).min(axis=1)


def test_every_run_with_a_good_setting_finishes(result):
    assert result["unknown"] == result["known"] == result["image"] == ["FINISHED"]


def test_resting_light_animals_are_tracked_with_defaults_the_still_ones_from_the_first_frame(result, clip):
    truth = clip[1]
    assert _nearest_track_errors(result["markers_unknown"], truth, 0)[:2].max() < 1  # ids 0, 1 never move
    for video_frame in (N_FRAMES // 2, N_FRAMES - 1):  # animal 2 rests here; all four stand apart
        assert _nearest_track_errors(result["markers_unknown"], truth, video_frame).max() < 3


def test_a_known_number_of_animals_gives_exactly_that_many_tracks_over_the_whole_clip(result):
    markers = result["markers_known"]
    assert len(markers) == N_ANIMALS
    for ms in markers.values():
        assert sum(not m[3] for m in ms) >= 0.95 * N_FRAMES


def test_fewer_detections_than_the_number_of_animals_is_a_warning_at_the_end_of_tracking(result):
    assert result["too_many"] == ["FINISHED"]
    assert "fewer than" not in result["printed_known"]
    line = next(line for line in result["printed_too_many"].splitlines() if "fewer than 8 animals" in line)
    assert "WARNING" in line.upper() and "(median 4): try" in line and "Threshold" in line, line


def test_an_empty_arena_image_relative_to_the_blend_is_used(result, clip):
    truth = clip[1]
    assert len(result["markers_image"]) == N_ANIMALS
    assert _nearest_track_errors(result["markers_image"], truth, 0).max() < 3


def test_a_wrong_sized_arena_image_is_one_error_and_changes_nothing(result):
    assert "arena image is 160x120 px but the video is 320x240" in result["wrong_image"]
    assert "\n" not in result["wrong_image"].strip() and "Traceback" not in result["wrong_image"]
    assert result["unchanged"]
