"""Benchmark: our tracker against SORT and norfair on detections with realistic detector errors.

Ground truth from omnitrax.testclips.moving_boxes (animals that wander and often cross each other,
boxes of 0.4-1.0 aspect, tall or wide) at three scales, and detections from
omnitrax.testclips.detector_errors (misses in runs, false positives spread and near true boxes,
jitter proportional to the box, overlapping scores) at two error levels. Every tracker gets the same
detections: ours with default TrackingSettings and with cost=iou (through TrackingRun, as
`omnitrax track --detections` runs it), SORT (tools/peers.py, the published rules: max_age=1,
min_hits=3, IoU 0.3) and norfair 2.2.0 (IoU distance, threshold 0.7, its defaults otherwise).

Scoring: omnitrax.io.evaluate.evaluate(gt, pred, match="iou", threshold=0.5): a tracked box counts
for an animal when its IoU with the true box is >= 0.5 (the MOTChallenge rule), the same at every
scale; every row a tracker outputs is scored (also positions it filled in gaps). Columns: MOTA, IDF1,
HOTA, FP, FN, ID switches, fragmentations (CLEAR MOT), and the tracker's wall time per frame
(tracking only, the detections are given). Every figure is the mean over seeds 0..K-1 (--seeds K,
default 3; about 30 s on 2 cores).

Run: .venv/bin/python tools/bench_tracker_errors.py [--seeds K] [--animals N] [--frames F]
     [--scales small,medium,large] [--levels moderate,hard] [--trackers ours,ours-iou,sort,norfair]
     [--write DIR]   (also write each case's ground truth and detections as MOTChallenge files, so the
                      printed `omnitrax track` / `omnitrax evaluate` lines reproduce our rows)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from omnitrax import settings as schema  # noqa: E402
from omnitrax.io.evaluate import evaluate  # noqa: E402
from omnitrax.testclips import detector_errors, moving_boxes  # noqa: E402
from omnitrax.tracking.pipeline import TrackingRun  # noqa: E402
from omnitrax.tracking.settings import TrackingSettings  # noqa: E402
from peers import NorfairTracker, SortTracker  # noqa: E402

SCALES = {"small": (10, 20), "medium": (30, 60), "large": (100, 200)}  # box long side, px
LEVELS = {
    "clean": dict(miss=0.0, miss_run=5, false_positives=0.0, jitter=0.0),
    "moderate": dict(miss=0.1, miss_run=5, false_positives=0.05, jitter=0.05),
    "hard": dict(miss=0.2, miss_run=5, false_positives=0.15, jitter=0.1),
}
OURS = {"ours": {}, "ours-iou": {"cost": "iou"}}  # tracker name -> settings that differ from the defaults
TRACKERS = ("ours", "ours-iou", "sort", "norfair")
MATCH, IOU = "iou", 0.5
COLUMNS = ("MOTA", "IDF1", "HOTA", "fp", "fn", "id_switches", "fragmentations", "ms")


def _flags(changes: dict) -> str:
    out = []
    for name, value in changes.items():
        flag = schema.BY_NAME[name].cli_flag
        out.append(flag if value is True else f"--no-{flag[2:]}" if value is False else f"{flag} {value}")
    return " ".join(out)


def _write_mot_detections(path: Path, detections: dict) -> None:
    lines = []
    for f in sorted(detections):
        d = detections[f]
        for (l, t, w, h), s in zip(d.boxes.tolist(), d.scores.tolist()):
            lines.append(f"{f + 1},-1,{l:.3f},{t:.3f},{w:.3f},{h:.3f},{s:.4f},-1,-1,-1\n")
    path.write_text("".join(lines))


def run_tracker(name: str, detections: dict, n_frames: int):
    """(Tracks, seconds) of one tracker over frames 0..n_frames-1."""
    t0 = time.perf_counter()
    if name in OURS:
        settings = TrackingSettings.from_mapping(OURS[name])
        run = TrackingRun(settings, detections=detections, stop=n_frames)
        tracks = run.run()
    elif name == "sort":
        tracks = SortTracker().track(detections, 0, n_frames)
    elif name == "norfair":
        tracks = NorfairTracker().track(detections, 0, n_frames)
    else:
        raise SystemExit(f"unknown tracker {name!r}; choose from {', '.join(TRACKERS)}")
    return tracks, time.perf_counter() - t0


def describe(name: str) -> str:
    """The command line (ours) or constructor (peers) of a tracker, for case CASE."""
    if name in OURS:
        flags = _flags(OURS[name])
        return (f"omnitrax track --detections CASE_det.txt --out out/CASE_{name}{' ' + flags if flags else ''}"
                f"  &&  omnitrax evaluate --gt CASE_gt.txt --pred out/CASE_{name}/CASE_det_tracks.csv "
                f"--match {MATCH} --threshold {IOU}")
    if name == "sort":
        return SortTracker().settings()
    return NorfairTracker().settings()


def _tracker_defaults() -> str:
    d = TrackingSettings().to_dict()
    return ", ".join(f"{s.name}={d[s.name]!r}" for s in schema.group("tracker") if s.name in d)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="average over seeds 0..K-1 (default 3)")
    p.add_argument("--animals", type=int, default=20)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--scales", default="small,medium,large", help=f"from {', '.join(SCALES)}")
    p.add_argument("--levels", default="moderate,hard", help=f"from {', '.join(LEVELS)}")
    p.add_argument("--trackers", default=",".join(TRACKERS), help=f"from {', '.join(TRACKERS)}")
    p.add_argument("--write", default=None, help="folder for each case's gt/detections MOT files")
    args = p.parse_args(argv)
    scales, levels = args.scales.split(","), args.levels.split(",")
    trackers = args.trackers.split(",")
    for what, names, known in (("scale", scales, SCALES), ("level", levels, LEVELS), ("tracker", trackers, TRACKERS)):
        bad = [n for n in names if n not in known]
        if bad:
            raise SystemExit(f"unknown {what} {', '.join(bad)}; choose from {', '.join(known)}")
    write = Path(args.write) if args.write else None
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)

    print(f"{args.animals} animals, {args.frames} frames, seeds 0..{args.seeds - 1}; scored with "
          f"evaluate(gt, pred, match='{MATCH}', threshold={IOU})")
    print("trackers (CASE: one case below; with --write DIR its files are DIR/CASE_det.txt, DIR/CASE_gt.txt):")
    for name in trackers:
        print(f"  {name:<9} {describe(name)}")
    if any(name in OURS for name in trackers):
        print(f"  (our tracker settings, the defaults: {_tracker_defaults()})")
    print("cases:")
    results = {}  # (scale, level, tracker) -> list of score dicts
    for scale in scales:
        for level in levels:
            for seed in range(args.seeds):
                size = SCALES[scale]
                gt = moving_boxes(args.animals, args.frames, size=size, seed=seed)
                errors = LEVELS[level]
                dets = detector_errors(gt, seed=seed, **errors)
                stem = f"{scale}_{level}_s{seed}"
                print(f"  {stem}: gt = moving_boxes({args.animals}, {args.frames}, size={size}, seed={seed}); "
                      f"dets = detector_errors(gt, seed={seed}, " + ", ".join(f"{k}={v}" for k, v in errors.items())
                      + ")")
                if write is not None:
                    from omnitrax.io import mot

                    _write_mot_detections(write / f"{stem}_det.txt", dets)
                    mot.write_mot(write / f"{stem}_gt.txt", gt)
                for name in trackers:
                    tracks, seconds = run_tracker(name, dets, args.frames)
                    s = evaluate(gt, tracks, match=MATCH, threshold=IOU)
                    s["ms"] = 1000.0 * seconds / args.frames
                    results.setdefault((scale, level, name), []).append(s)

    print()
    head = (f"{'scale':<14} {'errors':<26} {'tracker':<9} {'MOTA':>6} {'IDF1':>6} {'HOTA':>6} {'FP':>7} {'FN':>7} "
            f"{'IDSW':>6} {'Frag':>6} {'ms/frame':>9}")
    print(head)
    print("-" * len(head))
    for scale in scales:
        for level in levels:
            e = LEVELS[level]
            err = f"{level} {e['miss']:.2f}/{e['false_positives']:.2f}/{e['jitter']:.2f}"
            for name in trackers:
                rows = results[(scale, level, name)]
                m = {k: float(np.mean([r[k] for r in rows])) for k in COLUMNS}
                count = (lambda v: f"{v:7.0f}") if args.seeds == 1 else (lambda v: f"{v:7.1f}")
                print(f"{scale + ' ' + '-'.join(map(str, SCALES[scale])):<14} {err:<26} {name:<9} {m['MOTA']:6.3f} "
                      f"{m['IDF1']:6.3f} {m['HOTA']:6.3f} {count(m['fp'])} {count(m['fn'])} "
                      f"{count(m['id_switches'])[1:]} {count(m['fragmentations'])[1:]} {m['ms']:9.2f}")
        print()
    print("errors: level miss/false positives/jitter (miss runs of 5 frames on average; false positives per "
          "animal and frame, half near true boxes; jitter in box sizes); FP, FN, IDSW, Frag: counts over the "
          f"{args.animals * args.frames} ground-truth boxes of a run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
