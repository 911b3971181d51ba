"""Training-data export inside real Blender: the installed add-on tracks a synthetic clip, the user corrects a
marker and a keypoint, and the three dataset operators write under a '//' export folder next to the saved
.blend. The files must re-load to exactly what the markers say. One bpy process for everything
(tests/blender_scenarios/datasets.py); each test checks one behaviour of its result."""
import numpy as np
import pytest

from blender_harness import run_scenario

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 24, 4, 17, 3
W, H = 320, 240


def _expected_crop(frame, roi):
    left, top, size = int(roi[0] + 0.5), int(roi[1] + 0.5), int(roi[2])
    out = np.zeros((size, size, 3), frame.dtype)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, frame.shape[1]), min(top + size, frame.shape[0])
    out[y0 - top:y1 - top, x0 - left:x1 - left] = frame[y0:y1, x0:x1]
    return out


@pytest.fixture(scope="module")
def exported(linux_zip, tmp_path_factory):
    from omnitrax.testclips import render_clip

    root = tmp_path_factory.mktemp("datasets")
    video = root / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, fourcc="FFV1", width=W, height=H)
    blend = root / "project" / "scene.blend"
    blend.parent.mkdir()
    r = run_scenario("datasets", "track_correct_export", root / "home", timeout=300, zip_path=str(linux_zip),
                     video=str(video), clip_start=CLIP_START, blend=str(blend))
    return dict(r, video=video, exports=blend.parent / "exports")  # '//exports/' resolved next to the .blend


@pytest.fixture(scope="module")
def tracks(exported):
    from omnitrax.tracking.tracks import Tracks

    return Tracks(**{k: np.array(v) for k, v in exported["tracks"].items()})


@pytest.fixture(scope="module")
def names(exported):
    return {int(k): v for k, v in exported["names"].items()}


@pytest.fixture(scope="module")
def frames(exported):
    from omnitrax.video import VideoSource

    with VideoSource(exported["video"]) as source:
        return [source.read(i) for i in range(source.frame_count)]


def test_track_finishes(exported):
    assert exported["track"] == ["FINISHED"]


def test_export_next_to_an_unsaved_blend_asks_to_save_it(exported):
    assert "not saved" in exported["unsaved"] and "Traceback" not in exported["unsaved"], exported["unsaved"]


def test_the_three_dataset_operators_finish(exported):
    r = exported
    assert r["samples"] == ["FINISHED"] and r["yolo"] == ["FINISHED"] and r["dlc"] == ["FINISHED"], r


def test_exports_leave_the_clip_frame_offset_alone(exported):
    assert exported["frame_offset"] == 0


def test_markers_read_back_with_the_renamed_track(tracks, names):
    assert "Queen" in names.values() and len(tracks.ids()) >= 3


# crops: every 5th detected frame, each the frame's pixels around the marker as corrected

def test_crops_are_the_pixels_around_every_fifth_frames_markers(exported, tracks, names, frames):
    import cv2

    from omnitrax.pose.crops import roi_boxes

    detected = tracks.select(~tracks.predicted)
    chosen = np.unique(detected.frame)[::5]
    crops = exported["exports"] / "ants_crops"
    expected = {f"ants_{f:02d}_{names[t]}.png": (f, x, y) for t, f, x, y in
                zip(detected.track, detected.frame, detected.x, detected.y) if f in chosen}
    assert sorted(p.name for p in crops.iterdir()) == sorted(expected)
    for name, (f, x, y) in expected.items():
        roi = roi_boxes([[x, y]], size=32)[0]
        np.testing.assert_array_equal(cv2.imread(str(crops / name)), _expected_crop(frames[f], roi))


def test_exports_read_the_marker_where_the_user_moved_it(exported, tracks, names):
    queen = [t for t, n in names.items() if n == "Queen"][0]
    moved = tracks.select((tracks.track == queen) & (tracks.frame == 3))
    assert abs(moved.x[0] - (exported["moved_marker_x"] + 5)) < 1e-3  # the correction, which YOLO frame 3 checks


# YOLO: labels equal the markers' boxes (gap positions included), frames every 3rd

@pytest.fixture(scope="module")
def yolo_labels(exported):
    from omnitrax.io.datasets import read_yolo_labels

    return read_yolo_labels(exported["exports"] / "ants_yolo")


