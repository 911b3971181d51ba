"""`python -m omnitrax pose`: DeepLabCut-Live poses for tracked animals, written as DeepLabCut files.

omnitrax.cli calls register(subparsers) and, for this command, run(args).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import OmniTraxError


def register(subparsers) -> None:
    from .. import settings as schema
    from .common import flag_type

    roi_mode, roi_size, padding, pcutoff = (schema.BY_NAME[n] for n in
                                            ("pose_roi_mode", "pose_roi_size", "pose_padding", "pcutoff"))

    p = subparsers.add_parser("pose", help="estimate animal poses with a DeepLabCut model on tracked animals")
    p.add_argument("video", help="video file, or image sequence (folder of numbered frames, first frame file, quoted glob)")
    p.add_argument("--tracks", default=None, help="OmniTrax tracks CSV (from the track command); not needed "
                                                  "with --full-frame")
    p.add_argument("--model", required=True, help="folder of an exported DeepLabCut model: TensorFlow "
                                                  "(pose_cfg.yaml + .pb) or PyTorch (.pt)")
    p.add_argument("--device", default=None, help="PyTorch models: cpu, cuda, cuda:0 ... (default: cuda when "
                                                  "available)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--full-frame", action="store_true", help="one animal: run the model on whole frames")
    p.add_argument(roi_mode.cli_flag, choices=roi_mode.values, default=roi_mode.default, type=str.lower,
                   help=roi_mode.help)
    p.add_argument(roi_size.cli_flag, type=flag_type(roi_size), default=roi_size.default,
                   help=f"{roi_size.help} [{roi_size.range_text()}]")
    p.add_argument(padding.cli_flag, type=flag_type(padding), default=padding.default,
                   help=f"{padding.help} [{padding.range_text()}]")
    p.add_argument("--skeleton", default=None, help="DeepLabCut project config.yaml with the skeleton "
                                                    "(default: one found next to or above the model)")
    p.add_argument("--batch-frames", type=int, default=4, help="frames per network call")
    p.add_argument("--h5", action=argparse.BooleanOptionalAction, default=True,
                   help="also write DeepLabCut's .h5 (default: on)")
    p.add_argument("--blend", default=None, help="also store the keypoints as markers in this .blend (one "
                                                 "written by `omnitrax track VIDEO --blend`)")
    p.add_argument("--preview", action="store_true", help="also write OUT/<video>_pose_preview.mp4 with tracks "
                                                         "and skeletons drawn")
    p.add_argument("--per-track", action="store_true",
                   help="also write one single-animal DeepLabCut CSV per track: OUT/<video>_poses/<track>.csv")
    p.add_argument("--crop-pixels", action="store_true",
                   help="--per-track files in ROI pixels (origin at each animal's ROI, upstream OmniTrax's layout) "
                        "instead of frame pixels")
    p.add_argument("--per-track-videos", action="store_true",
                   help="also write one cropped video per animal with its skeleton: OUT/<video>_videos/<track>.mp4")
    p.add_argument(pcutoff.cli_flag, type=flag_type(pcutoff), default=pcutoff.default,
                   help=f"--blend: {pcutoff.help} [{pcutoff.range_text()}]")
    p.set_defaults(func=run)
    return p


class _Progress:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream=None):
        stream = sys.stderr if stream is None else stream  # looked up now: tests and callers may redirect it
        self.stream, self.tty = stream, stream.isatty()
        self.start = self.last = time.monotonic()

    def __call__(self, done: int, total: int):
        now = time.monotonic()
        if done != total and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        filled = int(30 * done / max(total, 1))
        fps = done / max(now - self.start, 1e-9)
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} frames  {fps:.1f} fps"
        self.stream.write(("\r" + line + ("\n" if done == total else "")) if self.tty else line + "\n")
        self.stream.flush()


def run(args) -> int:
    from ..io.tracks_csv import read_tracks_csv
    from ..pose.estimate import estimate_poses
    from ..pose.export import write_dlc_csv, write_dlc_h5
    from ..pose.model import PoseModel

    from ..video import check_source, source_stem

    video = Path(args.video)
    check_source(video)  # a missing video or a bad image sequence: one line, before the model loads
    stem = source_stem(video)
    if args.tracks is None and not args.full_frame:
        raise OmniTraxError("Give the animals' tracks with --tracks TRACKS.csv, or --full-frame for a single animal.")
    if args.crop_pixels and (not args.per_track or args.full_frame):
        raise OmniTraxError("--crop-pixels is for the --per-track files of tracked animals: add --per-track "
                            "(and --tracks), or leave it out.")
    if args.per_track_videos and args.full_frame:
        raise OmniTraxError("--per-track-videos follow tracked animals; with --full-frame use --preview.")
    from ..files import ensure_folder

    # the output places are made and checked now, before the model loads, not after a long run
    out = ensure_folder(args.out, what="output folder", writable=True)
    if args.blend:
        blend = Path(args.blend).resolve()
        if not blend.is_file():
            raise OmniTraxError(f"--blend {blend} not found; write it first with `omnitrax track VIDEO --blend "
                                f"...`, or leave out --blend.")
        ensure_folder(blend.parent, what="folder of --blend", writable=True)
    tracks = read_tracks_csv(args.tracks) if args.tracks is not None and not args.full_frame else None
    model = PoseModel.load(args.model, skeleton_config=args.skeleton, device=args.device)
    what = "whole frames" if args.full_frame else f"{len(tracks.ids())} tracks"
    print(f"Pose estimation on {video} ({what}) with {model.description}", file=sys.stderr)
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C: finish and write
    try:
        poses = estimate_poses(video, tracks, model, full_frame=args.full_frame, roi_mode=args.roi_mode,
                               roi_size=args.roi_size, padding=args.padding, batch_frames=args.batch_frames,
                               on_progress=_Progress(), should_stop=stop.is_set)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        model.close()
    if stop.is_set():
        print("\nStopped: writing the poses found so far.", file=sys.stderr)
    written = [write_dlc_csv(out / f"{stem}_poses.csv", poses)]
    if args.h5:
        written.append(write_dlc_h5(out / f"{stem}_poses.h5", poses))
    if args.per_track:
        from ..pose.crops import relative_to_rois
        from ..pose.export import write_dlc_single

        single = relative_to_rois(poses, tracks, args.roi_mode, args.roi_size, args.padding) if args.crop_pixels \
            else poses
        files = write_dlc_single(out / f"{stem}_poses", single)
        written.append(f"{out / (stem + '_poses')}/ ({len(files)} per-track files)")
    if args.preview or args.per_track_videos:
        from ..io.preview import PreviewVideos

        job = PreviewVideos(video, out / f"{stem}_pose_preview.mp4" if args.preview else None, tracks=tracks,
                            poses=poses, pcutoff=args.pcutoff,
                            per_track=out / f"{stem}_videos" if args.per_track_videos else None,
                            crop=args.roi_size)
        job.run()
        written += job.written if args.preview and not args.per_track_videos else \
            [p for p in job.written if p.parent == out] + [f"{out / (stem + '_videos')}/ (one video per animal)"]
    if args.blend:
        from ..io.blend import add_poses_to_blend

        written.append(add_poses_to_blend(args.blend, poses, args.pcutoff))
    print(f"{len(poses.ids())} animals, {len(poses.frames())} frames, {len(poses.joint_names)} joints -> "
          + ", ".join(str(p) for p in written))
    return 130 if stop.is_set() else 0
