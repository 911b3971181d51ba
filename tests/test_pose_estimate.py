"""estimate_poses on a lossless synthetic video with known keypoints, real DLC-Live on a tiny model."""
import cv2
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.tracking.tracks import Tracks
from pose_models import JOINTS, draw_spot, spot_model, torch_model

pytest.importorskip("dlclive")
from omnitrax.pose.estimate import estimate_poses  # noqa: E402
from omnitrax.pose.model import PoseModel  # noqa: E402

W, H, N_FRAMES = 240, 180, 8
# marker centres at frame 0 (some near the frame edges, so ROIs leave the frame) and per-frame motion
START = np.array([[8.0, 170.0], [120.0, 90.0], [228.0, 12.0], [50.0, 30.0]])
MOTION = np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 0.5], [1.0, 1.0]])


def _scene(rng):
    """Frames (BGR) and the truth: marker xy (T, F, 2), joint xy (T, F, J, 2) in full-frame pixels."""
    frames = rng.integers(0, 20, (N_FRAMES, H, W, 3), dtype=np.uint8)
    markers = START[:, None] + MOTION[:, None] * np.arange(N_FRAMES)[None, :, None]
    joints = np.zeros((len(START), N_FRAMES, len(JOINTS), 2))
    for t in range(len(START)):
        for f in range(N_FRAMES):
            for j in range(len(JOINTS)):
                # joint j sits on its own row band around the marker, a few px left/right
                dx, dy = rng.integers(-12, 13), (j - 1) * 10 + rng.integers(-2, 3)
                x = int(np.clip(np.rint(markers[t, f, 0]) + dx, 3, W - 4))
                y = int(np.clip(np.rint(markers[t, f, 1]) + dy, 3, H - 4))
                joints[t, f, j] = (x, y)
                draw_spot(frames[f], x, y, j)
    return frames, markers, joints


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose_scene")
    frames, markers, joints = _scene(np.random.default_rng(3))
    path = root / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (W, H))
    for frame in frames:
        writer.write(frame)
    writer.release()
    n_t = len(START)
    track = np.repeat(np.arange(1, n_t + 1), N_FRAMES)
    frame = np.tile(np.arange(N_FRAMES), n_t)
    sizes = np.tile([40.0, 52.0, 60.0, 44.0], N_FRAMES).reshape(N_FRAMES, n_t).T.reshape(-1)
    tracks = Tracks(track=track, frame=frame, x=markers[..., 0].reshape(-1), y=markers[..., 1].reshape(-1),
                    width=sizes, height=sizes * 0.75, predicted=(frame % 3 == 2))
    model = PoseModel.load(spot_model(root / "model"), threads=1)
    yield {"video": path, "tracks": tracks, "joints": joints, "model": model, "root": root}
    model.close()


def _recovered(poses, n_tracks=len(START)):
    array, frames, ids = poses.to_array(ids=range(1, n_tracks + 1), frames=range(N_FRAMES))
    return array  # (F, T, J, 3)


def test_keypoints_map_back_exactly_with_constant_rois(scene):
    progress = []
    poses = estimate_poses(scene["video"], scene["tracks"], scene["model"], roi_size=48, batch_frames=3,
                           on_progress=lambda done, total: progress.append((done, total)))
    assert poses.joint_names == list(JOINTS)
    assert poses.ids() == [1, 2, 3, 4]
    assert len(poses) == len(scene["tracks"]) * len(JOINTS)  # predicted rows included
    got = _recovered(poses)
    truth = scene["joints"].transpose(1, 0, 2, 3)  # (F, T, J, 2)
    # 1:1 crops of a lossless video: the exact pixel, also where the ROI leaves the frame
    np.testing.assert_allclose(got[..., :2], truth, atol=1e-6)
    assert np.all(got[..., 2] > 0.99)
    assert progress == [(i, N_FRAMES) for i in range(1, N_FRAMES + 1)]
    again = estimate_poses(scene["video"], scene["tracks"], scene["model"], roi_size=48, batch_frames=1)
    np.testing.assert_array_equal(again.x, poses.x)


def test_box_rois_resized_to_the_crop_size_map_back_within_one_pixel(scene):
    poses = estimate_poses(scene["video"], scene["tracks"], scene["model"], roi_mode="box", padding=4,
                           roi_size=40)
    got = _recovered(poses)
    error = np.abs(got[..., :2] - scene["joints"].transpose(1, 0, 2, 3))
    # ROIs of 48..68 px resized to 40: a crop pixel is at most 1.7 frame px, the peak is within half of it
    assert error.max() <= 0.5 * 68 / 40 + 0.05, error.max()
    assert np.linalg.norm(error, axis=-1).mean() < 0.6


