"""The house rules, checked by reading the code: only the Blender layer imports bpy, the core imports
without Blender, importing the add-on loads nothing heavy, imports run only down the layers, no module
imports itself in a circle, and each package's public names resolve without loading the package whole."""
import ast
import subprocess
import sys
from pathlib import Path

import omnitrax

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "omnitrax"
#: the only places outside omnitrax/blender/ that may import bpy (the product card fixes them at the top)
BPY_OUTSIDE_BLENDER = {"omnitrax/__init__.py", "omnitrax/ui_panels.py"}


def modules():
    """{dotted module name: path} of every module under omnitrax/."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, top_level_only: bool = False):
    """Absolute names this module imports (relative imports resolved); with top_level_only, only the
    imports that run when the module is imported (not those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append(module)
            found += [f"{module}.{a.name}" for a in node.names]  # `from . import x` imports module x
    return found


def test_only_the_blender_layer_imports_bpy():
    offenders = []
    for name, path in modules().items():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("omnitrax/blender/") or rel in BPY_OUTSIDE_BLENDER:
            continue
        if any(m == "bpy" or m.startswith(("bpy.", "bpy_extras", "gpu", "blf", "mathutils")) for m in imports(name, path)):
            offenders.append(rel)
    assert offenders == [], f"modules outside omnitrax/blender/ that import bpy: {offenders}"
    assert len(modules()) > 40


def test_no_import_cycle_inside_omnitrax():
    """Every import counts, also those inside functions: a lazy cycle is still a tangle."""
    mods = modules()
    graph = {name: sorted({m for m in imports(name, path) if m in mods and m != name})
             for name, path in mods.items()}
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == "open":
                cycle = stack[stack.index(m):] + [m]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)


#: the layers, lowest first, by the first name under omnitrax ("" is omnitrax/__init__.py). A module imports
#: from its own package or from a lower layer; only the ground floor's modules import each other freely
LAYERS = [{"errors", "settings", "files", "ahead", "video", "resources", "lazy"}, {"detection", "packages"},
          {"tracking"}, {"identity", "pose", "settings_file"}, {"io"}, {"batch", "testclips"}, {"cli", "blender"},
          {"ui_panels"}, {"", "__main__"}]


def test_imports_run_down_the_layers():
    """Every import counts, also those inside functions: the core never reaches up into the CLI or the
    Blender layer, detection never into tracking, tracking never into io, and the two front ends (cli,
    blender) never into each other."""
    layer = {unit: i for i, units in enumerate(LAYERS) for unit in units}

    def unit(name):
        return name.split(".")[1] if "." in name else ""

    mods = modules()
    assert {unit(n) for n in mods} <= set(layer), f"put these in LAYERS: {sorted({unit(n) for n in mods} - set(layer))}"
    upward = []
    for name, path in mods.items():
        for m in imports(name, path):
            if m not in mods or m == "omnitrax" or unit(m) == unit(name):  # `from .. import x`: the module x counts
                continue
            low, high = layer[unit(m)], layer[unit(name)]
            if not (low < high or low == high == 0):
                upward.append(f"{name} -> {m}")
    assert upward == [], f"imports that do not run down the layers: {upward}"


PACKAGES_WITH_API = ("omnitrax.detection", "omnitrax.tracking", "omnitrax.identity", "omnitrax.packages",
                     "omnitrax.testclips")


def test_each_package_names_its_api_and_imports_it_on_first_use():
    code = ("import sys, importlib\n"
            "heavy = ('cv2', 'scipy', 'torch', 'tensorflow', 'dlclive', 'onnxruntime')\n"
            f"packages = [importlib.import_module(n) for n in {PACKAGES_WITH_API!r}]\n"
            "print([m for m in heavy if m in sys.modules])\n"
            "for p in packages:\n"
            "    assert p.__all__ == sorted(p.__all__) and p.__doc__, p.__name__\n"
            "    for name in p.__all__:\n"
            "        obj = getattr(p, name)\n"
            "        assert obj.__module__.startswith(p.__name__ + '.'), (p.__name__, name, obj.__module__)\n"
            "        assert name in dir(p)\n"
            "    try:\n"
            "        getattr(p, 'no_such_name')\n"
            "    except AttributeError:\n"
            "        pass\n"
            "    else:\n"
            "        raise AssertionError(p.__name__)\n"
            "print('ok')")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["[]", "ok"]


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_core_imports_with_bpy_unavailable():
    names = [n for n, p in modules().items() if not n.startswith("omnitrax.blender")
             and p.relative_to(ROOT).as_posix() not in BPY_OUTSIDE_BLENDER - {"omnitrax/__init__.py"}
             and not n.endswith("__main__")]
    assert len(names) > 30
    # None in sys.modules makes `import bpy` raise ImportError, as on a machine without Blender
    code = ("import sys, importlib; sys.modules['bpy'] = None\n"
            f"for name in {names!r}:\n"
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
