"""Pose estimation inside real Blender: a real DLC-Live model (built offline) on a clip with known keypoints.

Each animal carries a red, a green and a blue spot; the tiny test network's score map for joint j peaks
on colour j, so the right answer for every keypoint is known to the pixel. Each scenario
(tests/blender_scenarios/pose.py) runs once per module; each test checks one behaviour of its result.
"""
import cv2
import numpy as np
import pandas as pd
import pytest

from blender_harness import run_scenario
from pose_models import JOINTS, SKELETON, draw_spot, spot_model, write_project_config

pytest.importorskip("dlclive")

W, H, N_FRAMES, CLIP_START = 320, 240, 10, 3
START = np.array([[60.0, 60.0], [200.0, 120.0], [300.0, 220.0]])  # the last one near the corner
MOTION = np.array([[2.0, 1.0], [-1.0, 2.0], [-1.0, -1.0]])
OFFSETS = np.array([[-8, -6], [0, 0], [7, 8]])  # joint j's spot relative to the animal's marker
NAMES = ["track_0", "Worker A", "track_7"]  # the animal tracks of the scenarios


@pytest.fixture(scope="module")
def pose_scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("blender_pose")
    centres = START[:, None] + MOTION[:, None] * np.arange(N_FRAMES)[None, :, None]  # (T, F, 2)
    writer = cv2.VideoWriter(str(root / "spots.avi"), cv2.VideoWriter_fourcc(*"FFV1"), 25, (W, H))
    for f in range(N_FRAMES):
        frame = np.full((H, W, 3), 10, np.uint8)
        for t in range(len(START)):
            for j in range(len(JOINTS)):
                x, y = np.rint(centres[t, f]).astype(int) + OFFSETS[j]
                draw_spot(frame, x, y, j)
        writer.write(frame)
    writer.release()
    spot_model(root / "dlc-models" / "exported")
    write_project_config(root)
    return root, centres


def _scenario(function, tmp_path_factory, linux_zip, root, centres, model, out):
    return run_scenario("pose", function, tmp_path_factory.mktemp("home_" + function), timeout=600,
                        zip_path=str(linux_zip), video=str(root / "spots.avi"), clip_start=CLIP_START,
                        model=str(model), out=str(out), centres=centres.tolist())


# --- estimate, correct, export, stop, no tracks, full frame ----------------------------------------------

@pytest.fixture(scope="module")
def pose_run(linux_zip, pose_scene, tmp_path_factory):
    root, centres = pose_scene
    out = tmp_path_factory.mktemp("pose_export")
    r = _scenario("estimate_correct_export_stop", tmp_path_factory, linux_zip, root, centres,
                  root / "dlc-models" / "exported", out)
    return dict(r, out=out)


@pytest.fixture(scope="module")
def exported_csv(pose_run):
    return pd.read_csv(pose_run["out"] / "spots_poses.csv", header=[0, 1, 2, 3], index_col=0)


def test_missing_model_is_reported_without_a_traceback(pose_run):
    msg = pose_run["missing_model"]
    assert "missing" in msg and "Traceback" not in msg, msg


def test_missing_model_writes_no_keypoints(pose_run):
    assert pose_run["after_error"] == {}


def test_estimate_poses_finishes(pose_run):
    assert pose_run["status"] == ["FINISHED"]


def test_keypoints_stay_out_of_the_animal_tracks(pose_run):
    assert pose_run["camera_tracks"] == sorted(NAMES)


def test_one_keypoint_track_per_animal_and_joint(pose_run):
    assert sorted(pose_run["poses"]) == sorted(f"{n}.{j}" for n in NAMES for j in JOINTS)


def test_clip_stores_the_joints_and_the_skeleton(pose_run):
    assert pose_run["meta"]["joints"] == list(JOINTS) and pose_run["meta"]["skeleton"] == SKELETON


def test_keypoints_are_exact_at_every_frame(pose_run, pose_scene):
    _, centres = pose_scene
    for t, name in enumerate(NAMES):
        for j, joint in enumerate(JOINTS):
            markers = pose_run["poses"][f"{name}.{joint}"]
            assert [m[0] for m in markers] == list(range(CLIP_START, CLIP_START + N_FRAMES))
            for f, (scene_frame, x, y, muted) in enumerate(markers):
                expected = np.rint(centres[t, f]) + [[-8, -6], [0, 0], [7, 8]][j]
                assert abs(x - expected[0]) < 1e-3 and abs(y - expected[1]) < 1e-3, (name, joint, f, x, y)
                assert not muted


