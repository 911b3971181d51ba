"""Training-data export inside real Blender: the installed add-on tracks a synthetic clip, the user corrects a
marker and a keypoint, and the three dataset operators write under a '//' export folder next to the saved
.blend. The files must re-load to exactly what the markers say. One bpy process for everything."""
import numpy as np

from blender_harness import run_in_blender

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 24, 4, 17, 3
W, H = 320, 240

SCRIPT = '''
import numpy as np
from importlib import import_module
mod = install(ZIP)
assert hasattr(bpy.types, "OMNITRAX_OT_export_samples")  # the add-on registers the dataset operators
coords = import_module(mod.__name__ + ".blender.coords")
markers = import_module(mod.__name__ + ".blender.markers")
pose_markers = import_module(mod.__name__ + ".blender.pose_markers")
poses_mod = import_module(mod.__name__ + ".pose.poses")

clip = bpy.data.movieclips.load(VIDEO)
clip.frame_start = CLIP_START
scene = bpy.context.scene
scene.frame_start, scene.frame_end = CLIP_START, CLIP_START + clip.frame_duration - 1
scene.frame_current = CLIP_START
props = scene.omnitrax
props.detector = "BACKGROUND"
props.polarity = "DARKER"
props.min_length = 5
props.use_scene_range = True

def op(name, **kw):
    with clip_editor(clip):
        try:
            return sorted(getattr(bpy.ops.omnitrax, name)(**kw))
        except RuntimeError as exc:
            return str(exc)

result = {"track": op("track", restart=True)}
frames = coords.ClipFrames.of(clip)
# the user renames a track and moves one of its markers: both are corrections the exports must carry
first = sorted(t.name for t in clip.tracking.tracks)[0]
clip.tracking.tracks[first].name = "Queen"
marker = clip.tracking.tracks["Queen"].markers.find_frame(4, exact=True)  # video frame 3
result["moved_marker_x"] = marker.co[0] * clip.size[0] - 0.5
marker.co = (marker.co[0] + 5.0 / clip.size[0], marker.co[1])
tracks, names = markers.read_tracks(clip, frames)
result["tracks"] = {k: getattr(tracks, k).tolist() for k in ("track", "frame", "x", "y", "width", "height",
                                                              "predicted")}
result["names"] = {str(k): v for k, v in names.items()}

# keypoints for every animal at every 2nd frame: head in front, tail behind; one below the cut-off
ids = sorted(names)
rows_t, rows_f, kps = [], [], []
for tid in ids:
    one = tracks.for_track(tid)
    for f, x, y in zip(one.frame[::2], one.x[::2], one.y[::2]):
        rows_t.append(tid)
        rows_f.append(int(f))
        kps.append([[x + 4.25, y - 1.5, 0.9], [x - 4.0, y + 1.75, 0.9 if len(kps) != 3 else 0.2]])
poses = poses_mod.Poses.from_keypoints(rows_t, rows_f, kps, ["head", "tail"], skeleton=[("head", "tail")])
pose_markers.write_poses(clip, poses, frames, names, pcutoff=0.5)
obj = pose_markers.pose_object(clip)
f0 = min(rows_f)  # the user moves a head keypoint at the first frame with poses (always exported)
a0 = names[rows_t[rows_f.index(f0)]]
kp_marker = obj.tracks[a0 + ".head"].markers.find_frame(int(frames.marker_from_video(f0)), exact=True)
result["moved"] = [a0, f0, (1 - kp_marker.co[1]) * clip.size[1] - 0.5]
kp_marker.co = (kp_marker.co[0], kp_marker.co[1] + 3.0 / clip.size[1])
read, pose_names = pose_markers.read_poses(clip, frames, {v: k for k, v in names.items()})
muted = []
for t in obj.tracks:
    animal, _, joint = t.name.rpartition(".")
    muted += [[animal, joint, int(frames.video_from_marker(m.frame))] for m in t.markers if m.mute]
result["poses"] = {k: getattr(read, k).tolist() for k in ("track", "frame", "joint", "x", "y")}
result["pose_names"] = {str(k): v for k, v in pose_names.items()}
result["muted"] = muted

props.export_dir = "//exports/"
result["unsaved"] = op("export_samples")
bpy.ops.wm.save_as_mainfile(filepath=BLEND)
result["samples"] = op("export_samples", every=5, size=32, file_format="PNG")
result["yolo"] = op("export_yolo_dataset", every=3, val_fraction=0.25, file_format="PNG")
result["dlc"] = op("export_dlc_labels", every=2, scorer="Tester")
result["frame_offset"] = clip.frame_offset
report(result)
'''


def _expected_crop(frame, roi):
    left, top, size = int(roi[0] + 0.5), int(roi[1] + 0.5), int(roi[2])
    out = np.zeros((size, size, 3), frame.dtype)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, frame.shape[1]), min(top + size, frame.shape[0])
    out[y0 - top:y1 - top, x0 - left:x1 - left] = frame[y0:y1, x0:x1]
    return out


