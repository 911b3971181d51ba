"""`python -m omnitrax batch`: parallel runs, resuming after SIGKILL, failures, and a real local Dask cluster."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnitrax.batch import read_done, run_batch, settings_hash
from omnitrax.errors import OmniTraxError
from omnitrax.settings_file import read_settings, write_settings
from omnitrax.testclips import render_clip
from omnitrax.tracking.settings import TrackingSettings

ROOT = Path(__file__).resolve().parents[1]
N_FRAMES, N_ANIMALS = 40, 5
SETTINGS = TrackingSettings(detector="background", min_length=5)
TRACK_FLAGS = ["--detector", "background", "--min-length", "5"]  # the same settings for the track command


def _batch_command() -> list[str]:
    return [sys.executable, "-m", "omnitrax", "batch"]


def _run(args, **kwargs):
    return subprocess.run([*_batch_command(), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, **kwargs)


def _summary(out: Path) -> dict:
    with open(out / "batch_summary.csv", newline="") as f:
        return {Path(row["video"]).stem: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Three small clips, the settings file, and each clip's tracks from a single `track` command run."""
    folder = tmp_path_factory.mktemp("clips")
    videos = []
    for seed, name in enumerate(("ants_a", "ants_b", "ants_c")):
        render_clip(folder / f"{name}.avi", n_frames=N_FRAMES, seed=seed, n_animals=N_ANIMALS, width=320, height=240)
        videos.append(folder / f"{name}.avi")
    settings = write_settings(folder / "settings.toml", SETTINGS, None)
    reference = {}
    for video in videos:
        subprocess.run([sys.executable, "-m", "omnitrax", "track", str(video), "--out", str(folder / "ref"),
                        *TRACK_FLAGS], cwd=ROOT, check=True, capture_output=True, timeout=120)
        reference[video.stem] = (folder / "ref" / f"{video.stem}_tracks.csv").read_bytes()
    return videos, settings, reference


def test_parallel_batch_equals_track_command_and_rerun_skips(clips, tmp_path):
    videos, settings, reference = clips
    out = tmp_path / "out"
    proc = _run([*videos, "--out", out, "--settings", settings, "--workers", 2])
    assert proc.returncode == 0, proc.stderr
    rows = _summary(out)
    assert sorted(rows) == ["ants_a", "ants_b", "ants_c"]
    for video in videos:
        row, folder = rows[video.stem], out / video.stem
        assert (row["status"], row["frames"], row["error"]) == ("done", str(N_FRAMES), "")
        assert int(row["tracks"]) >= N_ANIMALS
        assert (folder / f"{video.stem}_tracks.csv").read_bytes() == reference[video.stem]
        done = read_done(folder)
        assert done["settings_hash"] == settings_hash(SETTINGS, None)
        assert done["frames"] == N_FRAMES and done["tracks"] == int(row["tracks"])
        assert {"omnitrax", "python", "numpy", "opencv"} <= set(done["versions"])
    assert "ants_b.avi" in proc.stdout and "done" in proc.stdout  # the printed table
    assert not list(out.glob("*.partial"))

    stamps = {v.stem: (out / v.stem / "done.json").stat().st_mtime_ns for v in videos}
    again = _run([*videos, "--out", out, "--settings", settings])
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in _summary(out).values()} == {"skipped"}
    assert stamps == {v.stem: (out / v.stem / "done.json").stat().st_mtime_ns for v in videos}

    # a changed settings file reruns the video and replaces its outputs
    changed = write_settings(tmp_path / "changed.yaml", TrackingSettings(detector="BACKGROUND", threshold=120), None)
    third = _run([videos[0], "--out", out, "--settings", changed])
    assert third.returncode == 0, third.stderr
    assert _summary(out)["ants_a"]["status"] == "done"
    assert read_done(out / "ants_a")["settings_hash"] == settings_hash(read_settings(changed)[0], None)
    assert (out / "ants_a" / "ants_a_tracks.csv").read_bytes() != reference["ants_a"]


