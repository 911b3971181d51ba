"""Our tracker with its defaults against SORT (a clean re-implementation of its published rules,
tools/peers.py) and norfair on detections with realistic detector errors, at small and large scales
(omnitrax.testclips.detector_errors). The full table: tools/bench_tracker_errors.py."""
import sys
from pathlib import Path

import pytest

from omnitrax.io.evaluate import evaluate
from omnitrax.testclips import detector_errors, moving_boxes
from omnitrax.tracking.pipeline import TrackingRun
from omnitrax.tracking.settings import TrackingSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from peers import NorfairTracker, SortTracker  # noqa: E402

N_FRAMES = 200


@pytest.fixture(scope="module", params=[(10, 20), (100, 200)], ids=["10-20px", "100-200px"])
def case(request):
    truth = moving_boxes(20, N_FRAMES, size=request.param, seed=1)
    return truth, detector_errors(truth, seed=1, miss=0.15, miss_run=5, false_positives=0.1, jitter=0.08)


def _false_tracks(truth, tracks) -> int:
    """Tracks whose detected rows mostly lie on no true box (IoU < 0.5 with every box of their frame)."""
    from omnitrax.detection.geometry import box_iou

    n = 0
    for t in tracks.ids():
        rows = tracks.for_track(t)
        rows = rows.select(~rows.predicted)
        hits = 0
        for f, box in zip(rows.frame, rows.boxes()):
            g = truth.select(truth.frame == f)
            hits += bool(len(g)) and box_iou(box[None], g.boxes()).max() >= 0.5
        n += hits < 0.5 * len(rows)
    return n


def score(truth, tracks):
    r = evaluate(truth, tracks, match="iou", threshold=0.5)
    return r["MOTA"], r["IDF1"]


def ours(detections):
    return TrackingRun(TrackingSettings(), detections=detections, stop=N_FRAMES).run()


@pytest.mark.parametrize("peer", ["SORT", "norfair"])
def test_defaults_beat_the_peer_on_both_mota_and_idf1(case, peer):
    if peer == "norfair":
        pytest.importorskip("norfair")
    truth, detections = case
    tracker = SortTracker() if peer == "SORT" else NorfairTracker()
    mota, idf1 = score(truth, ours(detections))
    peer_mota, peer_idf1 = score(truth, tracker.track(detections, 0, N_FRAMES))
    print(f"ours {mota:.3f}/{idf1:.3f}  {peer} {peer_mota:.3f}/{peer_idf1:.3f}")
    # IDF1 within 0.02 of norfair: this error model's miss runs longer than max_gap are always the same object,
    # which norfair's long-lived objects bridge; on real detections such joins were mostly two people, so
    # stitching bridges max_gap frames only (tools/bench_real.py: pooled IDF1 0.494 ours, 0.460 norfair)
    slack = 0.02 if peer == "norfair" else 0.0
    assert mota >= peer_mota and idf1 >= peer_idf1 - slack


def test_confirmation_keeps_one_frame_false_positives_out(case):
    truth, detections = case
    # min_length 1: only the confirmation rule stands between a false positive and a track
    confirmed = TrackingRun(TrackingSettings(min_length=1), detections=detections, stop=N_FRAMES).run()
    at_once = TrackingRun(TrackingSettings(min_length=1, confirm=1), detections=detections, stop=N_FRAMES).run()
    # the tracks made of false positives (most of their detected rows on no true box): confirmed 0-1 here, at once
    # about 240 (the confirmed tracks are the 20 objects' fragments: stitching bridges max_gap frames and one box
    # size, tools/bench_real.py)
    assert confirmed.ids()[0] == 0 and _false_tracks(truth, confirmed) <= 2 and _false_tracks(truth, at_once) >= 100