def test_overlay_has_the_pose_layer(pose_run):
    assert pose_run["layers"] == ["tracks", "pose"]


def test_overlay_draws_each_animals_skeleton(pose_run, pose_scene):
    # the overlay draws each animal's skeleton (two bones) through its layer registry
    _, centres = pose_scene
    skeleton = pose_run["skeleton"]
    assert len(skeleton["segments"]) == 3 * len(SKELETON) and skeleton["points"] == 3 * len(JOINTS)
    assert skeleton["labels"] == sorted(list(JOINTS) * 3)
    red, green = np.rint(centres[0, 2]) + [-8, -6], np.rint(centres[0, 2])
    bone = [[red[0] + 0.5, H - red[1] - 0.5], [green[0] + 0.5, H - green[1] - 0.5]]  # marker co x size
    assert any(np.allclose(segment, bone, atol=1e-2) for segment in skeleton["segments"])


def test_export_poses_finishes(pose_run):
    assert pose_run["export"] == ["FINISHED"]


def test_export_options_write_the_frame_range_per_animal_files_and_videos_into_the_clips_folder(pose_run):
    from omnitrax.settings_file import read_settings
    from omnitrax.video import VideoSource

    assert pose_run["export_options"] == ["FINISHED"]
    folder = pose_run["out"] / "options" / "spots"
    assert sorted(p.name for p in folder.iterdir()) == ["spots_pose_preview.mp4", "spots_poses", "spots_poses.csv",
                                                       "spots_poses.h5", "spots_run.toml", "spots_videos"]
    multi = pd.read_csv(folder / "spots_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert list(multi.index) == [1, 2, 3]  # video frames of scene frames clip_start + 1 .. + 3
    single = sorted(p.stem for p in (folder / "spots_poses").glob("*.csv"))
    assert single == sorted(NAMES)
    videos = sorted(p.stem for p in (folder / "spots_videos").glob("*.mp4"))
    assert videos == sorted(NAMES)
    with VideoSource(folder / "spots_pose_preview.mp4") as preview:
        assert preview.frame_count == 3
    # ROI pixels: every keypoint inside its animal's ROI square, at its offset from the animal's marker
    crop = pd.read_csv(folder / "spots_poses" / "track_0.csv", header=[0, 1, 2], index_col=0)
    x = crop.xs("x", axis=1, level="coords").to_numpy()
    full = multi.xs("track_0", axis=1, level="individuals").xs("x", axis=1, level="coords").to_numpy()
    shift = full - x
    assert np.ptp(shift[:, 0] - shift[:, 1]) < 1e-6  # one ROI origin per frame for all joints
    assert (x > -1).all() and (x < 200).all()
    assert read_settings(folder / "spots_run.toml")[1]["pose_model_path"].endswith("exported")


def test_dlc_csv_has_the_deeplabcut_layout(exported_csv):
    df = exported_csv
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert sorted(set(df.columns.get_level_values("individuals"))) == sorted(NAMES)
    assert list(df.index) == list(range(N_FRAMES))


def test_dlc_csv_holds_the_keypoint_as_corrected_in_blender(exported_csv):
    df = exported_csv
    scorer = df.columns.get_level_values("scorer")[0]
    corrected = df[(scorer, "track_7", "green")].loc[3]
    assert corrected["x"] == pytest.approx(100, abs=1e-3) and corrected["y"] == pytest.approx(50, abs=1e-3)


def test_dlc_csv_holds_the_estimated_keypoints_and_likelihoods(exported_csv, pose_scene):
    df = exported_csv
    scorer = df.columns.get_level_values("scorer")[0]
    worker = df[(scorer, "Worker A", "blue")]
    expected = np.rint(pose_scene[1][1]) + [7, 8]
    np.testing.assert_allclose(worker[["x", "y"]].to_numpy(), expected, atol=1e-3)
    assert (worker["likelihood"] > 0.5).all()


def test_dlc_h5_holds_the_same_numbers_as_the_csv(pose_run, exported_csv):
    h5 = pd.read_hdf(pose_run["out"] / "spots_poses.h5")
    np.testing.assert_allclose(h5.to_numpy(), exported_csv.to_numpy(), atol=1e-6, equal_nan=True)


def test_movement_reads_both_exported_files(pose_run, pose_scene):
    # a maintained third-party reader (movement) agrees with both files
    from movement.io import load_poses

    expected = np.rint(pose_scene[1][1]) + [7, 8]
    out = pose_run["out"]
    for path in (out / "spots_poses.csv", out / "spots_poses.h5"):
        ds = load_poses.from_dlc_file(path, fps=25)
        position = ds.position.sel(individuals="Worker A", keypoints="blue").to_numpy()
        assert position.shape[0] == N_FRAMES
        np.testing.assert_allclose(position.reshape(N_FRAMES, 2), expected, atol=1e-3)


def test_stopping_at_once_writes_nothing_and_changes_nothing(pose_run):
    assert pose_run["stopped_written"] == 0 and pose_run["unchanged_after_stop"]


def test_no_animal_tracks_asks_for_tracks_or_full_frame(pose_run):
    # no tracks -> a clear request, not a fallback
    msg = pose_run["no_tracks"]
    assert "no animal tracks" in msg and "full-frame" in msg, msg


def test_full_frame_run_finishes(pose_run):
    assert pose_run["full_frame"] == ["FINISHED"]


def test_full_frame_finds_one_pose_per_frame_on_a_spot_of_each_colour(pose_run, pose_scene):
    _, centres = pose_scene
    full = pose_run["full_frame_poses"]
    assert sorted(full) == [f"frame.{j}" for j in sorted(JOINTS)]
    for j, joint in enumerate(JOINTS):  # one pose per frame, on one of the animals' spots of that colour
        for f, (scene_frame, x, y, muted) in enumerate(full[f"frame.{joint}"]):
            spots = np.rint(centres[:, f]) + OFFSETS[j]
            assert np.min(np.hypot(spots[:, 0] - x, spots[:, 1] - y)) < 1e-3


# --- a PyTorch (DeepLabCut 3) model: Blender equals the core ---------------------------------------------

@pytest.fixture(scope="module")
def pytorch_run(linux_zip, pose_scene, tmp_path_factory):
    """The Blender operator and the core, on the same tracks, with a DeepLabCut 3 (PyTorch) model."""
    from omnitrax.pose.estimate import estimate_poses
    from omnitrax.pose.model import PoseModel
    from omnitrax.tracking.tracks import Tracks
    from pose_models import torch_model

    root, centres = pose_scene
    # off-integer positions: float32 marker coordinates must not move a crop edge across a pixel
    centres = centres + 0.3
    model_dir = torch_model(tmp_path_factory.mktemp("dlc3") / "dlc3")
    n_t = len(START)
    tracks = Tracks(track=np.repeat(np.arange(n_t), N_FRAMES), frame=np.tile(np.arange(N_FRAMES), n_t),
                    x=centres[..., 0].ravel(), y=centres[..., 1].ravel())
    with PoseModel.load(model_dir) as model:
        expected = estimate_poses(root / "spots.avi", tracks, model, roi_size=48)
    r = _scenario("estimate", tmp_path_factory, linux_zip, root, centres, model_dir,
                  tmp_path_factory.mktemp("pytorch_out"))
    return r, expected


def _pytorch_pairs(pytorch_run):
    """(Blender's markers, the core's rows) for every animal and joint."""
    r, expected = pytorch_run
    for tid, name in enumerate(NAMES):
        for j, joint in enumerate(expected.joint_names):
            yield r["poses"][f"{name}.{joint}"], expected.select((expected.track == tid) & (expected.joint == j))


def test_pytorch_model_runs_in_blender(pytorch_run):
    r, _ = pytorch_run
    assert r["status"] == ["FINISHED"], r["status"]


def test_pytorch_keypoints_in_blender_equal_the_core(pytorch_run):
    for markers, rows in _pytorch_pairs(pytorch_run):
        got = np.array([[m[1], m[2]] for m in markers])
        np.testing.assert_allclose(got, np.c_[rows.x, rows.y], atol=1e-3)


def test_pytorch_keypoints_below_the_cutoff_are_muted(pytorch_run):
    for markers, rows in _pytorch_pairs(pytorch_run):
        assert [bool(m[3]) for m in markers] == list(rows.likelihood < 0.5)  # below the cut-off: muted


# --- `omnitrax pose --blend` -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pose_cli(pose_scene, tmp_path_factory):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from omnitrax.io.blend import write_blend
    from omnitrax.io.tracks_csv import write_tracks_csv
    from omnitrax.tracking.settings import TrackingSettings
    from omnitrax.tracking.tracks import Tracks

    root, centres = pose_scene
    work = tmp_path_factory.mktemp("pose_cli")
    n_t = len(START)
    tracks = Tracks(track=np.repeat(np.arange(n_t), N_FRAMES), frame=np.tile(np.arange(N_FRAMES), n_t),
                    x=centres[..., 0].ravel() + 0.3, y=centres[..., 1].ravel() + 0.3, width=20.0, height=20.0)
    write_tracks_csv(work / "tracks.csv", tracks)
    blend = write_blend(root / "spots.avi", tracks, work / "spots.blend", TrackingSettings())
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "omnitrax", "pose", str(root / "spots.avi"), "--tracks",
                           str(work / "tracks.csv"), "--model", str(root / "dlc-models" / "exported"),
                           "--out", str(work / "out"), "--roi-size", "48", "--blend", str(blend)],
                          capture_output=True, text=True, cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)))
    return proc, work, blend


