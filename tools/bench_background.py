"""Benchmark: the background detector at 1920x1080 against decoding alone.

    python tools/bench_background.py [--frames 100] [--animals 60]

Writes a synthetic 1080p MJPG clip to a temporary folder, fits the detector on 50 frames, then times
(1) VideoSource.frames() alone and (2) the same loop with BackgroundDetector.detect on every frame.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax.detection.background import BackgroundDetector  # noqa: E402
from omnitrax.testclips import render_clip  # noqa: E402
from omnitrax.video import VideoSource  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--animals", type=int, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_1080p.avi"
        t = time.perf_counter()
        render_clip(path, n_frames=args.frames, seed=7, n_animals=args.animals, width=1920, height=1080)
        print(f"# clip: {args.frames} frames 1920x1080, {args.animals} animals, MJPG "
              f"({path.stat().st_size / 1e6:.1f} MB, rendered in {time.perf_counter() - t:.1f} s); "
              f"{os.cpu_count()} CPUs")
        with VideoSource(path) as video:
            t = time.perf_counter()
            detector = BackgroundDetector().fit(video.sample_frames(50))
            fit_s = time.perf_counter() - t

            t = time.perf_counter()
            n = sum(1 for _ in video.frames())
            decode_fps = n / (time.perf_counter() - t)

            t = time.perf_counter()
            found = 0
            for _, frame in video.frames():
                found += len(detector.detect(frame))
            detect_fps = n / (time.perf_counter() - t)

            frames = [video.read(i) for i in range(20)]
            t = time.perf_counter()
            for frame in frames:
                detector.detect(frame)
            detect_only_ms = (time.perf_counter() - t) / len(frames) * 1000
    print(f"fit on 50 frames:            {fit_s:.2f} s (threshold {detector.threshold_used})")
    print(f"decode alone:                {decode_fps:.1f} frames/s")
    print(f"decode + background detect:  {detect_fps:.1f} frames/s ({found / n:.1f} detections/frame)")
    print(f"detect alone (in memory):    {detect_only_ms:.1f} ms/frame")
    print(f"ratio (with detection / decode alone): {detect_fps / decode_fps:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
