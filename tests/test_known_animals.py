"""A known number of animals (Tracker n_animals, setting `animals`): exactly that many identities.

Synthetic detections made here (straight lanes, gaps, false positives) and the bundled sample's ground
truth with noise, misses and false positives; no detector, no video.
"""
import numpy as np
import pytest

from omnitrax import resources
from omnitrax.detection.detections import Detections
from omnitrax.errors import OmniTraxError
from omnitrax.io.evaluate import evaluate
from omnitrax.io.ground_truth import GroundTruth
from omnitrax.tracking.pipeline import TrackingRun
from omnitrax.tracking.settings import TrackingSettings
from omnitrax.tracking.tracker import Tracker


def line(start, velocity, frames):
    """(frames, 2) positions moving at constant velocity (px/frame) from start."""
    return np.asarray(start, float) + np.arange(frames)[:, None] * np.asarray(velocity, float)


def feed(tracker, frames):
    """frames: list of (frame, xy list, scores list or None)."""
    for f, xy, scores in frames:
        tracker.update(f, np.asarray(xy, float).reshape(-1, 2), scores=scores)
    return tracker.result()


def detected(track):
    """(frames, xy) of the detected rows of one track."""
    keep = ~track.predicted
    return track.frame[keep], np.column_stack([track.x, track.y])[keep]


def owner(result, frame, xy):
    """Id of the track with a row exactly at xy in `frame`."""
    rows = result.at_frame(frame)
    hit = np.flatnonzero(np.hypot(rows.x - xy[0], rows.y - xy[1]) < 1e-9)
    assert len(hit) == 1, (frame, xy, rows)
    return int(rows.track[hit[0]])


def two_animals_lost_for_30_frames():
    """Two animals on lanes y=100 and y=400; both undetected in frames 40-69, then 300 px further on."""
    a, b = line([50, 100], [3, 0], 100), line([50, 400], [3, 0], 100)
    a[70:] += [300, 60]
    b[70:] += [300, -60]
    seen = [f for f in range(100) if not 40 <= f < 70]
    return a, b, seen


def test_two_animals_lost_for_30_frames_and_found_far_away_keep_two_identities():
    a, b, seen = two_animals_lost_for_30_frames()
    frames = [(f, [a[f], b[f]] if f in seen else [], None) for f in range(100)]
    unknown = feed(Tracker(max_distance=30, max_gap=10, min_length=5), frames)
    assert len(unknown.ids()) == 4  # without the number the re-appearing animals are new tracks
    result = feed(Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=2), frames)
    assert result.ids() == [0, 1]
    assert owner(result, 0, a[0]) == owner(result, 99, a[99]) == 0
    assert owner(result, 0, b[0]) == owner(result, 99, b[99]) == 1
    for tid, path in ((0, a), (1, b)):
        t = result.for_track(tid)
        # every row is a detection (the 30-frame gap is longer than max_gap: no rows there)
        assert t.frame.tolist() == seen and not t.predicted.any()
        np.testing.assert_allclose(np.column_stack([t.x, t.y]), path[seen])


def test_lost_identity_waits_at_its_last_position_instead_of_drifting():
    # animal 0 runs right at 10 px/frame until frame 20 (x=200), animal 1 stands at x=800; both are
    # unseen for 99 frames and re-appear 60 px from where they were, outside the gate. Extrapolating
    # 0's speed would put it near x=1200, and the assignment of least total distance would swap them.
    a = line([0, 100], [10, 0], 21)
    frames = [(f, [a[f], [800, 100]], None) for f in range(21)] + [(f, [], None) for f in range(21, 120)]
    frames.append((120, [[260, 100], [860, 100]], None))
    result = feed(Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=2), frames)
    assert result.ids() == [0, 1]
    assert owner(result, 0, a[0]) == owner(result, 120, [260, 100]) == 0
    assert owner(result, 0, [800, 100]) == owner(result, 120, [860, 100]) == 1
    # and tracking goes on from the re-acquired positions (the filter restarted there)
    more = Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=2)
    feed(more, frames + [(121 + k, [[262 + 2 * k, 100], [858 - 2 * k, 100]], None) for k in range(10)])
    t = more.result()
    assert t.ids() == [0, 1] and np.allclose(t.for_track(0).x[-10:], 262 + 2 * np.arange(10))