def test_full_frame_gives_one_pose_per_frame_as_track_zero(scene, tmp_path):
    frames, _, joints = _scene(np.random.default_rng(5))
    single = frames.copy()
    single[:] = np.random.default_rng(6).integers(0, 20, single.shape, dtype=np.uint8)
    for f in range(N_FRAMES):
        for j in range(len(JOINTS)):
            draw_spot(single[f], *joints[1, f, j].astype(int), j)
    path = tmp_path / "single.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (W, H))
    for frame in single:
        writer.write(frame)
    writer.release()
    poses = estimate_poses(path, None, scene["model"], full_frame=True, frames=[1, 2, 5])
    assert poses.ids() == [0]
    np.testing.assert_array_equal(poses.frames(), [1, 2, 5])
    for f in (1, 2, 5):
        np.testing.assert_allclose(poses.keypoints(0, f)[:, :2], joints[1, f], atol=1e-6)


def test_each_frame_is_decoded_once_in_order(scene):
    from omnitrax.video import VideoSource

    class CountingVideo(VideoSource):  # the real reader, counting what it hands out
        decoded, seeks = [], 0

        def frames(self, start=0, stop=None):
            for index, frame in super().frames(start, stop):
                self.decoded.append(index)
                yield index, frame

        def read(self, index):
            CountingVideo.seeks += 1
            return super().read(index)

    with CountingVideo(scene["video"]) as video:
        poses = estimate_poses(video, scene["tracks"], scene["model"], roi_size=48, batch_frames=2)
    assert CountingVideo.decoded == list(range(N_FRAMES)) and CountingVideo.seeks == 0
    assert len(poses.frames()) == N_FRAMES


def test_frames_subset_and_cooperative_stop(scene):
    poses = estimate_poses(scene["video"], scene["tracks"], scene["model"], roi_size=48, frames=[6, 2])
    np.testing.assert_array_equal(poses.frames(), [2, 6])
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3  # stop when the 4th frame arrives

    progress = []
    poses = estimate_poses(scene["video"], scene["tracks"], scene["model"], roi_size=48, batch_frames=2,
                           should_stop=stop, on_progress=lambda d, t: progress.append(d))
    np.testing.assert_array_equal(poses.frames(), [0, 1, 2])
    assert progress == [1, 2, 3]
    truth = scene["joints"].transpose(1, 0, 2, 3)
    np.testing.assert_allclose(_recovered(poses)[:3, ..., :2], truth[:3], atol=1e-6)


def test_user_mistakes_raise_omnitrax_errors(scene, tmp_path):
    video, tracks, model = scene["video"], scene["tracks"], scene["model"]
    cases = [
        ("no tracks", dict(tracks=Tracks.empty())),
        ("reach frame", dict(tracks=Tracks(track=[1], frame=[N_FRAMES + 5], x=[10], y=[10]))),
        ("outside", dict(frames=[0, N_FRAMES])),
        ("batch_frames", dict(batch_frames=0)),
        ("ROI mode", dict(roi_mode="circle")),
        ("ROI size", dict(roi_size=0)),
        ("not found", dict(video_path=tmp_path / "none.avi")),
    ]
    for match, kw in cases:
        args = dict(video_path=video, tracks=tracks, model=model) | kw
        with pytest.raises(OmniTraxError, match=match):
            estimate_poses(**args)


