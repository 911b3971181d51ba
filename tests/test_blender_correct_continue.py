"""Correct-and-continue in real Blender, swept over the inputs users give it (issue 18).

Track, scrub, correct with Blender's tools, continue: from every frame of a range, with hidden, locked,
selected, renamed and user-made tracks, with both detectors. Nothing may be lost, no traceback text may
reach a report, and identical input must give identical names and files.
Each scenario (tests/blender_scenarios/correct_continue.py) runs one bpy process per module that loops
over its cases and returns a summary; each test checks one behaviour of it.
"""
import pytest

from blender_harness import run_scenario

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 40, 5, 17, 5


@pytest.fixture(scope="module")
def clip_video(tmp_path_factory):
    from omnitrax.testclips import render_clip

    video = tmp_path_factory.mktemp("continue") / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, polarity="dark_on_light")
    return video


def _scenario(function, tmp_path_factory, linux_zip, video, timeout=300, **params):
    return run_scenario("correct_continue", function, tmp_path_factory.mktemp("home_" + function), timeout=timeout,
                        zip_path=str(linux_zip), video=str(video), clip_start=CLIP_START, **params)


# --- continue from every frame, both detectors -----------------------------------------------------------

@pytest.fixture(scope="module", params=["BACKGROUND", "YOLO"])
def sweep(request, linux_zip, clip_video, tmp_path_factory):
    return _scenario("continue_from_every_frame", tmp_path_factory, linux_zip, clip_video, timeout=600,
                     detector=request.param)


def _where(c):
    return f"continue from scene frame {c['k']}: {c}"


def test_sweep_continues_from_every_inner_frame(sweep):
    assert len(sweep) == N_FRAMES - 2


def test_track_and_continue_finish_from_every_frame(sweep):
    for c in sweep:
        assert c["first"] == ["FINISHED"] and c["second"] == ["FINISHED"], _where(c)


def test_reports_carry_no_traceback_text(sweep):
    for c in sweep:
        assert c["messages_clean"], _where(c)


def test_continue_loses_no_track_and_keeps_the_past(sweep):
    for c in sweep:
        assert c["lost"] == [] and c["changed_before"] == [], _where(c)


def test_the_first_run_finds_the_animals(sweep):
    for c in sweep:
        assert c["seeded"] >= N_ANIMALS - 1, _where(c)


def test_every_seeded_track_continues_on_its_animal(sweep):
    for c in sweep:
        assert c["unmatched_seeds"] == [] and c["not_continued"] == [] and c["not_following"] == [], _where(c)


def test_continue_makes_no_duplicate_track_and_keeps_tracking(sweep):
    # no duplicate track for a seeded animal, and the animals are still tracked
    for c in sweep:
        assert N_ANIMALS - 1 <= c["tracks_next"] <= c["tracks_next_reference"], _where(c)


def test_hidden_tracks_stay_hidden(sweep):
    for c in sweep:
        assert c["hidden_kept"], _where(c)


# --- hidden, locked, selected, renamed and user tracks through every operator ----------------------------

@pytest.fixture(scope="module")
def user_states(linux_zip, clip_video, tmp_path_factory):
    export = tmp_path_factory.mktemp("user_states") / "export"
    return _scenario("user_states_through_every_operator", tmp_path_factory, linux_zip, clip_video,
                     export=str(export))


def test_first_run_makes_one_track_per_animal(user_states):
    assert user_states["first"] == ["FINISHED"] and len(user_states["names_first"]) == N_ANIMALS


def test_track_from_start_with_hidden_and_locked_tracks_finishes_cleanly(user_states):
    r = user_states
    assert r["restart"] == ["FINISHED"] and r["restart_clean"], r


def test_track_from_start_replaces_every_omnitrax_track_and_nothing_else(user_states):
    r = user_states
    assert r["names_restart"] == sorted(r["names_first"] + ["track_0_mine"]), r["names_restart"]
    assert r["user_track_kept"]


def test_continue_with_hidden_locked_and_renamed_tracks_finishes_cleanly(user_states):
    r = user_states
    assert r["continue"] == ["FINISHED"] and r["continue_clean"], r


def test_continue_loses_nothing_and_keeps_the_past(user_states):
    r = user_states
    assert r["continue_lost"] == [] and r["continue_changed_past"] == [], r


def test_continue_keeps_hidden_locked_and_renamed_state(user_states):
    assert all(user_states["continue_state_kept"].values()), user_states["continue_state_kept"]


def test_continue_continues_hidden_and_renamed_tracks(user_states):
    assert user_states["hidden_continued"] and user_states["renamed_continued"]


def test_swap_finishes_cleanly(user_states):
    assert user_states["swap"] == ["FINISHED"] and user_states["swap_clean"]


def test_swap_exchanges_the_two_visible_selected_tracks_never_the_hidden_one(user_states):
    r = user_states
    assert r["swap_count_kept"] and r["hidden_untouched"] and r["swapped_after"] and r["swap_kept_past"], r


