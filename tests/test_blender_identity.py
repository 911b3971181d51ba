"""Identify Animals inside real Blender (the installed zip): run, Esc, undo, stepping through uncertain
fragments, corrections kept. One scenario run (tests/blender_scenarios/identity.py); small tests on its
cached result. The clip starts at scene frame 5 so the scene <-> video frame mapping is exercised."""
import numpy as np
import pytest

from blender_harness import run_scenario

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 200, 6, 3, 5


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from omnitrax.testclips import count_crossings, render_clip

    video = tmp_path_factory.mktemp("identity_clip") / "distinct.avi"
    truth = render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, width=320, height=240,
                        looks="distinct", encounters=0.1)
    assert count_crossings(truth) >= 10
    return video, truth


@pytest.fixture(scope="module")
def r(linux_zip, clip, tmp_path_factory):
    return run_scenario("identity", "identify_everything", tmp_path_factory.mktemp("home_identity"),
                        zip_path=str(linux_zip), video=str(clip[0]), clip_start=CLIP_START, animals=N_ANIMALS,
                        esc_after=3, timeout=600)


def _tracks(markers):
    from omnitrax.tracking.tracks import Tracks

    names = sorted(markers)
    rows = [(k, m[0] - CLIP_START, m[1], m[2]) for k, name in enumerate(names) for m in markers[name] if not m[3]]
    a = np.array(rows, float).reshape(-1, 4)
    return Tracks(track=a[:, 0].astype(int), frame=a[:, 1].astype(int), x=a[:, 2], y=a[:, 3])


def _detected(markers):
    return sorted((m[0], round(m[1], 2), round(m[2], 2)) for ms in markers.values() for m in ms if not m[3])


def test_tracking_finishes_with_one_track_per_animal(r):
    assert r["track"] == ["FINISHED"] and len(r["tracked"]) == N_ANIMALS


def test_the_modal_run_keeps_running_on_timer_ticks(r):
    assert r["ticks"] == [["RUNNING_MODAL"]] * 3 and 0 <= r["done_before_esc"] < 100


def test_esc_stops_with_a_warning_and_leaves_the_tracks_as_they_were(r):
    assert r["esc"] == ["FINISHED"]
    kind, text = r["esc_report"]
    assert kind == ["WARNING"] and "stopped" in text and "as they were" in text
    assert r["after_esc"] == r["tracked"]


def test_identify_finishes_and_only_regroups_the_markers(r):
    assert r["identify"] == ["FINISHED"]
    assert len(r["identified"]) == N_ANIMALS
    before, after = _detected(r["tracked"]), _detected(r["identified"])
    assert set(after) <= set(before) and len(after) >= 0.99 * len(before)  # positions kept, none invented


def test_identify_gives_better_identities_than_motion_alone(r, clip):
    from omnitrax.io.evaluate import evaluate

    truth = clip[1].to_tracks()
    motion = evaluate(truth, _tracks(r["tracked"]))["IDF1"]
    identified = evaluate(truth, _tracks(r["identified"]))["IDF1"]
    print(f"\nBlender, {N_ANIMALS} distinct animals: IDF1 motion-only {motion:.3f}, Identify Animals {identified:.3f}")
    assert identified >= 0.9 and identified > motion + 0.05


def test_undo_puts_back_the_tracks_before_the_run(r):
    assert "UNDO" in r["undo_flags"]
    assert r["after_undo"] == r["tracked"]


def test_uncertain_fragments_are_listed_in_time_order_and_their_tracks_selected(r):
    items = r["uncertain"]
    assert items is not None and r["fragments_total"] > len(items)
    assert [i["first"] for i in items] == sorted(i["first"] for i in items)
    assert all(0 <= i["confidence"] <= 1 and i["first"] <= i["last"] for i in items)
    assert r["selected_after"] == sorted({i["track"] for i in items})


def test_next_uncertain_goes_to_each_fragment_in_turn_and_selects_only_its_track(r):
    items = r["uncertain"]
    if not items:
        pytest.skip("nothing uncertain on this clip")
    for k, (status, frame, selected) in enumerate(r["steps"]):
        item = items[k % len(items)]
        assert status == ["FINISHED"] and frame == item["first"] and selected == [item["track"]]
    status, frame = r["back"]
    assert status == ["FINISHED"] and frame == items[(len(r["steps"]) - 2) % len(items)]["first"]


def test_locked_corrections_are_kept_exactly(r):
    assert r["swap"] == ["FINISHED"] and r["identify_corrected"] == ["FINISHED"]
    for name in r["locked"]:
        assert r["after_correction"][name] == r["corrected"][name], name
    assert r["locked_after"] == sorted(r["locked"])


def test_without_the_number_of_animals_it_is_one_line_and_changes_nothing(r):
    text = r["no_animals"]
    assert isinstance(text, str) and "Number of animals" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
    assert r["unchanged_without_animals"]
