"""Benchmark: pose crops per second, one batched predict call vs one DLC-Live get_pose per crop.

For 1, 10 and 50 animals (crops of CROP px, BGR uint8, random content) on two TensorFlow models built
offline (tests/pose_models.py): "tiny" (the 3-joint test model, stride 1, 2 convolutions) and
"random" (6 random-weight 3x3 convolutions of 32 channels, stride 8; per-pixel cost of a small
MobileNet-like head); and, when timm is installed, "resnet18" (a DeepLabCut 3 PyTorch model with a
random-weight timm ResNet-18 backbone, on the CPU). Each figure is the best of REPEATS timed calls
(the least disturbed by other processes) after one warm-up call.
Both paths run the same DLC-Live session settings in the same process.

Run: .venv/bin/python tools/bench_pose.py [--crop 96] [--threads N]  (about 30 s)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from omnitrax.pose.model import PoseModel  # noqa: E402
from pose_models import random_model, spot_model, torch_model  # noqa: E402

ANIMALS = (1, 10, 50)
REPEATS = 9


def crops_per_second(model: PoseModel, crops: np.ndarray) -> float:
    model.predict(crops)  # warm-up
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        model.predict(crops)
        times.append(time.perf_counter() - t)
    return len(crops) / float(np.min(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, default=96, help="crop size in pixels")
    parser.add_argument("--threads", type=int, default=1,
                        help="network CPU threads (default 1: stable timings on a shared machine; 0 = library default)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        from omnitrax import resources

        folders = {"tiny": spot_model(Path(tmp) / "tiny"), "random": random_model(Path(tmp) / "random"),
                   "ants": resources.default_pose_model()}  # the bundled ant model
        try:
            import timm  # noqa: F401

            folders["resnet18"] = torch_model(Path(tmp) / "resnet18")
        except ImportError:
            print("timm not installed: no PyTorch rows")
        print(f"crops of {args.crop}x{args.crop} px, best of {REPEATS} calls, threads: "
              f"{args.threads or 'library default'}")
        print(f"{'model':>8} {'animals':>8} {'per-crop crops/s':>17} {'batched crops/s':>16} {'speedup':>8}")
        for name, folder in folders.items():
            device = {"device": "cpu"} if name == "resnet18" else {}
            batched = PoseModel.load(folder, threads=args.threads, **device)
            single = PoseModel.load(folder, batching=False, threads=args.threads, **device)
            assert batched.batched and not single.batched
            for n in ANIMALS:
                crops = rng.integers(0, 256, (n, args.crop, args.crop, 3), dtype=np.uint8)
                a = crops_per_second(single, crops)
                b = crops_per_second(batched, crops)
                print(f"{name:>8} {n:>8} {a:>17.0f} {b:>16.0f} {b / a:>7.2f}x")
            batched.close()
            single.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
