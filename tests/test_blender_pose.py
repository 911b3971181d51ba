"""Pose estimation inside real Blender: a real DLC-Live model (built offline) on a clip with known keypoints.

Each animal carries a red, a green and a blue spot; the tiny test network's score map for joint j peaks
on colour j, so the right answer for every keypoint is known to the pixel.
"""
import cv2
import numpy as np
import pandas as pd
import pytest

from blender_harness import run_in_blender
from pose_models import JOINTS, SKELETON, draw_spot, spot_model, write_project_config

pytest.importorskip("dlclive")

W, H, N_FRAMES, CLIP_START = 320, 240, 10, 3
START = np.array([[60.0, 60.0], [200.0, 120.0], [300.0, 220.0]])  # the last one near the corner
MOTION = np.array([[2.0, 1.0], [-1.0, 2.0], [-1.0, -1.0]])
OFFSETS = np.array([[-8, -6], [0, 0], [7, 8]])  # joint j's spot relative to the animal's marker


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


SCRIPT = '''
import numpy as np
mod = install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
clip.frame_start = CLIP_START
scene = bpy.context.scene
scene.frame_start, scene.frame_end = CLIP_START, CLIP_START + clip.frame_duration - 1
w, h = clip.size
names = ["track_0", "Worker A", "track_7"]  # any animal track name works
for name, xy in zip(names, CENTRES):
    track = clip.tracking.tracks.new(name=name, frame=1)
    for f, (x, y) in enumerate(xy):
        track.markers.insert_frame(f + 1, co=((x + 0.5) / w, 1 - (y + 0.5) / h))
props = scene.omnitrax
props.pose_roi_size = 48
props.export_dir = OUT

def pose_dump():
    obj = clip.tracking.objects.get("OmniTrax Poses")
    if obj is None:
        return {}
    return {t.name: [[m.frame + clip.frame_start - 1, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5, m.mute]
                     for m in t.markers] for t in obj.tracks}

def run(op, **kw):
    with clip_editor(clip):
        try:
            return sorted(op(**kw))
        except RuntimeError as exc:
            return str(exc)

result = {}
props.pose_model_path = MODEL + "_missing"
result["missing_model"] = run(bpy.ops.omnitrax.estimate_poses)
result["after_error"] = pose_dump()
props.pose_model_path = MODEL
result["status"] = run(bpy.ops.omnitrax.estimate_poses)
result["poses"] = pose_dump()
result["meta"] = clip["omnitrax_pose"].to_dict()
result["camera_tracks"] = sorted(t.name for t in clip.tracking.tracks)
from importlib import import_module
overlay = import_module(mod.__name__ + ".blender.overlay")
pose_markers = import_module(mod.__name__ + ".blender.pose_markers")
result["layers"] = overlay.layer_names()
shapes = pose_markers.skeleton_shapes(clip, CLIP_START + 2, labels=True).normalised()
result["skeleton"] = {"segments": (shapes.segments * [w, h]).tolist(), "points": len(shapes.points),
                      "labels": sorted(l.text for l in shapes.labels)}
# the user corrects one keypoint: track_7's green point at the clip's 4th frame
obj = clip.tracking.objects["OmniTrax Poses"]
marker = obj.tracks["track_7.green"].markers.find_frame(4, exact=True)
marker.co = ((100 + 0.5) / w, 1 - (50 + 0.5) / h)
result["export"] = run(bpy.ops.omnitrax.export_poses)
# a run stopped before its first frame (Esc at once) changes nothing
before = pose_dump()
job_module = import_module(mod.__name__ + ".blender.pose_job")
with clip_editor(clip):
    job = job_module.BlenderPoseJob(bpy.context, clip, full_frame=False)
job.stop()
job.start()
job.wait()
result["stopped_written"] = job.write_results()
result["unchanged_after_stop"] = pose_dump() == before
# a clip without animal tracks: per-track pose asks for tracks; full frame runs on whole frames
for t in list(clip.tracking.tracks):
    t.select = True
with clip_editor(clip):
    bpy.ops.clip.delete_track(confirm=False)
result["no_tracks"] = run(bpy.ops.omnitrax.estimate_poses)
result["full_frame"] = run(bpy.ops.omnitrax.estimate_poses, full_frame=True)
result["full_frame_poses"] = {k: v for k, v in pose_dump().items() if k.startswith("frame.")}
report(result)
'''


