"""Install the add-on's pose-package set for THIS Python (as the preferences button does) and run the bundled
ant pose model on the sample with it: proves the set works for a Blender Python (issue 17).

    .venv313/bin/python tools/check_pose_packages.py --target /tmp/pose313  # Blender 5.2: Python 3.13, numpy 2.5
    .venv/bin/python tools/check_pose_packages.py --target /tmp/pose311    # Blender 4.2-5.0: Python 3.11

Run it with a Python that has Blender's numpy plus OpenCV and SciPy (which the extension zip brings); the install takes
minutes and several GB (torch's CUDA wheels on Linux). Prints the versions imported (numpy must be the
interpreter's own, not one from the target) and the median keypoint error against the sample's truth.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from omnitrax.packages import install, requirements

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, help="folder to install into (kept for reruns)")
    p.add_argument("--frames", type=int, default=10, help="sample frames to estimate")
    args = p.parse_args()
    chosen = requirements.pose_package_set()
    if chosen.unsupported:
        print(chosen.unsupported)
        return 1
    target = install.target_dir(args.target)
    if not target.is_dir():
        t0 = time.time()
        job = install.PipInstall(chosen.requirements, target, extra_args=chosen.pip_args,
                                 expected_distributions=chosen.expected_distributions)
        while job.poll() == install.RUNNING:
            time.sleep(2)
        print(f"install: {job.poll()} in {time.time() - t0:.0f} s {job.error or ''}")
        if job.poll() != install.DONE:
            return 1
    install.activate(target)
    import numpy as np

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__} from {np.__file__}")
    for name, version in requirements.installed_versions(target, [*chosen.packages, "numpy"]).items():
        print(f"  in target: {name} {version}")
    import torchvision  # noqa: F401  (torch before tensorflow, see GUIDE.md)

    from omnitrax import resources
    from omnitrax.io.ground_truth import GroundTruth
    from omnitrax.pose.estimate import estimate_poses
    from omnitrax.pose.model import PoseModel

    truth = GroundTruth.from_csv(resources.sample_ground_truth())
    keep = truth.frame < args.frames
    truth = GroundTruth({k: v[keep] for k, v in truth.columns().items()})
    t0 = time.time()
    with PoseModel.load(resources.default_pose_model()) as model:
        poses = estimate_poses(resources.sample_clip(), truth.to_tracks(), model)
    ids, frames = np.unique(truth.id), np.arange(args.frames)
    est = np.asarray(poses.to_array(ids=ids, frames=frames)[0], np.float64)
    joints = ("head", "thorax", "abdomen")
    expected = np.full(est.shape[:3] + (2,), np.nan)
    fi, ti = np.searchsorted(frames, truth.frame), np.searchsorted(ids, truth.id)
    expected[fi, ti] = np.stack([np.c_[getattr(truth, f"{j}_x"), getattr(truth, f"{j}_y")] for j in joints], axis=1)
    err = np.hypot(*(est[..., :2] - expected).transpose(3, 0, 1, 2)).reshape(-1, len(joints))
    print(f"{len(poses)} keypoints in {time.time() - t0:.1f} s; median error (px) "
          + ", ".join(f"{j} {m:.2f}" for j, m in zip(joints, np.nanmedian(err, axis=0)))
          + f"; within 3 px: {np.mean(err < 3):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
