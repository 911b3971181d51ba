"""Export Tracks / Export Poses in real Blender when the export folder cannot be written (issue 18.4).

Each case must cancel with one clear line (what is wrong, what to do), never traceback text or a
Python exception name, and leave the clip's tracks, markers and keypoints exactly as they were.
Tests run as root here, so "cannot write" is made in ways that fail for root too: the export folder
is a file, a parent of it is a file, or a folder sits where an output file goes. All cases run in one
Blender process (tests/blender_scenarios/export_errors.py); a last export into a good folder shows the
setup itself is sound.
"""
import re

import pytest

from blender_harness import run_scenario

POSE_CASES = {"folder_is_a_file", "parent_is_a_file", "folder_at_poses_csv", "relative_to_unsaved_blend"}
EXPECTED = {
    "folder_is_a_file": "is a file, not a folder",
    "parent_is_a_file": "is a file, not a folder",
    "folder_at_tracks_csv": "a folder of that name is in the way",
    "folder_at_summary_csv": "a folder of that name is in the way",
    "folder_at_preview": "a folder of that name is in the way",
    "file_at_legacy_folder": "is a file, not a folder",
    "folder_at_poses_csv": "a folder of that name is in the way",
    "relative_to_unsaved_blend": "save the .blend",
}


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    from omnitrax.testclips import render_clip

    video = tmp_path_factory.mktemp("clip") / "ants.avi"
    render_clip(video, n_frames=8, seed=3, n_animals=3, width=160, height=120)
    return video


def _one_clear_line(message: str) -> bool:
    text = message.strip()
    text = text[len("Error: "):] if text.startswith("Error: ") else text  # Blender's own report prefix
    return ("\n" not in text and "Traceback" not in text and "Python:" not in text
            and not re.search(r"\b[A-Z]\w*(Error|Exception)\b", text))


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_errors")
    a_file = root / "a_file"
    a_file.write_text("not a folder\n")
    blocked = {name: root / name for name in ("csv", "summary", "preview", "legacy", "poses")}
    for folder in blocked.values():
        folder.mkdir()
    (blocked["csv"] / "ants_tracks.csv").mkdir()        # a folder where a file goes
    (blocked["summary"] / "ants_summary.csv").mkdir()
    (blocked["preview"] / "ants_preview.mp4").mkdir()
    (blocked["legacy"] / "ants_legacy").write_text("a file where the legacy folder goes\n")
    (blocked["poses"] / "ants_poses.csv").mkdir()
    cases = [
        ("folder_is_a_file", str(a_file), {}),
        ("parent_is_a_file", str(a_file / "sub" / "export"), {}),
        ("folder_at_tracks_csv", str(blocked["csv"]), {}),
        ("folder_at_summary_csv", str(blocked["summary"]), {}),
        ("folder_at_preview", str(blocked["preview"]), {"preview": True}),
        ("file_at_legacy_folder", str(blocked["legacy"]), {"legacy": True}),
        ("folder_at_poses_csv", str(blocked["poses"]), {}),
        ("relative_to_unsaved_blend", "//omnitrax_export/", {}),
    ]
    assert sorted(case for case, _, _ in cases) == sorted(EXPECTED)  # every case has its expected message
    return root, blocked, cases


@pytest.fixture(scope="module")
def exports(linux_zip, small_clip, places):
    root, _, cases = places
    return run_scenario("export_errors", "export_into_places", root / "home", zip_path=str(linux_zip),
                        video=str(small_clip), cases=cases, good=str(root / "good"), pose_cases=sorted(POSE_CASES))


def test_export_into_a_good_folder_works(exports, places):
    root = places[0]
    assert exports["good"] == {"tracks": ["FINISHED"], "poses": ["FINISHED"], "unchanged": True}, exports["good"]
    assert (root / "good" / "ants_tracks.csv").is_file() and (root / "good" / "ants_poses.csv").is_file()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_a_failed_export_changes_nothing(exports, case):
    assert exports[case]["unchanged"], case


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_an_unwritable_place_cancels_with_one_clear_line(exports, case):
    outcome = exports[case]
    reports = [outcome["tracks"]] + ([outcome["poses"]] if "poses" in outcome else [])
    if case == "folder_at_poses_csv":  # the tracks export is fine there; only the poses CSV is blocked
        assert outcome["tracks"] == ["FINISHED"], outcome
        reports = [outcome["poses"]]
    for message in reports:
        assert isinstance(message, str), (case, message)  # CANCELLED: the error report came back
        assert _one_clear_line(message), (case, message)
        assert EXPECTED[case] in message, (case, message)


def test_nothing_is_half_written_next_to_what_was_in_the_way(exports, places):
    blocked = places[1]
    assert not (blocked["csv"] / "ants_summary.csv").exists()
    assert not (blocked["preview"] / "ants_tracks.csv").exists()
    assert not (blocked["legacy"] / "ants_tracks.csv").exists()