def test_estimate_poses_stores_exact_keypoints_and_exports_the_corrections(linux_zip, pose_scene, tmp_path):
    root, centres = pose_scene
    out = tmp_path / "export"
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(root / 'spots.avi')!r}\nCLIP_START = {CLIP_START}\n"
              f"MODEL = {str(root / 'dlc-models' / 'exported')!r}\nOUT = {str(out)!r}\n"
              f"CENTRES = {centres.tolist()!r}\n" + SCRIPT)
    r = run_in_blender(script, tmp_path / "home", timeout=600)
    assert "missing" in r["missing_model"] and "Traceback" not in r["missing_model"], r["missing_model"]
    assert r["after_error"] == {}
    assert r["status"] == ["FINISHED"]
    names = ["track_0", "Worker A", "track_7"]
    assert r["camera_tracks"] == sorted(names)  # keypoints stay out of the animal tracks
    assert sorted(r["poses"]) == sorted(f"{n}.{j}" for n in names for j in JOINTS)
    assert r["meta"]["joints"] == list(JOINTS) and r["meta"]["skeleton"] == SKELETON
    for t, name in enumerate(names):
        for j, joint in enumerate(JOINTS):
            markers = r["poses"][f"{name}.{joint}"]
            assert [m[0] for m in markers] == list(range(CLIP_START, CLIP_START + N_FRAMES))
            for f, (scene_frame, x, y, muted) in enumerate(markers):
                expected = np.rint(centres[t, f]) + [[-8, -6], [0, 0], [7, 8]][j]
                assert abs(x - expected[0]) < 1e-3 and abs(y - expected[1]) < 1e-3, (name, joint, f, x, y)
                assert not muted

    # the overlay draws each animal's skeleton (two bones) through its layer registry
    assert r["layers"] == ["tracks", "pose"]
    skeleton = r["skeleton"]
    assert len(skeleton["segments"]) == 3 * len(SKELETON) and skeleton["points"] == 3 * len(JOINTS)
    assert skeleton["labels"] == sorted(list(JOINTS) * 3)
    red, green = np.rint(centres[0, 2]) + [-8, -6], np.rint(centres[0, 2])
    bone = [[red[0] + 0.5, H - red[1] - 0.5], [green[0] + 0.5, H - green[1] - 0.5]]  # marker co x size
    assert any(np.allclose(segment, bone, atol=1e-2) for segment in skeleton["segments"])

    # the DeepLabCut CSV holds the keypoints as corrected in Blender
    assert r["export"] == ["FINISHED"]
    df = pd.read_csv(out / "spots_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert sorted(set(df.columns.get_level_values("individuals"))) == sorted(names)
    assert list(df.index) == list(range(N_FRAMES))
    scorer = df.columns.get_level_values("scorer")[0]
    corrected = df[(scorer, "track_7", "green")].loc[3]
    assert corrected["x"] == pytest.approx(100, abs=1e-3) and corrected["y"] == pytest.approx(50, abs=1e-3)
    worker = df[(scorer, "Worker A", "blue")]
    expected = np.rint(centres[1]) + [7, 8]
    np.testing.assert_allclose(worker[["x", "y"]].to_numpy(), expected, atol=1e-3)
    assert (worker["likelihood"] > 0.5).all()
    # the .h5 holds the same numbers, and a maintained third-party reader (movement) agrees with both
    h5 = pd.read_hdf(out / "spots_poses.h5")
    np.testing.assert_allclose(h5.to_numpy(), df.to_numpy(), atol=1e-6, equal_nan=True)
    from movement.io import load_poses

    for path in (out / "spots_poses.csv", out / "spots_poses.h5"):
        ds = load_poses.from_dlc_file(path, fps=25)
        position = ds.position.sel(individuals="Worker A", keypoints="blue").to_numpy()
        assert position.shape[0] == N_FRAMES
        np.testing.assert_allclose(position.reshape(N_FRAMES, 2), expected, atol=1e-3)

    # stopping at once writes nothing and changes nothing; no tracks -> a clear request, not a fallback
    assert r["stopped_written"] == 0 and r["unchanged_after_stop"]
    assert "no animal tracks" in r["no_tracks"] and "full-frame" in r["no_tracks"], r["no_tracks"]
    assert r["full_frame"] == ["FINISHED"]
    full = r["full_frame_poses"]
    assert sorted(full) == [f"frame.{j}" for j in sorted(JOINTS)]
    for j, joint in enumerate(JOINTS):  # one pose per frame, on one of the animals' spots of that colour
        for f, (scene_frame, x, y, muted) in enumerate(full[f"frame.{joint}"]):
            spots = np.rint(centres[:, f]) + OFFSETS[j]
            assert np.min(np.hypot(spots[:, 0] - x, spots[:, 1] - y)) < 1e-3


def test_pytorch_model_gives_the_same_keypoints_in_blender_as_in_the_core(linux_zip, pose_scene, tmp_path):
    """A DeepLabCut 3 (PyTorch) model through the Blender operator equals the core run on the same tracks."""
    from omnitrax.pose.estimate import estimate_poses
    from omnitrax.pose.model import PoseModel
    from omnitrax.tracking.tracks import Tracks
    from pose_models import torch_model

    root, centres = pose_scene
    # off-integer positions: float32 marker coordinates must not move a crop edge across a pixel
    centres = centres + 0.3
    model_dir = torch_model(tmp_path / "dlc3")
    n_t = len(START)
    tracks = Tracks(track=np.repeat(np.arange(n_t), N_FRAMES), frame=np.tile(np.arange(N_FRAMES), n_t),
                    x=centres[..., 0].ravel(), y=centres[..., 1].ravel())
    with PoseModel.load(model_dir) as model:
        expected = estimate_poses(root / "spots.avi", tracks, model, roi_size=48)
    body = SCRIPT.split("result = {}")[0] + '''
props.pose_model_path = MODEL
result = {"status": run(bpy.ops.omnitrax.estimate_poses), "poses": pose_dump()}
report(result)
'''
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(root / 'spots.avi')!r}\nCLIP_START = {CLIP_START}\n"
              f"MODEL = {str(model_dir)!r}\nOUT = {str(tmp_path / 'out')!r}\n"
              f"CENTRES = {centres.tolist()!r}\n" + body)
    r = run_in_blender(script, tmp_path / "home", timeout=600)
    assert r["status"] == ["FINISHED"], r["status"]
    names = {0: "track_0", 1: "Worker A", 2: "track_7"}
    for tid, name in names.items():
        for j, joint in enumerate(expected.joint_names):
            rows = expected.select((expected.track == tid) & (expected.joint == j))
            markers = r["poses"][f"{name}.{joint}"]
            got = np.array([[m[1], m[2]] for m in markers])
            np.testing.assert_allclose(got, np.c_[rows.x, rows.y], atol=1e-3)
            assert [bool(m[3]) for m in markers] == list(rows.likelihood < 0.5)  # below the cut-off: muted


