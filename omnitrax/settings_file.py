"""Settings files: the tracking and pose settings of Blender's OmniTrax panel as TOML or YAML (bpy-free).

A file has two sections whose keys are the Blender property names (= TrackingSettings field names):

    [tracking]                      tracking:
    detector = "background"           detector: background
    max_distance = 40.0               max_distance: 40.0
    [pose]                          pose:
    pose_model_path = "models/dlc"    pose_model_path: models/dlc

Keys may also stand at the top level without a section. Missing keys take the defaults (Blender's).
Enum values are written lower-case; upper-case (as Blender shows them) is accepted. Relative paths
(and Blender's `//` prefix) are resolved against the settings file's folder. Any unknown key is an
error that lists the known ones. The format is chosen by the suffix: .toml, or .yaml / .yml.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from . import settings as schema
from .errors import OmniTraxError
from .files import ensure_folder
from .tracking.settings import TrackingSettings

#: pose settings (Blender property names) and their defaults, as in Blender's panel
POSE_DEFAULTS = schema.defaults(schema.POSE)
TRACKING_DEFAULTS = schema.defaults(schema.TRACKING)
#: settings holding file or folder paths (resolved against the settings file's folder)
PATH_KEYS = tuple(s.name for s in schema.SETTINGS if s.path)
SUFFIXES = (".toml", ".yaml", ".yml")


def _known_names() -> str:
    return ", ".join(sorted((*TRACKING_DEFAULTS, *POSE_DEFAULTS)))


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise OmniTraxError(f"Settings file {path} must end in .toml, .yaml or .yml.")
    return "toml" if suffix == ".toml" else "yaml"


def _resolve(value: str, folder: Path) -> str:
    """A path from a settings file: `//x` and relative paths are taken from the file's folder."""
    if not value:
        return value
    if value.startswith("//"):
        value = value[2:]
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (folder / p).resolve())


def _yaml():
    try:
        import yaml
    except ImportError:  # Blender's own Python has no PyYAML
        raise OmniTraxError("YAML settings files need the PyYAML package, which this Python lacks: use a .toml "
                            "file instead.") from None
    return yaml


def _load(path: Path) -> dict:
    if not path.is_file():
        raise OmniTraxError(f"Settings file {path} not found: check the path.")
    text = path.read_text(encoding="utf-8-sig")
    if _format(path) == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise OmniTraxError(f"Settings file {path} is not valid TOML: {exc}.") from None
    else:
        yaml = _yaml()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = " ".join(str(exc).split())
            raise OmniTraxError(f"Settings file {path} is not valid YAML: {first}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OmniTraxError(f"Settings file {path} must hold sections [tracking] and [pose] of key = value pairs.")
    return data


def _flatten(data: dict, path: Path) -> dict:
    """{name: value} from the sections tracking/pose and top-level keys; unknown names are an error."""
    flat, unknown = {}, []
    for key, value in data.items():
        if key in ("tracking", "pose") and isinstance(value, dict):
            allowed = TRACKING_DEFAULTS if key == "tracking" else POSE_DEFAULTS
            for name, v in value.items():
                if name in allowed:
                    flat[name] = v
                else:
                    unknown.append(f"{key}.{name}")
        elif key in TRACKING_DEFAULTS or key in POSE_DEFAULTS:
            flat[key] = value
        else:
            unknown.append(str(key))
    if unknown:
        raise OmniTraxError(f"Unknown setting(s) {', '.join(unknown)} in {path}. Known: sections [tracking] and "
                            f"[pose] with {_known_names()}.")
    return flat


def read_settings(path) -> tuple[TrackingSettings, dict]:
    """(TrackingSettings, pose dict keyed like POSE_DEFAULTS) from a .toml / .yaml / .yml settings file.

    Every value is checked against the schema (type, range, choices) before anything is returned, so a
    bad file is refused whole, with one line naming the setting.
    """
    path = Path(path)
    flat = _flatten(_load(path), path)
    folder = path.resolve().parent
    values = schema.check_all(flat, str(path))
    for name in PATH_KEYS:
        if name in values:
            values[name] = _resolve(values[name], folder)
    pose = {**POSE_DEFAULTS, **{k: v for k, v in values.items() if k in POSE_DEFAULTS}}
    tracking = TrackingSettings.from_mapping({k: v for k, v in values.items() if k in TRACKING_DEFAULTS},
                                             str(path))
    return tracking, pose


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # the schema refuses nan and inf before anything is written
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid TOML basic strings


def _sections(tracking, pose) -> dict:
    tracking = tracking.to_dict() if isinstance(tracking, TrackingSettings) else dict(tracking or {})
    unknown = sorted(set(tracking) - set(TRACKING_DEFAULTS)) + sorted(set(pose or {}) - set(POSE_DEFAULTS))
    if unknown:
        raise OmniTraxError(f"Unknown setting(s) {', '.join(unknown)}. Known: {_known_names()}.")
    values = schema.check_all({**TRACKING_DEFAULTS, **tracking, **POSE_DEFAULTS, **(pose or {})},
                              "the settings to write")
    return {"tracking": {k: values[k] for k in TRACKING_DEFAULTS}, "pose": {k: values[k] for k in POSE_DEFAULTS}}


def settings_text(tracking, pose: dict | None = None, kind: str = "toml") -> str:
    """The text of a settings file: TOML with each setting's help and range as a comment, or YAML."""
    sections = _sections(tracking, pose)
    header = "# OmniTrax settings (names as in Blender's OmniTrax panel)"
    if kind != "toml":
        return header + "\n" + _yaml().safe_dump(sections, sort_keys=False, allow_unicode=True,
                                                 default_flow_style=False)
    lines = [header]
    for section, values in sections.items():
        lines += ["", f"[{section}]"]
        for name, value in values.items():
            s = schema.BY_NAME[name]
            extra = f" [{s.range_text()}]" if s.min is not None else (
                f" [{' | '.join(s.values)}]" if s.choices else "")
            lines += [f"# {s.help}{extra}", f"{name} = {_toml_value(value)}"]
    return "\n".join(lines) + "\n"


def default_settings_text() -> str:
    """The full default settings file (what `omnitrax settings` prints)."""
    return settings_text(TrackingSettings())


def write_settings(path, tracking, pose: dict | None = None) -> Path:
    """Write tracking (TrackingSettings or dict) and pose settings (dict, defaults filled in) to path.

    The format follows the suffix (.toml, .yaml/.yml). Paths are written as given. Returns the path.
    """
    path = Path(path)
    text = settings_text(tracking, pose, _format(path))
    try:
        ensure_folder(path.parent, what="folder")
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise OmniTraxError(f"Cannot write the settings file {path}: {exc.strerror}.") from None
    return path