def test_yolo_labels_every_third_frame_including_the_corrected_one(yolo_labels, tracks):
    yolo_frames = np.unique(tracks.frame)[::3]
    assert 3 in yolo_frames
    assert sorted(int(n[5:7]) for _, n in yolo_labels) == yolo_frames.tolist()


def test_yolo_labels_equal_the_marker_boxes(yolo_labels, tracks):
    for (split, name), got in yolo_labels.items():
        rows = tracks.at_frame(int(name[5:7]))
        left = np.clip(rows.x - rows.width / 2, 0, W)
        right = np.clip(rows.x + rows.width / 2, 0, W)
        top = np.clip(rows.y - rows.height / 2, 0, H)
        bottom = np.clip(rows.y + rows.height / 2, 0, H)
        want = np.column_stack([rows.cls, (left + right) / 2 / W, (top + bottom) / 2 / H, (right - left) / W,
                                (bottom - top) / H])
        # labels have 6 decimals (rounding <= 5e-7) of marker coordinates stored as float32 (~1e-7 more)
        np.testing.assert_allclose(got, want, rtol=0, atol=6e-7)


def test_yolo_images_are_the_video_frames(yolo_labels, exported, frames):
    import cv2

    for split, name in yolo_labels:
        np.testing.assert_array_equal(cv2.imread(str(exported["exports"] / "ants_yolo" / "images" / split / name)),
                                      frames[int(name[5:7])])


def test_yolo_dataset_has_its_yaml_and_darknet_files(exported):
    yolo = exported["exports"] / "ants_yolo"
    assert (yolo / "dataset.yaml").is_file() and (yolo / "obj.data").is_file()


# DeepLabCut: the keypoints as corrected, without the disabled one, every 2nd frame with keypoints

@pytest.fixture(scope="module")
def dlc(exported):
    from omnitrax.io.datasets import read_dlc_csv, read_dlc_labeled

    folder = exported["exports"] / "ants_dlc" / "labeled-data" / "ants"
    back = read_dlc_labeled(folder)
    p = exported["poses"]
    pose_names = {int(k): v for k, v in exported["pose_names"].items()}
    muted = {(a, j, f) for a, j, f in exported["muted"]}
    joints = ["head", "tail"]
    keep = [(pose_names[t], joints[j], f) not in muted for t, f, j in zip(p["track"], p["frame"], p["joint"])]
    kept_frames = np.unique(np.array(p["frame"])[keep])[::2]
    want = {(pose_names[t], f, j): (x, y) for t, f, j, x, y, k in
            zip(p["track"], p["frame"], p["joint"], p["x"], p["y"], keep) if k and f in kept_frames}
    back_csv, back_names = read_dlc_csv(folder / "CollectedData_Tester.csv")
    got = {(back_names[int(t)], int(f), int(j)): (x, y) for t, f, j, x, y in
           zip(back.track, back.frame, back.joint, back.x, back.y)}
    return {"folder": folder, "back": back, "back_csv": back_csv, "muted": muted, "kept_frames": kept_frames,
            "want": want, "got": got}


def test_one_keypoint_is_disabled(dlc):
    assert len(dlc["muted"]) == 1


def test_dlc_csv_and_labeled_data_agree(dlc):
    np.testing.assert_array_equal(dlc["back"].x, dlc["back_csv"].x)


def test_dlc_images_every_second_frame_with_keypoints(dlc):
    assert sorted(p.name for p in dlc["folder"].glob("*.png")) == [f"img{f:02d}.png" for f in dlc["kept_frames"]]


def test_dlc_labels_are_the_keypoints_without_the_disabled_one(dlc):
    assert dlc["got"] == dlc["want"]  # exact: float64 through JSON and repr


def test_dlc_labels_hold_the_keypoint_as_the_user_moved_it(dlc, exported):
    a0, f0, y_before = exported["moved"]
    assert abs(dlc["got"][(a0, f0, 0)][1] - (y_before - 3)) < 1e-3


def test_dlc_images_are_the_video_frames(dlc, frames):
    import cv2

    for f in dlc["kept_frames"]:
        np.testing.assert_array_equal(cv2.imread(str(dlc["folder"] / f"img{f:02d}.png")), frames[f])
