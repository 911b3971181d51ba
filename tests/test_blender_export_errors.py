"""Export Tracks / Export Poses in real Blender when the export folder cannot be written (issue 18.4).

Each case must cancel with one clear line (what is wrong, what to do), never traceback text or a
Python exception name, and leave the clip's tracks, markers and keypoints exactly as they were.
Tests run as root here, so "cannot write" is made in ways that fail for root too: the export folder
is a file, a parent of it is a file, or a folder sits where an output file goes. All cases run in one
Blender process; a last export into a good folder shows the setup itself is sound.
"""
import re

import pytest

from blender_harness import run_in_blender

SCRIPT = '''
mod = install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
props = bpy.context.scene.omnitrax
for i in range(3):
    track = clip.tracking.tracks.new(name=f"track_{i}", frame=1)
    for f in range(1, 9):
        track.markers.insert_frame(f, co=(0.2 + 0.2 * i + 0.01 * f, 0.5 - 0.01 * f))
poses = clip.tracking.objects.new("OmniTrax Poses")
clip.tracking.objects.active = clip.tracking.objects[0]
for i in range(3):
    keypoint = poses.tracks.new(name=f"track_{i}.head", frame=1)
    for f in range(1, 9):
        keypoint.markers.insert_frame(f, co=(0.21 + 0.2 * i + 0.01 * f, 0.52 - 0.01 * f))
clip["omnitrax_pose"] = {"joints": ["head"], "skeleton": []}

def dump():
    return {obj.name: {t.name: [[m.frame, round(m.co[0], 6), round(m.co[1], 6), m.mute] for m in t.markers]
                       for t in obj.tracks} for obj in clip.tracking.objects}

def run(op, **kw):
    with clip_editor(clip):
        try:
            return sorted(op(**kw))
        except RuntimeError as exc:  # background mode: the ERROR report comes back as RuntimeError
            return str(exc)

before = dump()
result = {}
for case, folder, kw in CASES:
    props.export_dir = folder
    result[case] = {"tracks": run(bpy.ops.omnitrax.export_tracks, **kw)}
    if case in POSE_CASES:
        result[case]["poses"] = run(bpy.ops.omnitrax.export_poses)
    result[case]["unchanged"] = dump() == before
props.export_dir = GOOD
result["good"] = {"tracks": run(bpy.ops.omnitrax.export_tracks, legacy=True),
                  "poses": run(bpy.ops.omnitrax.export_poses), "unchanged": dump() == before}
report(result)
'''


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    from omnitrax.synthetic import render_clip

    video = tmp_path_factory.mktemp("clip") / "ants.avi"
    render_clip(video, n_frames=8, seed=3, n_animals=3, width=160, height=120)
    return video


POSE_CASES = {"folder_is_a_file", "parent_is_a_file", "folder_at_poses_csv", "relative_to_unsaved_blend"}


def _one_clear_line(message: str) -> bool:
    text = message.strip()
    text = text[len("Error: "):] if text.startswith("Error: ") else text  # Blender's own report prefix
    return ("\n" not in text and "Traceback" not in text and "Python:" not in text
            and not re.search(r"\b[A-Z]\w*(Error|Exception)\b", text))


def test_export_into_an_unwritable_place_cancels_with_one_line_and_changes_nothing(linux_zip, small_clip,
                                                                                     tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder\n")
    blocked = {name: tmp_path / name for name in ("csv", "summary", "preview", "legacy", "poses")}
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
    good = tmp_path / "good"
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(small_clip)!r}\nCASES = {cases!r}\nGOOD = {str(good)!r}\n"
              f"POSE_CASES = {sorted(POSE_CASES)!r}\n" + SCRIPT)
    result = run_in_blender(script, tmp_path / "home")

    assert result["good"] == {"tracks": ["FINISHED"], "poses": ["FINISHED"], "unchanged": True}, result["good"]
    assert (good / "ants_tracks.csv").is_file() and (good / "ants_poses.csv").is_file()
    expected = {
        "folder_is_a_file": "is a file, not a folder",
        "parent_is_a_file": "is a file, not a folder",
        "folder_at_tracks_csv": "a folder of that name is in the way",
        "folder_at_summary_csv": "a folder of that name is in the way",
        "folder_at_preview": "a folder of that name is in the way",
        "file_at_legacy_folder": "is a file, not a folder",
        "folder_at_poses_csv": "a folder of that name is in the way",
        "relative_to_unsaved_blend": "save the .blend",
    }
    for case, _, _ in cases:
        outcome = result[case]
        assert outcome["unchanged"], case
        reports = [outcome["tracks"]] + ([outcome["poses"]] if "poses" in outcome else [])
        if case == "folder_at_poses_csv":  # the tracks export is fine there; only the poses CSV is blocked
            assert outcome["tracks"] == ["FINISHED"], outcome
            reports = [outcome["poses"]]
        for message in reports:
            assert isinstance(message, str), (case, message)  # CANCELLED: the error report came back
            assert _one_clear_line(message), (case, message)
            assert expected[case] in message, (case, message)
    # nothing half-written next to what was in the way
    assert not (blocked["csv"] / "ants_summary.csv").exists()
    assert not (blocked["preview"] / "ants_tracks.csv").exists()
    assert not (blocked["legacy"] / "ants_tracks.csv").exists()
