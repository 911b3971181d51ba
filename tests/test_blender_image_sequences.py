"""Image sequences inside real Blender (the installed zip): a clip opened from numbered frames tracks, exports,
poses and previews exactly like the same clip as a video, and its markers sit on the animals in the image
Blender shows.

One scenario run (tests/blender_scenarios/image_sequences.py) loads the lossless video, the PNG frames and the
16-bit greyscale TIFF frames (numbered from 100) written by tests/test_image_sequences.py's write_sources,
each from scene frame 5; the TIFF clip once more with a frame offset, rendered at a few scene frames; and two
broken copies of the PNG frames (an unreadable file, a missing file). Each test checks one thing of its result.
"""
import csv
import importlib.util
import shutil

import cv2
import numpy as np
import pytest

from blender_harness import run_scenario
from test_image_sequences import N_ANIMALS, N_FRAMES, SAME, TIFF_FIRST, write_sources

CLIP_START, OFFSET = 5, 2
SHOWN = [CLIP_START, CLIP_START + 11, CLIP_START + 30, CLIP_START + 50]  # scene frames rendered
BROKEN_AT = 35  # video frame whose file is damaged / missing in the broken copies


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("blender_sequences")
    found = write_sources(root)
    broken = shutil.copytree(found["png"], root / "broken")
    (broken / f"frame_{BROKEN_AT:04d}.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    gap = shutil.copytree(found["png"], root / "gap")
    (gap / f"frame_{BROKEN_AT:04d}.png").unlink()
    return dict(found, root=root, broken=broken, gap=gap)


@pytest.fixture(scope="module")
def blender(linux_zip, sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("blender_sequences_out")
    clips = {"video": str(sources["video"]), "png": str(sources["png"] / "frame_0000.png"),
             "tif": str(sources["tif"] / f"cam_{TIFF_FIRST:06d}.tif")}
    pose = "" if importlib.util.find_spec("dlclive") else None  # "": the bundled ant pose model
    result = run_scenario("image_sequences", "sequences", tmp_path_factory.mktemp("home_sequences"), timeout=600,
                          zip_path=str(linux_zip), clips=clips, clip_start=CLIP_START, out_dir=str(out),
                          offset=OFFSET, scene_frames=SHOWN, broken=str(sources["broken"] / "frame_0000.png"),
                          gap=str(sources["gap"] / "frame_0000.png"), pose_model=pose)
    return dict(result, out=out)


def _rows(markers):
    """{(track, scene frame): (x, y)} of the detected (not muted) markers."""
    return {(name, m[0]): (m[1], m[2]) for name, ms in markers.items() for m in ms if not m[3]}


def _max_difference(a, b):
    ra, rb = _rows(a), _rows(b)
    assert set(ra) == set(rb), sorted(set(ra) ^ set(rb))[:10]
    return max(np.hypot(ra[k][0] - rb[k][0], ra[k][1] - rb[k][1]) for k in ra)


def _csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {(r["track"], int(r["frame"])): (float(r["x"]), float(r["y"])) for r in rows}


def test_sequences_open_as_sequence_clips_of_every_frame(blender):
    assert blender["video"]["source"] == "MOVIE"
    for label in ("png", "tif"):
        assert blender[label]["source"] == "SEQUENCE" and blender[label]["duration"] == N_FRAMES


def test_tracking_a_sequence_gives_the_videos_markers(blender):
    for label in ("video", "png", "tif"):
        assert blender[label]["status"] == ["FINISHED"], blender[label]["status"]
    assert len(blender["video"]["markers"]) == N_ANIMALS
    png = _max_difference(blender["png"]["markers"], blender["video"]["markers"])
    tif = _max_difference(blender["tif"]["markers"], blender["video"]["markers"])
    print(f"Blender: max marker difference to the video: PNG {png:.4f} px, 16-bit TIFF {tif:.3f} px")
    assert png < 1e-3 and tif < SAME, (png, tif)  # markers are float32: PNG's are the video's to 1e-3 px


def test_exports_of_a_sequence_are_the_videos_named_after_its_folder(blender):
    assert blender["png"]["export"] == ["FINISHED"] and blender["tif"]["export"] == ["FINISHED"]
    assert {"ants_png_tracks.csv", "ants_png_summary.csv", "ants_png_preview.mp4"} <= set(blender["png"]["files"])
    assert "ants_tif16_tracks.csv" in blender["tif"]["files"]
    video = _csv(blender["out"] / "video" / "ants_tracks.csv")
    for label, stem, limit in (("png", "ants_png", 1e-3), ("tif", "ants_tif16", SAME)):
        rows = _csv(blender["out"] / label / f"{stem}_tracks.csv")
        assert set(rows) == set(video)
        assert max(np.hypot(rows[k][0] - video[k][0], rows[k][1] - video[k][1]) for k in rows) < limit
    from omnitrax.video import VideoSource

    with VideoSource(blender["out"] / "png" / "ants_png_preview.mp4") as preview:
        assert preview.frame_count == N_FRAMES


def test_preview_detection_of_a_sequence(blender):
    assert blender["png"]["detect_preview"] == ["FINISHED"], blender["png"]["detect_preview"]
    assert any(f.startswith("ants_png_detect_") for f in blender["png"]["files"])
    assert "ants_png_background.png" in blender["png"]["files"]


def test_poses_of_a_sequence_are_the_videos(blender):
    if "pose" not in blender["png"]:
        pytest.skip("no DeepLabCut-Live here")
    assert blender["video"]["pose"] == blender["png"]["pose"] == ["FINISHED"], blender["png"]["pose"]
    video, png = blender["video"]["poses"], blender["png"]["poses"]
    assert len(video) >= N_ANIMALS and set(png) == set(video)
    assert max(np.hypot(a[1] - b[1], a[2] - b[2]) for k in video for a, b in zip(video[k], png[k])) < 1e-3


# --- what Blender shows of a sequence ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def shown(blender, sources):
    """{scene frame: (index of the video frame the render matches best, correlation with every frame)}."""
    from omnitrax.video import VideoSource

    with VideoSource(sources["video"]) as video:
        frames = [cv2.cvtColor(video.read(i), cv2.COLOR_BGR2GRAY).astype(float) for i in range(N_FRAMES)]

    def correlation(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    out = {}
    for f in SHOWN:
        image = cv2.cvtColor(cv2.imread(str(blender["out"] / f"shown_{f}.png")), cv2.COLOR_BGR2GRAY).astype(float)
        scores = [correlation(image, frame) for frame in frames]
        out[f] = (int(np.argmax(scores)), scores)
    return out


def test_blender_shows_the_sequence_frame_the_markers_assume(shown):
    # scene frame f shows the file numbered TIFF_FIRST + (f - CLIP_START + OFFSET): video frame f - 5 + 2
    for f, (index, scores) in shown.items():
        assert index == f - CLIP_START + OFFSET, (f, index)
        assert scores[index] > max(np.delete(scores, index)) + 0.02


def test_markers_sit_on_the_animals_in_the_image_blender_shows(blender, shown, sources):
    """Each marker at scene frame f lies on an animal of the frame Blender shows at f (the detector's own error
    is ~0.2 px, under 1.5 px always), and a frame earlier or later fits clearly worse (the animals walk
    ~2.8 px per frame)."""
    assert blender["shown"]["status"] == ["FINISHED"]
    truth = sources["truth"]
    markers = blender["shown"]["markers"]
    errors = {-1: [], 0: [], 1: []}  # error against the animals of the frame shown, and of its neighbours
    for f, (index, _) in shown.items():
        for ms in markers.values():
            m = [m for m in ms if m[0] == f and not m[3]]
            for step in (errors if m and 0 < index < N_FRAMES - 1 else (0,) if m else ()):
                here = truth.frame == index + step
                errors[step].append(np.hypot(truth.x[here] - m[0][1], truth.y[here] - m[0][2]).min())
    shown_error = np.array(errors[0])
    assert len(shown_error) >= len(SHOWN) * N_ANIMALS - 2
    assert shown_error.max() < 1.5 and np.median(shown_error) < 0.5, shown_error
    assert np.mean(errors[-1]) > 1.0 + np.mean(errors[0]) and np.mean(errors[1]) > 1.0 + np.mean(errors[0])


# --- broken sequences ---------------------------------------------------------------------------------------

def test_an_unreadable_frame_is_reported_and_the_markers_before_it_stay(blender, sources):
    broken = blender["broken"]
    assert broken["duration"] == N_FRAMES  # the file is there: Blender counts it
    status = broken["status"]
    assert isinstance(status, str) and f"Frame {BROKEN_AT} of the image sequence broken/frame_####.png cannot " \
                                      f"be read" in status and str(sources["broken"] / f"frame_{BROKEN_AT:04d}.png") \
        in status and "Kept 6 tracks" in status, status
    rows = _rows(broken["markers"])
    assert len(broken["markers"]) == N_ANIMALS
    assert max(f for _, f in rows) == CLIP_START + BROKEN_AT - 1
    png = _rows(blender["png"]["markers"])
    common = set(rows) & set(png)
    assert len(common) > 0.9 * len(rows)
    assert max(np.hypot(rows[k][0] - png[k][0], rows[k][1] - png[k][1]) for k in common) < 1.0


def test_blender_ends_a_sequence_at_its_first_missing_file_and_so_does_tracking(blender):
    gap = blender["gap"]
    assert gap["duration"] == BROKEN_AT and gap["status"] == ["FINISHED"], gap
    assert max(f for _, f in _rows(gap["markers"])) == CLIP_START + BROKEN_AT - 1