def test_swap_is_not_offered_with_one_visible_selected_track(user_states):
    assert user_states["swap_poll_one_visible"] is False


def test_export_includes_hidden_tracks(user_states):
    r = user_states
    assert r["export"] == ["FINISHED"] and r["export_clean"]
    assert r["exported_tracks"] == r["track_count"]


def test_export_selected_only_means_the_visible_selected_tracks(user_states):
    assert user_states["export_sel"] == ["FINISHED"] and user_states["exported_selected"] == 1


# --- Track From Start again ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reruns(linux_zip, clip_video, tmp_path_factory):
    return _scenario("track_from_start_three_times", tmp_path_factory, linux_zip, clip_video,
                     export_dir=str(tmp_path_factory.mktemp("reruns")))


def test_each_rerun_finishes(reruns):
    assert reruns["status"] == [["FINISHED"]] * 3


def test_track_from_start_again_gives_the_same_names(reruns):
    assert reruns["names"][0] == reruns["names"][1] == reruns["names"][2]


def test_track_from_start_again_gives_the_same_csv(reruns):
    assert reruns["csv"][0] == reruns["csv"][1] == reruns["csv"][2]


def test_a_users_track_named_like_ours_is_kept_and_not_owned(reruns):
    assert reruns["user_kept"] and "track_1" not in reruns["owned"]


def test_owned_track_names_skip_the_users_name(reruns):
    expected = ["track_0"] + [f"track_{i}" for i in range(2, N_ANIMALS + 1)]  # track_1 is the user's
    assert sorted(reruns["owned"]) == sorted(expected), reruns["owned"]


# --- swap of markers, keypoints, confidences and classes -------------------------------------------------

@pytest.fixture(scope="module")
def swap_all(linux_zip, clip_video, tmp_path_factory):
    r = _scenario("swap_markers_and_keypoints", tmp_path_factory, linux_zip, clip_video)
    ids = {name: int(tid) for tid, name in r["names"].items()}
    return dict(r, a=str(ids["track_0"]), b=str(ids["track_1"]))


def test_swap_of_everything_finishes(swap_all):
    assert swap_all["status"] == ["FINISHED"], swap_all["msg"]


def test_swap_moves_positions_confidences_and_classes_from_the_frame_on(swap_all):
    for frame, x, y, conf, cls in swap_all["tracks"][swap_all["a"]]:
        if frame < 5:
            assert (x, y, cls) == (100 + frame, 100, 1) and conf == pytest.approx(0.5 + frame / 100)
        else:  # animal 1 from the swap frame on: its position, confidence and class
            assert (x, y, cls) == (300 + frame, 200, 2) and conf == pytest.approx(0.9 - frame / 100)
    for frame, x, y, conf, cls in swap_all["tracks"][swap_all["b"]]:
        expect = (300 + frame, 200, 2) if frame < 5 else (100 + frame, 100, 1)
        assert (x, y, cls) == expect


def test_swap_moves_keypoints_and_likelihoods_from_the_frame_on(swap_all):
    pa, pb = swap_all["poses"][swap_all["a"]], swap_all["poses"][swap_all["b"]]
    assert len(pa) == len(pb) == 24
    for frame, joint, x, y, like in pa:
        if frame < 5:
            assert (x, like) == (100 + 5 * joint + frame, pytest.approx(0.9 - 0.1 * joint))
        else:
            assert (x, y, like) == (300 + 5 * joint + frame, 200, pytest.approx(0.3 - 0.1 * joint))
    for frame, joint, x, y, like in pb:
        expect_x = 300 + 5 * joint + frame if frame < 5 else 100 + 5 * joint + frame
        assert x == expect_x


def test_keypoints_below_the_cutoff_stay_disabled_with_their_animal(swap_all):
    assert swap_all["muted"]["track_0.head"] == [False] * 5 + [True] * 7
    assert swap_all["muted"]["track_1.head"] == [True] * 5 + [False] * 7


# --- confusing cases -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def confusing(linux_zip, clip_video, tmp_path_factory):
    not_video = tmp_path_factory.mktemp("confusing") / "notes.avi"
    not_video.write_bytes(b"this is not a video\n" * 100)
    return _scenario("confusing_cases", tmp_path_factory, linux_zip, clip_video, not_video=str(not_video))


def test_tracking_before_the_confusing_cases_finishes(confusing):
    assert confusing["first"] == ["FINISHED"]


@pytest.mark.parametrize("key,words", [
    ("at_last", "is the last frame of the range"), ("outside", "outside the frame range"),
    ("open_mask", "has no closed shape"), ("not_video", "cannot read the clip")])
def test_confusing_case_gets_a_message_that_says_what_to_do(confusing, key, words):
    status, msg = confusing[key]
    assert status is None and words in msg, (key, msg)
    assert "Traceback" not in msg and "failed (" not in msg and "scene frames 1-0" not in msg, (key, msg)


def test_an_open_mask_changes_nothing(confusing):
    assert confusing["open_mask_unchanged"]
