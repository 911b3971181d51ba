"""Box ground truth (moving_boxes) and synthetic detector errors (detector_errors) of omnitrax.testclips.boxes:
deterministic, the measured error rates match the parameters, sizes and speeds scale with the boxes, animals cross."""
import numpy as np
import pytest

from omnitrax.detection.detections import Detections
from omnitrax.detection.geometry import box_iou
from omnitrax.errors import OmniTraxError
from omnitrax.testclips import detector_errors, moving_boxes
from omnitrax.tracking.tracks import Tracks


@pytest.fixture(scope="module")
def truth():
    return moving_boxes(40, 1000, size=(30, 60), seed=3)


def overlapping_pairs(gt: Tracks, min_iou: float) -> int:
    """Pairs of animals whose boxes overlap by more than min_iou in at least one frame."""
    pairs = set()
    for f in np.unique(gt.frame):
        g = gt.at_frame(f)
        a, b = np.nonzero(np.triu(box_iou(g.boxes(), g.boxes()), 1) > min_iou)
        pairs.update(zip(g.track[a].tolist(), g.track[b].tolist()))
    return len(pairs)


def test_moving_boxes_are_deterministic_per_seed():
    a = moving_boxes(6, 50, seed=4)
    assert a.equals(moving_boxes(6, 50, seed=4))
    assert not a.equals(moving_boxes(6, 50, seed=5))
    assert a.ids() == list(range(6)) and a.frame.min() == 0 and a.frame.max() == 49 and len(a) == 300
    assert not a.predicted.any() and (a.confidence == 1).all()


@pytest.mark.parametrize("size", [(10, 20), (30, 60), (100, 200)])
def test_sizes_aspects_speeds_and_frame_scale_with_the_boxes(size):
    gt = moving_boxes(20, 300, size=size, seed=1)
    long_side, short_side = np.maximum(gt.width, gt.height), np.minimum(gt.width, gt.height)
    lo, hi = size
    assert long_side.min() >= lo * 0.95 - 1e-9 and long_side.max() <= hi * 1.05 + 1e-9  # +-5 % wobble
    assert long_side.max() > lo + 0.6 * (hi - lo) and long_side.min() < lo + 0.4 * (hi - lo)  # spread over the range
    aspect = short_side / long_side
    assert aspect.min() >= 0.4 - 1e-9 and aspect.max() <= 1.0 and aspect.min() < 0.5
    tall = gt.height > gt.width
    assert 0.2 < tall.mean() < 0.8  # tall (pedestrian-like) and wide boxes
    # the default frame: boxes cover about 6 % of it, so density is the same at every scale
    right, bottom = (gt.x + gt.width / 2).max(), (gt.y + gt.height / 2).max()
    cover = (gt.width * gt.height).sum() / 300 / (right * bottom)
    assert 0.04 < cover < 0.10
    # speeds in box long sides per frame, within the default (0.02, 0.15) (bounces aside)
    step_speeds = []
    for tid in gt.ids():
        t = gt.for_track(tid)
        step_speeds.append(np.hypot(np.diff(t.x), np.diff(t.y)) / np.maximum(t.width, t.height)[:-1])
    per_animal = np.array([np.median(s) for s in step_speeds])
    assert per_animal.min() >= 0.015 and per_animal.max() <= 0.16
    assert np.median(np.concatenate(step_speeds)) == pytest.approx(0.085, abs=0.03)


def test_boxes_stay_inside_a_given_frame():
    gt = moving_boxes(15, 400, size=(20, 40), width=300, height=200, seed=2, speed=(0.1, 0.15))
    assert (gt.x - gt.width / 2).min() >= -1e-9 and (gt.x + gt.width / 2).max() <= 300 + 1e-9
    assert (gt.y - gt.height / 2).min() >= -1e-9 and (gt.y + gt.height / 2).max() <= 200 + 1e-9
    # smooth motion: no jumps bigger than the fastest speed (+ size wobble at an edge)
    for tid in gt.ids():
        t = gt.for_track(tid)
        assert np.hypot(np.diff(t.x), np.diff(t.y)).max() <= 0.15 * 1.5 * 40 * 1.05 + 1


def test_animals_cross_each_other_often():
    on = [overlapping_pairs(moving_boxes(20, 300, size=(30, 60), seed=s), 0.3) for s in range(3)]
    off = [overlapping_pairs(moving_boxes(20, 300, size=(30, 60), seed=s, crossings=False), 0.3) for s in range(3)]
    assert min(on) >= 20  # of 190 pairs, in 300 frames: every animal overlaps a few others heavily
    assert sum(on) > 1.5 * sum(off)