def test_pose_cli_writes_dlc_files_and_keypoints_into_the_blend(pose_scene, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from omnitrax.blender.headless import write_blend
    from omnitrax.io.tracks_csv import write_tracks_csv
    from omnitrax.tracking.settings import TrackingSettings
    from omnitrax.tracking.tracks import Tracks

    root, centres = pose_scene
    n_t = len(START)
    tracks = Tracks(track=np.repeat(np.arange(n_t), N_FRAMES), frame=np.tile(np.arange(N_FRAMES), n_t),
                    x=centres[..., 0].ravel() + 0.3, y=centres[..., 1].ravel() + 0.3, width=20.0, height=20.0)
    write_tracks_csv(tmp_path / "tracks.csv", tracks)
    blend = write_blend(root / "spots.avi", tracks, tmp_path / "spots.blend", TrackingSettings())
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "omnitrax", "pose", str(root / "spots.avi"), "--tracks",
                           str(tmp_path / "tracks.csv"), "--model", str(root / "dlc-models" / "exported"),
                           "--out", str(tmp_path / "out"), "--roi-size", "48", "--blend", str(blend)],
                          capture_output=True, text=True, cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(tmp_path / "out" / "spots_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert df.shape == (N_FRAMES, n_t * len(JOINTS) * 3)
    script = f'''
bpy.ops.wm.open_mainfile(filepath={str(blend)!r})
clip = bpy.data.movieclips[0]
w, h = clip.size
obj = clip.tracking.objects["OmniTrax Poses"]
report({{t.name: [[m.frame, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5] for m in t.markers] for t in obj.tracks}})
'''
    markers = run_in_blender(script, tmp_path / "home")
    assert sorted(markers) == sorted(f"track_{t}.{j}" for t in range(n_t) for j in JOINTS)
    for t in range(n_t):
        for j, joint in enumerate(JOINTS):
            got = np.array([m[1:] for m in markers[f"track_{t}.{joint}"]])
            np.testing.assert_allclose(got, np.rint(centres[t]) + OFFSETS[j], atol=1e-3)


def test_pose_modal_loop_runs_the_network_off_the_main_thread(linux_zip, pose_scene, tmp_path):
    """modal() driven by timer events as Blender's event loop would: it polls the worker thread and writes
    the keypoints when the thread is done; other events pass through to the UI."""
    root, centres = pose_scene
    body = SCRIPT.split("result = {}")[0] + '''
import time, types
from importlib import import_module
ops = import_module(mod.__name__ + ".blender.operators.pose")
job_module = import_module(mod.__name__ + ".blender.pose_job")
Op = ops.OMNITRAX_OT_estimate_poses
props.pose_model_path = MODEL
result = {"ticks": []}
with clip_editor(clip):
    ctx = bpy.context
    reports = []
    job = job_module.BlenderPoseJob(ctx, clip, full_frame=False)
    op = types.SimpleNamespace(_job=job, _timer=None, _stopped=False,
                               report=lambda kind, text: reports.append(text))
    for name in ("_finish", "_fail", "_cleanup"):
        setattr(op, name, types.MethodType(getattr(Op, name), op))
    job.start()
    result["mouse"] = sorted(Op.modal(op, ctx, types.SimpleNamespace(type="MOUSEMOVE")))
    ctx.window_manager.progress_begin(0, job.total)
    for _ in range(600):
        state = sorted(Op.modal(op, ctx, types.SimpleNamespace(type="TIMER")))
        result["ticks"].append(state)
        if state != ["RUNNING_MODAL"]:
            break
        time.sleep(0.05)
result["reports"] = reports
result["keypoint_tracks"] = len(pose_dump())
report(result)
'''
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(root / 'spots.avi')!r}\nCLIP_START = {CLIP_START}\n"
              f"MODEL = {str(root / 'dlc-models' / 'exported')!r}\nOUT = {str(tmp_path / 'out')!r}\n"
              f"CENTRES = {centres.tolist()!r}\n" + body)
    r = run_in_blender(script, tmp_path / "home", timeout=600)
    assert r["mouse"] == ["PASS_THROUGH"]
    assert r["ticks"][-1] == ["FINISHED"] and len(r["ticks"]) > 1
    assert "finished" in r["reports"][-1] and f"{N_FRAMES}/{N_FRAMES} frames" in r["reports"][-1]
    assert r["keypoint_tracks"] == 3 * len(JOINTS)
