"""Run a scenario function from tests/blender_scenarios/ in a fresh Python process with the real bpy.

bpy can be imported only once per process and Blender keeps global state, so each Blender test scenario
runs in its own process, with HOME set to a private folder (the extension zip is installed into that
home's Blender user folder). See tests/blender_scenarios/__init__.py for how to write a Blender test.

    result = run_scenario("tracking", "restart_and_export", home, zip_path=str(linux_zip), ...)

starts `sys.executable` on a small bootstrap that imports `blender_scenarios.tracking` from this folder,
calls `restart_and_export(**params)` (params travel as JSON in a file) and prints the function's return
value as one `OMNITRAX_RESULT <json>` line, which is what run_scenario returns. If the scenario raises
(an `assert` in it, or any exception), run_scenario raises AssertionError with the scenario's own
message and traceback (file and line numbers of the scenario file).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parent
RESULT = "OMNITRAX_RESULT "
ERROR_BEGIN, ERROR_END = "OMNITRAX_SCENARIO_ERROR_BEGIN", "OMNITRAX_SCENARIO_ERROR_END"

# Runs in the bpy process: argv = [tests folder, scenario module, function, params file].
# os._exit after flushing: bpy hangs or segfaults at a normal interpreter exit.
_BOOTSTRAP = f'''
import json, os, sys, traceback
tests, module, function, params_file = sys.argv[1:5]
sys.path.insert(0, tests)
try:
    with open(params_file) as f:
        params = json.load(f)
    import importlib
    scenario = importlib.import_module("blender_scenarios." + module)
    result = getattr(scenario, function)(**params)
    line = {RESULT!r} + json.dumps(result)
except BaseException as exc:
    error = {{"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}}
    sys.stdout.write("\\n{ERROR_BEGIN}\\n" + json.dumps(error) + "\\n{ERROR_END}\\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
sys.stdout.write("\\n" + line + "\\n")
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
'''


def run_scenario(module: str, function: str, home: Path, timeout: float = 300, env: dict | None = None,
                 keep_extensions: bool = False, python: str | None = None, **params) -> object:
    """Run blender_scenarios.<module>.<function>(**params) in bpy with HOME=home; return its result.

    python: the interpreter whose bpy runs it (default this one; the compatibility tests pass the
    Python of another Blender's venv).
    params must be JSON-able: paths as strings, arrays as lists. The installed extension (~350 MB with
    its wheels) is removed afterwards unless keep_extensions is set (for a later session in the same
    home), so the suite's temporary files stay small.
    """
    if not (TESTS / "blender_scenarios" / f"{module}.py").is_file():
        raise FileNotFoundError(f"no scenario module tests/blender_scenarios/{module}.py")
    home = Path(home)
    try:
        return _run(module, function, home, timeout, env, params, python or sys.executable)
    finally:
        if not keep_extensions:
            for folder in (home / ".config" / "blender").glob("*/extensions"):
                shutil.rmtree(folder, ignore_errors=True)


def _run(module: str, function: str, home: Path, timeout: float, env: dict | None, params: dict,
         python: str) -> object:
    home.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ, HOME=str(home), **(env or {}))
    full_env.pop("BLENDER_USER_RESOURCES", None)
    params_file = home / f".omnitrax_scenario_{uuid.uuid4().hex}.json"
    params_file.write_text(json.dumps(params))
    try:
        proc = subprocess.run([python, "-c", _BOOTSTRAP, str(TESTS), module, function, str(params_file)],
                              capture_output=True, text=True, timeout=timeout, env=full_env, cwd=str(home))
    finally:
        params_file.unlink(missing_ok=True)
    lines = proc.stdout.splitlines()
    if ERROR_BEGIN in lines and ERROR_END in lines:
        start = len(lines) - 1 - lines[::-1].index(ERROR_BEGIN)
        error = json.loads("\n".join(lines[start + 1:lines.index(ERROR_END, start)]))
        message = error["message"] or "(no message)"
        raise AssertionError(f"{message}\n\n{module}.{function} raised {error['type']} inside Blender:\n"
                             f"{error['traceback']}")
    for line in reversed(lines):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise AssertionError(f"Blender scenario {module}.{function} died without a result (exit {proc.returncode}):\n"
                         f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
