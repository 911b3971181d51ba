"""Image sequences (folders of numbered TIFF/PNG/JPG frames) wherever a video is accepted: the reader, the
command line and batches, on real files written here.

One synthetic clip with known truth is written three ways: as a lossless FFV1 video (OpenCV's wheel writes
it; MJPG would change the pixels: measured 1.2 px track differences on this clip), as 8-bit colour PNG
frames, and as 16-bit greyscale TIFF frames numbered from 100 (grey * 64 + 1000: a camera whose levels span
a fifth of the 16-bit range, which the reader stretches as low contrast). The PNG frames hold the video's
pixels exactly, so their tracks are the video's; the TIFF frames go through the one 16 -> 8-bit map of the
sequence, so theirs agree within 0.5 px (measured 0.18 px).

The same clip's grey frames are also stored as 16-bit copies of 8-bit data (grey * 257, 12-bit
round(grey * 4095 / 255), that shifted left by 4): mapped by their bit depth, they read back as the 8-bit
frames exactly and track as they do, with both detectors.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from omnitrax.errors import OmniTraxError
from omnitrax.video import (ImageSequence, UnreadableFrame, VideoSource, bit_depth_map, clip_file, find_series,
                            fit_grey_map, source_stem)

ROOT = Path(__file__).resolve().parents[1]
N_FRAMES, N_ANIMALS, SEED, WIDTH, HEIGHT = 60, 6, 3, 480, 360  # seed 3: animals stay > 2.7 lengths apart
TIFF_FIRST = 100  # the TIFF frames are numbered from here, as a camera that does not start at 0
SAME = 0.5  # px: "the same tracks"


def write_sources(folder: Path) -> dict:
    """The test clip as ffv1.avi, ants_png/frame_0000.png.. and ants_tif16/cam_000100.tif..; its truth."""
    from omnitrax.io.ground_truth import GroundTruth
    from omnitrax.testclips import render_frames

    folder = Path(folder)
    png, tif = folder / "ants_png", folder / "ants_tif16"
    png.mkdir(parents=True)
    tif.mkdir()
    video = folder / "ants.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"FFV1"), 25.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    rows = []
    for i, (frame, r) in enumerate(render_frames(n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, width=WIDTH,
                                                 height=HEIGHT, polarity="dark_on_light")):
        writer.write(frame)
        rows.append(r)
        assert cv2.imwrite(str(png / f"frame_{i:04d}.png"), frame)
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 64 + 1000
        assert cv2.imwrite(str(tif / f"cam_{TIFF_FIRST + i:06d}.tif"), grey)
    writer.release()
    return {"video": video, "png": png, "tif": tif, "truth": GroundTruth.from_rows(rows)}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("sequences"))


def copy_sequence(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def rows_of(tracks) -> dict:
    """{(track, frame): (x, y)} of a Tracks table."""
    return {(int(t), int(f)): (float(x), float(y)) for t, f, x, y in zip(tracks.track, tracks.frame, tracks.x,
                                                                          tracks.y)}


def max_difference(a, b) -> float:
    """Largest position difference (px) between two tracks tables that must hold the same rows."""
    ra, rb = rows_of(a), rows_of(b)
    assert set(ra) == set(rb), sorted(set(ra) ^ set(rb))[:10]
    return max(np.hypot(ra[k][0] - rb[k][0], ra[k][1] - rb[k][1]) for k in ra)


# --- the reader ----------------------------------------------------------------------------------------

def test_folder_first_frame_and_glob_open_the_same_frames(sources):
    tif = sources["tif"]
    with VideoSource(tif) as folder, VideoSource(tif / f"cam_{TIFF_FIRST:06d}.tif") as first, \
            VideoSource(str(tif / "*.tif")) as pattern:
        for source in (folder, first, pattern):
            assert isinstance(source, ImageSequence) and isinstance(source, VideoSource)
            assert (source.frame_count, source.width, source.height, source.fps) == (N_FRAMES, WIDTH, HEIGHT, 25.0)
        for i in (0, 17, N_FRAMES - 1):
            assert np.array_equal(folder.read(i), first.read(i)) and np.array_equal(folder.read(i), pattern.read(i))
        # a later frame file: the series from that number on, as Blender opens it
        with VideoSource(tif / f"cam_{TIFF_FIRST + 30:06d}.tif") as later:
            assert later.frame_count == N_FRAMES - 30
            assert np.array_equal(later.read(0), folder.read(30))
    with VideoSource(tif, fps=500) as fast:
        assert fast.fps == 500.0


def test_png_frames_equal_the_lossless_video_frame_for_frame(sources):
    with VideoSource(sources["video"]) as video, VideoSource(sources["png"]) as png:
        assert (png.frame_count, png.width, png.height) == (video.frame_count, video.width, video.height)
        for (i, a), (j, b) in zip(video.frames(), png.frames()):
            assert i == j and a.dtype == b.dtype == np.uint8 and np.array_equal(a, b), i
        assert all(np.array_equal(a, b) for a, b in zip(video.sample_frames(7), png.sample_frames(7)))
        assert np.array_equal(png.read(41), video.read(41))


def test_16_bit_grey_is_one_linear_map_to_8_bits_for_the_whole_sequence(sources):
    with ImageSequence(sources["tif"]) as tif, VideoSource(sources["video"]) as video:
        lo, hi = tif.levels
        grey16 = cv2.imread(str(sources["tif"] / f"cam_{TIFF_FIRST + 5:06d}.tif"), cv2.IMREAD_UNCHANGED)
        assert grey16.dtype == np.uint16 and grey16.ndim == 2
        frame = tif.read(5)
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
        assert np.array_equal(frame[:, :, 0], frame[:, :, 2])  # grey -> 3 equal channels
        expected = np.clip(np.floor((grey16.astype(np.float64) - lo) * 255 / (hi - lo) + 0.5), 0, 255)
        assert np.abs(frame[:, :, 0].astype(int) - expected).max() <= 1
        # the map is the one that takes the video's grey levels (8-bit) linearly onto 0..255
        grey8 = cv2.cvtColor(video.read(5), cv2.COLOR_BGR2GRAY).astype(np.float64)
        slope = np.polyfit(grey8.ravel(), frame[:, :, 0].ravel().astype(float), 1)[0]
        assert slope == pytest.approx(64 * 255 / (hi - lo), rel=0.01)
        # levels a fifth of the 16-bit range wide, holding more levels than its bit-depth map shows: stretched
        assert tif.grey_map.stretched and tif.levels == (tif.grey_map.lo, tif.grey_map.hi)
        assert "16-bit greyscale" in tif.description and f"{lo:g}" in tif.description
        assert "low contrast" in tif.description


@pytest.mark.parametrize("kind", ["bit depth", "low contrast"])
def test_one_map_not_one_per_frame(tmp_path, kind):
    """A frame that is brighter than the rest stays brighter: frames are not each stretched to 0..255."""
    folder = tmp_path / "flash"
    folder.mkdir()
    offset, spread, flash = (1000, 2000, 6000) if kind == "bit depth" else (30000, 400, 600)
    base = np.tile(np.linspace(offset, offset + spread, 64), (48, 1)).astype(np.uint16)
    for i in range(20):
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), base + (flash if i == 7 else 0))
    with VideoSource(folder) as video:
        dim, bright = video.read(3).astype(int), video.read(7).astype(int)
        assert bright.min() > dim.max() and np.array_equal(video.read(3), video.read(4))
        if kind == "bit depth":  # 1000..9000 is 14-bit data: v * 255 / 16383, the same for every frame
            assert "14-bit data: 0..16383 shown as 0..255" in video.description
            for frame, add in ((dim, 0), (bright, flash)):
                expected = np.floor((base.astype(np.float64) + add) * 255 / 16383 + 0.5)
                assert np.array_equal(frame[:, :, 0], expected)
            assert dim.min() > 10 and bright.max() < 200  # per-frame stretching would make both 0..255
        else:  # 30000..31000 would be 4 grey levels by bit depth: the sample's levels are stretched
            assert video.grey_map.stretched and "low contrast" in video.description
            assert dim.max() < 110 and bright.min() > 145  # per-frame stretching would make both 0..255


@pytest.mark.parametrize("kind", ["grey8", "bgra8", "colour16", "float32", "jpg"])
def test_depths_and_channels_become_8_bit_bgr_on_the_same_pixel_grid(tmp_path, kind):
    rng = np.random.default_rng(0)
    folder = tmp_path / kind
    folder.mkdir()
    images = []
    for i in range(3):
        if kind == "grey8":
            image = rng.integers(0, 256, (30, 40), dtype=np.uint8)
        elif kind == "bgra8":
            image = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
        elif kind == "colour16":
            image = rng.integers(0, 65536, (30, 40, 3), dtype=np.uint16)
        elif kind == "float32":
            image = rng.random((30, 40), dtype=np.float32)
        else:
            image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        ext = {"float32": "tif", "jpg": "jpg"}.get(kind, "png")
        assert cv2.imwrite(str(folder / f"img{i}.{ext}"), image)
        images.append(image)
    with VideoSource(folder) as video:
        frame = video.read(1)
        assert frame.shape == (30, 40, 3) and frame.dtype == np.uint8
        if kind == "grey8":
            assert np.array_equal(frame, cv2.cvtColor(images[1], cv2.COLOR_GRAY2BGR))
        elif kind == "bgra8":
            assert np.array_equal(frame, images[1][:, :, :3])
        elif kind in ("colour16", "float32"):
            lo, hi = video.levels
            expected = np.clip((images[1].astype(np.float64) - lo) * 255 / (hi - lo), 0, 255)
            expected = expected if expected.ndim == 3 else expected[:, :, None]
            assert np.abs(frame.astype(float) - expected).max() <= 1.0
        else:
            assert frame.shape == (30, 40, 3)



# --- 16-bit copies of 8-bit frames, and 12-bit data -----------------------------------------------------

def as_12_bit(grey: np.ndarray) -> np.ndarray:
    """8-bit grey as 12-bit data (0..4095), rounded."""
    return np.round(grey.astype(np.float64) * 4095 / 255).astype(np.uint16)


DEEP = {"x257": lambda g: g.astype(np.uint16) * 257, "12-bit": as_12_bit,
        "12-bit left-aligned": lambda g: as_12_bit(g) << 4}
DEEP_SAYS = {"x257": "8-bit data scaled to 16 bits (x 257)", "12-bit": "12-bit data: 0..4095 shown as 0..255",
             "12-bit left-aligned": "12-bit data shifted left by 4 bits"}
GREY8 = arrays(np.uint8, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24))


@settings(max_examples=200, deadline=None)
@given(grey=GREY8)
def test_8_bit_data_scaled_by_257_maps_back_exactly(grey):
    deep = grey.astype(np.uint16) * 257
    grey_map = fit_grey_map([deep])
    assert not grey_map.stretched and np.array_equal(grey_map(deep), grey)
    assert np.array_equal(grey_map.table[deep], grey)  # the lookup table the reader uses


@settings(max_examples=200, deadline=None)
@given(grey=GREY8, bright=st.integers(128, 255))
def test_8_bit_data_as_12_bit_maps_back_exactly(grey, bright):
    grey = grey.copy()
    grey.flat[0] = bright  # a brightest value in the upper half of 12 bits (dimmer data reads as fewer bits)
    assume(np.any(as_12_bit(grey) % 257))  # values all multiples of 257 read as 8-bit data x 257 (ambiguous)
    for deep in (as_12_bit(grey), as_12_bit(grey) << 4):
        grey_map = fit_grey_map([deep])
        assert not grey_map.stretched and np.array_equal(grey_map(deep), grey), grey_map


@settings(max_examples=200, deadline=None)
@given(values=arrays(np.uint16, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
                     elements=st.integers(0, 4095)), top=st.integers(2048, 4095))
def test_12_bit_data_maps_within_one_grey_level(values, top):
    values = values.copy()
    values.flat[0] = top
    assume(np.any(values % 257))  # values all multiples of 257 read as 8-bit data x 257 (ambiguous)
    exact = values.astype(np.float64) * 255 / 4095
    for deep, shift in ((values, 0), (values << 4, 4)):
        grey_map = bit_depth_map([deep])
        error = np.abs(grey_map(deep).astype(np.float64) - exact).max()
        assert grey_map.bits + grey_map.shift == 12 + shift and error <= 1.0, (grey_map, error)
        if np.any(values % 2):  # some value odd: exactly 12 bits, so only rounding
            assert (grey_map.bits, grey_map.shift) == (12, shift) and error <= 0.5 + 1e-9


def test_16_bit_copies_of_8_bit_frames_read_as_those_frames(deep_sources):
    with VideoSource(deep_sources["8-bit"]) as source:
        frames = [frame for _, frame in source.frames()]
    for form in DEEP:
        with VideoSource(deep_sources[form]) as deep:
            assert DEEP_SAYS[form] in deep.description and "by its bit depth" in deep.description
            assert all(np.array_equal(a, b) for (_, a), b in zip(deep.frames(), frames)), form


def test_series_are_read_as_blender_reads_them(tmp_path):
    # the last group of digits is the frame number; numbers sort as numbers; other files are ignored
    folder = tmp_path / "cam2_run"
    folder.mkdir()
    for n in (9, 10, 11):
        cv2.imwrite(str(folder / f"cam2_f_{n}.png"), np.full((8, 8), n, np.uint8))
    (folder / "notes.txt").write_text("not a frame\n")
    series = find_series(folder)
    assert (series.prefix, series.suffix, series.first, series.last) == ("cam2_f_", ".png", 9, 11)
    with VideoSource(folder) as video:
        assert [int(f[0, 0, 0]) for _, f in video.frames()] == [9, 10, 11]
    assert source_stem(folder) == "cam2_run" == source_stem(folder / "cam2_f_10.png")
    assert clip_file(str(folder / "*.png")) == folder / "cam2_f_9.png"
    assert source_stem(tmp_path / "clip.mp4") == "clip"


def test_folders_and_globs_that_name_no_single_series_are_one_line_errors(tmp_path, sources):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OmniTraxError, match="holds no numbered image frames.*it is empty"):
        VideoSource(empty)
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(sources["video"], videos / "a.avi")
    with pytest.raises(OmniTraxError, match=r"holds no numbered image frames.*found 1 file: a\.avi"):
        VideoSource(videos)
    two = tmp_path / "two"
    two.mkdir()
    for i in range(3):
        cv2.imwrite(str(two / f"left_{i:03d}.png"), np.zeros((8, 8), np.uint8))
        cv2.imwrite(str(two / f"right_{i:03d}.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(OmniTraxError) as error:
        VideoSource(two)
    text = str(error.value)
    assert "2 series" in text and "left_000.png .. left_002.png (3 files)" in text and "right_000.png" in text
    assert "give the first frame of one" in text and "\n" not in text
    with VideoSource(two / "right_000.png") as right:  # either, named by its first frame or a glob
        assert right.frame_count == 3
        assert source_stem(two / "right_000.png") == "right"  # not alone in its folder: the prefix
    with VideoSource(str(two / "left_*.png")) as left:
        assert left.frame_count == 3
    with pytest.raises(OmniTraxError, match="matches no image files.*matches nothing"):
        VideoSource(str(tmp_path / "nothing" / "*.tif"))
    with pytest.raises(OmniTraxError, match="Frame file .*frame_0001.png not found"):
        VideoSource(tmp_path / "frame_0001.png")
    single = tmp_path / "single"
    single.mkdir()
    cv2.imwrite(str(single / "arena.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(OmniTraxError, match="has only 1 frame; tracking needs at least 2"):
        VideoSource(single / "arena.png")
    with pytest.raises(OmniTraxError, match="matches image files in 2 folders"):
        VideoSource(str(tmp_path / "*" / "*.png"))
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    for t in (1715000000123, 1715000040123, 1715000080123):  # time stamps, not frame numbers
        cv2.imwrite(str(stamps / f"shot_{t}.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(OmniTraxError, match=r"has 3 files for the 80001 numbers .*Number the files one by one"):
        VideoSource(stamps)


def test_a_missing_frame_is_an_error_naming_its_file_when_it_is_reached(sources, tmp_path):
    gap = copy_sequence(sources["png"], tmp_path / "gap")
    (gap / "frame_0040.png").unlink()
    with VideoSource(gap) as video:
        assert video.frame_count == N_FRAMES and video.missing == [40]
        seen = []
        with pytest.raises(UnreadableFrame, match=r"Frame 40 of the image sequence gap/frame_####\.png is missing: "
                                                  r"there is no file .*gap/frame_0040\.png") as error:
            for index, _ in video.frames():
                seen.append(index)
        assert seen == list(range(40)) and error.value.index == 40
        assert error.value.path == gap / "frame_0040.png"
        with pytest.raises(UnreadableFrame, match="frame_0040.png"):
            video.read(40)
        assert len(video.sample_frames(N_FRAMES)) == N_FRAMES - 1  # sampling skips it


def test_damaged_and_mismatched_frames_are_errors_naming_their_file(sources, tmp_path):
    bad = copy_sequence(sources["png"], tmp_path / "bad")
    (bad / "frame_0012.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    cv2.imwrite(str(bad / "frame_0013.png"), np.zeros((10, 10, 3), np.uint8))
    with VideoSource(bad) as video:
        with pytest.raises(UnreadableFrame, match=r"cannot be read: .*frame_0012\.png is not an image OpenCV can "
                                                  r"read"):
            video.read(12)
        with pytest.raises(UnreadableFrame, match=r"frame_0013\.png\) is 10x10 uint8, but its first frame is "
                                                  r"480x360 uint8"):
            video.read(13)


def test_a_tracking_run_keeps_the_frames_before_a_missing_one(sources, tmp_path):
    from omnitrax.tracking.pipeline import TrackingRun
    from omnitrax.tracking.settings import TrackingSettings

    settings = TrackingSettings(detector="background", polarity="darker")
    gap = copy_sequence(sources["png"], tmp_path / "gap")
    (gap / "frame_0040.png").unlink()
    run = TrackingRun(settings, video_path=str(gap))
    done = []
    with pytest.raises(UnreadableFrame, match="frame_0040.png"):
        for progress in run.steps():
            done.append(progress.frame)
    kept = run.result()
    run.close()
    assert done == list(range(40)) and kept.frame.max() == 39 and len(kept.ids()) == N_ANIMALS
    # exactly what a run that ends before the missing frame finds (the background is learned from the frames
    # there are, so it differs a little from the complete sequence's: within 1 px)
    before = TrackingRun(settings, video_path=str(gap), stop=40)
    full = TrackingRun(settings, video_path=str(sources["png"]), stop=40)
    try:
        assert max_difference(kept, before.run()) == 0.0
        assert max_difference(kept, full.run()) < 1.0
    finally:
        before.close()
        full.close()


# --- the command line ----------------------------------------------------------------------------------

def omnitrax(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "omnitrax", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


TRACK = ("--detector", "background", "--polarity", "darker")


@pytest.fixture(scope="module")
def video_tracks(sources, tmp_path_factory):
    from omnitrax.io.tracks_csv import read_tracks_csv

    out = tmp_path_factory.mktemp("video_tracks")
    proc = omnitrax("track", sources["video"], *TRACK, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return read_tracks_csv(out / "ants_tracks.csv")


FORMS = {"png folder": ("png", None), "png glob": ("png", "*.png"), "tif folder": ("tif", None),
         "tif first frame": ("tif", f"cam_{TIFF_FIRST:06d}.tif")}


def _spec(sources, form) -> Path:
    kind, name = FORMS[form]
    return sources[kind] / name if name else sources[kind]


@pytest.mark.parametrize("form", FORMS)
def test_track_command_on_a_sequence_gives_the_videos_tracks(sources, video_tracks, tmp_path, form):
    from omnitrax.io.tracks_csv import read_tracks_csv

    proc = omnitrax("track", _spec(sources, form), *TRACK, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    stem = sources[FORMS[form][0]].name  # the folder's name: the series is alone in it
    tracks = read_tracks_csv(tmp_path / f"{stem}_tracks.csv")
    difference = max_difference(tracks, video_tracks)
    assert difference < SAME, difference
    if form.startswith("png"):
        assert difference == 0.0  # the same pixels
    else:
        assert "16-bit greyscale, grey levels" in proc.stderr  # the map is shown when tracking starts
    print(f"{form}: max position difference to the video {difference:.3f} px")


def test_track_command_with_a_missing_frame_writes_the_tracks_before_it_and_fails(sources, video_tracks, tmp_path):
    from omnitrax.io.tracks_csv import read_tracks_csv

    gap = copy_sequence(sources["png"], tmp_path / "gap")
    (gap / "frame_0040.png").unlink()
    proc = omnitrax("track", gap, *TRACK, "--out", tmp_path / "out", "--preview")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "warning: 1 frame file is missing (frame_0040.png)" in proc.stderr  # said before the work
    assert "Stopped at frame 40 (frame_0040.png): writing the tracks of frames 0-39." in proc.stderr
    assert lines[-1].startswith("omnitrax: error: Frame 40 of the image sequence gap/frame_####.png is missing")
    assert str(gap / "frame_0040.png") in lines[-1] and "Traceback" not in proc.stderr
    kept = read_tracks_csv(tmp_path / "out" / "gap_tracks.csv")
    assert kept.frame.max() == 39 and len(kept.ids()) == N_ANIMALS
    assert f"wrote {tmp_path / 'out' / 'gap_tracks.csv'}" in proc.stdout
    with VideoSource(tmp_path / "out" / "gap_preview.mp4") as preview:
        assert preview.frame_count == 40
    before = video_tracks.select(video_tracks.frame < 40)
    ids = {int(t) for t in kept.track} & {int(t) for t in before.track}
    assert len(ids) == N_ANIMALS
    a, b = rows_of(kept), rows_of(before)
    common = set(a) & set(b)
    assert len(common) > 0.9 * len(b)
    assert max(np.hypot(a[k][0] - b[k][0], a[k][1] - b[k][1]) for k in common) < 1.0  # background: 59 frames


def test_track_blend_of_a_sequence_opens_the_sequence_in_blender(sources, tmp_path):
    import importlib.util

    if importlib.util.find_spec("bpy") is None:
        pytest.skip("no bpy here")
    from blender_harness import run_scenario
    from omnitrax.io.tracks_csv import read_tracks_csv

    proc = omnitrax("track", sources["tif"], *TRACK, "--out", tmp_path, "--blend", tmp_path / "tif.blend")
    assert proc.returncode == 0, proc.stderr
    result = run_scenario("cli_blend", "open_tracked_blend", tmp_path / "home", blend=str(tmp_path / "tif.blend"))
    assert Path(result["clip_path"]).resolve() == (sources["tif"] / f"cam_{TIFF_FIRST:06d}.tif").resolve()
    tracks = read_tracks_csv(tmp_path / "ants_tif16_tracks.csv")
    markers = {(name, m[0] - 1): (m[1], m[2]) for name, ms in result["tracks"].items() for m in ms if not m[3]}
    detected = tracks.select(~tracks.predicted)
    assert len(markers) == len(detected)
    for t, f, x, y in zip(detected.track, detected.frame, detected.x, detected.y):
        mx, my = markers[(f"track_{int(t)}", int(f))]
        assert abs(mx - x) < 1e-3 and abs(my - y) < 1e-3


def test_pose_command_on_a_sequence_gives_the_videos_poses(sources, video_tracks, tmp_path):
    import importlib.util

    if importlib.util.find_spec("dlclive") is None:
        pytest.skip("no DeepLabCut-Live here")
    from omnitrax import resources
    from omnitrax.io.tracks_csv import write_tracks_csv

    tracks = tmp_path / "first_tracks.csv"
    write_tracks_csv(tracks, video_tracks.select(video_tracks.frame < 8))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = {stem: subprocess.Popen([sys.executable, "-m", "omnitrax", "pose", str(source), "--tracks", str(tracks),
                                    "--model", str(resources.default_pose_model()), "--no-h5", "--out",
                                    str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
            for stem, source in (("ants", sources["video"]), ("ants_png", sources["png"]))}  # both at once
    for proc in runs.values():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    video, png = ((tmp_path / f"{stem}_poses.csv").read_text() for stem in runs)
    assert png == video and len(video.splitlines()) == 4 + 8  # 4 header rows, one row per frame


def test_bad_sequences_are_one_line_command_errors(sources, tmp_path):
    two = copy_sequence(sources["png"], tmp_path / "two")
    shutil.copy(sources["tif"] / f"cam_{TIFF_FIRST:06d}.tif", two / "cam_000100.tif")
    for command in (("track", two, "--out", tmp_path / "o"), ("detect-preview", two, "--out", tmp_path / "o"),
                    ("pose", two, "--tracks", "t.csv", "--model", "m", "--out", tmp_path / "o"),
                    ("export-crops", tmp_path / "none" / "*.png", "--tracks", "t.csv", "--out", tmp_path / "o")):
        proc = omnitrax(*command)
        assert proc.returncode == 2, (command, proc.stderr)
        assert proc.stderr.startswith("omnitrax: error: ") and len(proc.stderr.strip().splitlines()) == 1, \
            proc.stderr
        assert ("2 series of numbered frames" in proc.stderr) or ("matches no image files" in proc.stderr)


def test_preview_detection_and_training_crops_of_a_sequence_equal_the_videos(sources, tmp_path):
    out_v, out_s = tmp_path / "video", tmp_path / "seq"
    for source, out in ((sources["video"], out_v), (str(sources["png"] / "*.png"), out_s)):
        proc = omnitrax("detect-preview", source, *TRACK, "--frames", 2, "--out", out)
        assert proc.returncode == 0, proc.stderr
    for a, b in ((out_v / "ants_detect_00.png", out_s / "ants_png_detect_00.png"),
                 (out_v / "ants_background.png", out_s / "ants_png_background.png")):
        assert np.array_equal(cv2.imread(str(a)), cv2.imread(str(b))), (a, b)
    tracks = tmp_path / "truth_tracks.csv"
    from omnitrax.io.tracks_csv import write_tracks_csv

    write_tracks_csv(tracks, sources["truth"].to_tracks().select(sources["truth"].to_tracks().frame < 3))
    for source, out in ((sources["video"], out_v), (sources["png"], out_s)):
        proc = omnitrax("export-crops", source, "--tracks", tracks, "--format", "png", "--out", out)
        assert proc.returncode == 0, proc.stderr
    crops_v = sorted((out_v / "ants_crops").iterdir())
    crops_s = sorted((out_s / "ants_png_crops").iterdir())
    assert len(crops_v) == len(crops_s) == 3 * N_ANIMALS
    for a, b in zip(crops_v, crops_s):
        assert a.name.replace("ants_", "ants_png_", 1) == b.name
        assert np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))



# --- tracking 16-bit copies: the 8-bit source's tracks --------------------------------------------------

def write_deep_sources(folder: Path) -> dict:
    """The test clip's grey frames as 8-bit PNG (8-bit/), their DEEP copies as 16-bit TIFF, and a low-contrast
    16-bit camera's view of them (20000 + grey * 8: 8 grey levels of 256 by bit depth)."""
    from omnitrax.testclips import render_frames

    forms = dict(DEEP, **{"low contrast": lambda g: 20000 + g.astype(np.uint16) * 8})
    folders = {"8-bit": folder / "grey8", **{form: folder / form.replace(" ", "_") for form in forms}}
    for path in folders.values():
        path.mkdir(parents=True)
    for i, (frame, _) in enumerate(render_frames(n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, width=WIDTH,
                                                 height=HEIGHT, polarity="dark_on_light")):
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        assert cv2.imwrite(str(folders["8-bit"] / f"frame_{i:04d}.png"), grey)
        for form, deep in forms.items():
            image = deep(grey)
            assert image.dtype == np.uint16 and cv2.imwrite(str(folders[form] / f"frame_{i:04d}.tif"), image)
    return folders


