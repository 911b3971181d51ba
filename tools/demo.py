"""`make demo`: build the extension, install it into Blender (bpy) and show what it registers.

Runs in a private Blender user folder under demo_output/, so your own Blender setup is untouched.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from blender_harness import run_in_blender  # noqa: E402

OUT = ROOT / "demo_output"

SCRIPT = '''
mod = install(ZIP)
panels = sorted(n for n in dir(bpy.types) if n.startswith("OMNITRAX_PT"))
ops = sorted("omnitrax." + n for n in dir(bpy.ops.omnitrax))
clip_info = None
if os.path.exists(SAMPLE):
    clip = bpy.data.movieclips.load(SAMPLE)
    clip_info = [clip.name, clip.size[0], clip.size[1], clip.frame_duration]
    bpy.ops.wm.save_as_mainfile(filepath=BLEND)
report({"panels": panels, "operators": ops, "clip": clip_info})
'''


def main() -> int:
    OUT.mkdir(exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_extension.py"), "--out", str(ROOT / "dist")],
                   check=True, stdout=subprocess.DEVNULL)
    zip_path = next((ROOT / "dist").glob("omnitrax-*-linux_x64.zip"))
    sample = ROOT / "data" / "sample" / "ants.avi"
    blend = OUT / "omnitrax_demo.blend"
    result = run_in_blender(f"ZIP = {str(zip_path)!r}\nSAMPLE = {str(sample)!r}\nBLEND = {str(blend)!r}\n"
                            + SCRIPT, OUT / "blender_home")
    print(f"Installed {zip_path.name} into Blender (bpy 5.0.1)")
    print("Panels (Movie Clip Editor > toolbar (T) > tab 'OmniTrax'):", ", ".join(result["panels"]))
    print("Operators:", ", ".join(result["operators"]))
    if result["clip"]:
        name, w, h, n = result["clip"]
        print(f"Loaded sample clip {name} ({w}x{h}, {n} frames) and saved {blend.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
