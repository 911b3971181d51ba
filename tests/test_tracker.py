"""The frame-by-frame tracker on synthetic trajectories made here (no detector, no video)."""
import numpy as np
import pytest
from scipy.spatial import cKDTree

from omnitrax.errors import OmniTraxError
from omnitrax.io.evaluate import evaluate
from omnitrax.tracking.assignment import assign_min_cost, assign_sparse
from omnitrax.tracking.tracker import Tracker
from omnitrax.tracking.tracks import Tracks


def line(start, velocity, frames):
    """(frames, 2) positions moving at constant velocity (px/frame) from start."""
    return np.asarray(start, float) + np.arange(frames)[:, None] * np.asarray(velocity, float)


def random_walk(n, frames, side, step, seed, persistence=0.7, body=15.0):
    """(frames, n, 2) correlated random walks in a side x side px arena; animals stay `body` px apart."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, side, (n, 2))
    vel = rng.normal(0, step, (n, 2))
    out = np.empty((frames, n, 2))
    for f in range(frames):
        vel = persistence * vel + np.sqrt(1 - persistence ** 2) * rng.normal(0, step, (n, 2))
        pos = pos + vel
        pos = np.where(pos < 0, -pos, pos)
        pos = np.where(pos > side, 2 * side - pos, pos)
        for _ in range(3):  # push overlapping bodies apart
            pairs = cKDTree(pos).query_pairs(body, output_type="ndarray")
            if not len(pairs):
                break
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
            push = d * ((body - dist) / dist / 2)[:, None]
            np.add.at(pos, pairs[:, 0], push)
            np.add.at(pos, pairs[:, 1], -push)
        out[f] = pos
    return out


def run(tracker, detections_per_frame, start=0):
    for f, xy in enumerate(detections_per_frame, start=start):
        tracker.update(f, xy)
    return tracker.result()


def frames_of(paths, visible=None):
    """Per-frame detection arrays from {animal: (frames, 2)} paths; visible[animal] = bool mask."""
    n_frames = max(len(p) for p in paths.values())
    out = []
    for f in range(n_frames):
        pts = [p[f] for a, p in paths.items()
               if f < len(p) and not np.isnan(p[f]).any() and (visible is None or visible.get(a, np.ones(len(p), bool))[f])]
        out.append(np.array(pts).reshape(-1, 2))
    return out


def track_near(result, frame, xy):
    rows = result.at_frame(frame)
    i = np.argmin(np.hypot(rows.x - xy[0], rows.y - xy[1]))
    assert np.hypot(rows.x[i] - xy[0], rows.y[i] - xy[1]) < 1e-6
    return int(rows.track[i])


def test_two_animals_crossing_keep_their_ids():
    a = line([0, 0], [4, 4], 60)
    b = line([0, 240], [4, -4], 60)  # the paths cross at frame 30
    result = run(Tracker(max_distance=30, min_length=5), frames_of({0: a, 1: b}))
    assert result.ids() == [0, 1]
    for tid, path in ((track_near(result, 0, a[0]), a), (track_near(result, 0, b[0]), b)):
        t = result.for_track(tid)
        np.testing.assert_allclose(np.column_stack([t.x, t.y]), path)


def test_occlusion_of_five_frames_is_bridged_with_predicted_rows():
    a = line([100, 100], [3, 1], 50)
    visible = np.ones(50, bool)
    visible[20:25] = False
    result = run(Tracker(max_distance=30, max_gap=10, min_length=5), frames_of({0: a}, {0: visible}))
    assert result.ids() == [0]
    assert result.frame.tolist() == list(range(50))
    assert result.predicted.tolist() == (~visible).tolist()
    # gap rows lie on the straight line between the detections either side
    np.testing.assert_allclose(result.x, a[:, 0], atol=1e-9)
    np.testing.assert_allclose(result.y, a[:, 1], atol=1e-9)
    assert (result.confidence[20:25] == 0).all()


def test_gap_longer_than_max_gap_splits_the_track():
    a = line([100, 100], [1, 0], 50)
    visible = np.ones(50, bool)
    visible[20:32] = False  # 12 frames > max_gap
    result = run(Tracker(max_distance=30, max_gap=10, min_length=5), frames_of({0: a}, {0: visible}))
    assert result.ids() == [0, 1]
    assert result.for_track(0).frame[-1] == 19 and result.for_track(1).frame[0] == 32
    assert not result.predicted.any()


def test_new_animal_gets_a_new_id_and_leaving_animal_has_no_tail():
    a = line([50, 50], [2, 0], 60)
    b = np.full((60, 2), np.nan)
    b[30:] = line([300, 300], [0, -2], 30)  # enters at frame 30
    c = np.full((60, 2), np.nan)
    c[:41] = line([500, 100], [-1, 1], 41)  # last seen at frame 40
    tracker = Tracker(max_distance=30, max_gap=10, min_length=5)
    result = run(tracker, frames_of({0: a, 1: b, 2: c}))
    assert len(result.ids()) == 3
    tb = result.for_track(track_near(result, 30, b[30]))
    assert tb.frame[0] == 30 and tb.track[0] == 2  # ids dense in order of first appearance
    tc = result.for_track(track_near(result, 0, c[0]))
    assert tc.frame[-1] == 40 and not tc.predicted.any()
    assert tracker.n_active == 2


def test_frame_jump_counts_as_gap_and_fills_skipped_frames():
    tracker = Tracker(max_distance=30, max_gap=5, min_length=1)
    for f in (0, 1, 2, 6, 7):
        tracker.update(f, [[10.0 + f, 20.0]])
    t = tracker.result()
    assert t.ids() == [0] and t.frame.tolist() == list(range(8))
    assert t.predicted.tolist() == [False, False, False, True, True, True, False, False]
    np.testing.assert_allclose(t.x, 10.0 + np.arange(8))


def test_seeded_tracks_keep_the_callers_ids():
    a = line([100, 100], [2, 1], 30)
    b = line([400, 300], [-1, 2], 30)
    c = line([700, 50], [0, 3], 30)
    tracker = Tracker(max_distance=30, min_length=10)
    tracker.seed([17, 42], np.array([a[9], b[9]]), velocities=[[2, 1], [-1, 2]], frame=9)
    for f in range(10, 30):
        tracker.update(f, np.array([a[f], b[f], c[f]]))
    result = tracker.result()
    assert result.ids() == [17, 42, 43]
    assert result.for_track(17).frame.tolist() == list(range(9, 30))
    np.testing.assert_allclose(result.for_track(42).x, b[9:, 0])
    assert result.for_track(43).frame[0] == 10


def test_seeded_track_is_exempt_from_min_length():
    tracker = Tracker(max_distance=30, max_gap=2, min_length=10)
    tracker.seed([5], [[10.0, 10.0]], frame=0)
    for f in range(1, 4):
        tracker.update(f, [[10.0 + f, 10.0]])
    for f in range(4, 10):
        tracker.update(f, np.zeros((0, 2)))
    result = tracker.result()
    assert result.ids() == [5] and len(result) == 4
    assert tracker.n_active == 0


def test_min_length_drops_short_tracks():
    a = line([100, 100], [1, 0], 40)
    b = np.full((40, 2), np.nan)
    b[10:16] = line([400, 400], [0, 1], 6)  # six detections
    dets = frames_of({0: a, 1: b})
    assert run(Tracker(max_distance=30, min_length=10), dets).ids() == [0]
    short_kept = run(Tracker(max_distance=30, min_length=6), dets)
    assert short_kept.ids() == [0, 1] and len(short_kept.for_track(1)) == 6


def test_result_is_deterministic_and_available_mid_run():
    paths = random_walk(60, 40, 400, 3, seed=5)
    rng = np.random.default_rng(0)
    dets = [p + rng.normal(0, 1, p.shape) for p in paths]
    one, two = Tracker(min_length=3), Tracker(min_length=3)
    for f, xy in enumerate(dets):
        one.update(f, xy)
        two.update(f, xy)
        if f == 20:
            mid = one.result()
    assert one.result().equals(two.result())
    assert mid.frame.max() == 20 and len(mid.ids()) == 60
    assert one.result().select(one.result().frame <= 20).equals(mid)


def test_iou_cost_prefers_the_overlapping_box():
    def make(cost, with_boxes=True):
        tracker = Tracker(max_distance=30, min_length=1, cost=cost)
        for f in range(10):
            tracker.update(f, [[100.0, 100.0]], boxes=[[90.0, 90.0, 20.0, 20.0]] if with_boxes else None)
        # a same-size box 5 px away, and a tiny box 4 px away
        tracker.update(10, [[105.0, 100.0], [96.0, 100.0]],
                       boxes=[[95.0, 90.0, 20.0, 20.0], [94.0, 98.0, 4.0, 4.0]] if with_boxes else None,
                       scores=[0.8, 0.9])
        return tracker.result()

    by_iou, by_distance = make("iou"), make("distance", with_boxes=False)
    assert by_iou.for_track(0).x[-1] == 105.0 and by_iou.for_track(0).confidence[-1] == 0.8
    assert by_distance.for_track(0).x[-1] == 96.0
    assert by_iou.for_track(0).width[-1] == 20.0
    # with boxes, the distance cost also weighs the change of box size
    assert make("distance").for_track(0).x[-1] == 105.0


def test_animals_of_different_size_walking_over_each_other_keep_their_ids():
    """Two animals 2-3 px apart for 20 frames, same heading: only their size tells them apart."""
    rng = np.random.default_rng(3)
    tracker = Tracker(max_distance=30, min_length=1)
    for f in range(60):
        gap = float(np.interp(f, [0, 12, 20, 40, 48, 60], [30, 30, 3, 3, 30, 30]))  # they close in and part
        xy = np.array([[100.0 + 2 * f, 100.0], [100.0 + 2 * f, 100.0 + gap]]) + rng.normal(0, 1, (2, 2))
        sizes = np.array([[20.0, 8.0], [30.0, 12.0]])
        boxes = np.c_[xy - sizes / 2, sizes]
        order = rng.permutation(2)
        tracker.update(f, xy[order], boxes=boxes[order])
    result = tracker.result()
    assert result.ids() == [0, 1]
    for tid in result.ids():
        assert len(set(result.for_track(tid).width.tolist())) == 1  # one animal per track throughout


@pytest.mark.parametrize("kwargs", [dict(max_distance=float("inf")), dict(max_distance=-3), dict(max_gap=-1),
                                    dict(confirm=0), dict(confirm=2.5), dict(high_score=1.5),
                                    dict(max_gap=1.5), dict(min_length=0), dict(cost="mahalanobis"),
                                    dict(process_noise=0), dict(measurement_noise=float("nan")),
                                    dict(max_distance="far")])
def test_bad_parameters_raise_user_errors(kwargs):
    with pytest.raises(OmniTraxError):
        Tracker(**kwargs)


def test_bad_update_input_raises_user_errors():
    tracker = Tracker()
    tracker.update(5, [[1.0, 2.0]])
    with pytest.raises(OmniTraxError, match="increasing"):
        tracker.update(5, [[1.0, 2.0]])
    with pytest.raises(OmniTraxError, match="length"):
        tracker.update(6, [[1.0, 2.0]], scores=[0.5, 0.5])
    with pytest.raises(OmniTraxError, match="finite"):
        tracker.update(7, [[np.nan, 2.0]])
    with pytest.raises(OmniTraxError, match="before"):
        tracker.seed([1], [[0.0, 0.0]], frame=2)
    with pytest.raises(OmniTraxError, match="unique"):
        Tracker().seed([1, 1], [[0.0, 0.0], [5.0, 5.0]], frame=0)


@pytest.mark.parametrize("radius, seed", [(8.0, 1), (15.0, 2), (25.0, 11), (40.0, 4)])
def test_assign_sparse_matches_dense_assignment_on_gated_pairs(radius, seed):
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 300, (80, 2)), rng.uniform(0, 300, (90, 2))
    pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius, output_type="ndarray")
    r, c = assign_sparse(pairs["i"], pairs["j"], pairs["v"], len(a), len(b))
    assert len(set(r.tolist())) == len(r) and len(set(c.tolist())) == len(c)
    dense = np.full((80, 90), 1e6)
    dense[pairs["i"], pairs["j"]] = pairs["v"]
    dr, dc = linear_sum_assignment(dense)
    ok = dense[dr, dc] < 1e6
    assert len(r) == ok.sum()  # same number of links as the gated dense problem
    assert np.isclose(dense[r, c].sum(), dense[dr[ok], dc[ok]].sum())


def test_two_hundred_random_walkers_tracked_with_high_idf1():
    n, frames, max_distance = 200, 100, 50.0
    side = np.sqrt(n * np.pi * max_distance ** 2 / 3.0)  # ~3 animals within max_distance of each other
    paths = random_walk(n, frames, side, step=3.0, seed=1)
    rng = np.random.default_rng(2)
    tracker = Tracker(max_distance=max_distance, max_gap=5, min_length=5)
    for f in range(frames):
        tracker.update(f, paths[f] + rng.normal(0, 1.0, (n, 2)))
    gt = Tracks(track=np.tile(np.arange(n), frames), frame=np.repeat(np.arange(frames), n),
                x=paths[:, :, 0].ravel(), y=paths[:, :, 1].ravel())
    scores = evaluate(gt, tracker.result())
    assert scores["IDF1"] >= 0.98, scores
    assert scores["recall"] >= 0.99, scores


def test_seeding_mid_run_coasts_live_tracks_to_the_seed_frame():
    tracker = Tracker(max_distance=30, max_gap=5, min_length=1)
    for f in range(5):
        tracker.update(f, [[10.0 + f, 10.0]])
    tracker.seed([50], [[300.0, 300.0]], frame=6)
    for f in range(7, 10):
        tracker.update(f, [[10.0 + f, 10.0], [300.0, 300.0 + f - 6]])
    result = tracker.result()
    assert result.ids() == [50, 51]
    assert result.for_track(51).frame.tolist() == list(range(10))
    assert result.for_track(51).predicted.tolist() == [False] * 5 + [True, True] + [False] * 3
    assert result.for_track(50).frame.tolist() == [6, 7, 8, 9]


def test_tentative_tracks_need_a_run_of_detections_unless_the_run_is_shorter():
    """confirm=3: a detection seen twice then lost is noise; a run of two frames keeps what it saw."""
    steady, flicker = np.array([[10.0, 10.0]]), np.array([[200.0, 200.0]])
    tracker = Tracker(min_length=1, confirm=3)
    for f in range(10):
        tracker.update(f, np.vstack([steady, flicker]) if f in (3, 4) else steady)
    assert tracker.result().ids() == [0]  # the two-frame flicker never became a track
    short = Tracker(min_length=1, confirm=3)
    for f in range(2):
        short.update(f, np.vstack([steady, flicker]))
    assert short.result().ids() == [0, 1] and len(short.result()) == 4
    late = Tracker(min_length=1, confirm=3)
    for f in range(10):
        late.update(f, np.vstack([steady, flicker]) if f >= 8 else steady)
    assert late.result().ids() == [0]  # two frames at the end of a long run: not yet an animal


# --- real-data rules: box overlap with the prediction, imported detections' weak scores -----------------

def _walker(frames, x0, y0, vx, size=20.0):
    """Box centres of an object walking at vx px/frame: {frame: (x, y)}."""
    return {f: (x0 + vx * f, y0) for f in frames}


@pytest.mark.parametrize("scored", [True, False])
def test_a_scored_box_that_misses_the_prediction_starts_a_new_track(scored):
    """A detector's box (scored) that does not overlap the track's predicted box never joins it, however near its
    centre; a background blob (scored=False) at the same place does (blob boxes change shape when animals touch)."""
    tr = Tracker(min_length=1, confirm=1, scored=scored, max_gap=0)
    size = 20.0
    for f in range(10):
        x, y = 100.0 + 2.0 * f, 100.0
        tr.update(f, [[x, y]], boxes=[[x - size / 2, y - size / 2, size, size]], scores=[0.9])
    # frame 10: predicted centre (120, 100); a tall, thin box beside it (centre 13 px away) overlaps it by IoU 0.05
    x, y = 133.0, 100.0
    tr.update(10, [[x, y]], boxes=[[x - 5.0, y - 20.0, 10.0, 40.0]], scores=[0.9])
    out = tr.result()
    last = out.select(out.frame == 10)
    first_id = int(out.select(out.frame == 0).track[0])
    assert len(last) == 1
    assert (int(last.track[0]) == first_id) == (not scored)


def _imported(objects: dict) -> dict:
    """{frame: Detections} from {name: {frame: (x, y, score)}} with 20 px boxes."""
    from omnitrax.detection.detections import Detections

    frames = sorted({f for track in objects.values() for f in track})
    out = {}
    for f in frames:
        rows = [track[f] for track in objects.values() if f in track]
        xy = np.array([[x, y] for x, y, _ in rows])
        out[f] = Detections(xy, np.c_[xy - 10.0, np.full((len(rows), 2), 20.0)], np.array([s for *_, s in rows]))
    return out


def test_imported_weak_detections_continue_tracks_but_never_start_one():
    """Imported detections below min(0.9, the file's median score) only continue tracks: a steady object whose
    scores drop to 0.6 keeps its track to the end; a false object scoring 0.6 throughout gets none."""
    from omnitrax.tracking.pipeline import TrackingRun, imported_strong_score
    from omnitrax.tracking.settings import TrackingSettings

    n = 60
    real = {f: (50.0 + 2 * f, 100.0, 0.97 if f < 30 else 0.6) for f in range(n)}
    others = {f"other{k}": {f: (400.0 - 2 * f, 200.0 + 100 * k, 0.98) for f in range(n)} for k in range(3)}
    false = {f: (300.0, 50.0, 0.6) for f in range(n)}
    dets = _imported({"real": real, "false": false, **others})
    assert imported_strong_score(dets) == pytest.approx(0.9)
    tracks = TrackingRun(TrackingSettings(), detections=dets).run()
    assert len(tracks.ids()) == 4
    real_track = tracks.select(np.abs(tracks.y - 100.0) < 1)
    assert len(real_track.ids()) == 1 and real_track.frame.max() == n - 1 and len(real_track) == n
    assert not (np.abs(tracks.y - 50.0) < 1).any()
    # the same file through the Tracker without the rule (every detection starts tracks): the false object is tracked
    plain = Tracker(min_length=10, confirm=3)
    for f in range(n):
        plain.update(f, dets[f].xy, boxes=dets[f].boxes, scores=dets[f].scores)
    assert len(plain.result().ids()) == 5


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=1, max_size=200))
def test_imported_strong_score_only_when_most_detections_are_sure(scores):
    """Scores of any scale: two-stage (0.9) only when the file's median score is at least 0.9; otherwise every
    detection may start a track (0)."""
    from omnitrax.detection.detections import Detections
    from omnitrax.tracking.pipeline import IMPORTED_STRONG_SCORE, imported_strong_score

    s = np.array(scores)
    xy = np.zeros((len(s), 2))
    dets = {0: Detections(xy, np.c_[xy, np.ones((len(s), 2))], s), 1: Detections.empty()}
    got = imported_strong_score(dets)
    assert got == (IMPORTED_STRONG_SCORE if np.median(s) >= IMPORTED_STRONG_SCORE else 0.0)
    assert imported_strong_score({0: Detections.empty()}) == 0.0
