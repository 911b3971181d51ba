"""The run log written beside exports: what ran, on what, when, with which versions, and the settings.

`<stem>_run.toml` is a settings file (`--settings` / *Load Settings* read it back, so the result can be
reproduced) whose comment lines say the date, the program and package versions, the input and its
frame range, and what detected the animals.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import platform
from pathlib import Path

from ..files import writing

#: packages whose versions decide the results (those not installed are listed as such)
PACKAGES = ("numpy", "opencv-python-headless", "scipy", "onnxruntime", "onnxruntime-gpu", "onnxruntime-directml",
            "deeplabcut-live", "tensorflow-cpu", "tensorflow", "torch")


def omnitrax_version() -> str:
    """The version of this OmniTrax (the extension manifest's, else the installed package's)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "blender_manifest.toml", here.parents[2] / "blender_manifest.toml"):
        if candidate.is_file():
            for line in candidate.read_text(encoding="utf-8").splitlines():
                if line.startswith("version"):
                    return line.split("=", 1)[1].strip().strip('"')
    try:
        return importlib.metadata.version("omnitrax")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def versions() -> list[str]:
    """'name version' for each installed package of PACKAGES, in that order."""
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def write_run_log(path, tracking, pose: dict | None = None, *, source: str = "", frames: str = "",
                  detector: str = "", host: str = "") -> Path:
    """Write the run log (a loadable settings file with a commented header) to `path`."""
    from ..settings_file import settings_text

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    header = [f"# OmniTrax {omnitrax_version()} run log, {now}",
              f"# ran in: {host or 'omnitrax command'}; Python {platform.python_version()} on {platform.platform()}",
              f"# packages: {', '.join(versions())}"]
    if source:
        header.append(f"# input: {source}" + (f", frames {frames}" if frames else ""))
    if detector:
        header.append(f"# detector: {detector}")
    header.append("# Load these settings with --settings FILE (or Load Settings in Blender) to run it again.")
    with writing(path) as path, open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header) + "\n" + settings_text(tracking, pose))
    return path
