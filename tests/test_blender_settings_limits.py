"""The panel accepts exactly what the core runs (issue 18): Blender's properties come from the schema, a bad
settings file changes nothing, and every value at the edge of a field tracks (or poses) without a bug report."""
from pathlib import Path

import pytest
from blender_harness import run_in_blender

from omnitrax import settings as schema

SCENE_SETTINGS = [s for s in schema.SETTINGS if s.scene]

SCRIPT = '''
import math
mod = install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
scene = bpy.context.scene
scene.frame_start, scene.frame_end = 1, 2
props = scene.omnitrax
result = {"properties": {}}
for name in NAMES:
    p = props.bl_rna.properties[name]
    entry = {"type": p.type, "default": p.default if p.type != "ENUM" else p.default.lower()}
    if p.type in ("INT", "FLOAT"):
        entry.update(hard_min=p.hard_min, hard_max=p.hard_max)
    if p.type == "ENUM":
        entry["items"] = [i.identifier.lower() for i in p.enum_items]
    if p.type == "STRING":
        entry["subtype"] = p.subtype
        entry["blend_relative"] = bool(getattr(p, "is_path_supports_blend_relative", True))
    result["properties"][name] = entry
export = props.bl_rna.properties["export_dir"]
result["export_dir_relative"] = bool(getattr(export, "is_path_supports_blend_relative", True))

def values():
    return {n: getattr(props, n) for n in NAMES}

def op(fn, **kw):
    with clip_editor(clip):
        try:
            return sorted(fn(**kw)), ""
        except RuntimeError as exc:
            return None, str(exc)

# a settings file with one value out of range is refused whole: nothing changes, nothing is clamped
props.confidence = 0.3
before = values()
result["bad_files"] = {}
for label, path in BAD_FILES.items():
    status, msg = op(bpy.ops.omnitrax.load_settings, filepath=path)
    result["bad_files"][label] = {"status": status, "msg": msg, "unchanged": values() == before}

# every numeric field at its limits runs
result["limits"] = []
for name, detector in LIMIT_CASES:
    p = props.bl_rna.properties[name]
    for value in (p.hard_min, p.hard_max):
        for n in NAMES:
            props.property_unset(n)
        props.detector = detector
        setattr(props, name, value)
        status, msg = op(bpy.ops.omnitrax.track, restart=True)
        result["limits"].append({"name": name, "value": value, "detector": detector, "status": status, "msg": msg})

# poses at the largest region the panel allows, in both region modes
for n in NAMES:
    props.property_unset(n)
props.detector = "YOLO"
props.min_length = 1
result["pose_tracks"] = op(bpy.ops.omnitrax.track, restart=True)
result["pose"] = []
for mode in ("CONSTANT", "BOX"):
    props.pose_roi_mode = mode
    props.pose_roi_size = props.bl_rna.properties["pose_roi_size"].hard_max
    props.pose_padding = props.bl_rna.properties["pose_padding"].hard_max
    status, msg = op(bpy.ops.omnitrax.estimate_poses)
    result["pose"].append({"mode": mode, "status": status, "msg": msg})
props.pose_model_path = "/no/such/pose/model"
result["pose_bad_model"] = op(bpy.ops.omnitrax.estimate_poses)
report(result)
'''

BAD = {
    "huge min_area": "[tracking]\nconfidence = 0.9\nmin_area = 1000000000000\n",
    "confidence 5": "[tracking]\nconfidence = 5.0\n",
    "pose ROI 2": "[pose]\npose_roi_size = 2\n",
    "nan": "[tracking]\nprocess_noise = nan\n",
    "threshold 255": "[tracking]\nthreshold = 255\n",
    "min above max": "[tracking]\nmin_area = 50\nmax_area = 40\n",
}


@pytest.fixture
def sample_clip():
    return Path(__file__).resolve().parents[1] / "data" / "sample" / "ants.avi"


def _limit_cases():
    for s in SCENE_SETTINGS:
        if s.kind in (int, float) and s.group != "pose":
            yield s.name, "YOLO" if s.group == "detection" else "BACKGROUND"


def test_panel_fields_are_the_schema_and_their_limits_run(linux_zip, sample_clip, tmp_path):
    files = {}
    for label, text in BAD.items():
        path = tmp_path / (label.replace(" ", "_") + ".toml")
        path.write_text(text)
        files[label] = str(path)
    names = [s.name for s in SCENE_SETTINGS]
    script = (f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(sample_clip)!r}\nNAMES = {names!r}\n"
              f"BAD_FILES = {files!r}\nLIMIT_CASES = {list(_limit_cases())!r}\n" + SCRIPT)
    r = run_in_blender(script, tmp_path / "home", timeout=900)

    for s in SCENE_SETTINGS:
        p = r["properties"][s.name]
        if s.kind is float:
            assert abs(p["default"] - s.default) < 1e-6 * max(1.0, abs(s.default)), s.name
        else:
            assert p["default"] == s.default, s.name
        if s.kind in (int, float):
            assert abs(p["hard_min"] - s.min) <= 1e-6 * max(1.0, abs(s.min)), (s.name, p)
            assert abs(p["hard_max"] - s.max) <= 1e-6 * max(1.0, abs(s.max)), (s.name, p)
        if s.choices:
            assert p["items"] == list(s.values), s.name
        if s.path:
            assert p["subtype"] == ("FILE_PATH" if s.path == "file" else "DIR_PATH") and p["blend_relative"], s.name
    assert r["export_dir_relative"]

    for label, outcome in r["bad_files"].items():
        assert outcome["status"] is None, label
        msg = outcome["msg"].strip()
        assert "\n" not in msg and "Traceback" not in msg and "ValueError" not in msg, (label, msg)
        assert "out of range" in msg or "finite" in msg or "larger than" in msg, (label, msg)
        assert outcome["unchanged"], label

    assert r["limits"], "no limit cases ran"
    for case in r["limits"]:
        assert case["status"] == ["FINISHED"] or (
            case["status"] is None and "failed (" not in case["msg"] and "Traceback" not in case["msg"]), case
        assert case["status"] == ["FINISHED"], case  # every value the panel accepts tracks
    for case in r["pose"]:
        assert case["status"] == ["FINISHED"], case
    status, msg = r["pose_bad_model"]
    assert status is None and "Tracking" not in msg and "no/such/pose/model" in msg, msg
