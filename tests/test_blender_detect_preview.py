"""Preview Detection inside real Blender: the installed add-on's operator on a synthetic clip.

One scenario run (tests/blender_scenarios/detect_preview.py, one Blender process) previews the whole clip,
then a narrower scene range with a mask, then tries export folders that cannot be written; the tests below
each check one behaviour of its cached result. The clip starts at scene frame 5, so the frames written
(0-based video frames in the file names) show the scene -> video mapping is used.
"""
import re

import cv2
import numpy as np
import pytest

from blender_harness import run_scenario

N_FRAMES, CLIP_START, WIDTH, HEIGHT = 30, 5, 320, 240
RANGE = (CLIP_START + 10, CLIP_START + 19)  # scene frames -> video frames 10..19
EXPECTED_ERRORS = {
    "folder_is_a_file": "The export folder",  # named as in the panel, not "output folder"
    "parent_is_a_file": "is a file, not a folder",
    "folder_at_an_image": "a folder of that name is in the way",
    "relative_to_unsaved_blend": "save the .blend",
    "open_mask": "no closed shape",
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from omnitrax.testclips import render_clip

    video = tmp_path_factory.mktemp("clip") / "ants.avi"
    truth = render_clip(video, n_frames=N_FRAMES, seed=1, n_animals=6, width=WIDTH, height=HEIGHT,
                        polarity="light_on_dark")
    return video, truth


@pytest.fixture(scope="module")
def preview(linux_zip, clip, tmp_path_factory):
    video, _ = clip
    root = tmp_path_factory.mktemp("detect_preview")
    (root / "a_file").write_text("not a folder\n")
    (root / "blocked").mkdir()
    (root / "blocked" / "ants_detect_29.png").mkdir()  # a folder where the last image goes
    refused = {"folder_is_a_file": str(root / "a_file"), "parent_is_a_file": str(root / "a_file" / "sub"),
               "folder_at_an_image": str(root / "blocked"), "relative_to_unsaved_blend": "//omnitrax_export/"}
    result = run_scenario("detect_preview", "preview_and_refusals", root / "home", zip_path=str(linux_zip),
                          video=str(video), clip_start=CLIP_START, good=str(root / "good"),
                          masked=str(root / "masked"), range_start=RANGE[0], range_end=RANGE[1], refused=refused)
    return result, root


def _info(printed: str) -> list:
    return [line for line in printed.splitlines() if "Wrote" in line and "preview images" in line]


def test_the_operator_is_registered_and_finishes(preview):
    result, _ = preview
    assert result["registered"]
    assert result["good"]["status"] == ["FINISHED"], result["good"]
    assert result["masked"]["status"] == ["FINISHED"], result["masked"]


def test_preview_writes_six_frames_over_the_clip_and_the_background(preview):
    _, root = preview
    names = sorted(p.name for p in (root / "good").iterdir())
    frames = [0, 6, 12, 17, 23, 29]  # spread over the clip, first and last included
    assert names == sorted([f"ants_detect_{f:02d}.png" for f in frames] + ["ants_background.png"]), names
    image = cv2.imread(str(root / "good" / "ants_detect_00.png"))
    assert image is not None and image.shape[1] == 2 * WIDTH and HEIGHT < image.shape[0] < 2 * HEIGHT
    assert cv2.imread(str(root / "good" / "ants_background.png")).shape[:2] == (HEIGHT, WIDTH)


def test_the_info_report_names_the_count_the_folder_and_the_detector(preview):
    result, root = preview
    lines = _info(result["good"]["printed"])
    assert len(lines) == 1, result["good"]["printed"]
    assert f"Wrote 7 preview images to {root / 'good'}" in lines[0]
    assert "background subtraction (auto: animals are lighter than the floor" in lines[0], lines[0]


def test_the_first_image_is_loaded_for_the_image_editor(preview):
    result, root = preview
    first = cv2.imread(str(root / "good" / "ants_detect_00.png"))
    assert result["good"]["images"] == {"ants_detect_00.png": [first.shape[1], first.shape[0]]}


def test_the_scene_frame_range_picks_the_video_frames(preview):
    _, root = preview
    names = sorted(p.name for p in (root / "masked").iterdir() if "_detect_" in p.name)
    assert names[0] == "ants_detect_10.png" and names[-1] == "ants_detect_19.png" and len(names) == 6, names


def test_the_mask_is_applied(preview, clip):
    """The left half is masked out: no detection is drawn there, though animals walk there."""
    _, root = preview
    _, truth = clip
    animals_on_the_left = 0
    for path in sorted((root / "masked").glob("ants_detect_*.png")):
        frame = int(re.search(r"_(\d+)\.png$", path.name).group(1))
        body = cv2.imread(str(path)).astype(int)[-HEIGHT:, :WIDTH]  # the detections, below the header
        green = (body[..., 1] > 200) & (body[..., 0] < 80) & (body[..., 2] < 80)
        xs = np.nonzero(green)[1]
        assert len(xs) and xs.min() > WIDTH / 2 - 25, (path.name, xs.min() if len(xs) else None)
        animals_on_the_left += int(((truth.frame == frame) & (truth.x < WIDTH / 2 - 30)).sum())
    assert animals_on_the_left > 0  # there were animals to miss on the masked side


@pytest.mark.parametrize("case", sorted(EXPECTED_ERRORS))
def test_an_unusable_export_folder_or_mask_is_one_error_line(preview, case):
    result, _ = preview
    outcome = result["refused"][case]
    assert outcome["status"] is None, outcome
    text = outcome["error"].strip()
    text = text[len("Error: "):] if text.startswith("Error: ") else text
    assert "\n" not in text and "Traceback" not in text and EXPECTED_ERRORS[case] in text, text


def test_a_refused_preview_writes_nothing(preview):
    _, root = preview
    assert [p.name for p in (root / "blocked").iterdir()] == ["ants_detect_29.png"]  # only the folder in the way
    assert not (root / "open_mask").exists()
    assert not (root / "home" / "omnitrax_export").exists()