@pytest.fixture(scope="module")
def deep_sources(tmp_path_factory):
    return write_deep_sources(tmp_path_factory.mktemp("deep"))


@pytest.fixture(scope="module")
def deep_tracks(deep_sources):
    """{detector: {form: Tracks}}: each copy and the 8-bit source tracked at the default settings (the bundled
    YOLO ant model) and with the background detector."""
    from omnitrax.tracking.pipeline import TrackingRun
    from omnitrax.tracking.settings import TrackingSettings

    found = {}
    for detector, settings in (("yolo", TrackingSettings()), ("background", TrackingSettings(detector="background"))):
        assert settings.detector == detector
        found[detector] = {}
        for form, folder in deep_sources.items():
            run = TrackingRun(settings, video_path=str(folder))
            try:
                found[detector][form] = run.run()
            finally:
                run.close()
    return found


def share_within(tracks, reference, tolerance=SAME) -> float:
    """The share of the reference's rows (track, frame) that `tracks` holds within `tolerance` px."""
    got, want = rows_of(tracks), rows_of(reference)
    near = sum(1 for key, (x, y) in want.items() if key in got and np.hypot(got[key][0] - x, got[key][1] - y)
               <= tolerance)
    return near / len(want)


@pytest.mark.parametrize("detector", ["yolo", "background"])
@pytest.mark.parametrize("form", DEEP)
def test_16_bit_copies_track_as_the_8_bit_frames(deep_tracks, detector, form):
    reference, tracks = deep_tracks[detector]["8-bit"], deep_tracks[detector][form]
    assert len(reference.ids()) == N_ANIMALS and len(rows_of(reference)) >= 0.95 * N_ANIMALS * N_FRAMES
    share = share_within(tracks, reference)
    print(f"{detector}, {form}: {share:.4f} of the 8-bit source's rows within {SAME} px")
    assert len(tracks.ids()) == len(reference.ids()) and share >= 0.99, share
    assert max_difference(tracks, reference) == 0.0  # read back as the very same frames: the very same tracks


