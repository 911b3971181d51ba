"""Detection and tracking figures on a real clip with reference positions (e.g. ../shared/data/real).

    python tools/eval_real_detection.py VIDEO REFERENCE.csv [--radius 15] [-- omnitrax track flags...]

REFERENCE.csv: one row per animal per frame with columns frame, thorax_x, thorax_y (0-based frames,
pixels, top-left origin). Runs the detector the flags ask for (default: `--detector background` with
every other setting at its default), then prints:
  detections: recall (reference positions with a detection within RADIUS px, one-to-one) and precision
              (detections within RADIUS px of a reference position), detections per frame;
  tracks:     the same two figures for the tracker's detected rows, the number of tracks and rows, and
              the share of frames covered by the longest tracks (one per reference animal).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax.cli.track import _add_tracking_options, _settings  # noqa: E402
from omnitrax.tracking.pipeline import TrackingRun  # noqa: E402


def read_reference(path) -> dict:
    table = np.genfromtxt(path, delimiter=",", names=True)
    frames = table["frame"].astype(int)
    return {int(f): np.c_[table["thorax_x"][frames == f], table["thorax_y"][frames == f]] for f in np.unique(frames)}


def matched(reference: np.ndarray, found: np.ndarray, radius: float) -> int:
    """How many one-to-one pairs lie within radius px."""
    if not len(reference) or not len(found):
        return 0
    d = np.hypot(*(reference[:, None, :] - found[None, :, :]).transpose(2, 0, 1))
    rows, cols = linear_sum_assignment(np.where(d <= radius, d, 1e6))
    return int(np.count_nonzero(d[rows, cols] <= radius))


def scores(reference: dict, found: dict, radius: float) -> tuple[float, float]:
    hits = sum(matched(reference[f], found.get(f, np.zeros((0, 2))), radius) for f in reference)
    n_ref = sum(len(v) for v in reference.values())
    n_found = sum(len(found.get(f, ())) for f in reference)
    return hits / max(n_ref, 1), hits / max(n_found, 1)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("reference")
    parser.add_argument("--radius", type=float, default=15.0)
    args = parser.parse_args(argv)
    track_parser = argparse.ArgumentParser()
    _add_tracking_options(track_parser)
    track_args = track_parser.parse_args(["--detector", "background", *extra])
    settings = _settings(track_args)
    reference = read_reference(args.reference)

    t = time.perf_counter()
    run = TrackingRun(settings, video_path=args.video)
    print(f"# {Path(args.video).name}: {run.description}; fit {time.perf_counter() - t:.2f} s")
    detections = {}
    inner = run._frames

    def recording():
        for f, dets in inner():
            detections[f] = dets.xy.copy()
            yield f, dets

    run._frames = recording
    t = time.perf_counter()
    tracks = run.run()
    elapsed = time.perf_counter() - t
    run.close()
    recall, precision = scores(reference, detections, args.radius)
    n_det = sum(len(v) for v in detections.values())
    print(f"detections: recall {recall:.4f}  precision {precision:.4f}  "
          f"({n_det / max(len(detections), 1):.2f} per frame, {len(detections) / elapsed:.0f} frames/s with tracking)")
    seen = ~tracks.predicted
    rows = {int(f): np.c_[tracks.x[seen & (tracks.frame == f)], tracks.y[seen & (tracks.frame == f)]]
            for f in np.unique(tracks.frame)}
    t_recall, t_precision = scores(reference, rows, args.radius)
    ids, lengths = np.unique(tracks.track, return_counts=True)
    n_animals = max((len(v) for v in reference.values()), default=0)
    longest = np.sort(lengths)[::-1][:n_animals] / max(len(reference), 1)
    print(f"tracks:     recall {t_recall:.4f}  precision {t_precision:.4f}  {len(ids)} tracks, {len(tracks)} rows; "
          f"longest {n_animals} cover {', '.join(f'{c:.3f}' for c in longest)} of the frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
