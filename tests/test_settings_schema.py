"""The settings schema (omnitrax.settings): property-based tests of its checks, the settings-file reader and
the command line, and a run of the pipeline at every setting's limits.

The contract (issue 18): any value the panel, a settings file or the CLI accepts runs; any other is refused
with one clear line, before any work starts.
"""
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from omnitrax import settings as schema
from omnitrax.errors import OmniTraxError
from omnitrax.settings_file import read_settings
from omnitrax.tracking.settings import TrackingSettings

NUMERIC = [s for s in schema.SETTINGS if s.kind in (int, float)]
CHOICE = [s for s in schema.SETTINGS if s.choices]


def accepted(s):
    """A strategy of values the setting accepts (its panel field lets the user enter)."""
    if s.kind is bool:
        return st.booleans()
    if s.choices:
        return st.sampled_from(s.values).flatmap(lambda v: st.sampled_from([v, v.upper(), v.title()]))
    if s.kind is int:
        top = int(s.max) if s.max is not None else 10**9
        values = st.integers(int(s.min), top)
        if s.multiple_of:
            values = st.integers(int(math.ceil(s.min / s.multiple_of)), top // s.multiple_of).map(
                lambda k: k * s.multiple_of)
        return values
    if s.kind is float:
        return st.floats(s.min, s.max if s.max is not None else 1e9, allow_nan=False)
    return st.text(max_size=30)


def refused(s):
    """A strategy of values the setting must refuse."""
    bad = st.sampled_from([float("nan"), float("inf"), -float("inf"), "12", None, [1]])
    if s.kind is bool:
        return st.sampled_from([0, 1, "yes", None, 1.0])
    if s.choices:
        return st.text(max_size=12).filter(lambda t: t.lower() not in s.values) | st.integers()
    if s.kind in (int, float):
        outside = st.floats(-1e15, s.min, exclude_max=True, allow_nan=False)
        if s.max is not None:
            outside |= st.floats(s.max, 1e15, exclude_min=True, allow_nan=False)
        if s.kind is int:
            outside |= st.floats(s.min + 0.1, (s.max or 1e6) - 0.1).filter(lambda v: v != int(v))
        return outside | bad
    return st.integers() | st.floats() | st.lists(st.text(), min_size=1)


def _one_line(exc: Exception, name: str) -> bool:
    text = str(exc)
    return "\n" not in text and name in text and "Traceback" not in text


@pytest.mark.parametrize("s", schema.SETTINGS, ids=lambda s: s.name)
@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_accepted_value_is_kept_and_every_other_refused_in_one_line(s, data):
    value = data.draw(accepted(s))
    got = s.check(value)
    assert type(got) is s.kind
    if s.kind in (int, float):
        assert got == value and s.min <= got <= (s.max if s.max is not None else math.inf)
    elif s.choices:
        assert got == value.lower()
    bad = data.draw(refused(s))
    if s.kind is str and not s.choices and bad is None:
        return  # None means "empty" for paths (YAML's `key:`)
    with pytest.raises(OmniTraxError) as info:
        s.check(bad, "settings.toml")
    assert _one_line(info.value, s.name), str(info.value)
    assert "settings.toml" in str(info.value)


def test_min_above_max_is_refused_wherever_it_comes_from(tmp_path):
    with pytest.raises(OmniTraxError, match="min_area = 50 is larger than max_area = 40"):
        TrackingSettings(min_area=50, max_area=40)
    (tmp_path / "s.toml").write_text("[tracking]\nmin_box = 30\nmax_box = 20\n")
    with pytest.raises(OmniTraxError, match="min_box = 30 is larger than max_box = 20"):
        read_settings(tmp_path / "s.toml")
    assert TrackingSettings(min_area=50, max_area=0).min_area == 50  # 0: no limit


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[1]"


