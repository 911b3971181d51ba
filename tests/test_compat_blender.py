"""The linux zip on every Blender Python we support (issue 17): Blender 4.2 LTS (Python 3.11, numpy 1.26)
and 5.2 LTS (Python 3.13, numpy 2.5.5), each from its own venv made by `make venv42` / `make venv52` (bpy and numpy only, as in Blender).
The whole suite runs on bpy 5.0.1; this is the part that proves the others install and track."""
from pathlib import Path

import pytest

from blender_harness import run_scenario

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "ants.avi"
BLENDERS = {"4.2": (ROOT / ".venv42" / "bin" / "python", "3.11", "1.26"),
            "5.2": (ROOT / ".venv52" / "bin" / "python", "3.13", "2.")}


@pytest.fixture(scope="module", params=sorted(BLENDERS))
def blender(request, linux_zip, tmp_path_factory):
    python, py_version, numpy_version = BLENDERS[request.param]
    if not python.is_file():
        pytest.fail(f"{python} is missing: run `make venv42 venv52` (make test does)")
    root = tmp_path_factory.mktemp(f"blender{request.param}")
    result = run_scenario("compat", "track_continue_export", root / "home", timeout=600, python=str(python),
                          zip_path=str(linux_zip), video=str(SAMPLE), out_dir=str(root / "out"))
    return request.param, py_version, numpy_version, result


def test_it_is_the_blender_python_and_numpy_we_mean(blender):
    version, py_version, numpy_version, r = blender
    assert r["blender"].startswith(version) and r["python"].startswith(py_version)
    assert r["numpy"].startswith(numpy_version)


def test_the_extension_brings_its_own_scipy_and_opencv_for_that_python(blender):
    _, _, _, r = blender
    assert r["scipy_from_extension"] and r["cv2"].startswith("4.11")


def test_the_sample_tracks_from_the_operator(blender):
    _, _, _, r = blender
    assert r["track"] == ["FINISHED"] and 20 <= r["tracks"] <= 35, r


def test_continue_keeps_the_past_and_export_writes_the_csv(blender):
    _, _, _, r = blender
    assert r["continue"] == ["FINISHED"] and r["continue_kept_past"]
    assert r["export"] == ["FINISHED"] and "ants_tracks.csv" in r["exported"]


def test_the_add_on_disables_cleanly(blender):
    _, _, _, r = blender
    assert r["disabled"] and r["unregistered"]
