"""The tracker on real public detections, side by side with its peers, in one run.

    python tools/bench_real.py [--data ../shared/data/real/mot15] [--peers sort,bytetrack,ocsort,norfair]
                               [--sequences KITTI-17,...] [-- extra `omnitrax track` flags]

For every sequence folder of DATA that has a det.txt (MOTChallenge 2015 public detections, as SORT's
repository ships them) this runs `omnitrax track --detections SEQ/det.txt` with default settings (plus any
flags after `--`), and every peer tracker of tools/peers.py on the same file, then scores each against the
sequence's ground truth as MOTChallenge does (py-motmetrics, boxes match at IoU >= 0.5, ground truth rows
with flag 0 ignored): MOTA, IDF1, ID switches, false positives, misses, per sequence and pooled over all
sequences (one accumulator over every frame of every sequence, not a mean of ratios).

Detections and ground truth are read from SEQ/det.txt and SEQ/gt.txt in DATA, else from
tools/real_data/mot15/SEQ/ (unchanged copies of MOT15's training ground truth, and SORT's detections of the
two TUD sequences; see tools/real_data/README.md). These files are benchmark data only: they
are not part of the extension zip and no test depends on them.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from omnitrax.io import mot  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real" / "mot15"
BUNDLED_GT = ROOT / "tools" / "real_data" / "mot15"
PEERS = ("sort", "bytetrack", "ocsort", "norfair")
METRICS = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]


def _first_file(data: Path, seq: str, name: str) -> Path | None:
    for path in (data / seq / name, BUNDLED_GT / seq / name):
        if path.is_file():
            return path
    return None


def ground_truth(data: Path, seq: str) -> Path | None:
    return _first_file(data, seq, "gt.txt")


def sequences(data: Path) -> dict[str, Path]:
    """{sequence: its det.txt} for every sequence folder of DATA or of tools/real_data/mot15 with a det.txt."""
    names = {p.name for folder in (data, BUNDLED_GT) if folder.is_dir() for p in folder.iterdir()}
    found = {n: _first_file(data, n, "det.txt") for n in sorted(names)}
    return {n: det for n, det in found.items() if det is not None}


def run_omnitrax(det: Path, out: Path, extra: list[str]) -> Path:
    """`omnitrax track --detections det` in a fresh process (as a user runs it); returns its MOT file."""
    cmd = [sys.executable, "-m", "omnitrax", "track", "--detections", str(det), "--out", str(out), "--export", "mot",
           *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"omnitrax track failed on {det}:\n{done.stderr}")
    return out / f"{det.stem}.txt"


def run_peer(name: str, det: Path, out: Path) -> Path:
    import peers

    tracker = peers.make(name)
    tracks = tracker.track(mot.read_detections(det))
    return mot.write_mot(out / f"{name}.txt", tracks)


def accumulate(gt_path: Path, result_path: Path):
    import motmetrics as mm

    gt = mm.io.loadtxt(str(gt_path), fmt="mot15-2D", min_confidence=1)
    ts = mm.io.loadtxt(str(result_path), fmt="mot15-2D")
    return mm.utils.compare_to_groundtruth(gt, ts, "iou", distth=0.5)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of MOT15 sequence folders")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers (empty: none)")
    parser.add_argument("--sequences", default="", help="comma-separated sequence names (default: all)")
    args = parser.parse_args(argv)

    import motmetrics as mm

    if not args.data.is_dir():
        raise SystemExit(f"{args.data} is not a folder of MOT15 sequences; give --data.")
    wanted = [s for s in args.sequences.split(",") if s]
    dets = sequences(args.data)
    seqs = [s for s in dets if not wanted or s in wanted]
    scored = [s for s in seqs if ground_truth(args.data, s)]
    for s in sorted(set(seqs) - set(scored)):
        print(f"  {s}: no gt.txt, skipped", file=sys.stderr)
    peers = [p for p in args.peers.split(",") if p]
    trackers = ["omnitrax"] + peers
    label = "omnitrax" + (f" ({' '.join(extra)})" if extra else " (defaults)")
    acc = {t: [] for t in trackers}
    seconds = {t: 0.0 for t in trackers}
    with tempfile.TemporaryDirectory() as tmp:
        for seq in scored:
            det = dets[seq]
            gt = ground_truth(args.data, seq)
            for t in trackers:
                out = Path(tmp) / seq / t
                out.mkdir(parents=True)
                t0 = time.perf_counter()
                result = run_omnitrax(det, out, extra) if t == "omnitrax" else run_peer(t, det, out)
                seconds[t] += time.perf_counter() - t0
                acc[t].append(accumulate(gt, result))
    mh = mm.metrics.create()
    table = {}
    for t in trackers:
        summary = mh.compute_many(acc[t], metrics=METRICS, names=scored, generate_overall=True)
        table[t] = summary
    names = [label if t == "omnitrax" else t for t in trackers]
    width = max(len(n) for n in names) + 2
    print(f"MOT15 public detections, {len(scored)} sequences; py-motmetrics, IoU >= 0.5, GT flag 0 ignored")
    header = f"{'sequence':<14}{'tracker':<{width}}{'MOTA':>8}{'IDF1':>8}{'IDSW':>7}{'FP':>7}{'FN':>7}"
    for seq in scored + ["OVERALL"]:
        print(header if seq == scored[0] else "")
        best_mota = max(table[t].loc[seq, "mota"] for t in trackers)
        best_idf1 = max(table[t].loc[seq, "idf1"] for t in trackers)
        for t, n in zip(trackers, names):
            r = table[t].loc[seq]
            mark = ("*" if r["mota"] >= best_mota - 1e-12 else " ") + ("*" if r["idf1"] >= best_idf1 - 1e-12 else " ")
            print(f"{seq if t == trackers[0] else '':<14}{n:<{width}}{r['mota']:>8.3f}{r['idf1']:>8.3f}"
                  f"{int(r['num_switches']):>7}{int(r['num_false_positives']):>7}{int(r['num_misses']):>7} {mark}")
    print("\n* best MOTA / best IDF1 of the row's sequence")
    ours = table["omnitrax"]
    for metric in ("mota", "idf1"):
        wins = sum(ours.loc[s, metric] >= max(table[p].loc[s, metric] for p in peers) - 1e-12 for s in scored) \
            if peers else len(scored)
        print(f"omnitrax {metric.upper()} >= best peer on {wins}/{len(scored)} sequences; pooled "
              f"{ours.loc['OVERALL', metric]:.3f} vs best peer "
              f"{max((table[p].loc['OVERALL', metric] for p in peers), default=np.nan):.3f}")
    print("seconds (all sequences): " + ", ".join(f"{n} {seconds[t]:.1f}" for t, n in zip(trackers, names)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
