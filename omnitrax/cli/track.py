"""`omnitrax track`: detect and track the animals of a video (or track detections from a file)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import OmniTraxError
from .common import ProgressPrinter, add_setting_flags

EXPORTS = ("csv", "mot", "legacy")


def register(subparsers) -> None:
    p = subparsers.add_parser("track", help="detect and track animals in a video")
    p.add_argument("video", nargs="?", default=None,
                   help="video file, or image sequence: a folder of numbered frames, its first frame file, or a "
                        "quoted glob like 'frames/*.tif' (optional with --detections)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--export", default="csv", help=f"comma-separated formats: {', '.join(EXPORTS)}")
    p.add_argument("--blend", default=None, help="also write a .blend with the clip and one track per animal")
    p.add_argument("--preview", action="store_true", help="also write DIR/<video>_preview.mp4 with the tracks drawn")
    _add_tracking_options(p)
    p.set_defaults(func=run)


def _add_tracking_options(p: argparse.ArgumentParser) -> None:
    from .. import settings as schema

    add_setting_flags(p, schema.TRACKING)
    g = p.add_argument_group("input and range")
    g.add_argument("--detections", default=None,
                   help="MOTChallenge detections file to track instead of running a detector")
    g.add_argument("--start", type=int, default=0, help="first video frame (0-based)")
    g.add_argument("--end", type=int, default=None, help="last video frame (0-based, inclusive)")


def _settings(args):
    from ..tracking.settings import TrackingSettings

    names = set(TrackingSettings.__dataclass_fields__)
    return TrackingSettings.from_mapping({k: v for k, v in vars(args).items() if k in names})


def _write_exports(tracks, out: Path, stem: str, exports, frame_height: int | None) -> list[Path]:
    from ..io import mot, tracks_csv
    from ..io.files import ensure_folder

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


def run(args) -> int:
    from ..io import mot
    from ..tracking.pipeline import TrackingRun
    from ..video import UnreadableFrame, source_stem

    exports = [e.strip() for e in args.export.split(",") if e.strip()]
    bad = [e for e in exports if e not in EXPORTS]
    if bad:
        raise OmniTraxError(f"Unknown export format(s) {', '.join(bad)}; choose from {', '.join(EXPORTS)}.")
    if args.video is None and args.detections is None:
        raise OmniTraxError("Give a VIDEO to track, or --detections FILE.")
    settings = _settings(args)
    if args.video is None and (args.preview or args.blend):
        raise OmniTraxError(f"{'--preview' if args.preview else '--blend'} needs the VIDEO.")
    from ..io.files import ensure_folder, output_file

    # the output places are made and checked now, before any work, not after a long run
    ensure_folder(args.out, what="output folder", writable=True)
    if args.blend:
        output_file(Path(args.blend).resolve(), what="folder for --blend", writable=True)
    detections = mot.read_detections(args.detections) if args.detections else None
    stop = None if args.end is None else args.end + 1
    run = TrackingRun(settings, video_path=args.video, start=args.start, stop=stop, detections=detections)
    stem = source_stem(args.video) if args.video else Path(args.detections).stem
    print(f"Tracking {args.video or args.detections}: frames {run.start}-{run.stop - 1} with "
          f"{run.description}", file=sys.stderr)
    _describe_sequence(run._video, run.start, run.stop)
    printer = ProgressPrinter()
    stopped, unreadable = False, None
    try:
        for progress in run.steps():
            printer(progress)
    except KeyboardInterrupt:
        stopped = True
        print("\nStopped: writing the tracks found so far.", file=sys.stderr)
    except UnreadableFrame as exc:  # a sequence's frame file: keep the frames before it, then fail
        unreadable = exc
        print(f"\nStopped at frame {exc.index} ({exc.path.name}): writing the tracks of frames {run.start}-"
              f"{exc.index - 1}.", file=sys.stderr)
    tracks = run.result()
    height = run._video.height if run._video is not None else None
    run.close()
    written = _write_exports(tracks, Path(args.out), stem, exports, height)
    if args.preview and (unreadable is None or unreadable.index > run.start):
        from ..io.preview import write_preview

        written.append(write_preview(args.video, Path(args.out) / f"{stem}_preview.mp4", tracks=tracks,
                                     start=run.start, stop=run.stop if unreadable is None else unreadable.index))
    if args.blend:
        from ..blender.headless import write_blend

        written.append(write_blend(args.video, tracks, Path(args.blend), settings))
    print(f"{len(tracks.ids())} tracks, {len(tracks)} positions")
    for path in written:
        print(f"  wrote {path}")
    if unreadable is not None:
        raise unreadable  # one line, exit code 2, after the tracks before it are written
    return 130 if stopped else 0


def _describe_sequence(video, start: int, stop: int) -> None:
    """For an image sequence: what was found (depth, the 16-bit map) and any missing files in the range."""
    if getattr(video, "series", None) is None:
        return
    print(f"  {video.description}", file=sys.stderr)
    missing = [i for i in video.missing if start <= i < stop]
    if missing:
        names = ", ".join(video.series.file(i).name for i in missing[:3]) + (" ..." if len(missing) > 3 else "")
        print(f"  warning: {len(missing)} frame file{'s are' if len(missing) > 1 else ' is'} missing ({names}); "
              f"tracking stops at the first one and keeps the frames before it.", file=sys.stderr)
