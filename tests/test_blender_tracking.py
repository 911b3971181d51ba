"""Tracking inside real Blender: the installed add-on's operators on a synthetic clip with known truth.

Each scenario (tests/blender_scenarios/tracking.py) runs once per module in its own bpy process; the
small tests below each check one behaviour of its cached result. The clip starts at scene frame 5 so
every frame conversion (scene <-> clip <-> video) is exercised.
"""
import csv

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from blender_harness import run_scenario

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 150, 6, 17, 5  # seed 17: animals stay > 50 px apart


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory):
    from omnitrax.testclips import render_clip

    folder = tmp_path_factory.mktemp("clip")
    video = folder / "ants.avi"
    truth = render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, polarity="dark_on_light")
    return video, truth


def _scenario(function, tmp_path_factory, linux_zip, video, **params):
    home = tmp_path_factory.mktemp("home_" + function)
    return run_scenario("tracking", function, home, zip_path=str(linux_zip), video=str(video),
                        clip_start=CLIP_START, **params)


def _isolated(truth, frame, animal_id, factor=1.2):
    """True if no other animal is within factor x body length of this one in this frame."""
    here = truth.frame == frame
    x, y, ids, length = truth.x[here], truth.y[here], truth.id[here], truth.length[here]
    i = int(np.flatnonzero(ids == animal_id)[0])
    d = np.hypot(x - x[i], y - y[i])
    d[i] = np.inf
    return d.min() > factor * length[i]


def _match_tracks_to_animals(markers, truth):
    """Assign each Blender track to the ground-truth animal it is nearest to on average."""
    names = sorted(markers)
    ids = sorted(set(truth.id.tolist()))
    cost = np.full((len(names), len(ids)), 1e6)
    for i, name in enumerate(names):
        for j, aid in enumerate(ids):
            d = []
            for scene_frame, x, y, muted in markers[name]:
                if muted:
                    continue
                sel = (truth.frame == scene_frame - CLIP_START) & (truth.id == aid)
                if sel.any():
                    d.append(np.hypot(truth.x[sel][0] - x, truth.y[sel][0] - y))
            if d:
                cost[i, j] = np.median(d)
    rows, cols = linear_sum_assignment(cost)
    return {names[r]: ids[c] for r, c in zip(rows, cols)}, cost[rows, cols]


# --- Track From Start, export, save, reload, export again ------------------------------------------------

@pytest.fixture(scope="module")
def restart(linux_zip, synthetic_clip, tmp_path_factory):
    video, _ = synthetic_clip
    base = tmp_path_factory.mktemp("restart")
    dirs = {"out1": base / "export1", "out2": base / "export2", "out3": base / "export3"}
    r = _scenario("restart_and_export", tmp_path_factory, linux_zip, video, blend=str(base / "tracked.blend"),
                  **{k: str(v) for k, v in dirs.items()})
    return dict(r, **dirs)


@pytest.fixture(scope="module")
def restart_assignment(restart, synthetic_clip):
    return _match_tracks_to_animals(restart["markers"], synthetic_clip[1])


def _exported_rows(folder):
    with open(folder / "ants_tracks.csv") as f:
        reader = csv.reader(f)
        return next(reader), list(reader)


def test_restart_finishes(restart):
    assert restart["status"] == ["FINISHED"]


def test_restart_makes_one_track_per_animal(restart):
    markers = restart["markers"]
    assert len(markers) == N_ANIMALS, sorted(markers)


def test_restart_tracks_are_owned_and_named_track_n(restart):
    markers = restart["markers"]
    assert sorted(markers) == sorted(restart["owned"])
    assert all(name.startswith("track_") for name in markers)


def test_each_track_follows_its_own_animal(restart_assignment):
    assignment, median_error = restart_assignment
    assert len(set(assignment.values())) == N_ANIMALS
    assert median_error.max() < 1.0, median_error


