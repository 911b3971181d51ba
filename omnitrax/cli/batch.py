"""`omnitrax batch`: track (and pose) many videos, in parallel here or on a Dask cluster (see omnitrax.batch)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import OmniTraxError


def register(subparsers) -> None:
    p = subparsers.add_parser("batch", help="track (and pose) many videos, in parallel or on a Dask cluster",
                              description="Track many videos into OUT/<stem>/; reruns skip finished videos.")
    p.add_argument("videos", nargs="*", metavar="VIDEO",
                   help="video files and image sequences (folders of numbered frames, first frame files, quoted globs)")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per video)")
    p.add_argument("--settings", default=None, help="settings file (.toml or .yaml) as saved from Blender; "
                                                    "default: the default settings")
    p.add_argument("--workers", type=int, default=None,
                   help="videos processed at once on this machine (default: CPU count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on this Dask distributed scheduler (e.g. tcp://10.0.0.1:8786) instead; its "
                        "workers need omnitrax importable and the same paths")
    p.add_argument("--pose-model", default=None, metavar="DIR",
                   help="DeepLabCut model folder: also estimate poses (overrides the settings file)")
    p.add_argument("--identify", action="store_true",
                   help="after tracking, the identity pass (as track --identify; needs animals = N in the settings)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..batch import VideoResult, format_table, run_batch
    from ..settings_file import POSE_DEFAULTS, read_settings
    from ..tracking.settings import TrackingSettings

    if args.settings:
        tracking, pose = read_settings(args.settings)
    else:
        tracking, pose = TrackingSettings(), dict(POSE_DEFAULTS)
    if args.pose_model:
        pose["pose_model_path"] = str(Path(args.pose_model).resolve())
    if not args.videos:
        raise OmniTraxError("No videos given: list the video files (or folders of frames) to process, e.g. "
                            "videos/*.mp4.")
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else "this machine"
    with_pose = " + pose" if pose.get("pose_model_path") else ""
    print(f"Batch: {len(args.videos)} videos, tracking{with_pose} on {where} -> {args.out}", file=sys.stderr)
    count = [0]

    def report(r: "VideoResult"):
        count[0] += 1
        detail = f"{r.frames} frames, {r.tracks} tracks, {r.seconds:.1f} s" if r.status != "failed" else r.error
        print(f"[{count[0]}/{len(args.videos)}] {Path(r.video).name}: {r.status} ({detail})", file=sys.stderr,
              flush=True)

    try:
        results = run_batch(args.videos, args.out, tracking, pose, workers=args.workers, scheduler=args.scheduler,
                            on_result=report, identify=args.identify)
    except KeyboardInterrupt:
        print("\nStopped. Run the same command again to finish the remaining videos (finished ones are kept).",
              file=sys.stderr)
        return 130
    print(format_table(results))
    failed = sum(r.status == "failed" for r in results)
    print(f"{len(results) - failed} of {len(results)} videos ok; summary in "
          f"{Path(args.out) / 'batch_summary.csv'}")
    return 1 if failed else 0
