"""`omnitrax detect-preview`: frames with what the detector sees drawn on them, read back as images.

Real parts only: a synthetic clip with known animal positions, the real CLI in a subprocess (and the core
function for what the command line cannot reach), the bundled YOLO model on the bundled sample.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from omnitrax import resources
from omnitrax.detection.preview import preview_frames, write_detect_preview
from omnitrax.io.ground_truth import GroundTruth
from omnitrax.testclips import render_clip
from omnitrax.tracking.settings import TrackingSettings
from omnitrax.video import VideoSource

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, N_FRAMES = 320, 240, 30
FRAMES = [0, 6, 12, 17, 23, 29]  # 6 frames spread over 30, first and last included


def omnitrax(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "omnitrax", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


def green(image):
    image = image.astype(int)
    return (image[..., 1] > 200) & (image[..., 0] < 80) & (image[..., 2] < 80)


def red(image):
    image = image.astype(int)
    return (image[..., 2] > 200) & (image[..., 0] < 80) & (image[..., 1] < 80)


def magenta(image):
    image = image.astype(int)
    return (image[..., 0] > 140) & (image[..., 2] > 140) & (image[..., 1] < 110)


def grey(image):
    image = image.astype(int)
    return (np.abs(image - 170) <= 12).all(axis=-1)


def near(mask, x, y, radius):
    """Whether `mask` has a pixel within `radius` px of (x, y)."""
    y0, y1 = max(0, int(y - radius)), int(y + radius) + 1
    x0, x1 = max(0, int(x - radius)), int(x + radius) + 1
    return bool(mask[y0:y1, x0:x1].any())


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Light animals on a dark floor, one never moving, and 20 flickering specks the detector must reject."""
    video = tmp_path_factory.mktemp("detect_preview_clip") / "arena.avi"
    truth = render_clip(video, n_frames=N_FRAMES, seed=1, n_animals=6, width=WIDTH, height=HEIGHT,
                        polarity="light_on_dark", specks=20, flicker=1.0, still=1)
    return video, truth


@pytest.fixture(scope="module")
def previewed(clip, tmp_path_factory):
    """The background detector with a threshold low enough that the flickering specks become blobs."""
    video, _ = clip
    out = tmp_path_factory.mktemp("detect_preview_out")
    proc = omnitrax("detect-preview", video, "--out", out, "--detector", "background", "--threshold", 30)
    return proc, out