def test_markers_of_isolated_animals_lie_within_a_pixel_of_the_truth(restart, restart_assignment, synthetic_clip):
    # every detected marker of an isolated animal lies within 1 px of the truth at that scene frame
    truth = synthetic_clip[1]
    assignment, _ = restart_assignment
    errors = []
    for name, aid in assignment.items():
        for scene_frame, x, y, muted in restart["markers"][name]:
            f = scene_frame - CLIP_START
            if muted or not _isolated(truth, f, aid):
                continue
            sel = (truth.frame == f) & (truth.id == aid)
            errors.append(np.hypot(truth.x[sel][0] - x, truth.y[sel][0] - y))
    errors = np.array(errors)
    assert len(errors) > N_FRAMES * N_ANIMALS // 2
    assert np.percentile(errors, 99) < 1.0 and errors.max() < 1.5, (np.percentile(errors, 99), errors.max())


def test_markers_cover_the_clip_from_first_to_last_frame(restart):
    # first and last scene frames carry a detected marker for each animal
    markers = restart["markers"]
    for name in markers:
        detected = [m[0] for m in markers[name] if not m[3]]
        assert min(detected) <= CLIP_START + 1 and max(detected) >= CLIP_START + N_FRAMES - 2, name


def test_save_and_reload_keeps_every_marker(restart):
    assert restart["markers_after_reload"] == restart["markers"]


def test_preview_and_legacy_export_writes_every_file(restart):
    from omnitrax.video import VideoSource

    out3 = restart["out3"]
    assert sorted(p.name for p in out3.iterdir()) == ["ants_legacy", "ants_preview.mp4", "ants_run.toml",
                                                      "ants_summary.csv", "ants_tracks.csv"]
    assert len(list((out3 / "ants_legacy").iterdir())) == N_ANIMALS
    with VideoSource(out3 / "ants_preview.mp4") as preview:
        assert preview.frame_count == N_FRAMES


def test_the_run_log_is_a_settings_file_of_the_run_with_its_versions(restart):
    from omnitrax.settings_file import read_settings

    log = restart["out3"] / "ants_run.toml"
    text = log.read_text()
    assert text.startswith("# OmniTrax ") and "# ran in: Blender " in text and "numpy " in text
    assert "ants.avi, frames all" in text
    tracking, _ = read_settings(log)
    assert tracking.detector == "background" and tracking.polarity == "darker" and tracking.min_length == 5


def test_export_is_identical_after_reload(restart):
    out1, out2 = restart["out1"], restart["out2"]
    files1 = sorted(p.name for p in out1.iterdir())
    assert files1 == ["ants_run.toml", "ants_summary.csv", "ants_tracks.csv"]
    for name in files1[1:]:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    # the run log differs only in its first line (the date)
    log1, log2 = ((out / "ants_run.toml").read_text().splitlines() for out in (out1, out2))
    assert log1[1:] == log2[1:] and log1[0] != "" and log1[0].startswith("# OmniTrax ")


def test_exported_csv_has_the_documented_header(restart):
    header, _ = _exported_rows(restart["out1"])
    assert header == ["track", "frame", "x", "y", "width", "height", "confidence", "class", "predicted"]


def test_exported_csv_equals_the_markers(restart):
    _, rows = _exported_rows(restart["out1"])
    exported = {(f"track_{r[0]}", int(r[1])): (float(r[2]), float(r[3]), r[8] == "1") for r in rows}
    expected = {}
    for name, ms in restart["markers"].items():
        enabled = [m for m in ms if not m[3]]
        first, last = enabled[0][0], enabled[-1][0]
        for scene_frame, x, y, muted in ms:
            if first <= scene_frame <= last:
                expected[(name, scene_frame - CLIP_START)] = (x, y, bool(muted))
    assert exported.keys() == expected.keys()
    for key, (x, y, predicted) in expected.items():
        ex, ey, ep = exported[key]
        assert abs(ex - x) < 1e-3 and abs(ey - y) < 1e-3 and ep == predicted, (key, exported[key], expected[key])


# --- continue from a corrected frame ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def corrected(linux_zip, synthetic_clip, tmp_path_factory):
    # k = 30: scene frame offset of the correction inside the clip
    return _scenario("continue_from_correction", tmp_path_factory, linux_zip, synthetic_clip[0], k=30)


def test_track_and_continue_finish(corrected):
    assert corrected["first"] == ["FINISHED"] and corrected["second"] == ["FINISHED"]


