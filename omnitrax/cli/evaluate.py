"""`omnitrax evaluate`: score tracks against ground truth (MOTA, IDF1, HOTA, FP, FN, ID switches, fragmentations)."""
from __future__ import annotations

from pathlib import Path

from ..errors import OmniTraxError


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score tracks against ground truth (MOTA, IDF1, HOTA, FP, FN, "
                                        "ID switches, fragmentations)")
    p.add_argument("--gt", required=True, help="ground-truth tracks (.csv or MOTChallenge .txt)")
    p.add_argument("--pred", required=True, help="predicted tracks (.csv or MOTChallenge .txt)")
    p.add_argument("--match", choices=("distance", "iou"), default="distance")
    p.add_argument("--threshold", type=float, default=None,
                   help="match threshold: pixels for distance (default 20), IoU for iou (default 0.5)")
    p.set_defaults(func=run)


def _load_tracks(path: str):
    from ..io import mot, tracks_csv

    p = Path(path)
    if not p.is_file():
        raise OmniTraxError(f"Tracks file '{path}' not found.")
    if p.suffix.lower() == ".txt":
        return mot.read_tracks(p)
    with open(p) as f:
        header = f.readline().strip()
    if header.startswith("frame,id,x,y"):  # ground truth written by omnitrax.testclips
        from ..io.ground_truth import GroundTruth

        return GroundTruth.from_csv(p).to_tracks()
    return tracks_csv.read_tracks_csv(p)


def run(args) -> int:
    from ..io.evaluate import evaluate

    gt, pred = _load_tracks(args.gt), _load_tracks(args.pred)
    scores = evaluate(gt, pred, threshold=args.threshold, match=args.match)
    for key in ("MOTA", "IDF1", "HOTA", "precision", "recall", "fp", "fn", "id_switches", "fragmentations"):
        if key in scores:
            value = scores[key]
            print(f"{key:>14}: {value:.4f}" if isinstance(value, float) else f"{key:>14}: {value}")
    return 0
