"""The manifest's wheels serve every Blender Python we support (issue 17): per platform, each package has
exactly one wheel that installs on Python 3.11 and one on 3.13, judged the way Blender's own installer
(bl_pkg, 4.2.13+) picks wheels: platform tag, then the Python tag, or a stable-ABI (abi3) wheel for any
newer Python. Reads blender_manifest.toml only; nothing is built."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
PLATFORM_SUFFIX = {"linux-x64": "x86_64", "windows-x64": "win_amd64", "macos-arm64": "arm64",
                   "macos-x64": "x86_64"}
PLATFORM_PREFIX = {"linux-x64": "manylinux", "windows-x64": "win", "macos-arm64": "macosx",
                   "macos-x64": "macosx"}
WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-cp(?P<py>\d+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def _installs(filename: str, platform: str, python: tuple[int, int]) -> bool:
    m = WHEEL.match(filename)
    assert m, f"not a CPython wheel name: {filename}"
    tags = m["plat"].split(".")
    if not any(t.startswith(PLATFORM_PREFIX[platform]) and t.endswith(PLATFORM_SUFFIX[platform]) for t in tags):
        return False
    tag = (int(m["py"][0]), int(m["py"][1:]))
    return tag == python or (m["abi"] == "abi3" and tag <= python)


@pytest.mark.parametrize("python", [(3, 11), (3, 13)])
@pytest.mark.parametrize("platform", MANIFEST["platforms"])
def test_one_wheel_per_package_for_each_blender_python(platform, python):
    names = {WHEEL.match(Path(w).name)["name"] for w in MANIFEST["wheels"]}
    chosen = [Path(w).name for w in MANIFEST["wheels"] if _installs(Path(w).name, platform, python)]
    assert sorted(WHEEL.match(w)["name"] for w in chosen) == sorted(names), (platform, python, chosen)


def test_version_range_covers_the_lts_releases_but_not_blender_4_2_0():
    # 4.2.0's installer ignores Python tags and would put the cp313 scipy on Python 3.11
    assert MANIFEST["blender_version_min"] == "4.2.13"
    major, minor, _ = (int(x) for x in MANIFEST["blender_version_max"].split("."))
    assert (major, minor) > (5, 2)
