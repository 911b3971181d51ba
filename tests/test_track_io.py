"""Tracks table, OmniTrax tracks CSV, legacy per-track CSV and MOTChallenge files."""
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.io import mot, tracks_csv
from omnitrax.tracking.tracks import Tracks


def _sample() -> Tracks:
    rng = np.random.default_rng(3)
    n = 30
    return Tracks(track=np.repeat([4, 1, 9], 10), frame=np.tile(np.arange(10), 3) + 5,
                  x=rng.uniform(0, 640, n), y=rng.uniform(0, 480, n), width=rng.uniform(5, 30, n),
                  height=rng.uniform(5, 30, n), confidence=rng.uniform(0, 1, n), cls=np.repeat([0, 2, 1], 10),
                  predicted=np.arange(n) % 7 == 3)


# --- Tracks ---------------------------------------------------------------------------------------

def test_tracks_sorted_coerced_and_selectable():
    t = Tracks(track=[2, 1, 2, 1], frame=[5, 3, 4, 2], x=[1, 2, 3, 4], y=[0, 0, 0, 0])
    assert t.track.dtype == np.int64 and t.x.dtype == np.float64 and t.predicted.dtype == bool
    assert t.track.tolist() == [1, 1, 2, 2] and t.frame.tolist() == [2, 3, 4, 5]
    assert t.x.tolist() == [4.0, 2.0, 3.0, 1.0]
    assert t.width.tolist() == [0.0] * 4 and t.confidence.tolist() == [1.0] * 4
    assert t.ids() == [1, 2]
    assert t.for_track(2).frame.tolist() == [4, 5]
    assert len(t.for_track(7)) == 0
    assert t.at_frame(3).track.tolist() == [1]
    assert len(t.select(t.x > 2)) == 2
    relabelled = t.with_ids({1: 10})
    assert relabelled.ids() == [2, 10] and relabelled.for_track(10).frame.tolist() == [2, 3]
    both = Tracks.concat([t, relabelled.select(relabelled.track == 10)])
    assert len(both) == 6 and both.ids() == [1, 2, 10]
    assert len(Tracks.empty()) == 0 and Tracks.concat([]).ids() == []


def test_tracks_boxes_are_left_top_width_height():
    t = Tracks(track=[0], frame=[0], x=[50.0], y=[40.0], width=[10.0], height=[20.0])
    np.testing.assert_allclose(t.boxes(), [[45.0, 30.0, 10.0, 20.0]])


def test_tracks_reject_mismatched_columns():
    with pytest.raises(ValueError):
        Tracks(track=[0, 1], frame=[0], x=[0, 0], y=[0, 0])


# --- OmniTrax CSV ---------------------------------------------------------------------------------

def test_csv_round_trip_and_byte_identical_rewrite(tmp_path):
    t = _sample()
    path = tracks_csv.write_tracks_csv(tmp_path / "a" / "b" / "tracks.csv", t)
    lines = path.read_text().splitlines()
    assert lines[0] == "track,frame,x,y,width,height,confidence,class,predicted"
    assert len(lines) == len(t) + 1
    back = tracks_csv.read_tracks_csv(path)
    assert back.track.tolist() == t.track.tolist() and back.frame.tolist() == t.frame.tolist()
    assert back.cls.tolist() == t.cls.tolist() and back.predicted.tolist() == t.predicted.tolist()
    np.testing.assert_allclose(back.x, t.x, atol=5e-4)
    np.testing.assert_allclose(back.height, t.height, atol=5e-4)
    np.testing.assert_allclose(back.confidence, t.confidence, atol=5e-5)
    again = tracks_csv.write_tracks_csv(tmp_path / "again.csv", back)
    first = tracks_csv.write_tracks_csv(tmp_path / "first.csv", t)
    assert first.read_bytes() == tracks_csv.write_tracks_csv(tmp_path / "second.csv", t).read_bytes()
    assert again.read_bytes() == first.read_bytes()


def test_csv_empty_tracks_round_trip(tmp_path):
    path = tracks_csv.write_tracks_csv(tmp_path / "empty.csv", Tracks.empty())
    assert len(tracks_csv.read_tracks_csv(path)) == 0


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("id,frame,x,y\n1,2,3,4\n", "header"),
    ("track,frame,x,y,width,height,confidence,class,predicted\n1,2,3,4,5,6,0.5,0\n", "line 2"),
    ("track,frame,x,y,width,height,confidence,class,predicted\n1,2,3,4,5,6,0.5,0,0\n1,3,abc,4,5,6,0.5,0,0\n",
     "line 3"),
    ("track,frame,x,y,width,height,confidence,class,predicted\n1,2.5,3,4,5,6,0.5,0,0\n", "frame"),
    ("track,frame,x,y,width,height,confidence,class,predicted\n1,2,3,4,5,6,0.5,0,2\n", "predicted"),
])
def test_csv_bad_input_errors_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(OmniTraxError, match=message):
        tracks_csv.read_tracks_csv(path)


def test_csv_missing_file(tmp_path):
    with pytest.raises(OmniTraxError, match="not found"):
        tracks_csv.read_tracks_csv(tmp_path / "nope.csv")


# --- legacy per-track CSV -------------------------------------------------------------------------

