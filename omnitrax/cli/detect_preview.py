"""`omnitrax detect-preview`: a few frames with what the detector sees drawn on them (kept detections,
rejected blobs and why, the foreground), to see why an animal is or is not detected before tracking."""
from __future__ import annotations

import sys

from ..errors import OmniTraxError
from .track import _add_tracking_options, _settings


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect-preview", help="write a few frames with the detections and rejected blobs drawn",
        description="Write DIR/<video>_detect_<frame>.png for frames spread over the video: kept detections in "
                    "green, rejected blobs with their reason (red: too small, orange: too large, grey: extra), "
                    "the background detector's foreground beside them, and DIR/<video>_background.png. "
                    "Takes every setting `omnitrax track` takes.")
    p.add_argument("video", help="video file, or image sequence (folder of numbered frames, first frame file, quoted glob)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--frames", type=int, default=6, metavar="K",
                   help="how many frames, spread over the video (first and last included; default 6)")
    _add_tracking_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..detection.preview import write_detect_preview
    from ..video import source_stem

    if args.detections:
        raise OmniTraxError("detect-preview shows what the detector sees: it does not read --detections; "
                            "leave that option out.")
    settings = _settings(args)
    stop = None if args.end is None else args.end + 1

    def progress(done, total):
        print(f"preview image {done}/{total}", file=sys.stderr)

    result = write_detect_preview(args.video, settings, args.out, frames=args.frames, start=args.start, stop=stop,
                                  on_progress=progress, stem=source_stem(args.video))
    print(f"Detector: {result.description}")
    for name, value in result.chosen.items():
        print(f"  {name}: {value}")
    for counts in result.frames:
        print(f"  frame {counts.frame}: {counts.text()}")
    for path in result.paths:
        print(f"  wrote {path}")
    return 0
