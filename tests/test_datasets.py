"""Training-data export (omnitrax.io.datasets): crops, YOLO sets and DeepLabCut labeled data, round trips
on real lossless (FFV1) videos written here, plus the CLI commands and the user errors."""
import csv

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from omnitrax.errors import OmniTraxError
from omnitrax.io import datasets
from omnitrax.io.datasets import (export_crops, export_dlc_labeled, export_yolo, read_dlc_csv, read_dlc_labeled,
                                  read_yolo_labels)
from omnitrax.cli import main as cli_main
from omnitrax.io.tracks_csv import write_tracks_csv
from omnitrax.pose.crops import extract, roi_boxes
from omnitrax.pose.export import write_dlc_csv
from omnitrax.pose.poses import Poses
from omnitrax.tracking.tracks import Tracks

W, H, N_FRAMES = 96, 72, 30


def _write_ffv1(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def noise_video(tmp_path_factory):
    """A lossless video of random pixels (every crop is unique), and its frames."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(1, 256, (H, W, 3), dtype=np.uint8) for _ in range(N_FRAMES)]  # no pure black
    path = _write_ffv1(tmp_path_factory.mktemp("video") / "noise.avi", frames)
    return path, frames


def _tracks():
    """Three tracks: one near the top-left corner (crops reach outside), one inside, one with gaps."""
    rows = []
    for f in range(N_FRAMES):
        rows.append((0, f, 3.0 + 0.2 * f, 4.0, 12.0, 30.0, False))  # tall box, at the edge
        rows.append((1, f, 50.3, 30.7 + f * 0.5, 30.0, 10.0, False))  # wide box
        if f >= 5:
            rows.append((7, f, 90.0, 66.0, 8.0, 8.0, f % 4 == 0))  # bottom-right corner, some predicted
    t, fr, x, y, w, h, p = map(np.array, zip(*rows))
    return Tracks(track=t, frame=fr, x=x, y=y, width=w, height=h, predicted=p.astype(bool))


def _expected_crop(frame, roi):
    """The frame's pixels under a whole-pixel ROI, black outside the frame (plain slicing, no OpenCV)."""
    left, top, size = int(roi[0] + 0.5), int(roi[1] + 0.5), int(roi[2])
    out = np.zeros((size, size) + frame.shape[2:], frame.dtype)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, frame.shape[1]), min(top + size, frame.shape[0])
    if x1 > x0 and y1 > y0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = frame[y0:y1, x0:x1]
    return out


# ------------------------------------------------------------------------------------------- crops
def test_crops_are_the_frame_pixels_with_black_padding_and_named_by_frame_and_track(noise_video, tmp_path):
    video, frames = noise_video
    tracks = _tracks()
    written = export_crops(video, tracks, tmp_path, "noise", every=3, size=20, ext="png")
    detected = tracks.select(~tracks.predicted)
    chosen = np.unique(detected.frame)[::3]
    assert chosen.tolist() == list(range(0, N_FRAMES, 3))
    expected_names = sorted(f"noise_{f:02d}_{t}.png" for t, f in zip(detected.track, detected.frame)
                            if f in chosen)
    assert sorted(p.name for p in written) == expected_names
    assert sorted(p.name for p in tmp_path.iterdir()) == expected_names
    padded = 0
    for t, f, x, y in zip(detected.track, detected.frame, detected.x, detected.y):
        if f not in chosen:
            continue
        crop = cv2.imread(str(tmp_path / f"noise_{f:02d}_{t}.png"), cv2.IMREAD_UNCHANGED)
        roi = roi_boxes([[x, y]], mode="constant", size=20)[0]
        expected = _expected_crop(frames[f], roi)
        assert crop.shape == (20, 20, 3)
        np.testing.assert_array_equal(crop, expected)
        black = (crop == 0).all(axis=2)
        padded += black.any()
        assert black.sum() == (expected == 0).all(axis=2).sum()  # black exactly where outside the frame
    assert padded > 0  # the corner tracks really reached outside the frame


