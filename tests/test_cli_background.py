"""`omnitrax track --detector background` on the inputs real users give: resting animals, a known number of
animals, an empty-arena image, and the bad ones (blank video, wrong image, negative counts): one line, exit 2."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from omnitrax.io import tracks_csv
from omnitrax.testclips import render_clip, render_frames

ROOT = Path(__file__).resolve().parents[1]


def omnitrax(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "omnitrax", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)


def one_line_error(proc, text):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and text in lines[-1], proc.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def resting_clip(tmp_path_factory):
    """Light animals on a dark floor; 2 of 4 never move, 1 rests for 80% of the clip (seed 7: they stay apart)."""
    folder = tmp_path_factory.mktemp("resting")
    video = folder / "resting.avi"
    truth = render_clip(video, n_frames=120, seed=7, n_animals=4, still=2, resting=1, polarity="light_on_dark",
                        width=320, height=240, specks=25)
    return video, truth


def test_defaults_find_resting_light_animals_and_animals_n_keeps_exactly_n_tracks(resting_clip, tmp_path):
    video, truth = resting_clip
    proc = omnitrax("track", video, "--detector", "background", "--out", tmp_path / "auto")
    assert proc.returncode == 0, proc.stderr
    assert "animals are lighter than the floor" in proc.stderr and "resting animals found" in proc.stderr
    assert "learned: animal" in proc.stderr
    proc = omnitrax("track", video, "--detector", "background", "--animals", "4", "--out", tmp_path / "known")
    assert proc.returncode == 0, proc.stderr
    tracks = tracks_csv.read_tracks_csv(tmp_path / "known" / "resting_tracks.csv")
    ids, counts = np.unique(tracks.track, return_counts=True)
    assert len(ids) == 4 and counts.min() >= 0.95 * 120
    # each track follows one animal from frame 0 (the still ones were found in the very first frame)
    first = tracks.select(tracks.frame == 0)
    gt0 = np.c_[truth.x[truth.frame == 0], truth.y[truth.frame == 0]]
    assert len(first) == 4 and np.linalg.norm(gt0[:, None] - np.c_[first.x, first.y][None], axis=2).min(1).max() < 5


def test_an_empty_arena_image_is_used_and_a_wrong_one_refused(resting_clip, tmp_path):
    video, _ = resting_clip
    (floor, _), = render_frames(n_frames=1, seed=7, n_animals=0, polarity="light_on_dark", width=320, height=240,
                                specks=25)
    good, small = tmp_path / "arena.png", tmp_path / "small.png"
    cv2.imwrite(str(good), floor)
    cv2.imwrite(str(small), cv2.resize(floor, (160, 120)))
    proc = omnitrax("track", video, "--detector", "background", "--background-image", good, "--out", tmp_path / "a")
    assert proc.returncode == 0 and "empty arena image" in proc.stderr, proc.stderr
    line = one_line_error(omnitrax("track", video, "--detector", "background", "--background-image", small,
                                   "--out", tmp_path / "b"), "arena image is 160x120 px but the video is 320x240")
    assert "same camera setup" in line
    one_line_error(omnitrax("track", video, "--detector", "background", "--background-image", tmp_path / "no.png",
                            "--out", tmp_path / "c"), "not found")


@pytest.mark.parametrize("grey", [0, 200])
def test_a_blank_video_is_one_clear_line(tmp_path, grey):
    video = tmp_path / "blank.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for _ in range(20):
        writer.write(np.full((120, 160, 3), grey, np.uint8))
    writer.release()
    one_line_error(omnitrax("track", video, "--detector", "background", "--out", tmp_path / "out"),
                   "video is blank")


def test_a_negative_number_of_animals_is_refused(resting_clip, tmp_path):
    video, _ = resting_clip
    one_line_error(omnitrax("track", video, "--animals", "-1", "--out", tmp_path), "animals")


def test_fewer_detections_than_animals_in_many_frames_is_a_warning_with_what_to_try(tmp_path):
    # 6 animals of both shades on a grey floor: the defaults find all of them; only the lighter side, half
    video = tmp_path / "mixed.avi"
    render_clip(video, n_frames=60, seed=5, n_animals=6, width=640, height=480, looks="distinct", polarity="mixed")
    proc = omnitrax("track", video, "--detector", "background", "--animals", "6", "--out", tmp_path / "auto")
    assert proc.returncode == 0, proc.stderr
    assert "animals are either lighter or darker than the floor" in proc.stderr and "warning" not in proc.stderr
    proc = omnitrax("track", video, "--detector", "background", "--animals", "6", "--polarity", "lighter",
                    "--out", tmp_path / "lighter")
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("warning:"))
    assert "the detector found fewer than 6 animals in 100% of frames (median 3): try --polarity either" in line