def test_dataset_operators_export_the_corrected_markers_under_a_relative_folder(linux_zip, tmp_path):
    import cv2

    from omnitrax.io.datasets import read_dlc_csv, read_dlc_labeled, read_yolo_labels
    from omnitrax.pose.crops import roi_boxes
    from omnitrax.synthetic import render_clip
    from omnitrax.tracking.tracks import Tracks
    from omnitrax.video import VideoSource

    video = tmp_path / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, fourcc="FFV1", width=W, height=H)
    blend = tmp_path / "project" / "scene.blend"
    blend.parent.mkdir()
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(video)!r}\nBLEND = {str(blend)!r}\n"
              f"CLIP_START = {CLIP_START}\n" + SCRIPT)
    r = run_in_blender(script, tmp_path / "home", timeout=300)
    assert r["track"] == ["FINISHED"]
    assert "not saved" in r["unsaved"] and "Traceback" not in r["unsaved"], r["unsaved"]
    assert r["samples"] == ["FINISHED"] and r["yolo"] == ["FINISHED"] and r["dlc"] == ["FINISHED"], r
    assert r["frame_offset"] == 0
    tracks = Tracks(**{k: np.array(v) for k, v in r["tracks"].items()})
    names = {int(k): v for k, v in r["names"].items()}
    assert "Queen" in names.values() and len(tracks.ids()) >= 3
    exports = blend.parent / "exports"  # '//exports/' resolved next to the .blend
    with VideoSource(video) as source:
        frames = [source.read(i) for i in range(source.frame_count)]

    # crops: every 5th detected frame, each the frame's pixels around the marker as corrected
    detected = tracks.select(~tracks.predicted)
    chosen = np.unique(detected.frame)[::5]
    crops = exports / "ants_crops"
    expected = {f"ants_{f:02d}_{names[t]}.png": (f, x, y) for t, f, x, y in
                zip(detected.track, detected.frame, detected.x, detected.y) if f in chosen}
    assert sorted(p.name for p in crops.iterdir()) == sorted(expected)
    for name, (f, x, y) in expected.items():
        roi = roi_boxes([[x, y]], size=32)[0]
        np.testing.assert_array_equal(cv2.imread(str(crops / name)), _expected_crop(frames[f], roi))
    queen = [t for t, n in names.items() if n == "Queen"][0]
    moved = tracks.select((tracks.track == queen) & (tracks.frame == 3))
    assert abs(moved.x[0] - (r["moved_marker_x"] + 5)) < 1e-3  # the correction, which YOLO frame 3 checks below

    # YOLO: labels equal the markers' boxes (gap positions included), frames every 3rd
    labels = read_yolo_labels(exports / "ants_yolo")
    yolo_frames = np.unique(tracks.frame)[::3]
    assert 3 in yolo_frames
    assert sorted(int(n[5:7]) for _, n in labels) == yolo_frames.tolist()
    for (split, name), got in labels.items():
        rows = tracks.at_frame(int(name[5:7]))
        left = np.clip(rows.x - rows.width / 2, 0, W)
        right = np.clip(rows.x + rows.width / 2, 0, W)
        top = np.clip(rows.y - rows.height / 2, 0, H)
        bottom = np.clip(rows.y + rows.height / 2, 0, H)
        want = np.column_stack([rows.cls, (left + right) / 2 / W, (top + bottom) / 2 / H, (right - left) / W,
                                (bottom - top) / H])
        np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)
        np.testing.assert_array_equal(cv2.imread(str(exports / "ants_yolo" / "images" / split / name)),
                                      frames[int(name[5:7])])
    assert (exports / "ants_yolo" / "dataset.yaml").is_file() and (exports / "ants_yolo" / "obj.data").is_file()

    # DeepLabCut: the keypoints as corrected, without the disabled one, every 2nd frame with keypoints
    folder = exports / "ants_dlc" / "labeled-data" / "ants"
    back = read_dlc_labeled(folder)
    p = r["poses"]
    pose_names = {int(k): v for k, v in r["pose_names"].items()}
    muted = {(a, j, f) for a, j, f in r["muted"]}
    assert len(muted) == 1
    joints = ["head", "tail"]
    keep = [(pose_names[t], joints[j], f) not in muted for t, f, j in zip(p["track"], p["frame"], p["joint"])]
    kept_frames = np.unique(np.array(p["frame"])[keep])[::2]
    want = {(pose_names[t], f, j): (x, y) for t, f, j, x, y, k in
            zip(p["track"], p["frame"], p["joint"], p["x"], p["y"], keep) if k and f in kept_frames}
    back_csv, back_names = read_dlc_csv(folder / "CollectedData_Tester.csv")
    np.testing.assert_array_equal(back.x, back_csv.x)
    got = {(back_names[int(t)], int(f), int(j)): (x, y) for t, f, j, x, y in
           zip(back.track, back.frame, back.joint, back.x, back.y)}
    assert sorted(p.name for p in folder.glob("*.png")) == [f"img{f:02d}.png" for f in kept_frames]
    assert got == want  # exact: float64 through JSON and repr
    a0, f0, y_before = r["moved"]
    assert abs(got[(a0, f0, 0)][1] - (y_before - 3)) < 1e-3  # the keypoint as the user moved it
    for f in kept_frames:
        np.testing.assert_array_equal(cv2.imread(str(folder / f"img{f:02d}.png")), frames[f])
