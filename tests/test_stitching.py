"""Offline stitching of tracks broken by gaps longer than the tracker's max_gap."""
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.tracking.stitching import stitch
from omnitrax.tracking.tracker import Tracker
from omnitrax.tracking.tracks import Tracks


def segment(tid, frames, start, velocity):
    frames = np.asarray(frames)
    xy = np.asarray(start, float) + (frames - frames[0])[:, None] * np.asarray(velocity, float)
    return Tracks(track=np.full(len(frames), tid), frame=frames, x=xy[:, 0], y=xy[:, 1],
                  width=np.full(len(frames), 10.0), height=np.full(len(frames), 8.0))


def test_track_broken_by_20_frame_gap_is_rejoined_by_the_tracker_output():
    path = np.array([100.0, 200.0]) + np.arange(80)[:, None] * [2.0, 1.0]
    tracker = Tracker(max_distance=30, max_gap=10, min_length=5)
    other = np.array([600.0, 600.0])
    for f in range(80):
        dets = [other] if 30 <= f < 50 else [path[f], other]  # 20 missed frames > max_gap
        tracker.update(f, np.array(dets))
    broken = tracker.result()
    assert len(broken.ids()) == 3
    joined = stitch(broken, max_gap=30, max_distance=60)
    assert joined.ids() == [0, 1]
    t = joined.for_track(joined.at_frame(0).track[np.argmin(joined.at_frame(0).x)])
    assert t.frame.tolist() == list(range(80))
    assert t.predicted.tolist() == [30 <= f < 50 for f in range(80)]
    np.testing.assert_allclose(np.column_stack([t.x, t.y]), path, atol=1e-9)  # gap linearly filled


def test_gap_or_distance_too_large_is_not_joined():
    a = segment(0, range(0, 20), [0, 0], [2, 0])
    late = segment(1, range(60, 80), [120, 0], [2, 0])  # 40 frames later
    far = segment(2, range(25, 40), [500, 500], [2, 0])  # nearby in time, far away
    out = stitch(Tracks.concat([a, late, far]), max_gap=30, max_distance=50)
    assert out.ids() == [0, 1, 2] and len(out) == len(a) + len(late) + len(far)
    assert not out.predicted.any()


def test_global_assignment_uses_end_velocity():
    # two animals pass each other during the gap: plain distance would swap them, velocity does not
    a = segment(0, range(0, 20), [83, 100], [3, 0])  # ends at x=140 heading right
    b = segment(1, range(0, 20), [217, 110], [-3, 0])  # ends at x=160 heading left
    a2 = segment(2, range(30, 50), [173, 100], [3, 0])  # a continues
    b2 = segment(3, range(30, 50), [127, 110], [-3, 0])  # b continues
    out = stitch(Tracks.concat([a, b, a2, b2]), max_gap=15, max_distance=40)
    assert len(out.ids()) == 2
    first = out.for_track(out.at_frame(0).track[np.argmin(out.at_frame(0).x)])
    assert first.frame.tolist() == list(range(50))
    assert first.x[-1] == pytest.approx(173 + 19 * 3) and first.y[-1] == 100


def test_keep_ids_are_never_changed_nor_merged_with_each_other():
    a = segment(7, range(0, 20), [0, 0], [2, 0])
    b = segment(3, range(25, 40), [50, 0], [2, 0])  # would continue a, but both are kept ids
    c = segment(11, range(45, 60), [100, 0], [2, 0])  # continues b: takes b's id
    d = segment(20, range(0, 10), [400, 400], [0, 1])
    e = segment(21, range(15, 30), [400, 415], [0, 1])  # continues d, renumbered
    out = stitch(Tracks.concat([a, b, c, d, e]), max_gap=10, max_distance=30, keep_ids=[7, 3])
    assert out.ids() == [0, 3, 7]
    assert out.for_track(7).frame.tolist() == list(range(0, 20))
    assert out.for_track(3).frame.tolist() == list(range(25, 60))
    assert out.for_track(0).frame.tolist() == list(range(0, 30))  # d + e, first free id


def test_renumbering_skips_keep_ids_in_order_of_first_frame():
    parts = [segment(50, range(10, 20), [0, 0], [1, 0]), segment(9, range(0, 5), [300, 0], [1, 0]),
             segment(0, range(5, 15), [600, 0], [1, 0]), segment(1, range(0, 3), [900, 0], [1, 0])]
    out = stitch(Tracks.concat(parts), keep_ids=[1])
    assert out.ids() == [0, 1, 2, 3]
    assert out.for_track(0).x[0] == 300 and out.for_track(2).x[0] == 600 and out.for_track(3).x[0] == 0


def test_stitch_bad_parameters_and_empty_input():
    assert len(stitch(Tracks.empty())) == 0
    with pytest.raises(OmniTraxError):
        stitch(Tracks.empty(), max_gap=0)
    with pytest.raises(OmniTraxError):
        stitch(Tracks.empty(), max_distance=-1)
