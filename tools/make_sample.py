"""Write the bundled sample clip data/sample/ants.avi and its ground truth data/sample/ants_gt.csv.

    python tools/make_sample.py [--out data/sample]

The clip is omnitrax.testclips.render_frames with its defaults (seed 0, 20 ants, 640x480, 250 frames,
25 fps, dark ants on a light floor), written as MPEG-4 part 2 (fourcc XVID) in AVI: about 2.7 MB,
where MJPG would need 6.5 MB (OpenCV's FFmpeg writer ignores the JPEG quality setting, and the
floor's fine grain compresses badly as JPEG). OpenCV and Blender both read it.
Deterministic: running it twice gives the same ground-truth CSV (and here the same video bytes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax.testclips import render_clip  # noqa: E402

FOURCC = "XVID"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    clip, truth = args.out / "ants.avi", args.out / "ants_gt.csv"
    gt = render_clip(clip, fourcc=FOURCC)  # render_frames defaults = the sample
    gt.to_csv(truth)
    print(f"wrote {clip} ({clip.stat().st_size / 1e6:.2f} MB, {gt.frame.max() + 1} frames, "
          f"{len(set(gt.id.tolist()))} animals) and {truth} ({len(gt)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
