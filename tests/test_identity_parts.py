"""The identity pass's parts on hand-made tracks and rendered animals: fragments, appearance, the CLI,
and the synthetic clips made for it (individually distinct or identical animals, frequent encounters)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.identity.appearance import N_FEATURES, LinearIdentities, crop_features
from omnitrax.identity.fragments import CROSSING, GAP, JUMP, START, split_fragments
from omnitrax.io.ground_truth import GroundTruth
from omnitrax.testclips import count_crossings, render_clip, render_frames
from omnitrax.testclips.ants import DISTINCT_LENGTH, IDENTICAL_LENGTH, MARKS
from omnitrax.tracking.tracks import Tracks

ROOT = Path(__file__).resolve().parents[1]


def _tracks(paths, size=20.0):
    """Tracks from {id: (frames, xy (k, 2))}, boxes size x size px."""
    parts = [Tracks(track=np.full(len(f), t), frame=f, x=xy[:, 0], y=xy[:, 1], width=np.full(len(f), size),
                    height=np.full(len(f), size)) for t, (f, xy) in paths.items()]
    return Tracks.concat(parts)


def _crossing(frames=61, speed=3.0):
    """Two animals walking at each other along y = 100, passing 6 px apart at frame 30."""
    f = np.arange(frames)
    a = np.column_stack([10 + speed * f, np.full(frames, 97.0)])
    b = np.column_stack([10 + speed * (frames - 1) - speed * f, np.full(frames, 103.0)])
    return f, a, b


# --- fragments ---------------------------------------------------------------------------------------

def test_two_tracks_that_touch_are_cut_at_the_same_frame_where_they_are_closest():
    f, a, b = _crossing()
    fr = split_fragments(_tracks({0: (f, a), 1: (f, b)}))
    assert len(fr) == 4 and fr.track.tolist() == [0, 0, 1, 1]
    assert fr.last[0] == fr.last[2] == 30 and fr.first[1] == fr.first[3] == 31  # closest at frame 30
    assert fr.begins.tolist() == [START, CROSSING, START, CROSSING]
    assert fr.partners[1].tolist() == [2, 3] and fr.partners[3].tolist() == [0, 1]
    # rows near the other track are no clean views; far ones are
    rows = np.arange(len(fr.fragment))
    near = np.abs(np.r_[f, f] - 30) < 3
    assert not fr.clear[rows[near]].any() and fr.clear[rows[np.abs(np.r_[f, f] - 30) > 10]].all()


def test_two_close_approaches_in_one_touch_are_two_cuts():
    f = np.arange(80)
    a = np.column_stack([100 + 2.0 * f, np.full(80, 100.0)])
    gap = 8 + 7 * np.cos(2 * np.pi * f / 40)  # 15 px apart, 1 px at frames 20 and 60 (20 px boxes touch)
    fr = split_fragments(_tracks({0: (f, a), 1: (f, a + np.column_stack([np.zeros(80), gap]))}))
    assert fr.last[fr.track == 0][:-1].tolist() == [20, 60]


def test_gaps_and_jumps_cut_a_track_and_say_how():
    f = np.r_[np.arange(10), np.arange(20, 30)]
    xy = np.column_stack([5.0 * np.arange(20), np.zeros(20)])
    xy[15:] += [200, 0]  # a jump of 200 px (10 box sizes) between frames 24 and 25
    fr = split_fragments(_tracks({7: (f, xy)}))
    assert fr.begins.tolist() == [START, GAP, JUMP] and fr.ends.tolist() == [GAP, JUMP, START]
    assert fr.first.tolist() == [0, 20, 25] and fr.last.tolist() == [9, 24, 29]
    assert (fr.track == 7).all() and fr.previous().tolist() == [-1, 0, 1] and fr.following().tolist() == [1, 2, -1]


def test_every_row_belongs_to_one_fragment_of_its_own_track():
    f, a, b = _crossing()
    t = _tracks({3: (f, a), 5: (f, b), 9: (f, a + [0, 150])})
    fr = split_fragments(t)
    assert len(fr.fragment) == len(t) and (np.diff(fr.fragment) >= 0).all()
    assert np.array_equal(fr.track[fr.fragment], t.track)
    assert np.array_equal(fr.first[fr.fragment] <= t.frame, np.ones(len(t), bool))
    assert (t.frame <= fr.last[fr.fragment]).all()


# --- appearance ----------------------------------------------------------------------------------------

def test_the_linear_model_tells_separate_classes_apart_and_never_names_one_it_never_saw():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (5, 10))
    y = np.repeat(np.arange(4), 50)
    X = centres[y] + rng.normal(0, 1, (200, 10))
    model = LinearIdentities(5).fit(X, y)
    p = model.proba(centres[y] + rng.normal(0, 1, (200, 10)))
    assert (p.argmax(axis=1) == y).mean() > 0.97
    assert np.allclose(p.sum(axis=1), 1) and (p[:, 4] == 0).all()


def test_crops_measure_each_animal_alike_over_time_and_apart_from_the_others():
    frames = list(render_frames(n_frames=40, seed=5, n_animals=4, width=320, height=240, looks="distinct"))
    X, y = [], []
    for image, rows in frames:
        size = np.hypot(rows["width"], rows["height"])
        f, ok = crop_features(image, rows["x"], rows["y"], size)
        X.append(f[ok])
        y.append(rows["id"][ok])
    X, y = np.vstack(X), np.concatenate(y)
    assert X.shape[1] == N_FEATURES and len(X) > 100
    first = np.arange(len(X)) < len(X) // 2
    model = LinearIdentities(4).fit(X[first], y[first])
    assert (model.proba(X[~first]).argmax(axis=1) == y[~first]).mean() > 0.95
    length = np.array([np.median(X[y == k, 1]) for k in range(4)])  # log length of the body
    truth = frames[0][1]["length"]
    assert np.array_equal(np.argsort(length), np.argsort(truth))


def test_an_animal_cut_by_the_frame_edge_is_not_measured():
    (image, rows), = render_frames(n_frames=1, seed=5, n_animals=2, width=200, height=150)
    _, ok = crop_features(image, [1.0, rows["x"][0]], [1.0, rows["y"][0]], [30.0, 30.0])
    assert ok.tolist() == [False, True]


# --- synthetic clips for identities --------------------------------------------------------------------

def test_distinct_animals_differ_in_length_brightness_and_mark():
    frames = list(render_frames(n_frames=1, seed=4, n_animals=8, looks="distinct"))
    rows = frames[0][1]
    lo, hi = DISTINCT_LENGTH
    assert lo <= rows["length"].min() and rows["length"].max() <= hi
    assert len(np.unique(rows["length"].round(3))) == 8
    assert len(MARKS) == 4  # every fourth animal has the same mark, and then a brightness far apart


def test_identical_animals_are_all_alike():
    rows = next(render_frames(n_frames=1, seed=4, n_animals=5, looks="identical"))[1]
    assert np.allclose(rows["length"], IDENTICAL_LENGTH)


def test_encounters_make_animals_cross_often():
    def crossings(encounters):
        rows = [r for _, r in render_frames(n_frames=150, seed=6, n_animals=6, width=320, height=240, noise=0,
                                            blur=0, encounters=encounters)]
        return count_crossings(GroundTruth.from_rows(rows))

    assert crossings(0.1) >= 2 * max(crossings(0.0), 1)


def test_count_crossings_counts_each_approach_once():
    frames = np.repeat(np.arange(5), 2)
    x = np.array([0, 100, 0, 10, 0, 10, 0, 100, 0, 2], float)  # close at frames 1-2 and 4 (2 px)
    columns = {k: np.zeros(10) for k in ("left", "top", "width", "height", "head_x", "head_y", "thorax_x", "thorax_y",
                                          "abdomen_x", "abdomen_y", "angle")}
    truth = GroundTruth({"frame": frames, "id": np.tile([0, 1], 5), "x": x, "y": np.zeros(10),
                         "length": np.full(10, 30.0), **columns})
    assert count_crossings(truth) == 2 and count_crossings(truth, within=0.1) == 1


@pytest.mark.parametrize("kwargs,words", [({"looks": "odd"}, "looks"), ({"encounters": 2.0}, "encounters")])
def test_bad_clip_options_are_one_line_errors(kwargs, words):
    with pytest.raises(OmniTraxError, match=words):
        next(render_frames(n_frames=1, **kwargs))


# --- the command line ------------------------------------------------------------------------------------

def omnitrax(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "omnitrax", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    video = tmp_path_factory.mktemp("cli_identity") / "arena.avi"
    render_clip(video, n_frames=120, seed=3, n_animals=4, width=240, height=180, looks="distinct", encounters=0.1)
    return video


def test_identify_without_the_number_of_animals_is_one_line_and_exit_2(small_clip, tmp_path):
    proc = omnitrax("track", small_clip, "--out", tmp_path, "--identify")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--animals N" in proc.stderr
    assert not list(tmp_path.iterdir())  # refused before any work


def test_identify_on_the_command_line_writes_the_identity_table(small_clip, tmp_path):
    from omnitrax.io.identity_csv import read_identity_csv
    from omnitrax.io.tracks_csv import read_tracks_csv

    proc = omnitrax("track", small_clip, "--out", tmp_path, "--detector", "background", "--animals", "4",
                    "--identify")
    assert proc.returncode == 0, proc.stderr
    assert "fragments identified" in proc.stderr and "identities: reading frame 120/120" in proc.stderr
    table = read_identity_csv(tmp_path / "arena_identity.csv")
    tracks = read_tracks_csv(tmp_path / "arena_tracks.csv")
    assert set(tracks.ids()) <= set(range(4)) and len(table["fragment"]) >= 4
    assert set(np.unique(table["identity"])) <= set(range(4))
    assert f"wrote {tmp_path / 'arena_identity.csv'}" in proc.stdout