@pytest.mark.parametrize("detector", ["yolo", "background"])
def test_a_low_contrast_16_bit_camera_is_stretched_and_its_animals_found(deep_sources, deep_tracks, detector):
    """20000 + grey * 8 spans 8 of 256 grey levels by bit depth (both detectors then find nothing): the sample's
    levels are stretched to 0..255 instead, and the animals are tracked as in the 8-bit frames."""
    with VideoSource(deep_sources["low contrast"]) as video:
        assert video.grey_map.stretched and "(stretched to the 0.1..99.9% levels of 12 frames: low contrast)" in \
            video.description
    reference, tracks = deep_tracks[detector]["8-bit"], deep_tracks[detector]["low contrast"]
    assert len(tracks.ids()) == len(reference.ids()) == N_ANIMALS
    share = share_within(tracks, reference)
    print(f"{detector}, low contrast: {share:.4f} of the 8-bit source's rows within {SAME} px")
    if detector == "background":  # its threshold is chosen on the frames: the stretch does not move the tracks
        assert share >= 0.99, share
    else:  # the network sees other contrast than in the 8-bit frames: each animal found, a little elsewhere
        found = [np.hypot(tracks.x[tracks.frame == f] - x, tracks.y[tracks.frame == f] - y).min(initial=np.inf)
                 for f, x, y in zip(reference.frame, reference.x, reference.y)]
        assert max(found) < 5.0, max(found)  # measured 3.4 px (89% within 0.5 px)