def test_lost_identity_found_within_the_gate_restarts_without_a_velocity():
    # lost at (100, 100); found 25 px away (inside the gate), unseen 3 frames, then found standing there.
    # A plain filter update would turn the 25 px jump into ~25 px/frame and coast out of the gate.
    frames = [(f, [[100, 100]], None) for f in range(10)] + [(30, [[125, 100]], None)]
    frames += [(f, [[125, 100]], None) for f in range(34, 41)]
    t = feed(Tracker(max_distance=30, max_gap=5, min_length=1, n_animals=1), frames)
    assert t.ids() == [0]
    assert t.frame[~t.predicted].tolist() == [*range(10), 30, *range(34, 41)]
    assert t.frame[t.predicted].tolist() == [31, 32, 33] and np.allclose(t.x[t.frame >= 30], 125)


def test_false_positives_never_make_a_third_identity_nor_take_one():
    a, b = line([100, 100], [2, 1], 120), line([100, 400], [2, -1], 120)
    missed = set(range(50, 54))  # a goes unseen for 4 frames (<= max_gap) ...
    frames = []
    for f in range(120):
        xy = ([] if f in missed else [a[f]]) + [b[f]]
        scores = [0.9] * len(xy)
        if f and (f % 3 == 0 or f in missed):  # ... while a false blob shows up elsewhere
            near = f % 2 == 0 and f not in missed  # sometimes just outside a's true position, in the gate
            xy.append(a[f] + [12, 0] if near else [600, 40 + 3 * f])  # far from both animals
            scores.append(0.95 if near else 0.5)  # a strong false blob is still not preferred by score
        frames.append((f, xy, scores))
    result = feed(Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=2), frames)
    assert result.ids() == [0, 1]
    ta, tb = result.for_track(owner(result, 0, a[0])), result.for_track(owner(result, 0, b[0]))
    f_a, xy_a = detected(ta)
    assert f_a.tolist() == [f for f in range(120) if f not in missed]
    np.testing.assert_allclose(xy_a, a[f_a])
    np.testing.assert_allclose(detected(tb)[1], b)
    # the short gap is bridged by interpolation, as without a known number
    gap = ta.select(ta.predicted)
    assert gap.frame.tolist() == sorted(missed)
    np.testing.assert_allclose(np.column_stack([gap.x, gap.y]), a[sorted(missed)])


def test_more_detections_than_free_identities_keep_the_strongest():
    # frame 0: a weak false blob listed first; only the two strong detections start identities
    frames = [(0, [[320, 240], [100, 100], [400, 100]], [0.2, 0.9, 0.9])]
    frames += [(f, [[100, 100], [400, 100]], None) for f in range(1, 10)]
    # both lost, then found again; a weak blob lies closer to 0's last position than the real animal
    frames += [(40 + f, [[100, 140], [200 + f, 100], [500 + f, 100]], [0.2, 0.8, 0.8]) for f in range(5)]
    result = feed(Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=2), frames)
    assert result.ids() == [0, 1]
    assert not np.any(result.x == 320) and not np.any(result.y == 140)
    assert owner(result, 0, [100, 100]) == owner(result, 44, [204, 100]) == 0
    assert owner(result, 0, [400, 100]) == owner(result, 44, [504, 100]) == 1


def test_lanes_with_long_gaps_keep_identities_without_swaps():
    lanes = (80, 280, 480)
    paths = [line([20 + 30 * k, y], [4, 0], 150) for k, y in enumerate(lanes)]
    unseen = [set(range(30, 60)) | {100, 101, 102},  # 30 frames, then 3 frames
              set(range(45, 70)),  # overlaps the first
              set(range(20, 45)) | set(range(110, 135))]
    frames = [(f, [p[f] for p, u in zip(paths, unseen) if f not in u], None) for f in range(150)]
    result = feed(Tracker(max_distance=30, max_gap=5, min_length=5, n_animals=3), frames)
    assert result.ids() == [0, 1, 2]
    for k, (path, u) in enumerate(zip(paths, unseen)):
        tid = owner(result, 0, path[0])
        t = result.for_track(tid)
        f_det, xy = detected(t)
        assert f_det.tolist() == [f for f in range(150) if f not in u]
        np.testing.assert_allclose(xy, path[f_det])  # no detection of another lane ever
        gap_rows = t.frame[t.predicted].tolist()
        assert gap_rows == ([100, 101, 102] if k == 0 else [])  # 3 frames filled, 25-30 left empty