def test_detector_errors_are_deterministic_and_cover_every_frame(truth):
    small = truth.select(truth.frame < 50)
    a, src = detector_errors(small, seed=1, with_sources=True)
    b = detector_errors(small, seed=1)
    c = detector_errors(small, seed=2)
    assert sorted(a) == list(range(50)) and all(isinstance(d, Detections) for d in a.values())
    assert all(np.array_equal(a[f].boxes, b[f].boxes) and np.array_equal(a[f].scores, b[f].scores) for f in a)
    assert any(len(a[f]) != len(c[f]) or not np.array_equal(a[f].boxes, c[f].boxes) for f in a)
    assert all(len(src[f]) == len(a[f]) for f in a)
    np.testing.assert_allclose(a[0].xy, a[0].boxes[:, :2] + a[0].boxes[:, 2:] / 2)
    # random order within a frame: the order does not give the identities away
    assert any((np.diff(s[s >= 0]) < 0).any() for s in src.values())
    # everything missed in a frame: that frame is still there, empty
    lone = truth.select((truth.track == 0) & (truth.frame < 200))
    d = detector_errors(lone, seed=0, miss=0.5, miss_run=20, false_positives=0)
    assert sorted(d) == list(range(200)) and min(len(v) for v in d.values()) == 0


@pytest.mark.parametrize("miss, miss_run", [(0.1, 5), (0.2, 3), (0.3, 1.5)])
def test_measured_miss_rate_and_run_length(truth, miss, miss_run):
    _, src = detector_errors(truth, seed=7, miss=miss, miss_run=miss_run, false_positives=0, with_sources=True)
    detected = {(f, int(i)) for f, s in src.items() for i in s}
    missed_runs, rate = [], []
    for tid in truth.ids():
        frames = truth.for_track(tid).frame
        missed = np.array([(int(f), tid) not in detected for f in frames])
        rate.append(missed.mean())
        edges = np.diff(np.r_[0, missed.astype(int), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        missed_runs.extend((ends - starts).tolist())
    assert np.mean(rate) == pytest.approx(miss, abs=0.02)
    assert np.mean(missed_runs) == pytest.approx(miss_run, rel=0.1)
    assert sum(len(s) for s in src.values()) == round((1 - np.mean(rate)) * len(truth))


def test_no_errors_gives_the_truth(truth):
    small = truth.select(truth.frame < 20)
    dets, src = detector_errors(small, miss=0, false_positives=0, jitter=0, with_sources=True)
    for f, d in dets.items():
        g = small.at_frame(f)
        order = np.argsort(src[f])
        assert src[f][order].tolist() == g.track.tolist()
        np.testing.assert_allclose(d.boxes[order], g.boxes(), atol=1e-9)


@pytest.mark.parametrize("jitter", [0.05, 0.1])
def test_measured_jitter_is_relative_to_the_box(truth, jitter):
    dets, src = detector_errors(truth, seed=5, miss=0, false_positives=0, jitter=jitter, with_sources=True)
    dx, dy, fw, fh = [], [], [], []
    for f, d in dets.items():
        g = truth.at_frame(f)
        k = np.searchsorted(g.track, src[f])
        dx.append((d.xy[:, 0] - g.x[k]) / g.width[k])
        dy.append((d.xy[:, 1] - g.y[k]) / g.height[k])
        fw.append(d.boxes[:, 2] / g.width[k] - 1)
        fh.append(d.boxes[:, 3] / g.height[k] - 1)
    for values in (dx, dy, fw, fh):
        v = np.concatenate(values)
        assert np.std(v) == pytest.approx(jitter, rel=0.05) and abs(np.mean(v)) < 0.1 * jitter


@pytest.mark.parametrize("rate, fp_run", [(0.05, 1), (0.15, 1), (0.1, 8)])
def test_measured_false_positive_rate_duplicates_and_persistence(truth, rate, fp_run):
    dets, src = detector_errors(truth, seed=9, miss=0.1, false_positives=rate, fp_run=fp_run, with_sources=True)
    n_fp = sum(int((s < 0).sum()) for s in src.values())
    assert n_fp / len(truth) == pytest.approx(rate, rel=0.1)
    # about half are duplicate-like: centred within a box size of a true box and of similar size
    near, similar, stays = [], [], []
    for f, d in dets.items():
        fp = d.select(src[f] < 0)
        if not len(fp):
            continue
        g = truth.at_frame(f)
        dist = np.hypot(fp.xy[:, None, 0] - g.x[None], fp.xy[:, None, 1] - g.y[None])
        nearest = dist.argmin(axis=1)
        rel = dist[np.arange(len(fp)), nearest] / np.maximum(g.width, g.height)[nearest]
        near.extend((rel < 1.0).tolist())
        ratio = fp.boxes[:, 2] * fp.boxes[:, 3] / (g.width * g.height)[nearest]
        similar.extend(ratio[rel < 1.0].tolist())
        if f + 1 in dets:  # does a false positive of the next frame sit (almost) at the same place?
            nxt = dets[f + 1].select(src[f + 1] < 0)
            if len(nxt):
                gap = np.hypot(fp.xy[:, None, 0] - nxt.xy[None, :, 0], fp.xy[:, None, 1] - nxt.xy[None, :, 1])
                stays.extend((gap.min(axis=1) < 0.3 * np.sqrt(fp.boxes[:, 2] * fp.boxes[:, 3])).tolist())
    assert 0.45 < np.mean(near) < 0.75  # 50 % duplicates, plus clutter that lands near an animal by chance
    assert 0.6 < np.median(similar) < 1.6
    if fp_run > 1:
        assert np.mean(stays) > 0.7
    else:
        assert np.mean(stays) < 0.3


def test_scores_overlap_so_a_threshold_cannot_separate_them(truth):
    dets, src = detector_errors(truth.select(truth.frame < 300), seed=2, false_positives=0.2, with_sources=True)
    scores = np.concatenate([d.scores for d in dets.values()])
    real = np.concatenate([s >= 0 for s in src.values()])
    true_s, false_s = scores[real], scores[~real]
    assert 0.5 <= true_s.min() and true_s.max() <= 1.0 and 0.1 <= false_s.min() and false_s.max() <= 0.7
    assert true_s.mean() > false_s.mean() + 0.25
    assert ((false_s > 0.5).mean() > 0.2) and ((true_s < 0.7).mean() > 0.2)  # a threshold trades one for the other


@pytest.mark.parametrize("call, message", [
    (lambda: moving_boxes(0, 10), "n_animals"),
    (lambda: moving_boxes(2.5, 10), "n_animals"),
    (lambda: moving_boxes(3, 0), "n_frames"),
    (lambda: moving_boxes(3, 10, size=(20, 10)), "size"),
    (lambda: moving_boxes(3, 10, size=(0, 10)), "size"),
    (lambda: moving_boxes(3, 10, size=5), "size"),
    (lambda: moving_boxes(3, 10, size=(10, 20), width=30), "too small"),
    (lambda: moving_boxes(3, 10, width=-5), "width"),
    (lambda: moving_boxes(3, 10, speed=(0.2, 0.1)), "speed"),
    (lambda: detector_errors(Tracks.empty()), "at least one box"),
    (lambda: detector_errors(Tracks(track=[0], frame=[0], x=[1.0], y=[1.0])), "width"),
    (lambda: detector_errors(moving_boxes(2, 5), miss=1.0), "miss"),
    (lambda: detector_errors(moving_boxes(2, 5), miss=-0.1), "miss"),
    (lambda: detector_errors(moving_boxes(2, 5), miss=0.6, miss_run=1), "at most 0.5"),
    (lambda: detector_errors(moving_boxes(2, 5), miss_run=0.5), "miss_run"),
    (lambda: detector_errors(moving_boxes(2, 5), false_positives=-1), "false_positives"),
    (lambda: detector_errors(moving_boxes(2, 5), jitter=float("nan")), "jitter"),
    (lambda: detector_errors(moving_boxes(2, 5), fp_run=0), "fp_run"),
    (lambda: detector_errors(moving_boxes(2, 5), duplicates=2), "duplicates"),
    (lambda: detector_errors(moving_boxes(2, 5), true_scores=(0.5, 1.5)), "Scores"),
    (lambda: detector_errors(moving_boxes(2, 5), false_scores=(0.7, 0.1)), "false_scores"),
])
def test_bad_arguments_give_one_line_errors(call, message):
    with pytest.raises(OmniTraxError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