def test_continue_neither_adds_nor_loses_a_track(corrected):
    assert sorted(corrected["after"]) == sorted(corrected["corrected"])  # no new track appeared, none was lost


def test_continue_leaves_the_past_and_the_corrected_frame_untouched(corrected):
    kf = corrected["kf"]
    for name in corrected["corrected"]:
        past_before = [m for m in corrected["corrected"][name] if m[0] <= kf]
        past_after = [m for m in corrected["after"][name] if m[0] <= kf]
        assert len(past_after) == len(past_before), name  # untouched up to and at k
        assert np.allclose(np.array(past_after, float), np.array(past_before, float), atol=1e-4), name


def test_continue_follows_the_swapped_identities(corrected):
    # after k, track a follows the animal b followed before the correction, and vice versa
    r, kf = corrected, corrected["kf"]
    old = {n: {m[0]: m[1:3] for m in ms if not m[3]} for n, ms in r["before"].items()}
    new = {n: {m[0]: m[1:3] for m in ms if not m[3]} for n, ms in r["after"].items()}
    pairs = ((r["a"], r["renamed_from"]), (r["b"], r["a"]))
    for new_name, old_name in pairs:
        later = [f for f in range(kf + 1, kf + 15) if f in new[new_name] and f in old[old_name]]
        assert len(later) >= 10, (new_name, later)
        d = [np.hypot(*(np.subtract(new[new_name][f], old[old_name][f]))) for f in later]
        assert max(d) < 1.0, (new_name, old_name, d)


# --- a failed run and a stopped run ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def failed_and_stopped(linux_zip, synthetic_clip, tmp_path_factory):
    return _scenario("failed_and_stopped_runs", tmp_path_factory, linux_zip, synthetic_clip[0])


def test_first_run_before_the_failure_finishes(failed_and_stopped):
    assert failed_and_stopped["first"] == ["FINISHED"]


def test_missing_model_is_named_in_the_report_without_a_traceback(failed_and_stopped):
    bad = failed_and_stopped["bad_model"]
    assert "model" in bad and "no/such/model.onnx" in bad, bad
    assert "Traceback" not in bad


def test_failed_run_changes_nothing(failed_and_stopped):
    assert failed_and_stopped["unchanged_after_error"]


def test_stopped_run_keeps_the_tracks_found_so_far(failed_and_stopped):
    assert failed_and_stopped["stopped"], "a stopped run keeps the tracks found so far"


def test_stopped_run_has_no_marker_beyond_the_frames_tracked(failed_and_stopped):
    last_scene_frame = CLIP_START + failed_and_stopped["stopped_done"] - 1
    for name, ms in failed_and_stopped["stopped"].items():
        enabled = [m[0] for m in ms if not m[3]]
        assert enabled and max(enabled) <= last_scene_frame, (name, enabled[-3:])
        frames = [m[0] for m in ms]
        assert frames == sorted(frames) and max(frames) <= last_scene_frame + 1