def test_crop_options_names_grayscale_resize_and_predicted_rows(noise_video, tmp_path):
    video, frames = noise_video
    tracks = _tracks()
    names = {0: "queen/1", 1: "Worker A", 7: "track_7"}
    written = export_crops(video, tracks, tmp_path / "a", "my clip", every=10, size=16, out_size=32,
                           grayscale=True, ext="png", names=names, include_predicted=True)
    # predicted rows count too: frames 0, 10, 20 (every 10th frame with any position)
    assert sorted(p.name for p in written) == sorted(
        [f"my clip_{f:02d}_{n}.png" for f in (0, 10, 20) for n in ("queen_1", "Worker A")]
        + [f"my clip_{f:02d}_track_7.png" for f in (10, 20)])
    crop = cv2.imread(str(tmp_path / "a" / "my clip_10_Worker A.png"), cv2.IMREAD_UNCHANGED)
    assert crop.shape == (32, 32)  # one channel, resized
    roi = roi_boxes([[50.3, 35.7]], mode="constant", size=16)[0]
    gray = cv2.cvtColor(frames[10], cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(crop, extract(gray, roi, 32)[0])  # grey first, then the one ROI resampler
    np.testing.assert_array_equal(  # unresized, it is the grey pixels themselves
        cv2.imread(str(export_crops(video, tracks.select(tracks.track == 1), tmp_path / "g", "g", every=10, size=16,
                                    grayscale=True, ext="png")[1]), cv2.IMREAD_UNCHANGED),
        _expected_crop(gray, roi))
    # JPEG: files load and have the requested size; predicted rows are left out by default (track 7 is
    # predicted at every 4th frame)
    jpgs = export_crops(video, tracks, tmp_path / "b", "noise", every=4, size=24)
    assert sorted(p.name for p in jpgs) == sorted(f"noise_{f:02d}_{t}.jpg" for f in range(0, N_FRAMES, 4)
                                                  for t in (0, 1))
    assert all(cv2.imread(str(p)).shape == (24, 24, 3) for p in jpgs)


# -------------------------------------------------------------------------------------------- YOLO
def _expected_labels(tracks, frame):
    rows = tracks.at_frame(frame)
    out = []
    for x, y, w, h, c in zip(rows.x, rows.y, rows.width, rows.height, rows.cls):
        left, right = np.clip([x - w / 2, x + w / 2], 0, W)
        top, bottom = np.clip([y - h / 2, y + h / 2], 0, H)
        out.append([c, (left + right) / 2 / W, (top + bottom) / 2 / H, (right - left) / W, (bottom - top) / H])
    return np.array(out)


def test_yolo_labels_split_and_config_files_round_trip(noise_video, tmp_path):
    video, frames = noise_video
    tracks = _tracks()
    tracks.cls[tracks.track == 1] = 1
    out = export_yolo(video, tracks, tmp_path / "set", "noise", every=3, val_fraction=0.25,
                      class_names=("ant", "beetle"), seed=4, ext="png")
    assert out == (tmp_path / "set").resolve()
    labels = read_yolo_labels(out)
    chosen = list(range(0, N_FRAMES, 3))
    assert sorted(int(name[6:8]) for _, name in labels) == chosen
    val = sorted(int(name[6:8]) for split, name in labels if split == "val")
    assert len(val) == round(0.25 * len(chosen)) == 2  # 10 frames -> 2 for validation (seeded choice)
    for (split, name), got in labels.items():
        f = int(name[6:8])
        np.testing.assert_allclose(got, _expected_labels(tracks, f), rtol=0, atol=5e-7)
        assert got[:, 1:].min() >= 0 and got[:, 1:].max() <= 1
        np.testing.assert_array_equal(cv2.imread(str(out / "images" / split / name)), frames[f])  # PNG: exact
    # Darknet lists: exactly the images, all existing; Ultralytics yaml parses and points at them
    for list_file, split in (("train.txt", "train"), ("valid.txt", "val")):
        listed = (out / list_file).read_text().split()
        assert sorted(listed) == sorted(str((out / "images" / split / n).as_posix()) for s, n in labels if s == split)
        assert all((out / p).is_file() for p in listed)
    config = yaml.safe_load((out / "dataset.yaml").read_text())
    assert config["path"] == out.as_posix() and config["train"] == "images/train" and config["val"] == "images/val"
    assert config["names"] == {0: "ant", 1: "beetle"}
    assert (out / "obj.names").read_text().splitlines() == ["ant", "beetle"]
    data = dict(line.split(" = ") for line in (out / "obj.data").read_text().splitlines())
    assert data["classes"] == "2" and (out / "obj.names").samefile(data["names"])
    assert (out / "train.txt").samefile(data["train"]) and (out / "valid.txt").samefile(data["valid"])

    # the split is deterministic: the same seed gives the same frames, another seed others
    again = read_yolo_labels(export_yolo(video, tracks, tmp_path / "again", "noise", every=3, val_fraction=0.25,
                                         class_names=("ant", "beetle"), seed=4, ext="png"))
    assert sorted(again) == sorted(labels)
    splits = {tuple(sorted(n for s, n in read_yolo_labels(export_yolo(
        video, tracks, tmp_path / f"seed{seed}", "noise", every=3, class_names=("ant", "beetle"), seed=seed))
        if s == "val")) for seed in range(4)}
    assert len(splits) > 1
    # re-exporting into the same folder replaces the earlier frames (no frame left in the wrong split)
    export_yolo(video, tracks, out, "noise", every=7, class_names=("ant", "beetle"), val_fraction=0.0)
    labels = read_yolo_labels(out)
    assert sorted(labels) == [("train", f"noise_{f:02d}.jpg") for f in range(0, N_FRAMES, 7)]
    assert sorted(p.name for p in (out / "images" / "val").iterdir()) == []
    assert len((out / "train.txt").read_text().split()) == len(labels)


def test_yolo_boxes_clip_to_the_frame_and_unknown_sizes_need_a_default(noise_video, tmp_path):
    video, _ = noise_video
    tracks = Tracks(track=[0, 1, 2], frame=[2, 2, 2], x=[2.0, 40.0, 200.0], y=[70.0, 30.0, 30.0],
                    width=[10.0, 0.0, 10.0], height=[8.0, 0.0, 10.0])
    with pytest.raises(OmniTraxError, match="no box size"):
        export_yolo(video, tracks, tmp_path / "a", "noise", every=1)
    with pytest.raises(OmniTraxError, match="default box size"):
        export_yolo(video, tracks, tmp_path / "a", "noise", every=1, default_box=(3, 4, 5))
    labels = read_yolo_labels(export_yolo(video, tracks, tmp_path / "b", "noise", every=1, val_fraction=0,
                                          default_box=(12, 6)))
    got = labels[("train", "noise_02.jpg")]
    # track 0 is cut by the left and bottom edges; track 2 lies outside the frame: no label
    np.testing.assert_allclose(got, [[0, 3.5 / W, 69.0 / H, 7.0 / W, 6.0 / H],
                                     [0, 40.0 / W, 30.0 / H, 12.0 / W, 6.0 / H]], rtol=0, atol=5e-7)


# ------------------------------------------------------------------------------------ DeepLabCut
def _poses():
    rng = np.random.default_rng(5)
    joints = ["head", "thorax", "tail"]
    tracks, frames, keypoints = [], [], []
    for tid in (0, 4):
        for f in range(2, 20):
            kp = np.column_stack([rng.uniform(0, W - 1, 3), rng.uniform(0, H - 1, 3), rng.uniform(0.2, 1, 3)])
            tracks.append(tid)
            frames.append(f)
            keypoints.append(kp)
    keypoints = np.array(keypoints)
    keypoints[3, 1, :2] = np.nan  # a missing keypoint
    keypoints[5, 2, 2] = 0.05  # a low-likelihood keypoint
    keypoints[18 + 7, :, 2] = 0.01  # animal 4 at frame 9: nothing above the cut-off
    return Poses.from_keypoints(tracks, frames, keypoints, joints, skeleton=[("head", "thorax")])


def test_dlc_labeled_data_round_trip_in_deeplabcut_layout(noise_video, tmp_path):
    video, frames = noise_video
    poses = _poses()
    folder = export_dlc_labeled(video, poses, tmp_path, "noise clip", scorer="Ann", every=2,
                                names={0: "track_0", 4: "Worker A"}, pcutoff=0.1)
    assert folder == tmp_path / "labeled-data" / "noise clip"
    kept = poses.select(np.isfinite(poses.x) & (poses.likelihood >= 0.1))
    chosen = np.unique(kept.frame)[::2]
    assert chosen.tolist() == list(range(2, 20, 2))
    assert sorted(p.name for p in folder.glob("*.png")) == [f"img{f:02d}.png" for f in chosen]
    for f in chosen:
        np.testing.assert_array_equal(cv2.imread(str(folder / f"img{f:02d}.png")), frames[f])
    back = read_dlc_labeled(folder)
    expected = kept.select(np.isin(kept.frame, chosen))
    assert back.joint_names == ["head", "thorax", "tail"]
    for name in ("frame", "joint", "x", "y"):
        np.testing.assert_array_equal(getattr(back, name), getattr(expected, name))  # exact: repr round trip
    np.testing.assert_array_equal(back.track, np.where(expected.track == 4, 1, 0))  # "Worker A" -> next id
    assert read_dlc_labeled(tmp_path).x.tolist() == back.x.tolist()  # the export root works too

    # DeepLabCut's own reading (convertcsv2h5: header rows 0-3, index columns 0-2), and the .h5
    csv_path = folder / "CollectedData_Ann.csv"
    df = pd.read_csv(csv_path, header=[0, 1, 2, 3], index_col=[0, 1, 2], float_precision="round_trip")
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert set(df.columns.get_level_values("coords")) == {"x", "y"}
    assert list(df.index) == [("labeled-data", "noise clip", f"img{f:02d}.png") for f in chosen]
    h5 = pd.read_hdf(folder / "CollectedData_Ann.h5", key="df_with_missing")
    assert h5.index.equals(df.index) and h5.columns.equals(df.columns)
    np.testing.assert_array_equal(h5.to_numpy(), df.to_numpy())
    assert h5.to_csv(lineterminator="\n") == csv_path.read_text()  # byte for byte what pandas would write
    value = df.sort_index().sort_index(axis=1).loc[("labeled-data", "noise clip", "img04.png"),
                                                    ("Ann", "Worker A", "tail")]
    row = expected.select((expected.track == 4) & (expected.frame == 4) & (expected.joint == 2))
    assert value["x"] == row.x[0] and value["y"] == row.y[0]


def test_export_dlc_cli_reads_the_pose_commands_csv(noise_video, tmp_path, capsys):
    video, _ = noise_video
    poses = _poses()
    analysis = write_dlc_csv(tmp_path / "noise_poses.csv", poses, names={0: "track_0", 4: "Worker A"})
    read, names = read_dlc_csv(analysis)
    assert names == {0: "track_0", 1: "Worker A"}
    np.testing.assert_array_equal(read.likelihood, poses.select(np.isfinite(poses.x)).likelihood)
    rc = cli_main(["export-dlc", str(video), "--poses", str(analysis), "--out", str(tmp_path / "out"),
                   "--scorer", "Bob", "--every", "5"])
    assert rc == 0, capsys.readouterr().err
    folder = tmp_path / "out" / "noise_dlc" / "labeled-data" / "noise"
    assert sorted(p.name for p in folder.glob("*.png")) == ["img02.png", "img07.png", "img12.png", "img17.png"]
    back = read_dlc_labeled(folder)
    expected = poses.select(np.isfinite(poses.x) & np.isin(poses.frame, [2, 7, 12, 17]))
    np.testing.assert_allclose(np.c_[back.x, back.y], np.c_[expected.x, expected.y], rtol=0, atol=1e-9)
    with open(folder / "CollectedData_Bob.csv") as f:
        assert sorted(set(next(csv.reader(f))[3:])) == ["Bob"]


# ------------------------------------------------------------------------------------------- CLI
def test_cli_exports_crops_and_yolo_from_a_tracks_csv(noise_video, tmp_path, capsys):
    video, _ = noise_video
    tracks_csv = write_tracks_csv(tmp_path / "noise_tracks.csv", _tracks())
    out = tmp_path / "out"
    assert cli_main(["export-crops", str(video), "--tracks", str(tracks_csv), "--out", str(out), "--every", "10",
                     "--mode", "box", "--padding", "2", "--out-size", "24", "--format", "png"]) == 0
    crops = sorted(p.name for p in (out / "noise_crops").iterdir())
    assert crops == sorted([f"noise_{f:02d}_{t}.png" for f in (0, 10, 20) for t in (0, 1)] + ["noise_10_7.png"])
    assert all(cv2.imread(str(out / "noise_crops" / c)).shape == (24, 24, 3) for c in crops)
    assert cli_main(["export-yolo", str(video), "--tracks", str(tracks_csv), "--out", str(out),
                     "--names", "ant", "--val-fraction", "0.5"]) == 0
    labels = read_yolo_labels(out / "noise_yolo")
    assert sorted(int(n[6:8]) for _, n in labels) == [0, 10, 20]
    assert sum(s == "val" for s, _ in labels) == 2  # round(1.5) = 2
    assert "train" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["export-crops", "{video}", "--tracks", "{tmp}/missing.csv", "--out", "{tmp}/o"], "not found"),
    (["export-crops", "{tmp}/none.avi", "--tracks", "{tracks}", "--out", "{tmp}/o"], "not found"),
    (["export-yolo", "{video}", "--tracks", "{tracks}", "--out", "{tmp}/o", "--names", "ant,"], "class name"),
    (["export-yolo", "{video}", "--tracks", "{tracks}", "--out", "{tmp}/o", "--val-fraction", "1"], "fraction"),
    (["export-dlc", "{video}", "--poses", "{tracks}", "--out", "{tmp}/o"], "not a DeepLabCut CSV"),
    (["export-crops", "{video}", "--tracks", "{tracks}", "--out", "{tmp}/o", "--every", "0"], "every"),
])
def test_cli_user_mistakes_are_one_line_errors(noise_video, tmp_path, capsys, argv, message):
    video, _ = noise_video
    tracks = write_tracks_csv(tmp_path / "t.csv", _tracks())
    argv = [a.format(video=video, tmp=tmp_path, tracks=tracks) for a in argv]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("omnitrax: error:") and message in err and "\n" not in err and "Traceback" not in err


