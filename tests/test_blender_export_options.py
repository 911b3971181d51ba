"""Export options in Blender: every clip of the .blend into one folder each, the active clip alone, and a
video export stopped part-way (Esc) that leaves complete files and a valid, shorter video."""
import pytest

from blender_harness import run_scenario

N_FRAMES = 30


@pytest.fixture(scope="module")
def exported(linux_zip, tmp_path_factory):
    from omnitrax.testclips import render_clip

    root = tmp_path_factory.mktemp("export_options")
    video_a, video_b = root / "arena_a.avi", root / "arena_b.avi"
    render_clip(video_a, n_frames=N_FRAMES, seed=1, n_animals=3, polarity="dark_on_light")
    render_clip(video_b, n_frames=N_FRAMES, seed=2, n_animals=4, polarity="dark_on_light")
    dirs = {k: root / k for k in ("out_all", "out_one", "out_stop")}
    r = run_scenario("export_options", "all_clips_and_stop", tmp_path_factory.mktemp("home_export"),
                     zip_path=str(linux_zip), video_a=str(video_a), video_b=str(video_b),
                     **{k: str(v) for k, v in dirs.items()})
    return dict(r, **dirs)


def test_tracking_and_exports_finish(exported):
    assert exported["track_a"] == exported["track_b"] == exported["all"] == exported["one"] == ["FINISHED"]


def test_all_clips_are_written_one_folder_each(exported):
    out = exported["out_all"]
    assert sorted(p.name for p in out.iterdir()) == ["arena_a", "arena_b"]
    for stem in ("arena_a", "arena_b"):
        assert sorted(p.name for p in (out / stem).iterdir()) == [f"{stem}_run.toml", f"{stem}_summary.csv",
                                                                  f"{stem}_tracks.csv"]
    # each clip's own tracks
    counts = {stem: len({line.split(",")[0] for line in (out / stem / f"{stem}_tracks.csv").read_text().splitlines()[1:]})
              for stem in ("arena_a", "arena_b")}
    assert counts == exported["tracks"] and counts["arena_a"] != counts["arena_b"]


def test_without_all_clips_only_the_active_clip_is_exported(exported):
    assert sorted(p.name for p in exported["out_one"].iterdir()) == ["arena_a_run.toml", "arena_a_summary.csv",
                                                                     "arena_a_tracks.csv"]
    assert (exported["out_one"] / "arena_a_tracks.csv").read_bytes() == \
        (exported["out_all"] / "arena_a" / "arena_a_tracks.csv").read_bytes()


def test_a_stopped_video_export_keeps_complete_files_and_a_shorter_valid_video(exported):
    from omnitrax.video import VideoSource

    assert exported["total"] == N_FRAMES and 0 < exported["done"] < N_FRAMES
    assert exported["more_after_stop"] is False
    assert "stopped: the videos hold frames up to" in exported["stop_line"]
    out = exported["out_stop"]
    assert (out / "arena_a_tracks.csv").read_bytes() == (exported["out_one"] / "arena_a_tracks.csv").read_bytes()
    with VideoSource(out / "arena_a_preview.mp4", min_frames=1) as video:
        assert video.frame_count == exported["done"]