def test_killed_batch_resumes_without_redoing_finished_videos(clips, tmp_path):
    videos, settings, reference = clips
    out = tmp_path / "out"
    proc = subprocess.Popen([*_batch_command(), *map(str, videos), "--out", str(out), "--settings", str(settings),
                             "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / videos[0].stem
    deadline = time.monotonic() + 60
    while not (first / "done.json").exists():
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "the first video never finished"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    unfinished = [v for v in videos if read_done(out / v.stem) is None]
    assert unfinished, "every video finished before the kill; the test proves nothing"
    stamp = (first / "done.json").stat().st_mtime_ns, (first / f"{first.name}_tracks.csv").stat().st_mtime_ns
    # what a kill mid-video leaves behind (made sure of, whatever the kill hit)
    stale = out / f"{unfinished[-1].stem}.partial"
    stale.mkdir(exist_ok=True)
    (stale / "half_written.csv").write_text("track,frame\n1,")

    proc = _run([*videos, "--out", out, "--settings", settings, "--workers", "1"])
    assert proc.returncode == 0, proc.stderr
    rows = _summary(out)
    assert rows[first.name]["status"] == "skipped"
    assert all(rows[v.stem]["status"] == "done" for v in unfinished)
    assert stamp == ((first / "done.json").stat().st_mtime_ns, (first / f"{first.name}_tracks.csv").stat().st_mtime_ns)
    assert not list(out.glob("*.partial"))
    for video in videos:
        assert sorted(p.name for p in (out / video.stem).iterdir()) == sorted(
            ["done.json", f"{video.stem}_tracks.csv", f"{video.stem}_summary.csv"])
        assert (out / video.stem / f"{video.stem}_tracks.csv").read_bytes() == reference[video.stem]


def test_a_broken_video_fails_alone(clips, tmp_path):
    videos, settings, reference = clips
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"this is not a video " * 50)
    out = tmp_path / "out"
    proc = _run([videos[1], broken, tmp_path / "missing.mp4", "--out", out, "--settings", settings])
    assert proc.returncode == 1, proc.stderr
    rows = _summary(out)
    assert rows["ants_b"]["status"] == "done" and rows["ants_b"]["error"] == ""
    assert (out / "ants_b" / "ants_b_tracks.csv").read_bytes() == reference["ants_b"]
    assert rows["broken"]["status"] == "failed" and "not a video OpenCV can read" in rows["broken"]["error"]
    assert rows["missing"]["status"] == "failed" and "not found" in rows["missing"]["error"]
    assert "failed" in proc.stdout and "2 of 3" not in proc.stdout and "1 of 3 videos ok" in proc.stdout
    assert not (out / "broken").exists() and not list(out.glob("*.partial"))


def test_user_mistakes_are_one_line_errors(clips, tmp_path):
    videos, settings, _ = clips
    proc = _run(["--out", tmp_path / "out"])
    assert proc.returncode == 2 and proc.stderr.strip().startswith("omnitrax: error: No videos")
    assert len(proc.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[tracking]\ndetectr = 'yolo'\n")
    proc = _run([videos[0], "--out", tmp_path / "out", "--settings", bad])
    assert proc.returncode == 2 and "Unknown setting(s) tracking.detectr" in proc.stderr
    with pytest.raises(OmniTraxError, match="share the name"):
        run_batch([videos[0], tmp_path / "other" / videos[0].name], tmp_path / "out", SETTINGS)
    with pytest.raises(OmniTraxError, match="Pose model"):
        run_batch(videos, tmp_path / "out", SETTINGS, {"pose_model_path": str(tmp_path / "no_model")})
    assert not (tmp_path / "out" / "ants_a").exists()


def test_batch_on_a_local_dask_cluster(clips, tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    videos, settings, reference = clips
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the workers must import omnitrax
    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        proc = _run([*videos, "--out", out, "--settings", settings, "--scheduler", cluster.scheduler_address])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = _summary(out)
    assert [rows[v.stem]["status"] for v in videos] == ["done"] * 3
    for video in videos:
        assert (out / video.stem / f"{video.stem}_tracks.csv").read_bytes() == reference[video.stem]
    assert "Dask scheduler tcp://127.0.0.1:" in proc.stderr


def test_unreachable_scheduler_is_a_user_error():
    from omnitrax.batch import _run_dask

    t0 = time.monotonic()
    with pytest.raises(OmniTraxError, match="Cannot connect to the Dask scheduler at tcp://127.0.0.1:9"):
        _run_dask([], "tcp://127.0.0.1:9", print, connect_timeout="1s")
    assert time.monotonic() - t0 < 15


def test_batch_with_a_pose_model_equals_track_then_pose(clips, tmp_path):
    import importlib.util

    import pandas as pd

    if importlib.util.find_spec("dlclive") is None:  # the pose packages are not in the Python 3.13 venv
        pytest.skip("deeplabcut-live is not installed in this Python")

    videos, settings, reference = clips
    model = tmp_path / "spot_model"
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'tests'); from pose_models import "
                    f"spot_model; spot_model({str(model)!r})"], cwd=ROOT, check=True, capture_output=True, timeout=120)
    out, video = tmp_path / "out", videos[2]
    proc = _run([video, "--out", out, "--settings", settings, "--pose-model", model])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = out / video.stem
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["done.json", f"{video.stem}_tracks.csv", f"{video.stem}_summary.csv", f"{video.stem}_poses.csv", f"{video.stem}_poses.h5"])
    assert (folder / f"{video.stem}_tracks.csv").read_bytes() == reference[video.stem]
    assert read_done(folder)["settings"]["pose"]["pose_model_path"] == str(model)
    poses = pd.read_csv(folder / f"{video.stem}_poses.csv", header=[0, 1, 2, 3], index_col=0)
    assert len(poses) == N_FRAMES
    assert len(poses.columns.unique("individuals")) == int(_summary(out)[video.stem]["tracks"]) >= N_ANIMALS
    # the pose command on the same tracks, with the settings file's pose defaults (Blender's panel)
    subprocess.run([sys.executable, "-m", "omnitrax", "pose", str(video), "--tracks",
                    str(folder / f"{video.stem}_tracks.csv"), "--model", str(model), "--out", str(tmp_path / "ref"),
                    "--roi-mode", "constant", "--roi-size", "96", "--padding", "10"],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert (folder / f"{video.stem}_poses.csv").read_bytes() == (tmp_path / "ref" / f"{video.stem}_poses.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_hdf(folder / f"{video.stem}_poses.h5"),
                                  pd.read_hdf(tmp_path / "ref" / f"{video.stem}_poses.h5"))
    # the pose model is part of the settings: the same run without it is not 'done' for these outputs
    again = _run([video, "--out", out, "--settings", settings])
    assert again.returncode == 0 and _summary(out)[video.stem]["status"] == "done"
    assert not (out / video.stem / f"{video.stem}_poses.csv").exists()


def test_batch_runs_the_identity_pass_when_asked(tmp_path):
    from omnitrax.batch import run_batch
    from omnitrax.testclips import render_clip
    from omnitrax.tracking.settings import TrackingSettings

    video = tmp_path / "four.avi"
    render_clip(video, n_frames=80, seed=3, n_animals=4, width=240, height=180, looks="distinct",
                polarity="dark_on_light")
    settings = TrackingSettings(detector="background", animals=4)
    with pytest.raises(OmniTraxError, match="--identify needs the number of animals"):
        run_batch([video], tmp_path / "none", TrackingSettings(detector="background"), identify=True, workers=1)
    (plain,) = run_batch([video], tmp_path / "out", settings, workers=1)
    assert plain.status == "done" and not (tmp_path / "out" / "four" / "four_identity.csv").exists()
    (result,) = run_batch([video], tmp_path / "out", settings, workers=1, identify=True)
    assert result.status == "done", result.error  # the identity pass is part of the settings: rerun, not skipped
    identity = (tmp_path / "out" / "four" / "four_identity.csv").read_text().splitlines()
    assert identity[0].startswith("fragment,track,first_frame,last_frame,identity,confidence,uncertain")
    assert result.tracks <= 4
