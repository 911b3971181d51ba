"""Class names per marker frame and real units in Blender: track with a two-class model whose class changes
with the frame's brightness, Set Scale from two reference markers, export, save, reload, export again."""
import pytest

from blender_harness import run_scenario
from class_clips import bright, brightness_model, disc_video

RULER = [(50.0, 20.0), (250.0, 20.0)]  # 200 px apart = 20 mm: 10 px per mm


@pytest.fixture(scope="module")
def run(linux_zip, tmp_path_factory):
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("units_classes")
    video = disc_video(root / "discs.avi")
    model = brightness_model(root / "bright.onnx")
    names = root / "castes.names"
    names.write_text("worker\nsoldier\n")
    return run_scenario("units_classes", "classes_and_scale", tmp_path_factory.mktemp("home_units"),
                        zip_path=str(linux_zip), video=str(video), model=str(model), names=str(names),
                        out1=str(root / "out1"), out2=str(root / "out2"), blend=str(root / "discs.blend"),
                        ruler_px=RULER, ruler_length=20.0)


def test_tracking_and_export_finish(run):
    assert run["track"] == run["set_scale"] == run["export"] == ["FINISHED"]


def test_set_scale_measures_px_per_unit_from_the_two_markers(run):
    assert run["scale"] == pytest.approx(10.0, abs=1e-4)
    assert run["scale_after_reload"] == pytest.approx(10.0, abs=1e-4)
    assert run["tracks_left"] == ["track_0", "track_1"]  # the reference tracks deleted, the animals kept


def test_set_scale_without_two_selected_tracks_is_one_line(run):
    assert "Select exactly two tracks" in run["no_selection"] and "(0 selected)" in run["no_selection"]


def test_the_class_is_kept_per_marker_frame(run):
    rows = [r for r in run["first"]["tracks"] if r["track"] in ("0", "1")]
    assert len(rows) == 2 * 60
    for r in rows:
        assert int(r["class"]) == (0 if bright(int(r["frame"])) else 1)


def test_class_names_reach_the_classes_file_the_summary_and_the_legacy_files(run):
    first = run["first"]
    assert [(r["id"], r["name"]) for r in first["classes"]] == [("0", "worker"), ("1", "soldier")]
    # 60 frames: 30 bright (worker), 30 dark (soldier); a tie goes to the lowest id
    assert {r["class"] for r in first["summary"] if r["name"] != "walker"} == {"worker"}
    for name in ("track_0", "track_1"):
        rows = first["legacy"][name]
        assert len(rows) == 60
        for r in rows:
            blender_frame = int(r["frame"])  # the clip starts at scene frame 1
            assert r["class"] == ("worker" if bright(blender_frame - 1) else "soldier")


def test_summary_speeds_are_in_mm_per_s(run):
    rows = {r["name"]: r for r in run["first"]["summary"]}
    assert float(rows["walker"]["mean_speed_px_per_s"]) == pytest.approx(100.0, abs=0.01)
    assert float(rows["walker"]["mean_speed_mm_per_s"]) == pytest.approx(10.0, abs=0.001)
    assert float(rows["walker"]["distance_mm"]) == pytest.approx(4 * 29 / 10, abs=0.001)
    assert float(rows["track_0"]["mean_speed_mm_per_s"]) == pytest.approx(0.0, abs=0.01)  # the model's boxes stand


def test_save_and_reload_keeps_the_classes_and_names(run):
    assert run["after_reload"] == run["first"]