def test_core_user_mistakes_raise_omnitrax_errors(noise_video, tmp_path):
    video, _ = noise_video
    tracks = _tracks()
    with pytest.raises(OmniTraxError, match="no tracks"):
        export_crops(video, Tracks.empty(), tmp_path, "c")
    with pytest.raises(OmniTraxError, match="no tracks"):
        export_yolo(video, Tracks.empty(), tmp_path, "c")
    with pytest.raises(OmniTraxError, match="image format 'bmp'"):
        export_crops(video, tracks, tmp_path, "c", ext="bmp")
    with pytest.raises(OmniTraxError, match="image format 'tif'"):
        export_yolo(video, tracks, tmp_path, "c", ext="tif")
    with pytest.raises(OmniTraxError, match="crop mode"):
        export_crops(video, tracks, tmp_path, "c", mode="ellipse")
    with pytest.raises(OmniTraxError, match="only predicted"):
        export_crops(video, tracks.select(tracks.predicted), tmp_path, "c")
    late = Tracks(track=[0], frame=[N_FRAMES + 5], x=[5.0], y=[5.0], width=[4.0], height=[4.0])
    with pytest.raises(OmniTraxError, match="right video"):
        export_crops(video, late, tmp_path, "c")
    with pytest.raises(OmniTraxError, match="class ids up to 1"):
        export_yolo(video, Tracks(track=[0], frame=[0], x=[5.0], y=[5.0], width=[4.0], height=[4.0], cls=[1]),
                    tmp_path, "c")
    with pytest.raises(OmniTraxError, match="distinct names"):
        export_crops(video, tracks, tmp_path, "c", names={0: "a/b", 1: "a_b"})
    with pytest.raises(OmniTraxError, match="no keypoints"):
        export_dlc_labeled(video, Poses.empty(["a"]), tmp_path, "c")
    with pytest.raises(OmniTraxError, match="cut-off"):
        export_dlc_labeled(video, _poses(), tmp_path, "c", pcutoff=2.0)
    with pytest.raises(OmniTraxError, match="scorer"):
        export_dlc_labeled(video, _poses(), tmp_path, "c", scorer="A/B")
    with pytest.raises(OmniTraxError, match="CollectedData"):
        read_dlc_labeled(tmp_path)
    with pytest.raises(OmniTraxError, match="labels/"):
        read_yolo_labels(tmp_path)
    assert not any(tmp_path.rglob("*.png")) and not any(tmp_path.rglob("*.jpg"))  # nothing half-written
    assert datasets.IMAGE_FORMATS == ("jpg", "png")
