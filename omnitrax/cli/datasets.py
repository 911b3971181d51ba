"""`python -m omnitrax export-crops | export-yolo | export-dlc`: training data from tracks and poses.

omnitrax.cli calls register(subparsers); each command sets func=. Output goes, as in Blender, into
`<out>/<video stem>_crops/`, `<out>/<video stem>_yolo/` and `<out>/<video stem>_dlc/`. User mistakes raise
OmniTraxError (the main CLI prints one line and exits 2).
"""
from __future__ import annotations

import sys
from pathlib import Path


def _video(path: str) -> tuple[Path, str]:
    """(the video or image sequence, the stem of its output names), checked before any work."""
    from ..video import check_source, source_stem

    video = Path(path)
    check_source(video)
    return video, source_stem(video)


def _out(path: str) -> Path:
    """The --out folder, made and checked for writing before any frame is read."""
    from ..files import ensure_folder

    return ensure_folder(path, what="output folder", writable=True)


def _progress(label: str):
    last = [-1]

    def report(done: int, total: int):
        percent = int(100 * done / max(total, 1))
        if percent // 10 != last[0] // 10 or done == total:
            last[0] = percent
            print(f"{label}: {done}/{total} frames", file=sys.stderr)

    return report


def run_crops(args) -> int:
    from ..io.datasets import export_crops
    from ..io.tracks_csv import read_tracks_csv

    video, stem = _video(args.video)
    out = _out(args.out) / f"{stem}_crops"
    tracks = read_tracks_csv(args.tracks)
    written = export_crops(video, tracks, out, stem, every=args.every, mode=args.mode, size=args.size,
                           padding=args.padding, out_size=args.out_size, grayscale=args.grayscale,
                           ext=args.format, include_predicted=args.include_predicted,
                           on_progress=_progress("crops"))
    print(f"{len(written)} crops -> {out}")
    return 0


def _class_names_beside(tracks_csv) -> list[str]:
    """The class names `omnitrax track` wrote beside a tracks CSV (<stem>_classes.csv), else ['animal']."""
    from ..io.tracks_csv import read_classes

    path = Path(tracks_csv)
    classes = path.with_name(path.name.removesuffix("_tracks.csv") + "_classes.csv")
    return read_classes(classes) if path.name.endswith("_tracks.csv") and classes.is_file() else ["animal"]


def run_yolo(args) -> int:
    from ..io.datasets import export_yolo, read_yolo_labels
    from ..io.tracks_csv import read_tracks_csv

    video, stem = _video(args.video)
    out = _out(args.out)
    tracks = read_tracks_csv(args.tracks)
    names = [n.strip() for n in args.names.split(",")] if args.names else _class_names_beside(args.tracks)
    out = export_yolo(video, tracks, out / f"{stem}_yolo", stem, every=args.every,
                      val_fraction=args.val_fraction, class_names=names, seed=args.seed,
                      default_box=args.default_box, ext=args.format, on_progress=_progress("yolo"))
    labels = read_yolo_labels(out)
    n_val = sum(1 for split, _ in labels if split == "val")
    print(f"{len(labels) - n_val} train + {n_val} val frames, {sum(len(v) for v in labels.values())} boxes -> "
          f"{out} (dataset.yaml, obj.data)")
    return 0


def run_dlc(args) -> int:
    from ..io.datasets import export_dlc_labeled, read_dlc_csv

    video, stem = _video(args.video)
    out = _out(args.out)
    poses, names = read_dlc_csv(args.poses)
    folder = export_dlc_labeled(video, poses, out / f"{stem}_dlc", stem,
                                scorer=args.scorer, every=args.every, names=names, pcutoff=args.pcutoff,
                                on_progress=_progress("dlc"))
    n_images = len(list(folder.glob("img*.png")))
    print(f"{n_images} labeled frames -> {folder}")
    return 0


def register(subparsers) -> None:
    """Add export-crops, export-yolo and export-dlc to the main CLI's subparsers."""
    from ..pose.crops import ROI_MODES
    from ..io.datasets import IMAGE_FORMATS

    p = subparsers.add_parser("export-crops", help="square image crops of every tracked animal (training data)")
    p.add_argument("video", help="video file, or image sequence (folder of numbered frames, first frame file, quoted glob)")
    p.add_argument("--tracks", required=True, help="OmniTrax tracks CSV (from the track command or Blender)")
    p.add_argument("--out", required=True, help="output folder (crops go to OUT/<video>_crops/)")
    p.add_argument("--every", type=int, default=1, help="every n-th frame that has tracks (default 1)")
    p.add_argument("--mode", choices=ROI_MODES, default="constant",
                   help="constant: a --size px square around each marker; box: the marker's box plus "
                        "--padding, made square")
    p.add_argument("--size", type=float, default=64, help="square size in pixels (constant mode, and box "
                                                          "mode where a box is unknown)")
    p.add_argument("--padding", type=float, default=0.0, help="box mode: pixels added on every side")
    p.add_argument("--out-size", type=int, default=None, help="resize crops to this many pixels")
    p.add_argument("--grayscale", action="store_true", help="write single-channel images")
    p.add_argument("--format", choices=IMAGE_FORMATS, default="jpg")
    p.add_argument("--include-predicted", action="store_true",
                   help="also crop positions the tracker filled in gaps")
    p.set_defaults(func=run_crops)

    p = subparsers.add_parser("export-yolo", help="a YOLO detection training set (Ultralytics + Darknet)")
    p.add_argument("video", help="video file, or image sequence (folder of numbered frames, first frame file, quoted glob)")
    p.add_argument("--tracks", required=True, help="OmniTrax tracks CSV with box sizes")
    p.add_argument("--out", required=True, help="output folder (dataset goes to OUT/<video>_yolo/)")
    p.add_argument("--every", type=int, default=10, help="every n-th frame that has tracks (default 10)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of frames for validation")
    p.add_argument("--names", default=None, help="comma-separated class names, in class-id order (default: the "
                                                 "<video>_classes.csv beside the tracks, else 'animal')")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    p.add_argument("--default-box", type=float, default=None,
                   help="box size in pixels for positions without one (default: an error)")
    p.add_argument("--format", choices=IMAGE_FORMATS, default="jpg")
    p.set_defaults(func=run_yolo)

    p = subparsers.add_parser("export-dlc", help="DeepLabCut multi-animal labeled data from poses")
    p.add_argument("video", help="video file, or image sequence (folder of numbered frames, first frame file, quoted glob)")
    p.add_argument("--poses", required=True, help="DeepLabCut CSV of the poses (from the pose command or "
                                                  "Blender's Export Poses)")
    p.add_argument("--out", required=True, help="output folder (labeled data goes to OUT/<video>_dlc/)")
    p.add_argument("--scorer", default="OmniTrax", help="scorer name: your DeepLabCut project's scorer")
    p.add_argument("--every", type=int, default=1, help="every n-th frame that has poses (default 1)")
    p.add_argument("--pcutoff", type=float, default=None,
                   help="leave keypoints below this likelihood unlabeled (default: keep all)")
    p.set_defaults(func=run_dlc)
