"""`python -m omnitrax` as a user runs it: real subprocesses on real videos, files read back."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_harness import run_scenario
from omnitrax.io import mot, tracks_csv
from omnitrax.testclips import render_clip

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["track", "frame", "x", "y", "width", "height", "confidence", "class", "predicted"]


def omnitrax(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # as from the repository root, wherever cwd is
    return subprocess.run([sys.executable, "-m", "omnitrax", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_clip")
    video = folder / "arena.avi"
    truth = render_clip(video, n_frames=150, seed=17, n_animals=6)  # animals stay apart
    return video, truth


def test_track_writes_csv_mot_and_legacy_files_that_agree(clip, tmp_path):
    video, truth = clip
    proc = omnitrax("track", video, "--detector", "background", "--min-length", "5", "--out", tmp_path,
                    "--export", "csv,mot,legacy", "--preview")
    assert proc.returncode == 0, proc.stderr
    assert "frame 149" in proc.stderr and "150/150" in proc.stderr  # progress reached the end
    with open(tmp_path / "arena_tracks.csv") as f:
        assert next(csv.reader(f)) == HEADER
    tracks = tracks_csv.read_tracks_csv(tmp_path / "arena_tracks.csv")
    assert len(tracks.ids()) == 6
    assert tracks.frame.min() == 0 and tracks.frame.max() == 149
    from omnitrax.io.evaluate import evaluate

    scores = evaluate(truth.to_tracks(), tracks)
    assert scores["IDF1"] > 0.99 and scores["MOTA"] > 0.99, scores
    # MOTChallenge: same boxes, 1-based frames
    from_mot = mot.read_tracks(tmp_path / "arena.txt")
    assert np.array_equal(from_mot.frame, tracks.frame)
    first = (tmp_path / "arena.txt").read_text().splitlines()[0].split(",")
    assert int(first[0]) == tracks.frame[0] + 1
    # legacy: one file per track, Blender frame numbers, bottom-left origin, detected rows only
    legacy = sorted((tmp_path / "arena_legacy").iterdir())
    assert len(legacy) == 6
    lines = legacy[0].read_text().splitlines()
    assert lines[0] == "frame;x;y;class"
    t0 = tracks.for_track(tracks.ids()[0])
    frame, x, y, cls = lines[1].split(";")
    assert int(frame) == t0.frame[0] + 1
    assert float(x) == pytest.approx(t0.x[0], abs=1e-3) and float(y) == pytest.approx(480 - t0.y[0], abs=1e-3)
    # the preview video has every frame of the clip
    from omnitrax.video import VideoSource

    with VideoSource(tmp_path / "arena_preview.mp4") as preview:
        assert preview.frame_count == 150 and (preview.width, preview.height) == (640, 480)


def test_track_from_a_detections_file_and_evaluate(clip, tmp_path):
    video, truth = clip
    gt = truth.to_tracks()
    rng = np.random.default_rng(0)
    noisy = gt.select(np.ones(len(gt), bool))
    noisy.x = noisy.x + rng.normal(0, 1, len(noisy))
    noisy.y = noisy.y + rng.normal(0, 1, len(noisy))
    detections = tmp_path / "dets.txt"
    mot.write_mot(detections, noisy)
    proc = omnitrax("track", "--detections", detections, "--out", tmp_path / "out", "--start", 10, "--end", 59)
    assert proc.returncode == 0, proc.stderr
    result = tracks_csv.read_tracks_csv(tmp_path / "out" / "dets_tracks.csv")
    assert result.frame.min() == 10 and result.frame.max() == 59
    gt_file = tmp_path / "gt.csv"
    tracks_csv.write_tracks_csv(gt_file, gt.select((gt.frame >= 10) & (gt.frame <= 59)))
    proc = omnitrax("evaluate", "--gt", gt_file, "--pred", tmp_path / "out" / "dets_tracks.csv")
    assert proc.returncode == 0, proc.stderr
    scores = {k.strip(): float(v) for k, v in (line.split(":") for line in proc.stdout.splitlines())}
    assert {"MOTA", "IDF1", "HOTA", "fp", "fn", "id_switches", "fragmentations"} <= scores.keys()
    assert scores["IDF1"] >= 0.98 and scores["MOTA"] >= 0.98, scores


@pytest.mark.parametrize("args,expected", [
    (["track", "missing.avi", "--out", "o"], "missing.avi"),
    (["track", "--out", "o"], "Give a VIDEO"),
    (["track", "CLIP", "--out", "o", "--export", "csv,xls"], "xls"),
    (["track", "CLIP", "--out", "o", "--size", "500"], "multiple of 32"),
    (["track", "CLIP", "--out", "o", "--model", "nope.onnx"], "nope.onnx"),
    (["track", "TEXT", "--out", "o"], "not a video"),
    (["evaluate", "--gt", "missing.csv", "--pred", "missing.csv"], "missing.csv"),
])
def test_user_mistakes_give_one_clear_line_and_exit_2(clip, tmp_path, args, expected):
    video, _ = clip
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n")
    args = [str(video) if a == "CLIP" else str(text) if a == "TEXT" else a for a in args]
    proc = omnitrax(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("omnitrax: error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], proc.stderr


@pytest.fixture(scope="module")
def cli_blend(clip, tmp_path_factory):
    """`omnitrax track --blend`, then the .blend opened in bpy (tests/blender_scenarios/cli_blend.py)."""
    video, _ = clip
    out = tmp_path_factory.mktemp("cli_blend")
    blend = out / "result.blend"
    proc = omnitrax("track", video, "--detector", "background", "--min-length", "5", "--out", out,
                    "--blend", blend)
    assert proc.returncode == 0, proc.stderr
    tracks = tracks_csv.read_tracks_csv(out / "arena_tracks.csv")
    assert not blend.with_suffix(".blend1").exists()  # no backup of a file we just made
    return tracks, run_scenario("cli_blend", "open_tracked_blend", out / "home", blend=str(blend))


def test_track_blend_refers_to_the_tracked_video(cli_blend, clip):
    _, result = cli_blend
    assert Path(result["clip_path"]).resolve() == clip[0].resolve()


def test_track_blend_opens_in_blender_with_one_track_per_animal(cli_blend):
    tracks, result = cli_blend
    assert sorted(result["tracks"]) == sorted(f"track_{t}" for t in tracks.ids())


def test_track_blend_markers_equal_the_csv(cli_blend):
    tracks, result = cli_blend
    for tid in tracks.ids():
        t = tracks.for_track(tid)
        markers = {m[0]: m[1:] for m in result["tracks"][f"track_{tid}"]}
        for f, x, y, predicted in zip(t.frame, t.x, t.y, t.predicted):
            mx, my, muted = markers[int(f) + 1]
            assert abs(mx - x) < 1e-3 and abs(my - y) < 1e-3 and muted == predicted


def _fails_fast_with_one_line(proc, expected, work_line):
    """Exit 2, one `omnitrax: error:` line containing `expected`, no traceback, and the work never began."""
    assert work_line not in proc.stderr and "[#" not in proc.stderr and "[." not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Error:" not in proc.stderr.replace("omnitrax: error:", "")
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("omnitrax: error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], proc.stderr


@pytest.mark.parametrize("where,expected", [
    ("out=FILE", "is a file, not a folder"),
    ("out=FILE/sub", "is a file, not a folder"),
    ("blend=FILE/sub/result.blend", "is a file, not a folder"),
    ("blend=DIR", "a folder of that name is in the way"),
])
def test_track_refuses_an_impossible_output_place_before_tracking(clip, tmp_path, where, expected):
    """A typo in --out / --blend is refused before the video is opened, not after the whole run (issue 18.10)."""
    video, _ = clip
    (tmp_path / "FILE").write_text("a file, not a folder\n")
    (tmp_path / "DIR").mkdir()
    option, place = where.split("=")
    out = tmp_path / place if option == "out" else tmp_path / "out"
    extra = ["--blend", tmp_path / place] if option == "blend" else []
    proc = omnitrax("track", video, "--detector", "background", "--out", out, *extra, cwd=tmp_path)
    _fails_fast_with_one_line(proc, expected, "Tracking")
    assert not (tmp_path / "out" / "arena_tracks.csv").exists()


def test_track_makes_missing_output_folders_before_opening_the_video(tmp_path):
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n")
    out, blend = tmp_path / "new" / "out", tmp_path / "other" / "deep" / "r.blend"
    proc = omnitrax("track", text, "--out", out, "--blend", blend, cwd=tmp_path)
    assert proc.returncode == 2 and "not a video" in proc.stderr, proc.stderr  # the video is opened after
    assert out.is_dir() and blend.parent.is_dir()


@pytest.mark.parametrize("where,expected", [
    ("out=FILE", "is a file, not a folder"),
    ("out=FILE/sub", "is a file, not a folder"),
    ("blend=missing/result.blend", "not found"),
    ("blend=FILE/result.blend", "not found"),
])
def test_pose_refuses_an_impossible_output_place_before_the_model_runs(clip, tmp_path, where, expected):
    from omnitrax import resources

    video, truth = clip
    tracks = tmp_path / "arena_tracks.csv"
    tracks_csv.write_tracks_csv(tracks, truth.to_tracks())
    (tmp_path / "FILE").write_text("a file, not a folder\n")
    option, place = where.split("=")
    out = tmp_path / place if option == "out" else tmp_path / "out"
    extra = ["--blend", tmp_path / place] if option == "blend" else []
    proc = omnitrax("pose", video, "--tracks", tracks, "--model", resources.default_pose_model(), "--out", out,
                    *extra, cwd=tmp_path)
    _fails_fast_with_one_line(proc, expected, "Pose estimation")
    assert not list(tmp_path.rglob("*_poses.csv"))
