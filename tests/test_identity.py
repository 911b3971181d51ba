"""The identity pass (omnitrax.identity.pipeline): real videos, the real trackers, scored against the truth.

Figures each run reaches are printed (pytest -s): motion-only vs --identify IDF1, and how the uncertain
list does against the real swaps (omnitrax.io.identity_eval).
"""
import numpy as np
import pytest

from omnitrax import resources
from omnitrax.errors import OmniTraxError
from omnitrax.identity.pipeline import IdentityRun
from omnitrax.io.evaluate import evaluate
from omnitrax.io.ground_truth import GroundTruth
from omnitrax.io.identity_eval import score_identities
from omnitrax.testclips import count_crossings, render_clip
from omnitrax.tracking.pipeline import TrackingRun
from omnitrax.tracking.settings import TrackingSettings


def _track(video, detector, animals):
    run = TrackingRun(TrackingSettings(detector=detector, animals=animals), video_path=str(video))
    try:
        return run.run()
    finally:
        run.close()


def _identify(tracks, video, animals, **kw):
    run = IdentityRun(tracks, str(video), animals, **kw)
    try:
        return run, run.run()
    finally:
        run.close()


def _report(name, truth, motion, run, result):
    before, after = evaluate(truth, motion)["IDF1"], evaluate(truth, result.tracks)["IDF1"]
    scores = score_identities(motion, run.fragments, result.fragments, truth)
    print(f"\n{name}: IDF1 motion-only {before:.4f}, --identify {after:.4f} ({result.seconds:.1f} s); "
          f"{scores['swaps']} real swaps: {scores['swaps_corrected']} corrected, {scores['swaps_listed']} listed, "
          f"{scores['swaps_missed']} missed; uncertain list {scores['listed']} (precision {scores['precision']:.2f}, "
          f"recall {scores['recall']:.2f} of {scores['wrong']} wrong fragments)")
    return before, after, scores


# --- 8 individually distinct animals that cross often ------------------------------------------------

@pytest.fixture(scope="module")
def distinct(tmp_path_factory):
    video = tmp_path_factory.mktemp("distinct") / "distinct.avi"
    truth = render_clip(video, n_frames=500, seed=1, n_animals=8, width=400, height=300, looks="distinct",
                        encounters=0.1)
    motion = _track(video, "yolo", 8)
    run, result = _identify(motion, video, 8)
    return video, truth, motion, run, result


def test_the_distinct_clip_has_at_least_50_crossings(distinct):
    assert count_crossings(distinct[1]) >= 50


def test_distinct_animals_keep_their_identities_through_crossings(distinct):
    video, truth, motion, run, result = distinct
    before, after, _ = _report("8 distinct animals, YOLO", truth.to_tracks(), motion, run, result)
    assert after >= 0.98 and before < 0.9


def test_every_animal_is_one_track_with_one_row_per_frame(distinct):
    tracks = distinct[4].tracks
    assert tracks.ids() == list(range(8))
    key = tracks.track * 100000 + tracks.frame
    assert len(np.unique(key)) == len(key)


def test_identities_only_regroup_the_tracked_positions(distinct):
    motion, tracks = distinct[2], distinct[4].tracks
    have = set(zip(motion.frame.tolist(), motion.x.round(6).tolist(), motion.y.round(6).tolist()))
    got = set(zip(tracks.frame.tolist(), tracks.x.round(6).tolist(), tracks.y.round(6).tolist()))
    assert got <= have and len(tracks) >= 0.99 * len(motion)


def test_fragments_alive_at_the_same_time_never_share_an_identity(distinct):
    run, table = distinct[3], distinct[4].fragments
    for f, others in enumerate(run._overlaps):
        if table.identity[f] >= 0:
            assert table.identity[f] not in table.identity[others], f


# --- 8 distinct animals of mixed shades (4 darker, 4 lighter than the floor), the background detector ------

@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    video = tmp_path_factory.mktemp("mixed") / "mixed.avi"
    truth = render_clip(video, n_frames=500, seed=1, n_animals=8, width=400, height=300, looks="distinct",
                        polarity="mixed", encounters=0.1)
    motion = _track(video, "background", 8)  # the defaults: automatic polarity
    run, result = _identify(motion, video, 8)
    return video, truth, motion, run, result


def test_distinct_animals_of_both_shades_keep_their_identities_with_the_background_detector(mixed):
    video, truth, motion, run, result = mixed
    assert count_crossings(truth) >= 50
    before, after, _ = _report("8 distinct animals of mixed shades, background detector", truth.to_tracks(), motion,
                               run, result)
    assert after >= 0.95 and before < 0.9
    assert result.tracks.ids() == list(range(8))