def _pose_cli(argv):
    import argparse

    from omnitrax.cli import pose

    parser = argparse.ArgumentParser(prog="omnitrax")
    pose.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_pose_command_writes_dlc_files_and_reports_user_errors(scene, tmp_path, capsys):
    import pandas as pd

    from omnitrax.io.tracks_csv import write_tracks_csv

    tracks_csv = write_tracks_csv(tmp_path / "clip_tracks.csv", scene["tracks"])
    out = tmp_path / "out"
    model = scene["root"] / "model"
    rc = _pose_cli(["pose", str(scene["video"]), "--tracks", str(tracks_csv), "--model", str(model),
                    "--out", str(out), "--roi-size", "48"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "4 tracks" in err and "batched" in err and f"{N_FRAMES}/{N_FRAMES} frames" in err
    df = pd.read_csv(out / "clip_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert list(df.columns.unique("individuals")) == ["track_1", "track_2", "track_3", "track_4"]
    x = df[("OmniTrax", "track_4", "green", "x")].to_numpy()
    np.testing.assert_allclose(x, scene["joints"][3, :, 1, 0], atol=1e-6)
    pd.testing.assert_frame_equal(pd.read_hdf(out / "clip_poses.h5"), df, check_dtype=False)
    with pytest.raises(OmniTraxError, match="--tracks"):
        _pose_cli(["pose", str(scene["video"]), "--model", str(model), "--out", str(out)])
    with pytest.raises(OmniTraxError, match="not found"):
        _pose_cli(["pose", str(scene["video"]), "--tracks", str(tmp_path / "no.csv"), "--model", str(model),
                   "--out", str(out)])
    with pytest.raises(OmniTraxError, match="Pose model folder"):
        _pose_cli(["pose", str(scene["video"]), "--tracks", str(tracks_csv), "--model", str(tmp_path / "nomodel"),
                   "--out", str(out), "--no-h5"])


def test_pytorch_model_through_the_whole_pipeline(scene, tmp_path):
    """A DeepLabCut 3 model: estimate_poses gives what DLC-Live's get_pose gives on each ROI crop,
    mapped to frame pixels by crops.to_frame."""
    pytest.importorskip("timm")
    from omnitrax.pose.crops import extract, roi_boxes, to_frame
    from omnitrax.video import VideoSource

    tracks = scene["tracks"]
    with PoseModel.load(torch_model(tmp_path / "torch"), threads=1, device="cpu") as model:
        assert model.batched
        poses = estimate_poses(scene["video"], tracks, model, frames=[0, 5], roi_mode="box", padding=4,
                               roi_size=64)
        assert len(poses) == 2 * len(START) * len(JOINTS)
        with VideoSource(scene["video"]) as video:
            for f in (0, 5):
                rows = tracks.at_frame(f)
                rois = roi_boxes(np.column_stack([rows.x, rows.y]), rows.boxes(), mode="box", size=64, padding=4)
                crops = extract(video.read(f), rois, 64)
                expected = to_frame(np.stack([model._dlc.get_pose(c) for c in crops]), rois, 64)
                for k, tid in enumerate(rows.track):
                    np.testing.assert_allclose(poses.keypoints(tid, f), expected[k], atol=1e-3)


def test_per_track_pose_files_equal_the_multi_animal_file_and_load_in_deeplabcut_and_movement(scene, tmp_path):
    import pandas as pd

    from omnitrax.io.tracks_csv import write_tracks_csv

    tracks_csv = write_tracks_csv(tmp_path / "clip_tracks.csv", scene["tracks"])
    out = tmp_path / "out"
    model = scene["root"] / "model"
    args = ["pose", str(scene["video"]), "--tracks", str(tracks_csv), "--model", str(model), "--roi-size", "48",
            "--no-h5", "--per-track"]
    assert _pose_cli(args + ["--out", str(out)]) == 0
    assert _pose_cli(args + ["--out", str(tmp_path / "crop"), "--crop-pixels", "--per-track-videos"]) == 0
    multi = pd.read_csv(out / "clip_poses.csv", header=[0, 1, 2, 3], index_col=0)
    files = sorted((out / "clip_poses").glob("*.csv"))
    assert [p.stem for p in files] == ["track_1", "track_2", "track_3", "track_4"]
    for path in files:
        # DeepLabCut reads single-animal files with three header rows: scorer, bodyparts, coords
        one = pd.read_csv(path, header=[0, 1, 2], index_col=0)
        assert list(one.columns.names) == ["scorer", "bodyparts", "coords"]
        want = multi.xs(path.stem, axis=1, level="individuals")
        np.testing.assert_allclose(one.to_numpy(), want.to_numpy(), atol=1e-9, equal_nan=True)
        # crop pixels: the same keypoints relative to each frame's 48 px ROI around the marker
        crop = pd.read_csv(tmp_path / "crop" / "clip_poses" / path.name, header=[0, 1, 2], index_col=0)
        t = int(path.stem.split("_")[1])
        rows = scene["tracks"].for_track(t)
        left = np.floor(rows.x - 24) + 0.5
        np.testing.assert_allclose(crop[("OmniTrax", "green", "x")].to_numpy(),
                                   one[("OmniTrax", "green", "x")].to_numpy() - left - 0.5, atol=1e-6)
        assert (crop.xs("x", axis=1, level="coords").to_numpy() > -1).all()
        assert (crop.xs("x", axis=1, level="coords").to_numpy() < 48).all()
    movement = pytest.importorskip("movement")
    from movement.io import load_poses

    ds = load_poses.from_dlc_file(files[0], fps=25)
    assert ds.position.shape[0] == N_FRAMES and len(ds.keypoints) == len(JOINTS)
    np.testing.assert_allclose(ds.position.sel(space="x").values.squeeze()[:, 1],
                               multi[("OmniTrax", "track_1", "green", "x")].to_numpy(), atol=1e-6)
    videos = sorted((tmp_path / "crop" / "clip_videos").glob("*.mp4"))
    assert [p.stem for p in videos] == ["track_1", "track_2", "track_3", "track_4"]


def test_per_track_options_that_do_not_fit_are_one_line(scene, tmp_path):
    with pytest.raises(OmniTraxError, match="--crop-pixels is for the --per-track files"):
        _pose_cli(["pose", str(scene["video"]), "--full-frame", "--model", str(scene["root"] / "model"),
                   "--out", str(tmp_path), "--crop-pixels"])
