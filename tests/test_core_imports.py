"""The bpy-free core imports without Blender, and importing the add-on package loads nothing heavy."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import omnitrax

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("omnitrax.tracking", "omnitrax.io", "omnitrax.pose")
CORE_MODULES = ("omnitrax.errors", "omnitrax.resources", "omnitrax.video", "omnitrax.synthetic",
                "omnitrax.cli", "omnitrax.__main__", "omnitrax.batch", "omnitrax.settings_file")


def core_module_names():
    names = [m for m in CORE_MODULES if (ROOT / (m.replace(".", "/") + ".py")).exists()]
    for package in CORE_PACKAGES:
        names.append(package)
        path = ROOT / package.replace(".", "/")
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)])]
    return names


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_core_imports_with_bpy_unavailable():
    names = core_module_names()
    assert len(names) > 5
    # None in sys.modules makes `import bpy` raise ImportError, as on a machine without Blender
    code = ("import sys, importlib; sys.modules['bpy'] = None\n"
            f"for name in {names!r}:\n"
            "    if name.endswith('__main__'): continue\n"
            "    importlib.import_module(name)\n"
            "print('ok', len(sys.modules))")
    proc = run_python(code)
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-3000:]


def test_package_import_is_light():
    proc = run_python("import sys, omnitrax\n"
                      "heavy = [m for m in ('bpy', 'cv2', 'scipy', 'torch', 'tensorflow', 'dlclive') "
                      "if m in sys.modules]\nprint(heavy)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert callable(omnitrax.register) and callable(omnitrax.unregister)