# --- the bundled sample: 20 ants that look alike -----------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    video, truth = resources.sample_clip(), GroundTruth.from_csv(resources.sample_ground_truth()).to_tracks()
    motion = _track(video, "yolo", 20)
    run, result = _identify(motion, video, 20)
    return truth, motion, run, result


def test_on_the_sample_identify_never_makes_identities_worse_and_lists_or_mends_every_swap(sample):
    truth, motion, run, result = sample
    before, after, scores = _report("ant sample, YOLO, 20 animals", truth, motion, run, result)
    assert after >= before
    assert scores["swaps"] >= 1 and scores["swaps_missed"] == 0


# --- identical animals: appearance cannot help, motion decides, every swap is listed -------------------

@pytest.fixture(scope="module")
def identical(tmp_path_factory):
    video = tmp_path_factory.mktemp("identical") / "identical.avi"
    truth = render_clip(video, n_frames=300, seed=2, n_animals=6, width=320, height=240, looks="identical",
                        encounters=0.1)
    motion = _track(video, "background", 6)
    return video, truth, motion


def test_identical_animals_are_left_to_motion_and_every_swap_is_listed(identical):
    video, truth, motion = identical
    run, result = _identify(motion, video, 6)
    before, after, scores = _report("6 identical animals, background", truth.to_tracks(), motion, run, result)
    assert after >= before - 0.01
    assert scores["swaps_missed"] == 0


def test_progress_runs_through_reading_learning_assigning_and_a_stopped_pass_has_no_result(identical):
    video, _, motion = identical
    run = IdentityRun(motion, str(video), 6)
    stages, done = [], []
    for p in run.steps():
        if not stages or stages[-1] != p.stage:
            stages.append(p.stage)
        if p.stage == "reading":
            done.append(p.done)
            assert p.total == 300 and p.fps > 0 and "reading frame" in p.text()
    run.close()
    assert stages == ["reading", "learning", "assigning"]
    assert done == sorted(done) and done[-1] == 300
    stopped = IdentityRun(motion, str(video), 6)
    assert stopped.run(on_progress=lambda p: p.stage != "reading" or p.done < 50) is None
    with pytest.raises(OmniTraxError, match="not finished"):
        stopped.result()
    stopped.close()


def test_known_tracks_keep_their_rows_and_identity(identical):
    video, _, motion = identical
    tid = motion.ids()[2]
    _, result = _identify(motion, video, 6, known={tid: 4})
    mine = motion.for_track(tid)
    out = result.tracks.for_track(4)
    assert np.array_equal(out.frame, mine.frame) and np.allclose(out.x, mine.x) and np.allclose(out.y, mine.y)
    table = result.fragments
    assert (table.identity[table.track == tid] == 4).all() and not table.uncertain[table.track == tid].any()


@pytest.mark.parametrize("kwargs,words", [
    ({"n_animals": 0}, "number of animals"),
    ({"n_animals": 2.5}, "number of animals"),
    ({"certainty": 1.5}, "certainty"),
    ({"known": {0: 9}}, "own identity"),
])
def test_bad_settings_are_one_line_errors(identical, kwargs, words):
    video, _, motion = identical
    args = {"n_animals": 6, **kwargs}
    with pytest.raises(OmniTraxError, match=words) as info:
        IdentityRun(motion, str(video), args.pop("n_animals"), **args)
    assert "\n" not in str(info.value)


def test_tracks_of_another_video_or_none_are_refused(identical):
    from omnitrax.tracking.tracks import Tracks

    video, _, motion = identical
    later = Tracks(track=motion.track, frame=motion.frame + 1000, x=motion.x, y=motion.y)
    with pytest.raises(OmniTraxError, match="not this video's tracks"):
        IdentityRun(later, str(video), 6)
    with pytest.raises(OmniTraxError, match="needs tracks"):
        IdentityRun(Tracks.empty(), str(video), 6)


def test_the_identity_csv_lists_every_fragment(identical, tmp_path):
    from omnitrax.io.identity_csv import COLUMNS, read_identity_csv, write_identity_csv

    video, _, motion = identical
    _, result = _identify(motion, video, 6)
    path = write_identity_csv(tmp_path / "x_identity.csv", result.fragments)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    back = read_identity_csv(path)
    t = result.fragments
    assert np.array_equal(back["identity"], t.identity) and np.array_equal(back["first_frame"], t.first)
    assert np.array_equal(back["uncertain"].astype(bool), t.uncertain)
    assert np.allclose(back["confidence"], t.confidence, atol=1e-4)
    assert (back["first_frame"] <= back["last_frame"]).all()
