"""Tracking scores (motmetrics for MOTA/IDF1, our HOTA) on hand-made cases."""
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.io.evaluate import HOTA_ALPHAS, evaluate
from omnitrax.tracking.tracks import Tracks


def two_animals(frames=20):
    f = np.arange(frames)
    return Tracks(track=np.repeat([0, 1], frames), frame=np.tile(f, 2), x=np.r_[f * 2.0, f * 2.0],
                  y=np.r_[np.full(frames, 10.0), np.full(frames, 200.0)], width=np.full(2 * frames, 12.0),
                  height=np.full(2 * frames, 8.0))


@pytest.mark.parametrize("match", ["distance", "iou"])
def test_perfect_prediction_scores_one(match):
    gt = two_animals()
    scores = evaluate(gt, gt.with_ids({0: 5, 1: 9}), match=match)
    for key in ("MOTA", "IDF1", "HOTA", "precision", "recall"):
        assert scores[key] == pytest.approx(1.0), key
    assert scores["id_switches"] == 0


def test_identity_swap_halfway_lowers_idf1_and_counts_switches():
    gt = two_animals(20)
    swapped = gt.with_ids({})
    late = swapped.frame >= 10
    swapped.track[late] = 1 - swapped.track[late]
    pred = Tracks(**{k: getattr(swapped, k) for k in ("track", "frame", "x", "y", "width", "height")})
    scores = evaluate(gt, pred)
    assert scores["id_switches"] == 2
    assert scores["IDF1"] == pytest.approx(0.5)
    assert scores["MOTA"] == pytest.approx(1 - 2 / 40)
    assert scores["recall"] == 1.0 and scores["HOTA"] < 0.8


def test_empty_prediction_has_zero_recall():
    scores = evaluate(two_animals(), Tracks.empty())
    assert scores["recall"] == 0.0 and scores["MOTA"] == 0.0 and scores["HOTA"] == 0.0
    assert scores["IDF1"] == 0.0


def test_hand_computed_fragmented_track():
    # one animal for 4 frames; prediction covers it with id 5 then id 6
    gt = Tracks(track=[1] * 4, frame=[0, 1, 2, 3], x=[0.0] * 4, y=[0.0] * 4)
    pred = Tracks(track=[5, 5, 6, 6], frame=[0, 1, 2, 3], x=[0.0] * 4, y=[0.0] * 4)
    s = evaluate(gt, pred)
    assert s["MOTA"] == pytest.approx(0.75)  # one switch in four ground-truth positions
    assert s["IDF1"] == pytest.approx(0.5)  # IDTP 2, IDFN 2, IDFP 2
    assert s["id_switches"] == 1
    # DetA = 1, every match has association 2 / (4 + 2 - 2) = 0.5 -> HOTA = sqrt(0.5)
    assert s["DetA"] == pytest.approx(1.0) and s["AssA"] == pytest.approx(0.5)
    assert s["HOTA"] == pytest.approx(np.sqrt(0.5))


def test_hand_computed_localisation_and_false_positive():
    # one gt point, prediction 5 px off (similarity 0.75 at threshold 20) plus a far false positive
    gt = Tracks(track=[1], frame=[0], x=[0.0], y=[0.0])
    pred = Tracks(track=[1, 2], frame=[0, 0], x=[5.0, 300.0], y=[0.0, 0.0])
    s = evaluate(gt, pred, threshold=20)
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == 1.0
    assert s["MOTA"] == pytest.approx(0.0)  # 1 - FP / GT
    # alphas <= 0.75 match: DetA = 1 / (1 + 0 + 1) there, AssA = 1; other alphas score 0
    n_match = int((HOTA_ALPHAS <= 0.75 + 1e-9).sum())
    assert n_match == 15
    assert s["HOTA"] == pytest.approx(n_match * np.sqrt(0.5) / len(HOTA_ALPHAS))


def test_only_ground_truth_frames_are_scored_and_iou_threshold():
    gt = two_animals(10)
    extra = Tracks(track=[0], frame=[50], x=[0.0], y=[0.0], width=[5.0], height=[5.0])
    assert evaluate(gt, Tracks.concat([gt, extra]))["precision"] == 1.0
    shifted = gt.with_ids({})
    shifted.x += 6.0  # 12 px wide boxes moved by half a width: IoU 1/3
    assert evaluate(gt, shifted, match="iou", threshold=0.5)["recall"] == 0.0
    assert evaluate(gt, shifted, match="iou", threshold=0.3)["recall"] == 1.0


