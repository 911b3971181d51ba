"""Real units (--scale, --unit) and class names in every export that has a class (summary, legacy files,
<stem>_classes.csv), through the core writers and the CLI on clips and detections written here."""
import csv
import json

import numpy as np
import pytest

from class_clips import DISCS, FPS, disc_detections, disc_video
from omnitrax.cli import main
from omnitrax.detection.yolo import YoloDetector
from omnitrax.errors import OmniTraxError
from omnitrax.io.summary import track_summaries
from omnitrax.io.tracks_csv import read_classes, write_classes
from omnitrax.tracking.tracks import Tracks


def rows_of(path, delimiter=","):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def straight_track(px_per_frame: float, n: int = 50) -> Tracks:
    frames = np.arange(n)
    return Tracks(track=np.zeros(n, np.int64), frame=frames, x=10 + px_per_frame * frames, y=np.full(n, 20.0),
                  width=np.full(n, 8.0), height=np.full(n, 8.0), confidence=np.ones(n), cls=np.zeros(n, np.int64),
                  predicted=np.zeros(n, bool))


# ------------------------------------------------------------------------------------ units
@pytest.mark.parametrize("scale,unit", [(10.0, "mm"), (2.5, "cm"), (0.004, "um")])
def test_speed_in_units_is_pixels_per_second_over_the_scale(scale, unit):
    (row,) = track_summaries(straight_track(4.0), fps=25.0, scale=scale, unit=unit)  # 100 px/s
    assert row["mean_speed_px_per_s"] == 100.0
    assert row[f"mean_speed_{unit}_per_s"] == pytest.approx(100.0 / scale, rel=1e-4)
    assert row[f"max_speed_{unit}_per_s"] == pytest.approx(100.0 / scale, rel=1e-4)
    assert row[f"distance_{unit}"] == pytest.approx(4.0 * 49 / scale, rel=1e-4)


def test_without_a_scale_the_summary_has_pixels_only():
    (row,) = track_summaries(straight_track(4.0), fps=25.0)
    assert not any(k.endswith(("_mm", "_mm_per_s")) for k in row)


def test_cli_summary_has_10_mm_per_s_for_an_animal_moving_100_px_per_s(tmp_path):
    video, dets = disc_video(tmp_path / "discs.avi"), disc_detections(tmp_path / "discs.txt")
    out = tmp_path / "out"
    assert main(["track", str(video), "--detections", str(dets), "--out", str(out), "--scale", "10", "--unit", "mm",
                 "--confirm", "1"]) == 0
    rows = {r["track"]: r for r in rows_of(out / "discs_summary.csv")}
    speeds = sorted(float(r["mean_speed_mm_per_s"]) for r in rows.values())
    expected = sorted(np.hypot(*v) * FPS / 10 for _, v in DISCS)  # 100 px/s -> 10 mm/s, 75 px/s -> 7.5 mm/s
    assert speeds == pytest.approx(expected, abs=1e-3)
    assert all(float(r["distance_mm"]) == pytest.approx(float(r["distance_px"]) / 10, abs=1e-3) for r in rows.values())
    # the tracks CSV stays in pixels, with its agreed columns
    with open(out / "discs_tracks.csv") as f:
        assert f.readline().strip() == "track,frame,x,y,width,height,confidence,class,predicted"