def test_an_identity_is_kept_whatever_its_length():
    frames = [(f, [[100, 100]] + ([[300, 300]] if f < 3 else []), None) for f in range(30)]
    assert feed(Tracker(max_distance=30, min_length=10), frames).ids() == [0]
    result = feed(Tracker(max_distance=30, min_length=10, n_animals=2), frames)
    assert result.ids() == [0, 1] and result.for_track(1).frame.tolist() == [0, 1, 2]


def test_a_long_jump_in_frames_costs_nothing_and_writes_no_rows():
    tracker = Tracker(max_distance=30, max_gap=10, min_length=1, n_animals=1)
    result = feed(tracker, [(f, [[100 + f, 100]], None) for f in range(10)] + [(10 ** 7, [[400, 100]], None)])
    assert result.ids() == [0]
    assert result.frame.tolist() == list(range(10)) + [10 ** 7] and not result.predicted.any()


@pytest.mark.parametrize("seeds,n,expected", [
    ([5, 7], 2, [5, 7]),  # as many seeds as animals: the third blob never makes an identity
    ([3], 2, [3, 4]),  # one more identity, above the largest seeded id
    ([0, 1, 2], 2, [0, 1, 2]),  # more seeds than animals: all kept, none added
])
def test_seeded_identities_count(seeds, n, expected):
    seed_xy = [[100.0, 100.0 + 150 * k] for k in range(len(seeds))]
    tracker = Tracker(max_distance=30, max_gap=10, min_length=5, n_animals=n)
    tracker.seed(seeds, seed_xy, frame=0)
    frames = [(f, [[100.0 + f, 100.0 + 150 * k] for k in range(len(seeds))] + [[600.0, 40.0], [600.0, 440.0]],
               [0.9] * len(seeds) + [0.6, 0.5]) for f in range(1, 30)]
    result = feed(tracker, frames)
    assert result.ids() == expected
    for k, sid in enumerate(seeds):
        assert owner(result, 29, [129.0, 100.0 + 150 * k]) == sid
    if len(expected) > len(seeds):  # the stronger extra blob got the free slot
        assert owner(result, 29, [600.0, 40.0]) == expected[-1]
    assert not np.any((result.x == 600) & (result.y == 440))


@pytest.fixture(scope="module")
def noisy_sample():
    """The sample's 20 ground-truth ants with 1 px noise, 5 % misses, 25-frame dropouts of six ants
    and a weak false blob in a fifth of the frames: (truth, {frame: Detections})."""
    truth = GroundTruth.from_csv(resources.sample_ground_truth()).to_tracks()
    rng = np.random.default_rng(0)
    n_frames = int(truth.frame.max()) + 1
    out_from = {a: rng.integers(0, n_frames - 40) for a in truth.ids()[:6]}
    detections = {}
    for f in range(n_frames):
        g = truth.at_frame(f)
        keep = rng.random(len(g)) > 0.05
        keep &= ~np.array([a in out_from and out_from[a] <= f < out_from[a] + 25 for a in g.track])
        xy = np.c_[g.x, g.y][keep] + rng.normal(0, 1.0, (keep.sum(), 2))
        wh = np.c_[g.width, g.height][keep]
        scores = rng.uniform(0.6, 1.0, len(xy))
        if rng.random() < 0.2:
            xy = np.vstack([xy, rng.uniform([0, 0], [640, 480], (1, 2))])
            wh = np.vstack([wh, [[20.0, 8.0]]])
            scores = np.r_[scores, 0.3]
        detections[f] = Detections(xy, np.c_[xy - wh / 2, wh], scores)
    return truth, detections


