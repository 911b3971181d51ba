"""The benchmark peers of tools/peers.py (SORT, ByteTrack, OC-SORT) on small synthetic sequences: one id per
animal, boxes where the animals are, and the rules that tell ByteTrack and OC-SORT apart from SORT."""
import sys
from pathlib import Path

import numpy as np
import pytest

from omnitrax.detection.detections import Detections
from omnitrax.detection.geometry import box_iou
from omnitrax.testclips import detector_errors, moving_boxes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import peers  # noqa: E402

OURS = ("sort", "bytetrack", "ocsort")  # the peers written here (norfair is an adapter)
N_FRAMES = 50


def ltwh(tracks):
    return np.column_stack([tracks.x - tracks.width / 2, tracks.y - tracks.height / 2, tracks.width, tracks.height])


def clean_detections(truth, score=0.9):
    return {int(f): Detections.from_boxes(ltwh(truth.at_frame(f)), np.full(len(truth.at_frame(f)), score))
            for f in np.unique(truth.frame)}


@pytest.fixture(scope="module")
def two_apart():
    """Two animals that never come near each other (no box overlap in any frame) for 50 frames."""
    truth = moving_boxes(2, N_FRAMES, size=(30, 60), width=1200, height=900, crossings=False, seed=3)
    for f in range(N_FRAMES):
        b = ltwh(truth.at_frame(f))
        assert box_iou(b[:1], b[1:])[0, 0] == 0.0
    return truth


def matches(truth, out, frame):
    """(true animal, peer id, IoU) of each output box of a frame that overlaps an animal at IoU >= 0.5."""
    t, o = truth.at_frame(frame), out.at_frame(frame)
    if not len(o):
        return []
    iou = box_iou(ltwh(t), ltwh(o))
    return [(int(t.track[i]), int(o.track[j]), iou[i, j]) for i, j in zip(*np.nonzero(iou >= 0.5))]


def ids_per_animal(truth, out, start=0):
    seen, ious, covered = {}, [], {}
    for f in range(start, N_FRAMES):
        for animal, pid, iou in matches(truth, out, f):
            seen.setdefault(animal, set()).add(pid)
            covered[animal] = covered.get(animal, 0) + 1
            ious.append(iou)
    return seen, covered, np.array(ious)


@pytest.mark.parametrize("name", OURS)
def test_two_separate_animals_keep_one_id_each_and_boxes_stay_on_them(two_apart, name):
    out = peers.make(name).track(clean_detections(two_apart), 0, N_FRAMES)
    seen, covered, ious = ids_per_animal(two_apart, out)
    assert sorted(seen) == [0, 1]
    assert all(len(ids) == 1 for ids in seen.values()), seen
    assert seen[0] != seen[1]
    assert all(covered[a] >= N_FRAMES - 3 for a in (0, 1)), covered  # at most a start-up delay
    assert len(out) == sum(covered.values())  # nothing output off the animals
    assert ious.mean() > 0.9


@pytest.mark.parametrize("name", ("bytetrack", "ocsort"))
def test_lost_tracks_are_found_again_with_their_id_after_missed_runs(two_apart, name):
    # misses in runs of about 4 frames, small jitter: SORT (max_age 1) would start new ids, these keep theirs
    dets = detector_errors(two_apart, seed=2, miss=0.2, miss_run=4, false_positives=0.0, jitter=0.02,
                           true_scores=(0.8, 1.0))
    out = peers.make(name).track(dets, 0, N_FRAMES)
    seen, _, _ = ids_per_animal(two_apart, out)
    sort_seen, _, _ = ids_per_animal(two_apart, peers.make("sort").track(dets, 0, N_FRAMES))
    assert all(len(ids) == 1 for ids in seen.values()), seen
    assert max(len(ids) for ids in sort_seen.values()) > 1  # the case is a real test: SORT breaks here


def left(frame):
    return 100.0 + 3 * frame + (1.5 if frame % 2 else -1.5)


def one_animal_with_weak_frames():
    """One box moving right at 3 px/frame (+-1.5 px jitter); its detector score drops to 0.3 in frames 20-29."""
    boxes = {f: np.array([[left(f), 200.0, 40.0, 80.0]]) for f in range(N_FRAMES)}
    return {f: Detections.from_boxes(b, [0.3 if 20 <= f < 30 else 0.9]) for f, b in boxes.items()}


def test_bytetrack_follows_an_animal_through_low_score_detections():
    out = peers.ByteTracker().track(one_animal_with_weak_frames(), 0, N_FRAMES)
    assert out.ids() == [0]
    assert set(range(1, N_FRAMES)) <= set(out.frame.tolist())  # second association keeps the weak frames
    weak = out.select((out.frame >= 20) & (out.frame < 30))
    assert np.allclose(weak.confidence, 0.3)


def test_ocsort_ignores_low_scores_and_recovers_the_same_id_after_the_gap():
    out = peers.OcSortTracker().track(one_animal_with_weak_frames(), 0, N_FRAMES)
    frames = set(out.frame.tolist())
    assert out.ids() == [0]
    assert not frames & set(range(20, 30))  # below det_thresh 0.6: not used, nothing output
    assert set(range(33, N_FRAMES)) <= frames  # re-found at frame 30; output again after min_hits
    later = out.select(out.frame >= 33)
    assert np.allclose(later.x, [left(f) + 20 for f in later.frame], atol=1e-9)  # the observed box, not the filter


def test_make_builds_every_peer_with_its_settings():
    for name in PEER_NAMES:
        if name == "norfair":
            pytest.importorskip("norfair")
        tracker = peers.make(name)
        assert tracker.name and tracker.settings()
    with pytest.raises(ValueError):
        peers.make("deepsort")


PEER_NAMES = peers.PEERS