@pytest.mark.parametrize("value,words", [("-1", "out of range"), ("nan", "not a finite number")])
def test_scale_must_be_a_positive_finite_number(tmp_path, capsys, value, words):
    with pytest.raises(SystemExit) as stop:  # argparse refuses it before anything runs
        main(["track", "--detections", "x.txt", "--out", str(tmp_path), "--scale", value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"scale = {float(value)}" in err and words in err and err.count("\n") == 1


# ------------------------------------------------------------------------------------ classes
def _track_two_castes(tmp_path, *extra):
    """`omnitrax track` on the discs with their detections (disc i: class i) and a names file; the clip,
    and the output folder."""
    video, dets = disc_video(tmp_path / "discs.avi"), disc_detections(tmp_path / "discs.txt")
    names = tmp_path / "castes.names"
    names.write_text("worker\nsoldier\n")
    out = tmp_path / "out"
    assert main(["track", str(video), "--detections", str(dets), "--names", str(names), "--out", str(out),
                 "--confirm", "1", *extra]) == 0
    return video, out


def test_class_names_appear_in_the_classes_file_the_summary_and_the_legacy_files(tmp_path):
    _, out = _track_two_castes(tmp_path, "--export", "csv,summary,legacy")
    assert read_classes(out / "discs_classes.csv") == ["worker", "soldier"]
    assert sorted(r["class"] for r in rows_of(out / "discs_summary.csv")) == ["soldier", "worker"]
    legacy = sorted((out / "discs_legacy").glob("*.csv"))
    assert len(legacy) == 2
    labels = [{r["class"] for r in rows_of(p, delimiter=";")} for p in legacy]
    assert sorted(map(tuple, labels)) == [("soldier",), ("worker",)]
    # the tidy tracks CSV keeps class ids
    assert {r["class"] for r in rows_of(out / "discs_tracks.csv")} == {"0", "1"}


def test_without_names_the_exports_keep_class_ids_and_write_no_classes_file(tmp_path):
    video, dets = disc_video(tmp_path / "discs.avi"), disc_detections(tmp_path / "discs.txt")
    out = tmp_path / "out"
    assert main(["track", str(video), "--detections", str(dets), "--out", str(out), "--confirm", "1"]) == 0
    assert not (out / "discs_classes.csv").exists()
    assert sorted(r["class"] for r in rows_of(out / "discs_summary.csv")) == ["0", "1"]


def test_the_summary_class_is_the_most_frequent_one():
    t = straight_track(1.0, n=10)
    t.cls[:] = [1, 1, 0, 1, 2, 2, 1, 0, 1, 1]
    (row,) = track_summaries(t, class_names=["a", "b", "c"])
    assert row["class"] == "b"


@pytest.mark.parametrize("names", [["ant"], ["worker", "soldier, major", 'say "hi"'], ["Ameise", "蟻"]])
def test_classes_file_round_trips_any_name(tmp_path, names):
    assert read_classes(write_classes(tmp_path / "c.csv", names)) == names


def test_a_broken_classes_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("id,name\n1,ant\n")
    with pytest.raises(OmniTraxError, match="ids 0, 1, 2"):
        read_classes(bad)


def test_onnx_class_names_are_read_from_the_model_file(tmp_path):
    from omnitrax.detection import model_files
    from omnitrax.detection.darknet_onnx import convert

    cfg = tmp_path / "two.cfg"
    cfg.write_text(model_files.yolov3_tiny_cfg(classes=2, width=160, height=160, base=4))
    model_files.write_darknet_weights(cfg.read_text(), tmp_path / "two.weights")
    (tmp_path / "two.names").write_text("worker\nsoldier\n")
    convert(cfg, tmp_path / "two.weights", tmp_path / "two.onnx")
    assert YoloDetector(tmp_path / "two.onnx", input_size=160).names == ["worker", "soldier"]


@pytest.mark.parametrize("text,expected", [
    (json.dumps(["a", "b"]), ["a", "b"]),
    ("{0: 'worker', 1: 'soldier'}", ["worker", "soldier"]),  # Ultralytics' metadata
    ("{1: 'x'}", None), ("not a list", None), ("", None)])
def test_metadata_names_formats(text, expected):
    assert YoloDetector._metadata_names({"names": text}) == expected


def test_training_data_takes_the_class_names_tracking_wrote(tmp_path):
    video, out = _track_two_castes(tmp_path)
    assert main(["export-yolo", str(video), "--tracks", str(out / "discs_tracks.csv"), "--out", str(tmp_path / "ds"),
                 "--every", "5"]) == 0
    assert (tmp_path / "ds" / "discs_yolo" / "obj.names").read_text().split() == ["worker", "soldier"]