def test_legacy_files_blender_frames_bottom_left_detected_only(tmp_path):
    t = Tracks(track=[3, 3, 3, 8], frame=[0, 1, 2, 5], x=[10.0, 11.0, 12.5, 7.0], y=[100.0, 90.0, 80.0, 1.0],
               cls=[2, 2, 2, 0], predicted=[False, True, False, False])
    paths = tracks_csv.write_legacy(tmp_path / "legacy", t, frame_height=480, names={8: "queen"})
    assert [p.name for p in paths] == ["track_3.csv", "queen.csv"]
    assert paths[0].read_text().splitlines() == ["frame;x;y;class", "1;10.000;380.000;2", "3;12.500;400.000;2"]
    assert paths[1].read_text().splitlines() == ["frame;x;y;class", "6;7.000;479.000;0"]
    shifted = tracks_csv.write_legacy(tmp_path / "shifted", t, frame_height=480,
                                      scene_frame=lambda f: np.asarray(f) + 101)
    assert shifted[1].read_text().splitlines()[1] == "106;7.000;479.000;0"


def test_legacy_needs_a_frame_height(tmp_path):
    with pytest.raises(OmniTraxError, match="frame height"):
        tracks_csv.write_legacy(tmp_path, _sample(), frame_height=0)


# --- MOTChallenge ---------------------------------------------------------------------------------

def test_mot_round_trip_one_based_frames_and_ids(tmp_path):
    t = _sample().select(~_sample().predicted)
    path = mot.write_mot(tmp_path / "out" / "res.txt", t)
    first = path.read_text().splitlines()[0].split(",")
    assert first[0] == "6" and first[7:] == ["-1", "-1", "-1"]  # frame 5 -> 6
    at_5 = t.track[t.frame == 5].min()
    assert first[1] == str(at_5 + 1)  # the smallest track id at frame 5, written 1-based
    ids_in_file = sorted({int(line.split(",")[1]) for line in path.read_text().splitlines()})
    assert ids_in_file == [2, 5, 10]  # tracks 1, 4, 9, written 1-based
    back = mot.read_tracks(path)
    assert back.track.tolist() == t.track.tolist() and back.frame.tolist() == t.frame.tolist()
    np.testing.assert_allclose(back.x, t.x, atol=1e-3)
    np.testing.assert_allclose(back.width, t.width, atol=1e-3)
    np.testing.assert_allclose(back.confidence, t.confidence, atol=1e-4)
    assert mot.write_mot(tmp_path / "again.txt", back).read_bytes() == path.read_bytes()


def test_mot_track_zero_is_id_one_and_round_trips(tmp_path):
    t = Tracks(track=[0, 0, 3], frame=[0, 1, 0], x=[5.0, 6.0, 50.0], y=[5.0, 5.0, 9.0], width=[2.0] * 3,
               height=[2.0] * 3)
    path = mot.write_mot(tmp_path / "res.txt", t)
    assert [line.split(",")[1] for line in path.read_text().splitlines()] == ["1", "4", "1"]
    assert mot.read_tracks(path).track.tolist() == [0, 0, 3]
    with pytest.raises(OmniTraxError, match="track ids must be >= 0"):
        mot.write_mot(tmp_path / "neg.txt", t.with_ids({0: -1}))


@pytest.mark.parametrize("ids, expected", [
    ([1, 2, 7], [0, 1, 6]),  # MOTChallenge ground truth / results: 1-based
    ([0, 1, 6], [0, 1, 6]),  # written 0-based by another tool: an id 0 means keep the ids
    ([3, 5, 5], [2, 4, 4]),  # all >= 1: read as 1-based even when 1 itself is absent
])
def test_mot_reads_one_and_zero_based_ids(tmp_path, ids, expected):
    path = tmp_path / "gt.txt"
    path.write_text("".join(f"{f + 1},{i},10,20,4,6,1,1,1\n" for f, i in enumerate(ids)))
    back = mot.read_tracks(path)
    assert sorted(zip(back.frame.tolist(), back.track.tolist())) == list(enumerate(expected))


def test_mot_detections_by_zero_based_frame_with_classes(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,20,4,6,0.9,3,1,1\n1,-1,30,40,2,2,0.5,-1\n\n3,-1,0,0,10,10,0.7\n2,5,1,1,2,2\n")
    dets = mot.read_detections(path)
    assert sorted(dets) == [0, 1, 2]
    d0 = dets[0]
    np.testing.assert_allclose(d0.xy, [[12.0, 23.0], [31.0, 41.0]])
    np.testing.assert_allclose(d0.boxes[0], [10, 20, 4, 6])
    np.testing.assert_allclose(d0.scores, [0.9, 0.5])
    assert d0.classes.tolist() == [3, 0]
    assert dets[1].scores.tolist() == [1.0]  # 6 columns: no confidence given
    assert len(dets[2]) == 1


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("\n\n", "empty"),
    ("1,2,3,4,5\n", "line 1.*columns"),
    ("1,1,0,0,1,1,1\n2,1,x,0,1,1,1\n", "line 2"),
    ("0,1,0,0,1,1,1\n", "line 1.*1-based"),
    ("1,1,0,0,1,1,1,0,0,0,0\n", "columns"),
    ("1,1,0,0,-1,1,1\n", "negative"),
])
def test_mot_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(OmniTraxError, match=message):
        mot.read_detections(path)
    with pytest.raises(OmniTraxError, match=message):
        mot.read_tracks(path)


def test_mot_missing_file(tmp_path):
    with pytest.raises(OmniTraxError, match="not found"):
        mot.read_tracks(tmp_path / "missing.txt")