def _file_values():
    """Strategy: {name: value} for a handful of settings, each value accepted or not."""
    def one(s):
        return (accepted(s) | refused(s)).filter(
            lambda v: v is not None and not (isinstance(v, str) and any(ord(c) < 32 for c in v)))

    return st.lists(st.sampled_from([s for s in schema.SETTINGS if not s.path]), min_size=1, max_size=6,
                    unique_by=lambda s: s.name).flatmap(
        lambda chosen: st.fixed_dictionaries({s.name: one(s) for s in chosen}))


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_file_values())
def test_a_settings_file_loads_exactly_as_written_or_is_refused_in_one_line(tmp_path, values):
    path = tmp_path / "s.toml"
    lines = ["[tracking]"] + [f"{k} = {_toml(v)}" for k, v in values.items() if schema.BY_NAME[k].group != "pose"]
    lines += ["[pose]"] + [f"{k} = {_toml(v)}" for k, v in values.items() if schema.BY_NAME[k].group == "pose"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:  # what the file means: the defaults, with its values on top
        expected = schema.check_all({**schema.defaults(), **values})
    except OmniTraxError:
        expected = None
    if expected is None:
        with pytest.raises(OmniTraxError) as info:
            read_settings(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        return
    tracking, pose = read_settings(path)
    got = {**tracking.to_dict(), **pose}
    for name, value in expected.items():
        assert got[name] == value, name  # nothing clamped, nothing rounded


def _run(settings: TrackingSettings, video, frames: int = 2):
    from omnitrax.tracking.pipeline import TrackingRun

    run = TrackingRun(settings, video_path=str(video), start=0, stop=frames)
    try:
        run.run()
        return run.result()
    finally:
        run.close()


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    from omnitrax.testclips import render_clip

    path = tmp_path_factory.mktemp("schema") / "tiny.avi"
    render_clip(path, n_frames=6, seed=3, n_animals=4, width=160, height=120)
    return path


def _limit_cases():
    for s in NUMERIC:
        if s.group == "pose":
            continue
        for value in (s.min, s.max):
            detectors = ("yolo", "background") if s.group in ("detection", "tracker") else ("background",)
            for detector in detectors:
                yield pytest.param(s.name, value, detector, id=f"{s.name}={value:g}-{detector}")


@pytest.mark.parametrize("name,value,detector", list(_limit_cases()))
def test_the_pipeline_runs_at_every_limit_the_panel_accepts(tiny_video, name, value, detector):
    values = {"detector": detector, name: value}
    if name == "min_area":
        values["max_area"] = 0
    if name == "min_box":
        values["max_box"] = 0
    tracks = _run(TrackingSettings.from_mapping(values), tiny_video)
    assert np.isfinite(tracks.x).all() and np.isfinite(tracks.y).all()


@hyp_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_accepted_combination_runs(tiny_video, data):
    values = {s.name: data.draw(accepted(s)) for s in schema.TRACKING
              if not s.path and s.name not in ("network_size", "backend", "runtime")}  # machine settings
    values["network_size"] = data.draw(st.sampled_from([32, 64, 160, 416]))
    if values["max_area"] and values["min_area"] > values["max_area"]:
        values["min_area"], values["max_area"] = values["max_area"], values["min_area"]
    if values["max_box"] and values["min_box"] > values["max_box"]:
        values["min_box"], values["max_box"] = values["max_box"], values["min_box"]
    tracks = _run(TrackingSettings.from_mapping(values), tiny_video, frames=3)
    assert len(tracks) == 0 or tracks.frame.max() < 3


@pytest.mark.parametrize("flag,value,words", [
    ("--min-area", "1000000000000", "min_area = 1000000000000 is out of range"),
    ("--confidence", "5", "confidence = 5.0 is out of range: use 0 to 1"),
    ("--threshold", "255", "threshold = 255 is out of range: use 0 to 254"),
    ("--process-noise", "0", "process_noise = 0.0 is out of range"),
    ("--max-distance", "nan", "max_distance = nan is not a finite number"),
    ("--min-length", "2.5", "min_length = 2.5 must be a whole number"),
    ("--size", "500", "multiple of 32"),
])
def test_the_cli_refuses_what_the_panel_refuses_before_any_work(tmp_path, flag, value, words):
    proc = subprocess.run([sys.executable, "-m", "omnitrax", "track", "no_such_video.avi", "--out", str(tmp_path),
                           flag, value], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("omnitrax: error:") and words in lines[0], proc.stderr
    assert "no_such_video" not in proc.stderr  # refused before the video is even looked at


def test_one_pose_roi_default_for_every_entry_point():
    from omnitrax.cli import build_parser
    from omnitrax.pose.estimate import DEFAULT_PADDING, DEFAULT_ROI_SIZE
    from omnitrax.settings_file import POSE_DEFAULTS

    args = build_parser().parse_args(["pose", "v.avi", "--model", "m", "--out", "o"])
    assert (args.roi_size, args.padding, args.roi_mode) == (96, 10, "constant")
    assert (DEFAULT_ROI_SIZE, DEFAULT_PADDING) == (96, 10)
    assert (POSE_DEFAULTS["pose_roi_size"], POSE_DEFAULTS["pose_padding"]) == (96, 10)


def test_omnitrax_settings_prints_exactly_the_defaults_that_batch_reads(tmp_path):
    from omnitrax.batch import settings_hash
    from omnitrax.settings_file import POSE_DEFAULTS

    proc = subprocess.run([sys.executable, "-m", "omnitrax", "settings"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "defaults.toml"
    path.write_text(proc.stdout)
    tracking, pose = read_settings(path)  # what `batch --settings` reads
    assert tracking == TrackingSettings() and pose == POSE_DEFAULTS
    assert settings_hash(tracking, pose) == settings_hash(TrackingSettings(), dict(POSE_DEFAULTS))
    names = [line.split(" = ")[0] for line in proc.stdout.splitlines() if " = " in line and not line.startswith("#")]
    assert names == [s.name for s in schema.SETTINGS]  # every setting, once, in the schema's order
    written = tmp_path / "written.toml"
    assert subprocess.run([sys.executable, "-m", "omnitrax", "settings", "--out", str(written)],
                          capture_output=True, timeout=120).returncode == 0
    assert written.read_text() == proc.stdout


def test_the_installed_command_works_from_any_folder(tmp_path):
    from pathlib import Path

    exe = Path(sys.executable).with_name("omnitrax")
    assert exe.is_file(), "make venv installs the project (pip install -e .), which makes bin/omnitrax"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "track" in proc.stdout and "settings" in proc.stdout, proc.stderr
    proc = subprocess.run([str(exe), "track", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Give a VIDEO" in proc.stderr
