"""`python -m omnitrax`: the headless pipeline (track, evaluate, pose, batch) for scripts and batches."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import OmniTraxError

EXPORTS = ("csv", "mot", "legacy")


def _add_tracking_options(p: argparse.ArgumentParser) -> None:
    from .tracking.settings import TrackingSettings

    d = TrackingSettings()
    g = p.add_argument_group("detection")
    g.add_argument("--detector", choices=("yolo", "background"), default=d.detector,
                   help="yolo: a YOLO network (default: the bundled ant model); background: no network, "
                        "static camera")
    g.add_argument("--model", dest="model_path", default="", help="YOLO .cfg (Darknet) or .onnx file")
    g.add_argument("--weights", dest="weights_path", default="", help="Darknet .weights for --model")
    g.add_argument("--names", dest="names_path", default="", help="class names file, one per line")
    g.add_argument("--confidence", type=float, default=d.confidence)
    g.add_argument("--nms", type=float, default=d.nms)
    g.add_argument("--size", dest="network_size", type=int, default=d.network_size,
                   help="network input size, a multiple of 32")
    g.add_argument("--min-box", type=int, default=d.min_box)
    g.add_argument("--max-box", type=int, default=d.max_box)
    g.add_argument("--constant-box", type=int, default=d.constant_box)
    g.add_argument("--backend", choices=("auto", "cpu", "cuda"), default=d.backend)
    g.add_argument("--polarity", choices=("darker", "lighter", "either"), default=d.polarity,
                   help="background detector: animals darker/lighter than the background")
    g.add_argument("--threshold", type=int, default=d.threshold, help="background detector: 0 = automatic")
    g.add_argument("--min-area", type=int, default=d.min_area)
    g.add_argument("--max-area", type=int, default=d.max_area)
    g.add_argument("--animal-area", type=int, default=d.animal_area,
                   help="background detector: split blobs of several animals of about this area")
    g.add_argument("--background-frames", type=int, default=d.background_frames)
    g.add_argument("--detections", default=None,
                   help="MOTChallenge detections file to track instead of running a detector")
    g = p.add_argument_group("tracking")
    g.add_argument("--max-distance", type=float, default=d.max_distance)
    g.add_argument("--max-gap", type=int, default=d.max_gap)
    g.add_argument("--min-length", type=int, default=d.min_length)
    g.add_argument("--cost", choices=("distance", "iou"), default=d.cost)
    g.add_argument("--process-noise", type=float, default=d.process_noise)
    g.add_argument("--measurement-noise", type=float, default=d.measurement_noise)
    g.add_argument("--stitch", action=argparse.BooleanOptionalAction, default=d.stitch,
                   help="join tracks broken by missed detections (default: on)")
    g.add_argument("--start", type=int, default=0, help="first video frame (0-based)")
    g.add_argument("--end", type=int, default=None, help="last video frame (0-based, inclusive)")


def _settings(args):
    from .tracking.settings import TrackingSettings

    names = set(TrackingSettings.__dataclass_fields__)
    return TrackingSettings.from_mapping({k: v for k, v in vars(args).items() if k in names})


class _ProgressPrinter:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream  # looked up now: callers may redirect it
        self.tty = self.stream.isatty()
        self.last = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        if p.done != p.total and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        width = 30
        filled = int(width * p.done / max(p.total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {p.text()}"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if p.done == p.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _write_exports(tracks, out: Path, stem: str, exports, frame_height: int | None) -> list[Path]:
    from .io import mot, tracks_csv

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OmniTraxError(f"Cannot create the output folder '{out}': {exc.strerror}.") from exc
    written = []
    if "csv" in exports:
        path = out / f"{stem}_tracks.csv"
        tracks_csv.write_tracks_csv(path, tracks)
        written.append(path)
    if "mot" in exports:
        path = out / f"{stem}.txt"
        mot.write_mot(path, tracks)
        written.append(path)
    if "legacy" in exports:
        if frame_height is None:
            raise OmniTraxError("The legacy export needs the frame height: give the video too.")
        folder = out / f"{stem}_legacy"
        files = tracks_csv.write_legacy(folder, tracks, frame_height=frame_height)
        written.append(f"{folder}/ ({len(files)} per-track files)")
    return written


def cmd_track(args) -> int:
    from .io import mot
    from .tracking.pipeline import TrackingRun

    exports = [e.strip() for e in args.export.split(",") if e.strip()]
    bad = [e for e in exports if e not in EXPORTS]
    if bad:
        raise OmniTraxError(f"Unknown export format(s) {', '.join(bad)}; choose from {', '.join(EXPORTS)}.")
    if args.video is None and args.detections is None:
        raise OmniTraxError("Give a VIDEO to track, or --detections FILE.")
    settings = _settings(args)
    detections = mot.read_detections(args.detections) if args.detections else None
    stop = None if args.end is None else args.end + 1
    run = TrackingRun(settings, video_path=args.video, start=args.start, stop=stop, detections=detections)
    stem = Path(args.video or args.detections).stem
    print(f"Tracking {args.video or args.detections}: frames {run.start}-{run.stop - 1} with "
          f"{run.description}", file=sys.stderr)
    printer = _ProgressPrinter()
    stopped = False
    try:
        for progress in run.steps():
            printer(progress)
    except KeyboardInterrupt:
        stopped = True
        print("\nStopped: writing the tracks found so far.", file=sys.stderr)
    tracks = run.result()
    height = run._video.height if run._video is not None else None
    run.close()
    written = _write_exports(tracks, Path(args.out), stem, exports, height)
    if args.preview:
        if args.video is None:
            raise OmniTraxError("--preview needs the VIDEO.")
        from .io.preview import write_preview

        written.append(write_preview(args.video, Path(args.out) / f"{stem}_preview.mp4", tracks=tracks,
                                     start=run.start, stop=run.stop))
    if args.blend:
        from .blender.headless import write_blend

        written.append(write_blend(args.video, tracks, Path(args.blend), settings))
    print(f"{len(tracks.ids())} tracks, {len(tracks)} positions")
    for path in written:
        print(f"  wrote {path}")
    return 130 if stopped else 0


def _load_tracks(path: str):
    from .io import mot, tracks_csv

    p = Path(path)
    if not p.is_file():
        raise OmniTraxError(f"Tracks file '{path}' not found.")
    if p.suffix.lower() == ".txt":
        return mot.read_tracks(p)
    with open(p) as f:
        header = f.readline().strip()
    if header.startswith("frame,id,x,y"):  # ground truth written by omnitrax.synthetic
        from .synthetic import GroundTruth

        return GroundTruth.from_csv(p).to_tracks()
    return tracks_csv.read_tracks_csv(p)


def cmd_evaluate(args) -> int:
    from .io.evaluate import evaluate

    gt, pred = _load_tracks(args.gt), _load_tracks(args.pred)
    scores = evaluate(gt, pred, threshold=args.threshold, match=args.match)
    for key in ("MOTA", "IDF1", "HOTA", "precision", "recall", "id_switches"):
        if key in scores:
            value = scores[key]
            print(f"{key:>12}: {value:.4f}" if isinstance(value, float) else f"{key:>12}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m omnitrax", description="OmniTrax: multi-animal tracking.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="detect and track animals in a video")
    p.add_argument("video", nargs="?", default=None, help="video file (optional with --detections)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--export", default="csv", help=f"comma-separated formats: {', '.join(EXPORTS)}")
    p.add_argument("--blend", default=None, help="also write a .blend with the clip and one track per animal")
    p.add_argument("--preview", action="store_true", help="also write DIR/<video>_preview.mp4 with the tracks drawn")
    _add_tracking_options(p)
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("evaluate", help="score tracks against ground truth (MOTA, IDF1, HOTA)")
    p.add_argument("--gt", required=True, help="ground-truth tracks (.csv or MOTChallenge .txt)")
    p.add_argument("--pred", required=True, help="predicted tracks (.csv or MOTChallenge .txt)")
    p.add_argument("--match", choices=("distance", "iou"), default="distance")
    p.add_argument("--threshold", type=float, default=None,
                   help="match threshold: pixels for distance (default 20), IoU for iou (default 0.5)")
    p.set_defaults(func=cmd_evaluate)

    from .pose.cli import add_parser as add_pose_parser

    add_pose_parser(sub)
    from .io.datasets_cli import add_parsers as add_dataset_parsers

    add_dataset_parsers(sub)
    from .batch import add_parser as add_batch_parser

    add_batch_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OmniTraxError as exc:
        print(f"omnitrax: error: {exc}", file=sys.stderr)
        return 2