def test_detect_preview_writes_one_image_per_frame_and_the_background(previewed):
    proc, out = previewed
    assert proc.returncode == 0, proc.stderr
    expected = [f"arena_detect_{f:02d}.png" for f in FRAMES] + ["arena_background.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    for name in expected:
        assert f"wrote {out / name}" in proc.stdout
    background = cv2.imread(str(out / "arena_background.png"), cv2.IMREAD_UNCHANGED)
    assert background.shape == (HEIGHT, WIDTH) and background.dtype == np.uint8


def test_detect_preview_images_show_frame_and_foreground_side_by_side_under_a_header(previewed):
    _, out = previewed
    for f in FRAMES:
        image = cv2.imread(str(out / f"arena_detect_{f:02d}.png"))
        assert image is not None, f
        height, width = image.shape[:2]
        assert width == 2 * WIDTH and HEIGHT + 40 < height < 2 * HEIGHT, image.shape  # header: a few lines


def test_kept_detections_are_green_boxes_on_the_animals(previewed, clip):
    _, out = previewed
    _, truth = clip
    for f in FRAMES:
        body = cv2.imread(str(out / f"arena_detect_{f:02d}.png"))[-HEIGHT:]
        left, right = green(body[:, :WIDTH]), green(body[:, WIDTH:])
        here = truth.frame == f
        for x, y, length in zip(truth.x[here], truth.y[here], truth.length[here]):
            assert near(left, x, y, 0.75 * length), (f, x, y)
        # nothing green far from every animal (the box labels sit just above the boxes)
        ys, xs = np.nonzero(left)
        distance = np.min(np.hypot(xs[:, None] - truth.x[here], ys[:, None] - truth.y[here]), axis=1)
        assert np.mean(distance > 2 * truth.length[here].max()) < 0.01, f
        assert not right.any(), f  # the foreground image has no boxes


def test_the_foreground_is_tinted_over_the_animals(previewed, clip):
    _, out = previewed
    _, truth = clip
    body = cv2.imread(str(out / "arena_detect_12.png"))[-HEIGHT:, WIDTH:]
    tinted = magenta(body)
    here = truth.frame == 12
    assert all(near(tinted, x, y, 4) for x, y in zip(truth.x[here], truth.y[here]))
    assert tinted.mean() < 0.1  # the animals, not the floor


def test_rejected_specks_are_drawn_in_red_where_the_output_reports_them(previewed):
    proc, out = previewed
    reported = {int(m.group(1)): m.group(2) for m in re.finditer(r"^  frame (\d+): (.*)$", proc.stdout, re.M)}
    assert sorted(reported) == FRAMES, proc.stdout
    for f in FRAMES:
        body = cv2.imread(str(out / f"arena_detect_{f:02d}.png"))[-HEIGHT:, :WIDTH]
        assert red(body).any() == ("too small" in reported[f]), (f, reported[f])
        assert reported[f].startswith("6 detections"), reported[f]
    assert sum("too small" in text for text in reported.values()) >= 3  # the specks really were there


def test_the_output_names_the_detector_and_what_it_chose(previewed):
    proc, _ = previewed
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Detector: background subtraction (auto: animals are lighter than the floor")
    assert "  polarity: lighter (automatic)" in lines
    assert "  threshold: 30 grey levels" in lines  # given, so not marked automatic
    assert any(re.fullmatch(r"  min area: \d+ px \(automatic\)", line) for line in lines), lines
    assert any(re.fullmatch(r"  animal area: \d+ px \(learned from the video\)", line) for line in lines), lines


def test_a_known_number_of_animals_shows_the_extra_blobs_in_grey(clip, tmp_path):
    video, truth = clip
    settings = TrackingSettings(detector="background", animals=3)
    calls = []
    result = write_detect_preview(video, settings, tmp_path, frames=2, on_progress=lambda *a: calls.append(a))
    assert calls == [(1, 2), (2, 2)]
    assert [c.frame for c in result.frames] == [0, N_FRAMES - 1]
    assert result.chosen["animals"] == "3" and "3 animals" in result.description
    for counts in result.frames:
        assert counts.detections == 3 and counts.extra == 3, counts
        body = cv2.imread(str(counts.path))[-HEIGHT:, :WIDTH]
        assert grey(body).sum() > 50, counts  # three grey boxes


def test_blobs_of_several_animal_areas_are_shown_split(clip, tmp_path):
    video, _ = clip  # the animals are ~150-250 px: with 60 px per animal every blob holds several
    result = write_detect_preview(video, TrackingSettings(detector="background", animal_area=60), tmp_path,
                                  frames=1)
    assert [c.frame for c in result.frames] == [0]
    counts = result.frames[0]
    assert counts.split >= 1 and counts.detections > counts.kept, counts
    assert "split" in counts.text()


def test_a_mask_dims_the_ignored_part_and_nothing_is_detected_there(clip, tmp_path):
    from omnitrax.detection.masks import RegionMask

    video, truth = clip
    mask = RegionMask(include=[np.array([[WIDTH / 2, 0], [WIDTH, 0], [WIDTH, HEIGHT], [WIDTH / 2, HEIGHT]])])
    plain = write_detect_preview(video, TrackingSettings(detector="background"), tmp_path / "plain", frames=1)
    masked = write_detect_preview(video, TrackingSettings(detector="background"), tmp_path / "masked", frames=1,
                                  mask=mask)
    a = cv2.imread(str(plain.frames[0].path))[-HEIGHT:, :WIDTH].astype(float)
    b = cv2.imread(str(masked.frames[0].path))[-HEIGHT:, :WIDTH].astype(float)
    quiet = ~green(a) & ~green(b) & ~red(a)  # floor pixels in both images
    quiet[:, WIDTH // 2 - 10:] = False
    assert b[quiet].mean() < 0.5 * a[quiet].mean()  # the masked-out half is dimmed
    assert not green(b)[:, :WIDTH // 2 - 20].any()
    here = truth.frame == 0
    inside, near_the_edge = (truth.x[here] > WIDTH / 2 + 30).sum(), (truth.x[here] > WIDTH / 2 - 30).sum()
    assert inside <= masked.frames[0].detections <= near_the_edge < plain.frames[0].detections


def test_wide_videos_are_stacked_and_small_ones_enlarged(tmp_path):
    video = tmp_path / "wide.avi"
    render_clip(video, n_frames=10, seed=2, n_animals=3, width=480, height=160)  # 3:1, and under 240 px high
    result = write_detect_preview(video, TrackingSettings(detector="background"), tmp_path / "out", frames=1)
    image = cv2.imread(str(result.paths[0]))
    assert image.shape[1] == 2 * 480 and image.shape[0] > 2 * 2 * 160  # enlarged 2x, foreground below


def test_preview_frames_are_spread_with_first_and_last():
    assert preview_frames(30, 6) == FRAMES
    assert preview_frames(30, 1) == [0]
    assert preview_frames(4, 10) == [0, 1, 2, 3]
    assert preview_frames(100, 3, start=10, stop=20) == [10, 14, 19]


def test_yolo_preview_draws_scored_detections_on_the_sample(tmp_path):
    proc = omnitrax("detect-preview", resources.sample_clip(), "--out", tmp_path, "--detector", "yolo",
                    "--frames", 2)
    assert proc.returncode == 0, proc.stderr
    truth = GroundTruth.from_csv(resources.sample_ground_truth())
    last = int(truth.frame.max())
    digits = len(str(last))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"ants_detect_{0:0{digits}d}.png", f"ants_detect_{last}.png"], names  # no background image
    assert proc.stdout.startswith("Detector: YOLO (ONNX ants_yolo")
    assert "  confidence: 0.5" in proc.stdout.splitlines()
    with VideoSource(resources.sample_clip()) as sample:
        width, height = sample.width, sample.height
    for f in (0, last):
        image = cv2.imread(str(tmp_path / f"ants_detect_{f:0{digits}d}.png"))
        assert image.shape[1] == width and height < image.shape[0] < 1.5 * height  # one image, a header above
        body = image[-height:]
        here = truth.frame == f
        found = [near(green(body), x, y, 0.75 * length) for x, y, length in
                 zip(truth.x[here], truth.y[here], truth.length[here])]
        assert np.mean(found) > 0.9, (f, np.mean(found))


@pytest.mark.parametrize("args,expected", [
    (["missing.avi", "--out", "o"], "missing.avi"),
    (["CLIP", "--out", "o", "--frames", "0"], "at least 1"),
    (["CLIP", "--out", "o", "--frames", "-2"], "at least 1"),
    (["CLIP", "--out", "FILE"], "is a file, not a folder"),
    (["CLIP", "--out", "FILE/sub"], "is a file, not a folder"),
    (["CLIP", "--out", "BLOCKED"], "a folder of that name is in the way"),
    (["CLIP", "--out", "o", "--detections", "d.txt"], "--detections"),
    (["CLIP", "--out", "o", "--start", "40"], "outside the video"),
    (["TEXT", "--out", "o"], "not a video"),
    (["CLIP", "--out", "o", "--threshold", "300"], "threshold"),
])
def test_user_mistakes_give_one_clear_line_and_exit_2(clip, tmp_path, args, expected):
    video, _ = clip
    (tmp_path / "FILE").write_text("a file, not a folder\n")
    (tmp_path / "BLOCKED" / "arena_detect_29.png").mkdir(parents=True)  # a folder where the last image goes
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n")
    args = [str(video) if a == "CLIP" else str(text) if a == "TEXT" else a for a in args]
    proc = omnitrax("detect-preview", *args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "preview image" not in proc.stderr, proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("omnitrax: error:")]
    assert len(error_lines) == 1 and expected in error_lines[0], proc.stderr
    assert proc.stderr.strip() == error_lines[0]  # nothing else
    assert not [p for p in tmp_path.rglob("*.png") if p.is_file()]  # nothing written, nothing half-written
    assert [p.name for p in (tmp_path / "BLOCKED").iterdir()] == ["arena_detect_29.png"]
