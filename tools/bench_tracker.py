"""Benchmark: milliseconds per Tracker.update at 100, 1,000 and 5,000 animals.

Animals do correlated random walks (about 4 px per frame) at a density of about 3 animals within
max_distance (50 px) of each other, with 1 px detection noise. Each update is timed over 50 frames
after 20 warm-up frames (median). For scale it also times one dense scipy linear_sum_assignment on
a random 1000 x 1000 matrix, which is what a tracker building a full cost matrix pays every frame.

Run: .venv/bin/python tools/bench_tracker.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omnitrax.tracking.tracker import Tracker  # noqa: E402

MAX_DISTANCE = 50.0
NEIGHBOURS = 3.0  # mean number of other animals within MAX_DISTANCE
STEP = 3.0  # px per axis and frame
WARMUP, TIMED = 20, 50


def walk(n: int, frames: int, seed: int = 0) -> np.ndarray:
    """(frames, n, 2) correlated random walks in a square arena sized for the target density."""
    rng = np.random.default_rng(seed)
    side = np.sqrt(n * np.pi * MAX_DISTANCE ** 2 / NEIGHBOURS)
    pos = rng.uniform(0, side, (n, 2))
    vel = rng.normal(0, STEP, (n, 2))
    out = np.empty((frames, n, 2))
    for f in range(frames):
        vel = 0.7 * vel + np.sqrt(1 - 0.49) * rng.normal(0, STEP, (n, 2))
        pos = pos + vel
        pos = np.where(pos < 0, -pos, pos)
        pos = np.where(pos > side, 2 * side - pos, pos)
        out[f] = pos
    return out + rng.normal(0, 1.0, out.shape)


def time_updates(n: int) -> float:
    """Median seconds per update."""
    frames = walk(n, WARMUP + TIMED)
    tracker = Tracker(max_distance=MAX_DISTANCE, max_gap=10, min_length=10)
    times = []
    for f, xy in enumerate(frames):
        t0 = time.perf_counter()
        tracker.update(f, xy)
        if f >= WARMUP:
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_dense_assignment(size: int = 1000, repeats: int = 3) -> float:
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        cost = rng.random((size, size))
        t0 = time.perf_counter()
        linear_sum_assignment(cost)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    dense = time_dense_assignment()
    print(f"one dense linear_sum_assignment, random 1000 x 1000: {dense * 1e3:8.2f} ms")
    print(f"{'animals':>8} {'ms/update':>10} {'us/animal':>10} {'vs dense 1000x1000':>20}")
    results = {}
    for n in (100, 1000, 5000):
        t = time_updates(n)
        results[n] = t
        print(f"{n:>8} {t * 1e3:>10.3f} {t / n * 1e6:>10.2f} {t / dense:>19.2f}x")
    growth = (results[5000] / 5000) / (results[100] / 100)
    print(f"per-animal cost 5000 vs 100 animals: {growth:.2f}x (1.0 = linear)")
    verdict = "PASS" if results[1000] < dense else "FAIL"
    print(f"goal: update at 1,000 animals faster than one dense 1000x1000 assignment: {verdict}")


if __name__ == "__main__":
    main()