def test_track_command_says_which_map_a_sequence_gets(deep_sources, tmp_path):
    from omnitrax.io.tracks_csv import read_tracks_csv

    results = {}
    for form in ("8-bit", "12-bit left-aligned"):
        proc = omnitrax("track", deep_sources[form], *TRACK, "--out", tmp_path / form.replace(" ", "_"))
        assert proc.returncode == 0, proc.stderr
        results[form] = (proc.stderr, read_tracks_csv(next((tmp_path / form.replace(" ", "_")).glob("*_tracks.csv"))))
    assert "16-bit greyscale, 12-bit data shifted left by 4 bits (the low 4 always zero): 0..65520 shown as 0..255 " \
           "by its bit depth" in results["12-bit left-aligned"][0]
    assert max_difference(results["12-bit left-aligned"][1], results["8-bit"][1]) == 0.0


# --- batches -------------------------------------------------------------------------------------------

def test_batch_takes_folders_of_frames_beside_videos(sources, video_tracks, tmp_path):
    from omnitrax.batch import read_done, run_batch
    from omnitrax.io.tracks_csv import read_tracks_csv
    from omnitrax.tracking.settings import TrackingSettings

    settings = TrackingSettings(detector="background", polarity="darker")
    inputs = [sources["video"], sources["png"], str(sources["tif"] / "*.tif")]
    results = run_batch(inputs, tmp_path / "out", settings, workers=1)
    assert [r.status for r in results] == ["done"] * 3, results
    assert [r.frames for r in results] == [N_FRAMES] * 3
    differences = {}
    for stem in ("ants", "ants_png", "ants_tif16"):
        tracks = read_tracks_csv(tmp_path / "out" / stem / f"{stem}_tracks.csv")
        differences[stem] = max_difference(tracks, video_tracks)
    assert differences["ants"] == differences["ants_png"] == 0.0 and differences["ants_tif16"] < SAME, differences
    print(f"batch: max position difference to the video {differences}")
    record = read_done(tmp_path / "out" / "ants_tif16")["video"]
    assert record["name"] == "ants_tif16/cam_######.tif" and record["first"] == TIFF_FIRST
    assert record["frames"] == record["files"] == N_FRAMES
    # a rerun skips all three; a changed sequence (a frame added) is redone
    assert [r.status for r in run_batch(inputs, tmp_path / "out", settings, workers=1)] == ["skipped"] * 3
    png = copy_sequence(sources["png"], tmp_path / "ants_png")
    shutil.copy(png / "frame_0059.png", png / "frame_0060.png")
    again = run_batch([png], tmp_path / "out", settings, workers=1)
    assert again[0].status == "done" and again[0].frames == N_FRAMES + 1


def test_batch_refuses_the_frames_of_one_sequence_given_one_by_one(sources, tmp_path):
    from omnitrax.batch import run_batch
    from omnitrax.tracking.settings import TrackingSettings

    frames = sorted(sources["png"].glob("*.png"))[:3]  # what an unquoted glob becomes
    with pytest.raises(OmniTraxError, match=r"are frames of one image sequence .*give it once, as its folder or "
                                            r"a quoted glob"):
        run_batch(frames, tmp_path / "out", TrackingSettings())


def test_batch_reports_a_sequence_with_a_missing_frame_as_failed_naming_the_file(sources, tmp_path):
    from omnitrax.batch import run_batch
    from omnitrax.tracking.settings import TrackingSettings

    gap = copy_sequence(sources["png"], tmp_path / "gap")
    (gap / "frame_0040.png").unlink()
    result, = run_batch([gap], tmp_path / "out", TrackingSettings(detector="background"), workers=1)
    assert result.status == "failed" and "frame_0040.png" in result.error and "missing" in result.error
    assert not (tmp_path / "out" / "gap").exists() and not (tmp_path / "out" / "gap.partial").exists()