# --- a mask with a curved exclusion ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def mask_circle(synthetic_clip):
    # a circle of radius 60 px, drawn with four Bezier points, around where an animal is mid-clip
    truth = synthetic_clip[1]
    mid = (truth.frame == N_FRAMES // 2) & (truth.id == 0)
    return float(truth.x[mid][0]), float(truth.y[mid][0]), 60.0


@pytest.fixture(scope="module")
def masked(linux_zip, synthetic_clip, mask_circle, tmp_path_factory):
    cx, cy, radius = mask_circle
    return _scenario("curved_mask", tmp_path_factory, linux_zip, synthetic_clip[0], cx=cx, cy=cy, radius=radius)


def test_masked_run_finishes(masked):
    assert masked["status"] == ["FINISHED"]


def test_no_marker_lies_inside_the_excluded_circle(masked, mask_circle):
    cx, cy, radius = mask_circle
    inside = 0
    for ms in masked["markers"].values():
        for scene_frame, x, y, muted in ms:
            if not muted:
                inside += np.hypot(x - cx, y - cy) < radius - 1.0
    assert inside == 0


def test_animals_did_walk_inside_the_circle_also_near_its_diagonals(synthetic_clip, mask_circle):
    # ... although animals did walk there, also near the circle's diagonals (outside the 4-point polygon)
    truth = synthetic_clip[1]
    cx, cy, radius = mask_circle
    d = np.hypot(truth.x - cx, truth.y - cy)
    assert (d < radius - 5).sum() > 20
    diagonal = np.abs(np.abs(truth.x - cx) - np.abs(truth.y - cy)) < 20
    assert ((d > 0.75 * radius) & (d < radius - 3) & diagonal).sum() > 3


def test_animals_outside_the_circle_are_still_tracked(masked, synthetic_clip, mask_circle):
    truth = synthetic_clip[1]
    cx, cy, radius = mask_circle
    outside = np.hypot(truth.x - cx, truth.y - cy) > radius + 20
    detected = sum(1 for ms in masked["markers"].values() for m in ms if not m[3])
    assert detected >= 0.8 * outside.sum()


# --- swap identities and undo ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def swapped(linux_zip, synthetic_clip, tmp_path_factory):
    return _scenario("swap_and_undo", tmp_path_factory, linux_zip, synthetic_clip[0], swap_at=40)


def test_track_and_swap_finish(swapped):
    assert swapped["status"] == ["FINISHED"] and swapped["swap"] == ["FINISHED"]


def test_track_and_swap_are_registered_with_undo(swapped):
    assert all("UNDO" in flags for flags in swapped["undo_flags"])


def test_swap_exchanges_the_markers_from_the_current_frame_on(swapped):
    tracked, after, a, b, k = swapped["tracked"], swapped["swapped"], swapped["a"], swapped["b"], swapped["k"]
    for name, other in ((a, b), (b, a)):
        assert [m for m in after[name] if m[0] < k] == [m for m in tracked[name] if m[0] < k]
        assert [m for m in after[name] if m[0] >= k] == [m for m in tracked[other] if m[0] >= k]


def test_first_undo_undoes_the_swap(swapped):
    assert swapped["after_first_undo"] == swapped["tracked"]  # Ctrl-Z undoes the swap ...


def test_second_undo_undoes_the_whole_tracking_run(swapped):
    assert swapped["after_second_undo"] == {}  # ... and then the whole tracking run


# --- markers on the image Blender shows -----------------------------------------------------------------
# With frame_start and frame_offset both set, render what Blender shows at some scene frames (the
# compositor's Movie Clip node), find which video frame that is, and check the markers there.

OFFSET, SHOWN_FRAMES = 3, [CLIP_START, CLIP_START + 40, CLIP_START + N_FRAMES - 4]


@pytest.fixture(scope="module")
def rendered(linux_zip, synthetic_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("rendered")
    r = _scenario("render_shown_frames", tmp_path_factory, linux_zip, synthetic_clip[0], offset=OFFSET,
                  scene_frames=SHOWN_FRAMES, out_dir=str(out))
    return dict(r, out=out)


@pytest.fixture(scope="module")
def shown(rendered, synthetic_clip):
    """{scene frame: (index of the video frame the render matches best, correlation with every frame)}."""
    import cv2

    from omnitrax.video import VideoSource

    with VideoSource(synthetic_clip[0]) as source:
        frames = [cv2.cvtColor(source.read(i), cv2.COLOR_BGR2GRAY).astype(float) for i in range(N_FRAMES)]

    def correlation(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    out = {}
    for f in SHOWN_FRAMES:
        image = cv2.cvtColor(cv2.imread(str(rendered["out"] / f"shown_{f}.png")), cv2.COLOR_BGR2GRAY)
        scores = [correlation(image.astype(float), frame) for frame in frames]
        out[f] = (int(np.argmax(scores)), scores)
    return out


def test_render_run_finishes(rendered):
    assert rendered["status"] == ["FINISHED"]


def test_blender_shows_the_video_frame_the_markers_assume(shown):
    for f, (video_index, scores) in shown.items():
        assert video_index == f - CLIP_START + OFFSET, (f, video_index)
        assert scores[video_index] > max(np.delete(scores, video_index)) + 0.02


def test_markers_sit_on_the_animals_in_the_image_blender_shows(rendered, shown, synthetic_clip):
    truth = synthetic_clip[1]
    markers = rendered["markers"]
    assignment, _ = _match_tracks_to_animals(
        {n: [[m[0] + OFFSET, *m[1:]] for m in ms] for n, ms in markers.items()}, truth)
    checked = 0
    for f, (video_index, _) in shown.items():
        for name, aid in assignment.items():
            here = [m for m in markers[name] if m[0] == f and not m[3]]
            sel = (truth.frame == video_index) & (truth.id == aid)
            if here and _isolated(truth, video_index, aid):
                assert np.hypot(here[0][1] - truth.x[sel][0], here[0][2] - truth.y[sel][0]) < 1.0, (f, name)
                checked += 1
    assert checked >= 2 * N_ANIMALS


# --- the modal loop, tick by tick, then Esc --------------------------------------------------------------

@pytest.fixture(scope="module")
def modal(linux_zip, synthetic_clip, tmp_path_factory):
    # 6 ticks: min_length is 5, so tracks show once they have 5 detections
    return _scenario("modal_loop_then_esc", tmp_path_factory, linux_zip, synthetic_clip[0], ticks=6)


def test_modal_passes_other_events_through(modal):
    assert modal["mouse"] == ["PASS_THROUGH"]  # the UI stays usable while tracking


def test_modal_keeps_running_on_timer_ticks(modal):
    assert modal["statuses"] == [["RUNNING_MODAL"]] * 6


def test_markers_appear_while_tracking_runs(modal):
    assert modal["live_tracks"][3] == 0 and modal["live_tracks"][5] == N_ANIMALS


def test_each_tick_tracks_one_frame(modal):
    done = modal["done_before_esc"]
    assert done == 6 and modal["total"] == N_FRAMES


def test_esc_finishes_with_a_stopped_warning(modal):
    assert modal["esc"] == ["FINISHED"]
    assert modal["reports"][-1][0] == ["WARNING"] and "stopped" in modal["reports"][-1][1]


def test_esc_keeps_nothing_beyond_the_frames_tracked(modal):
    last = CLIP_START + modal["done_before_esc"] - 1
    for name, ms in modal["markers"].items():
        detected = [m[0] for m in ms if not m[3]]
        assert detected and max(detected) <= last, name  # nothing beyond the frames tracked


# --- the runtime and compute device preferences ---------------------------------------------------------

@pytest.fixture(scope="module")
def runtime_runs(linux_zip, synthetic_clip, tmp_path_factory):
    return _scenario("runtime_preferences", tmp_path_factory, linux_zip, synthetic_clip[0])


def test_preferences_offer_the_runtimes_and_only_this_platforms_devices(runtime_runs):
    assert runtime_runs["runtimes"] == ["AUTO", "OPENCV", "ONNXRUNTIME"]
    assert runtime_runs["devices"] == ["AUTO", "CPU", "CUDA", "OPENCL"]  # Linux: no DirectML, no CoreML


def test_the_runtime_preference_decides_what_runs(runtime_runs):
    assert " on OpenCV DNN, " in runtime_runs["OPENCV"]["description"]
    assert " on ONNX Runtime, " in runtime_runs["ONNXRUNTIME"]["description"]


def test_both_runtimes_give_the_same_markers(runtime_runs):
    a, b = runtime_runs["OPENCV"], runtime_runs["ONNXRUNTIME"]
    assert a["status"] == b["status"] == ["FINISHED"]
    assert sorted(a["markers"]) == sorted(b["markers"]) and len(a["markers"]) > 0
    for name in a["markers"]:
        np.testing.assert_allclose(np.array(a["markers"][name]), np.array(b["markers"][name]), atol=1e-3)


def test_a_compute_device_saved_under_its_earlier_name_is_kept(runtime_runs):
    assert runtime_runs["carried"] == ["CPU", False]
    assert runtime_runs["not_carried"] == ["OPENCL", False]


def test_a_device_the_runtime_lacks_is_a_one_line_error(runtime_runs):
    error = runtime_runs["opencl_onnxruntime"]
    assert isinstance(error, str) and "ONNX Runtime has no OpenCL device" in error and "\n" not in error.strip()
