"""Build the OmniTrax extension zips (one per platform) with Blender's own builder, and validate them.

Usage: python tools/build_extension.py [--out dist] [--platform linux-x64 ...]

Stages omnitrax/ + blender_manifest.toml + LICENSE + the bundled sample/model (data/) + the wheels the
manifest lists into build/extension/, then runs Blender's `blender_ext.py build --split-platforms` and
`blender_ext.py validate` on each zip. Blender's extension CLI ships inside the bpy package, so this
runs with plain Python (the dev venv). Wheels are downloaded once from PyPI into build/wheels/.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "extension"
WHEEL_CACHE = ROOT / "build" / "wheels"
WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def find_blender_ext() -> Path:
    """Blender's extension command-line tool inside the installed bpy package (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bpy is not installed in this Python; run `make venv` first.")
    bpy_dir = Path(list(spec.submodule_search_locations)[0])
    found = sorted(bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        sys.exit(f"Blender's blender_ext.py was not found under {bpy_dir}")
    return found[-1]


def run(cmd) -> None:
    """Run a build step; stop with its name (its own output is already on screen) if it fails."""
    if subprocess.run(cmd).returncode != 0:
        sys.exit(f"build step failed: {' '.join(str(c) for c in cmd[1:4])} ...")


def fetch_wheel(filename: str) -> Path:
    """Download one wheel named in the manifest, exactly that file, into the cache."""
    target = WHEEL_CACHE / filename
    if target.exists():
        return target
    m = WHEEL_NAME.match(filename)
    if not m:
        sys.exit(f"Not a wheel file name: {filename}")
    name, version = m["name"].replace("_", "-"), m["version"]
    platform = m["plat"].split(".")[0]
    # the wheel's own Python (cp313 -> 3.13); a stable-ABI wheel (cp37-abi3) is fetched as for 3.11,
    # the oldest Python of the Blenders we support
    py = m["py"]
    python_version = "3.11" if m["abi"] == "abi3" else f"{py[2]}.{py[3:]}"
    tmp = WHEEL_CACHE / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", "--platform", platform,
           "--dest", str(tmp), f"{name}=={version}"]
    run(cmd)
    got = tmp / filename
    if not got.exists():
        sys.exit(f"pip did not deliver {filename}; got {[p.name for p in tmp.iterdir()]}")
    got.replace(target)
    return target


def stage(manifest: dict) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "omnitrax", STAGE, ignore=ignore)
    shutil.copy2(ROOT / "blender_manifest.toml", STAGE / "blender_manifest.toml")
    shutil.copy2(ROOT / "LICENSE", STAGE / "LICENSE")
    for sub in ("sample", "models"):
        src = ROOT / "data" / sub
        if src.is_dir():
            shutil.copytree(src, STAGE / "data" / sub, ignore=ignore)
    (STAGE / "wheels").mkdir()
    for rel in manifest.get("wheels", []):
        shutil.copy2(fetch_wheel(Path(rel).name), STAGE / "wheels" / Path(rel).name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "dist"), help="output folder for the zips")
    args = ap.parse_args(argv)

    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    cli = find_blender_ext()
    stage(manifest)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{manifest['id']}-*.zip"):
        old.unlink()
    run([sys.executable, str(cli), "build", "--source-dir", str(STAGE), "--output-dir", str(out),
         "--split-platforms"])
    zips = sorted(out.glob(f"{manifest['id']}-{manifest['version']}-*.zip"))
    expected = len(manifest["platforms"])
    if len(zips) != expected:
        sys.exit(f"expected {expected} zips, built {[z.name for z in zips]}")
    for z in zips:
        run([sys.executable, str(cli), "validate", str(z)])
        print(f"built and validated {z.relative_to(ROOT) if z.is_relative_to(ROOT) else z} "
              f"({z.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
