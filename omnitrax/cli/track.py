"""`omnitrax track`: detect and track the animals of a video (or track detections from a file)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import OmniTraxError
from .common import ProgressPrinter, add_setting_flags

def register(subparsers) -> None:
    p = subparsers.add_parser("track", help="detect and track animals in a video")
    p.add_argument("video", nargs="?", default=None,
                   help="video file, or image sequence: a folder of numbered frames, its first frame file, or a "
                        "quoted glob like 'frames/*.tif' (optional with --detections)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--export", default="csv,summary",
                   help="comma-separated formats: csv, summary (distance and speed per track, in real units with "
                        "--scale), mot, legacy (upstream OmniTrax's per-track files)")
    p.add_argument("--blend", default=None, help="also write a .blend with the clip and one track per animal")
    p.add_argument("--preview", action="store_true", help="also write DIR/<video>_preview.mp4 with the tracks drawn")
    p.add_argument("--identify", action="store_true",
                   help="after tracking, tell the animals apart by their appearance (needs --animals N): identities "
                        "survive crossings; DIR/<video>_identity.csv lists the fragments, uncertain ones flagged")
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


def run(args) -> int:
    from ..io import mot
    from ..io.exports import ExportContext, parse_formats, write_track_files
    from ..tracking.pipeline import TrackingRun
    from ..video import UnreadableFrame, source_stem

    exports = parse_formats(args.export)
    if args.video is None and args.detections is None:
        raise OmniTraxError("Give a VIDEO to track, or --detections FILE.")
    settings = _settings(args)
    if args.identify:
        _check_identify(args, settings)
    if args.video is None and (args.preview or args.blend or "legacy" in exports):
        what = "--preview" if args.preview else "--blend" if args.blend else "The legacy export (frame height)"
        raise OmniTraxError(f"{what} needs the VIDEO.")
    from ..files import ensure_folder, output_file

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
    counts = []  # detections per frame, for the shortfall warning
    try:
        for progress in run.steps():
            printer(progress)
            counts.append(progress.detections)
    except KeyboardInterrupt:
        stopped = True
        print("\nStopped: writing the tracks found so far.", file=sys.stderr)
    except UnreadableFrame as exc:  # a sequence's frame file: keep the frames before it, then fail
        unreadable = exc
        print(f"\nStopped at frame {exc.index} ({exc.path.name}): writing the tracks of frames {run.start}-"
              f"{exc.index - 1}.", file=sys.stderr)
    tracks = run.result()
    identity_file = None
    if args.identify and not stopped and len(tracks):
        tracks, identity_file, stopped = _identify(args.video, tracks, settings, Path(args.out), stem)
    height = run._video.height if run._video is not None else None
    fps = run._video.fps if run._video is not None else 0.0
    run.close()
    context = ExportContext(frame_height=height, fps=fps, scale=settings.scale, unit=settings.unit,
                            class_names=run.class_names)
    written = write_track_files(Path(args.out), stem, tracks, exports, context)
    from ..io.run_log import write_run_log

    source = str(Path(args.video).resolve()) if args.video else str(Path(args.detections).resolve())
    written.append(write_run_log(Path(args.out) / f"{stem}_run.toml", settings, source=source,
                                 frames=f"{run.start}-{run.stop - 1}", detector=run.description,
                                 host=" ".join(["omnitrax"] + [a.replace("\n", " ") for a in sys.argv[1:]])))
    if "legacy" in exports:  # list the folder once, not each per-track file
        legacy = [p for p in written if p.parent.name == f"{stem}_legacy"]
        written = [p for p in written if p not in legacy] + [f"{Path(args.out) / (stem + '_legacy')}/ "
                                                              f"({len(legacy)} per-track files)"]
    if args.preview and (unreadable is None or unreadable.index > run.start):
        from ..io.preview import write_preview

        written.append(write_preview(args.video, Path(args.out) / f"{stem}_preview.mp4", tracks=tracks,
                                     start=run.start, stop=run.stop if unreadable is None else unreadable.index))
    if args.blend:
        from ..io.blend import write_blend

        written.append(write_blend(args.video, tracks, Path(args.blend), settings, run.class_names))
    if identity_file is not None:
        written.append(identity_file)
    print(f"{len(tracks.ids())} tracks, {len(tracks)} positions")
    from ..detection.shortfall import shortfall_message

    short = shortfall_message(counts, settings, run.detector)
    if short:
        print(f"warning: {short}", file=sys.stderr)
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


def _check_identify(args, settings) -> None:
    """--identify needs the number of animals and the video: refused before any work."""
    if not settings.animals:
        raise OmniTraxError("--identify needs the number of animals: add --animals N (how many animals the "
                            "video shows).")
    if args.video is None:
        raise OmniTraxError("--identify needs the VIDEO: it learns what each animal looks like from the frames.")


def _identify(video, tracks, settings, out: Path, stem: str):
    """The identity pass on the tracks: (tracks by identity, the identity CSV written, stopped). Ctrl-C keeps
    the tracks as tracked."""
    from ..identity.pipeline import IdentityRun
    from ..io.identity_csv import write_identity_csv

    run = IdentityRun(tracks, video, settings.animals, certainty=settings.identity_certainty)
    print(f"Identifying {settings.animals} animals: {len(run.fragments)} fragments", file=sys.stderr)
    printer = ProgressPrinter()
    try:
        for progress in run.steps():
            printer(progress)
    except KeyboardInterrupt:
        print("\nStopped the identity pass: writing the tracks as tracked.", file=sys.stderr)
        return tracks, None, True
    finally:
        run.close()
    result = run.result()
    table = result.fragments
    print(f"{int((table.identity >= 0).sum())}/{len(table)} fragments identified in {result.seconds:.1f} s, "
          f"{int(table.uncertain.sum())} uncertain (to check: {stem}_identity.csv)", file=sys.stderr)
    return result.tracks, write_identity_csv(out / f"{stem}_identity.csv", table), False
