"""`python -m omnitrax`: the headless pipeline (track, evaluate, pose, batch) for scripts and batches."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import OmniTraxError

EXPORTS = ("csv", "mot", "legacy")


def add_setting_flags(p: argparse.ArgumentParser, settings) -> None:
    """One flag per schema setting (omnitrax.settings), grouped as in Blender's panel.

    Values are checked by the schema when the settings are built, so the messages match the panel's
    and the settings files'.
    """
    groups = {}
    for s in settings:
        g = groups.get(s.group) or groups.setdefault(s.group, p.add_argument_group(s.group))
        help_text = s.help + (f" [{s.range_text()}]" if s.min is not None else "")
        if s.kind is bool:
            g.add_argument(s.cli_flag, dest=s.name, action=argparse.BooleanOptionalAction, default=s.default,
                           help=help_text + f" (default: {'on' if s.default else 'off'})")
        elif s.choices:
            g.add_argument(s.cli_flag, dest=s.name, choices=s.values, default=s.default, type=str.lower,
                           help=help_text)
        elif s.kind is str:
            g.add_argument(s.cli_flag, dest=s.name, default=s.default, help=help_text,
                           metavar="FILE" if s.path == "file" else "DIR" if s.path else None)
        else:
            g.add_argument(s.cli_flag, dest=s.name, type=flag_type(s), default=s.default, help=help_text,
                           metavar=s.unit.upper().replace(" ", "_") or None)


def flag_type(setting):
    """argparse type for a schema setting: converts and checks, so a bad value stops before any work."""
    def parse(text: str):
        try:
            value = float(text)  # check() turns it into the setting's type (refusing 2.5 for a count)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        try:
            return setting.check(value)
        except OmniTraxError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = setting.name
    return parse


def _add_tracking_options(p: argparse.ArgumentParser) -> None:
    from . import settings as schema

    add_setting_flags(p, schema.TRACKING)
    g = p.add_argument_group("input and range")
    g.add_argument("--detections", default=None,
                   help="MOTChallenge detections file to track instead of running a detector")
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
    from .io.files import ensure_folder

    ensure_folder(out, what="output folder")
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
    if args.video is None and (args.preview or args.blend):
        raise OmniTraxError(f"{'--preview' if args.preview else '--blend'} needs the VIDEO.")
    from .io.files import ensure_folder, output_file

    # the output places are made and checked now, before any work, not after a long run
    ensure_folder(args.out, what="output folder", writable=True)
    if args.blend:
        output_file(Path(args.blend).resolve(), what="folder for --blend", writable=True)
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


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line (`omnitrax: error: ...`), not a usage dump."""

    def error(self, message):
        self.exit(2, f"omnitrax: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m omnitrax", description="OmniTrax: multi-animal tracking.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
