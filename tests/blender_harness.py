"""Run a script in a fresh Python process with the real bpy and a private Blender user folder.

bpy can be imported only once per process and Blender keeps global state, so each Blender test
scenario runs in its own process. The script's last act is `report(obj)`: the harness returns obj.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

_PRELUDE = '''
import json, os, sys
import bpy

def report(obj):
    sys.stdout.write("\\nOMNITRAX_RESULT " + json.dumps(obj) + "\\n")
    sys.stdout.flush()
    os._exit(0)

def install(zip_path):
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}, result
    return sys.modules["bl_ext.user_default.omnitrax"]

def clip_editor(clip):
    """A context override that makes the first area of the window a Clip Editor showing clip."""
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = "CLIP_EDITOR"
    space = area.spaces.active
    space.clip = clip
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, screen=window.screen, area=area, region=region,
                                     space_data=space)
'''


def run_in_blender(script: str, home: Path, timeout: float = 300, env: dict | None = None,
                   keep_extensions: bool = False) -> object:
    """Run `script` (after the prelude above) with HOME=home; return what it report()ed.

    The installed extension (~350 MB with its wheels) is removed afterwards unless keep_extensions is
    set (for a later session in the same home), so the suite's temporary files stay small.
    """
    try:
        return _run(script, home, timeout, env)
    finally:
        if not keep_extensions:
            for folder in (home / ".config" / "blender").glob("*/extensions"):
                shutil.rmtree(folder, ignore_errors=True)


def _run(script: str, home: Path, timeout: float, env: dict | None) -> object:
    home.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ, HOME=str(home), **(env or {}))
    full_env.pop("BLENDER_USER_RESOURCES", None)
    code = _PRELUDE + "\n" + textwrap.dedent(script) + "\nreport(None)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=str(home))
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("OMNITRAX_RESULT "):
            return json.loads(line[len("OMNITRAX_RESULT "):])
    raise AssertionError(f"Blender script failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n"
                         f"{proc.stderr[-4000:]}")
