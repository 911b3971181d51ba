"""Benchmark (not a test): writing and reading OmniTrax tracks as Blender markers, in real bpy.

    .venv/bin/python tools/bench_markers.py [--tracks 1000] [--frames 1000]

Prints the seconds to write N tracks x F frames into a clip with omnitrax.blender.markers.write_tracks
(what tracking, continuing and the CLI's --blend do) and to read them back (what export does).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()

    import cv2
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HOME"] = tmp  # keep Blender's user folders out of the real home
        video = Path(tmp) / "blank.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (1920, 1080))
        blank = np.zeros((1080, 1920, 3), np.uint8)
        for _ in range(args.frames):
            writer.write(blank)
        writer.release()

        import bpy

        from omnitrax.blender import markers
        from omnitrax.blender.coords import ClipFrames
        from omnitrax.tracking.tracks import Tracks

        clip = bpy.data.movieclips.load(str(video))
        rng = np.random.default_rng(0)
        n, f = args.tracks, args.frames
        track = np.repeat(np.arange(n), f)
        frame = np.tile(np.arange(f), n)
        xy = rng.uniform(50, 1000, (n, 2))[track] + np.cumsum(rng.normal(0, 1, (n * f, 2)), axis=0) * 0.01
        tracks = Tracks(track=track, frame=frame, x=xy[:, 0], y=xy[:, 1], width=30.0, height=12.0,
                        confidence=0.9, predicted=(rng.random(n * f) < 0.05) & (frame > 0) & (frame < f - 1))
        frames = ClipFrames.of(clip)
        t0 = time.perf_counter()
        markers.write_tracks(clip, tracks, frames)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        back, _ = markers.read_tracks(clip, frames)
        t_read = time.perf_counter() - t0
        err = np.abs(back.x - tracks.x).max()
        print(f"{n} tracks x {f} frames = {n * f:,} markers (bpy {bpy.app.version_string})")
        print(f"write_tracks: {t_write:6.2f} s   ({n * f / t_write / 1e6:.2f} M markers/s)")
        print(f"read_tracks:  {t_read:6.2f} s   (max position round-trip error {err:.1e} px)")
        sys.stdout.flush()
        os._exit(0)  # bpy may hang at interpreter exit


if __name__ == "__main__":
    main()