def _track(tracker, detections):
    for f in sorted(detections):
        d = detections[f]
        tracker.update(f, d.xy, boxes=d.boxes, scores=d.scores, classes=d.classes)
    return tracker.result()


def test_unknown_number_of_animals_tracks_exactly_as_before(noisy_sample):
    truth, detections = noisy_sample
    before = _track(Tracker(), detections)
    assert _track(Tracker(n_animals=0), detections).equals(before)
    assert TrackingRun(TrackingSettings(animals=0), detections=detections).run().equals(
        TrackingRun(TrackingSettings(), detections=detections).run())
    # the data tells the two apart: unknown, dropouts become extra tracks; known, exactly 20 identities
    known = _track(Tracker(n_animals=20), detections)
    assert len(before.ids()) > 20 and known.ids() == list(range(20))
    assert evaluate(truth, known)["IDF1"] > evaluate(truth, before)["IDF1"]


def test_tracking_run_with_known_animals(noisy_sample):
    a, b, seen = two_animals_lost_for_30_frames()
    detections = {f: Detections.from_boxes(np.array([[*a[f] - 5, 10, 10], [*b[f] - 5, 10, 10]])) for f in seen}
    tracks = TrackingRun(TrackingSettings(animals=2, max_distance=30, stitch=False), detections=detections).run()
    assert tracks.ids() == [0, 1]
    for tid, path in ((0, a), (1, b)):
        t = tracks.for_track(tid)
        assert t.frame.tolist() == seen
        np.testing.assert_allclose(np.column_stack([t.x, t.y]), path[seen])
    # with stitching on, gaps up to the stitching bridge (3 x max_gap) are interpolated, as between tracks
    bridged = TrackingRun(TrackingSettings(animals=2, max_distance=30), detections=detections).run()
    for tid in (0, 1):
        t = bridged.for_track(tid)
        assert t.frame.tolist() == list(range(min(seen), max(seen) + 1))
        assert t.predicted.sum() == max(seen) + 1 - len(seen) and not t.predicted[np.isin(t.frame, seen)].any()
    shorter = TrackingRun(TrackingSettings(animals=2, max_distance=30, max_gap=5), detections=detections).run()
    assert shorter.for_track(0).frame.tolist() == seen  # 30 missing frames > 3 x 5: left empty

    # not stitched: an animal seen in frames 0-29 and one appearing 35 px ahead at frame 39 (8 px off the first
    # one's path: within the stitching reach of one box size, after a gap of max_gap frames) are joined into one
    # track by stitching when the number is unknown, but stay two identities when it is 2
    c = line([100, 200], [3, 0], 80)
    c[39:] += [8, 0]
    one_after_other = {f: Detections.from_boxes([[*c[f] - 5, 10, 10]]) for f in [*range(30), *range(39, 80)]}
    stitched = TrackingRun(TrackingSettings(), detections=one_after_other).run()
    assert stitched.ids() == [0] and stitched.predicted.sum() == 9
    # the same after a gap longer than max_gap (15 frames), 22 px off the path: two identities when there are 2
    c = line([100, 200], [3, 0], 80)
    c[45:] += [22, 0]
    one_after_other = {f: Detections.from_boxes([[*c[f] - 5, 10, 10]]) for f in [*range(30), *range(45, 80)]}
    kept = TrackingRun(TrackingSettings(animals=2), detections=one_after_other).run()
    assert kept.ids() == [0, 1] and not kept.predicted.any()
    assert kept.for_track(0).frame.tolist() == list(range(30))
    assert kept.for_track(1).frame.tolist() == list(range(45, 80))


@pytest.mark.parametrize("bad", [-1, 2.5, "2", None, float("nan"), float("inf")])
def test_bad_number_of_animals_is_one_line_error(bad):
    with pytest.raises(OmniTraxError, match="n_animals") as err:
        Tracker(n_animals=bad)
    assert "\n" not in str(err.value)


def test_whole_numbers_of_animals_of_any_type_are_accepted():
    assert Tracker(n_animals=np.int64(3)).n_animals == 3 and Tracker(n_animals=2.0).n_animals == 2