@pytest.fixture(scope="module")
def cli_keypoints(pose_cli, tmp_path_factory):
    proc, _, blend = pose_cli
    assert proc.returncode == 0, proc.stderr
    return run_scenario("pose", "keypoints_in_blend", tmp_path_factory.mktemp("home_cli"), blend=str(blend))


def test_pose_cli_succeeds(pose_cli):
    proc = pose_cli[0]
    assert proc.returncode == 0, proc.stderr


def test_pose_cli_writes_the_dlc_csv(pose_cli):
    df = pd.read_csv(pose_cli[1] / "out" / "spots_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert df.shape == (N_FRAMES, len(START) * len(JOINTS) * 3)


def test_pose_cli_blend_has_one_keypoint_track_per_animal_and_joint(cli_keypoints):
    assert sorted(cli_keypoints) == sorted(f"track_{t}.{j}" for t in range(len(START)) for j in JOINTS)


def test_pose_cli_blend_keypoints_are_exact(cli_keypoints, pose_scene):
    _, centres = pose_scene
    for t in range(len(START)):
        for j, joint in enumerate(JOINTS):
            got = np.array([m[1:] for m in cli_keypoints[f"track_{t}.{joint}"]])
            np.testing.assert_allclose(got, np.rint(centres[t]) + OFFSETS[j], atol=1e-3)


# --- the modal loop --------------------------------------------------------------------------------------
# modal() driven by timer events as Blender's event loop would: it polls the worker thread and writes
# the keypoints when the thread is done; other events pass through to the UI.

@pytest.fixture(scope="module")
def pose_modal(linux_zip, pose_scene, tmp_path_factory):
    root, centres = pose_scene
    return _scenario("modal_loop", tmp_path_factory, linux_zip, root, centres, root / "dlc-models" / "exported",
                     tmp_path_factory.mktemp("pose_modal_out"))


def test_pose_modal_passes_other_events_through(pose_modal):
    assert pose_modal["mouse"] == ["PASS_THROUGH"]


def test_pose_modal_runs_the_network_off_the_main_thread_until_finished(pose_modal):
    assert pose_modal["ticks"][-1] == ["FINISHED"] and len(pose_modal["ticks"]) > 1


def test_pose_modal_reports_every_frame_done(pose_modal):
    assert "finished" in pose_modal["reports"][-1] and f"{N_FRAMES}/{N_FRAMES} frames" in pose_modal["reports"][-1]


def test_pose_modal_writes_the_keypoints(pose_modal):
    assert pose_modal["keypoint_tracks"] == 3 * len(JOINTS)