def test_bad_evaluation_input():
    gt = two_animals(5)
    with pytest.raises(OmniTraxError, match="match"):
        evaluate(gt, gt, match="hamming")
    with pytest.raises(OmniTraxError, match="no positions"):
        evaluate(Tracks.empty(), gt)
    with pytest.raises(OmniTraxError, match="threshold"):
        evaluate(gt, gt, threshold=-1)
    with pytest.raises(OmniTraxError, match="box"):
        evaluate(Tracks(track=[0], frame=[0], x=[1.0], y=[1.0]), gt, match="iou")


def one_animal(frames=10):
    f = np.arange(frames)
    return Tracks(track=np.zeros(frames, np.int64), frame=f, x=f * 3.0, y=np.full(frames, 50.0))


def covering(gt, ids_per_frame):
    """A prediction on the ground-truth positions: ids_per_frame[f] is the id at frame f, None: nothing."""
    keep = np.array([i is not None for i in ids_per_frame])
    ids = np.array([-1 if i is None else i for i in ids_per_frame])
    return Tracks(track=ids[keep], frame=gt.frame[keep], x=gt.x[keep], y=gt.y[keep])


@pytest.mark.parametrize("ids, fn, idsw, frag", [
    ([5] * 10, 0, 0, 0),
    ([5, 5, 5, None, None, 5, 5, 5, 5, 5], 2, 0, 1),  # a gap, same id after it
    ([5, 5, 5, None, None, 6, 6, 6, 6, 6], 2, 1, 1),  # a gap, new id after it: a switch and a fragmentation
    ([5, 5, 5, 5, 5, 6, 6, 6, 6, 6], 0, 1, 0),  # a switch without a gap is no fragmentation
    ([None, None, 5, 5, 5, 5, 5, 5, None, None], 4, 0, 0),  # untracked at start and end only: no gap
    ([5, None, 5, None, None, 5, 5, None, 5, 5], 4, 0, 3),  # three gaps
    ([None] * 10, 10, 0, 0),
])
def test_hand_counted_misses_switches_and_fragmentations(ids, fn, idsw, frag):
    gt = one_animal()
    s = evaluate(gt, covering(gt, ids))
    assert (s["fp"], s["fn"], s["id_switches"], s["fragmentations"]) == (0, fn, idsw, frag)
    assert s["MOTA"] == pytest.approx(1 - (fn + idsw) / 10)


def test_hand_counted_false_positives():
    gt = one_animal()
    pred = covering(gt, [5] * 10)
    far = Tracks(track=[8, 8, 8, 9], frame=[0, 1, 2, 2], x=[300.0] * 4, y=[300.0] * 4)
    outside = Tracks(track=[8], frame=[50], x=[0.0], y=[50.0])  # frame 50 has no ground truth: not scored
    s = evaluate(gt, Tracks.concat([pred, far, outside]))
    assert (s["fp"], s["fn"], s["id_switches"], s["fragmentations"]) == (4, 0, 0, 0)
    assert s["MOTA"] == pytest.approx(1 - 4 / 10) and s["precision"] == pytest.approx(10 / 14)
    # a prediction off by more than the threshold is both a false positive and a miss
    off = covering(gt, [5] * 10)
    off.y[3] += 25.0
    s = evaluate(gt, off, threshold=20)
    assert (s["fp"], s["fn"], s["id_switches"], s["fragmentations"]) == (1, 1, 0, 1)


def test_two_animals_swap_counts():
    gt = two_animals(20)
    swapped = gt.with_ids({})
    late = swapped.frame >= 10
    swapped.track[late] = 1 - swapped.track[late]
    s = evaluate(gt, swapped)
    assert (s["fp"], s["fn"], s["id_switches"], s["fragmentations"]) == (0, 0, 2, 0)
    assert set(s) >= {"MOTA", "IDF1", "HOTA", "precision", "recall", "id_switches", "DetA", "AssA", "fp", "fn",
                      "fragmentations"}
