"""Training data from corrected tracks and poses: animal crops, YOLO detection sets, DeepLabCut labeled data.

Conventions (as the rest of OmniTrax): pixels with the origin at the top-left, integer coordinates
are pixel centres; frames are 0-based video frame indices. Frames are read once, in order
(VideoSource.frames), never by seeking per track.

"Every n-th frame" means every n-th of the frames that have data (sorted), starting with the first:
frames with data 3, 4, 5, ... and every=10 give 3, 13, 23, ...

YOLO boxes are normalised the way OmniTrax's YOLO detector reads them back (cx_norm = x / W), so a
network trained on an export and run by OmniTrax reproduces the exported positions.

DeepLabCut labeled data follows DeepLabCut 2.3+ multi-animal projects: images
`labeled-data/<clip>/img<frame>.png` and `CollectedData_<scorer>.csv` / `.h5` (key 'df_with_missing')
with a 3-level row index ("labeled-data", <clip>, <image>) and columns (scorer, individuals,
bodyparts, coords) with coords x, y; NaN where a keypoint is not labeled. The CSV is written without
pandas (so it works in any Blender); the .h5 needs pandas and PyTables and is skipped without them.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import OmniTraxError
from ..files import ensure_folder, safe_file_name, write_text, writing
from ..pose.crops import ROI_MODES, extract, roi_boxes
from ..pose.poses import Poses
from ..tracking.tracks import Tracks, distinct_names, ids_for_names, name_of
from ..video import VideoSource

IMAGE_FORMATS = ("jpg", "png")
SPLITS = ("train", "val")
DLC_H5_KEY = "df_with_missing"
JPEG_QUALITY = 95
LABEL_DECIMALS = 6


# ------------------------------------------------------------------------------------------- helpers
def _safe_name(name) -> str:
    """A file-name-safe version of a clip or track name (spaces stay, so a DeepLabCut clip folder keeps
    the video's name)."""
    return safe_file_name(name, empty="_")


def _check_ext(ext: str) -> str:
    ext = str(ext).lower().lstrip(".")
    if ext == "jpeg":
        ext = "jpg"
    if ext not in IMAGE_FORMATS:
        raise OmniTraxError(f"Unknown image format '{ext}'; choose one of {', '.join(IMAGE_FORMATS)}.")
    return ext


def _check_every(every) -> int:
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise OmniTraxError(f"'every' must be a whole number of frames >= 1, got {every!r}.")
    return int(every)


def _open(video):
    """(VideoSource, whether we opened it and must close it)."""
    if isinstance(video, VideoSource):
        return video, False
    return VideoSource(video, min_frames=1), True


def _digits(video: VideoSource) -> int:
    """Zero-padding width of frame numbers in file names: the width of the video's last frame index."""
    return len(str(max(video.frame_count - 1, 0)))


def _pick_frames(frames, every: int) -> np.ndarray:
    return np.unique(np.asarray(frames, np.int64))[::every]


def _check_frames_in_video(frames: np.ndarray, video: VideoSource, what: str) -> None:
    if len(frames) and (frames[0] < 0 or frames[-1] >= video.frame_count):
        bad = frames[0] if frames[0] < 0 else frames[-1]
        raise OmniTraxError(f"The {what} reach frame {int(bad)}, but {video.path.name} has frames "
                            f"0..{video.frame_count - 1}: is this the right video?")


def _frames_at(video: VideoSource, wanted: np.ndarray, on_progress=None):
    """Yield (index, image) for the wanted frames (sorted, unique), decoding the video once in order."""
    if not len(wanted):
        return
    wanted_set = set(wanted.tolist())
    done = 0
    for index, image in video.frames(int(wanted[0]), int(wanted[-1]) + 1):
        if index in wanted_set:
            yield index, image
            done += 1
            if on_progress is not None:
                on_progress(done, len(wanted))
    if done < len(wanted):
        raise OmniTraxError(f"{video.path.name} ended after {done} of {len(wanted)} frames to export; the "
                            f"file may be damaged.")


def _write_image(path: Path, image: np.ndarray, ext: str) -> Path:
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext == "jpg" else []
    if not cv2.imwrite(str(path), image, params):
        raise OmniTraxError(f"Cannot write the image '{path}'; check that the folder is writable.")
    return path


def _make_dir(folder: Path) -> Path:
    return ensure_folder(folder, what="folder")


def _unique_names(ids, names, what: str = "track") -> dict:
    """id -> file-safe name (given name or `track_<id>`); distinct names required."""
    names = dict(names or {})
    out = {int(t): _safe_name(name_of(names, t)) for t in ids}
    seen = {}
    for tid, name in out.items():
        if name.lower() in seen:
            raise OmniTraxError(f"Two {what}s ({seen[name.lower()]} and {tid}) have the name '{name}' in file "
                                f"names; give them distinct names.")
        seen[name.lower()] = tid
    return out


def _checked_tracks(tracks: Tracks, include_predicted: bool) -> Tracks:
    if tracks is None or not len(tracks):
        raise OmniTraxError("There are no tracks to export; track the video first.")
    rows = tracks if include_predicted else tracks.select(~tracks.predicted)
    if not len(rows):
        raise OmniTraxError("The tracks have only predicted (gap-filled) positions; include predicted "
                            "positions or correct some markers first.")
    if not (np.isfinite(rows.x).all() and np.isfinite(rows.y).all()):
        raise OmniTraxError("The tracks contain NaN or infinite positions; fix or remove those rows.")
    return rows


# ------------------------------------------------------------------------------------------- crops
def export_crops(video, tracks: Tracks, out_dir, clip_name: str, every: int = 1, mode: str = "constant",
                 size: float = 64, padding: float = 0, out_size: int | None = None, grayscale: bool = False,
                 ext: str = "jpg", names: dict | None = None, include_predicted: bool = False,
                 on_progress=None) -> list[Path]:
    """One square image of each tracked animal every `every`-th frame, e.g. for classifiers or re-ID.

    video:    path or VideoSource. tracks: positions in pixels (origin top-left), 0-based frames.
    mode:     "constant": a `size` x `size` px square centred on the marker; "box": the marker's box
              grown by `padding` px per side and made square (its longer side); see pose.crops.roi_boxes.
    out_size: resize every crop to this many pixels (default: keep the ROI's own size, no resampling).
    Parts of an ROI outside the frame are black. Only detected rows unless include_predicted.
    Files: `<out_dir>/<clip>_<frame>_<track>.<ext>`, frame zero-padded to the width of the video's
    last frame index, track = its name from `names` (id -> name) or its id.
    on_progress(done, total) is called per exported frame. Returns the paths written, in frame order.
    """
    ext = _check_ext(ext)
    every = _check_every(every)
    if mode not in ROI_MODES:
        raise OmniTraxError(f"Unknown crop mode '{mode}'; choose one of {', '.join(ROI_MODES)}.")
    if out_size is not None and (int(out_size) != out_size or out_size < 1):
        raise OmniTraxError(f"The crop output size must be a whole number of pixels >= 1, got {out_size!r}.")
    rows = _checked_tracks(tracks, include_predicted)
    frames = _pick_frames(rows.frame, every)
    rows = rows.select(np.isin(rows.frame, frames))
    rois = roi_boxes(np.column_stack([rows.x, rows.y]), rows.boxes(), mode=mode, size=size, padding=padding)
    labels = (_unique_names(rows.ids(), names) if names is not None
              else {t: str(t) for t in rows.ids()})
    clip = _safe_name(clip_name)
    out_dir = _make_dir(Path(out_dir))
    order = np.argsort(rows.frame, kind="stable")
    bounds = np.searchsorted(rows.frame[order], frames, side="left").tolist() + [len(order)]
    source, owned = _open(video)
    written = []
    try:
        _check_frames_in_video(frames, source, "tracks")
        digits = _digits(source)
        for k, (index, image) in enumerate(_frames_at(source, frames, on_progress)):
            if grayscale:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            for i in order[bounds[k]:bounds[k + 1]]:
                side = int(out_size) if out_size is not None else int(rois[i, 2])
                crop = extract(image, rois[i], side)[0]
                path = out_dir / f"{clip}_{index:0{digits}d}_{labels[int(rows.track[i])]}.{ext}"
                written.append(_write_image(path, crop, ext))
    finally:
        if owned:
            source.close()
    return written


# -------------------------------------------------------------------------------------------- YOLO
def _box_sizes(rows: Tracks, default_box) -> np.ndarray:
    """(N, 2) box width, height in px; unknown sizes (<= 0) from default_box or a clear error."""
    wh = np.column_stack([rows.width, rows.height]).astype(np.float64)
    unknown = ~(np.isfinite(wh).all(axis=1) & (wh > 0).all(axis=1))
    if unknown.any():
        if default_box is None:
            raise OmniTraxError(f"{int(unknown.sum())} track positions have no box size (width/height 0); give "
                                f"a default box size in pixels (--default-box) or track with a detector that "
                                f"gives boxes.")
        try:
            default = np.broadcast_to(np.asarray(default_box, np.float64), (2,))
        except (ValueError, TypeError):
            default = np.zeros(2)
        if not (np.isfinite(default).all() and (default > 0).all()):
            raise OmniTraxError(f"The default box size must be a positive number of pixels (or width, height), "
                                f"got {default_box!r}.")
        wh[unknown] = default
    return wh


def _split(frames: np.ndarray, val_fraction: float, seed: int) -> set:
    """The frames that go to the validation split: a seeded random choice of round(fraction * n) frames
    (at least one, and never all, when the fraction is above 0 and there are two frames or more)."""
    n = len(frames)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    elif n < 2:
        n_val = 0
    perm = np.random.default_rng(int(seed)).permutation(n)
    return set(frames[perm[:n_val]].tolist())


def _yaml_str(value) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(str(value), ensure_ascii=False)


def _remove_stale(folder: Path, clip: str, suffixes) -> None:
    """Files of an earlier export of this clip (`<clip>_<digits>.<suffix>`), so no frame is in both splits."""
    pattern = re.compile(rf"^{re.escape(clip)}_\d+\.({'|'.join(suffixes)})$")
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and pattern.match(path.name):
                path.unlink()


def export_yolo(video, tracks: Tracks, out_dir, clip_name: str, every: int = 10, val_fraction: float = 0.2,
                class_names=("animal",), seed: int = 0, default_box=None, ext: str = "jpg",
                include_predicted: bool = True, on_progress=None) -> Path:
    """A YOLO detection training set of full frames (Ultralytics and Darknet layouts at once).

    Frames: every `every`-th frame that has track positions. Layout under out_dir:
      images/{train,val}/<clip>_<frame>.<ext>, labels/{train,val}/<clip>_<frame>.txt with one line
      `class cx cy w h` per animal (box normalised to [0, 1], clipped to the frame, 6 decimals;
      cx = x / frame width, as OmniTrax's detector decodes), dataset.yaml (Ultralytics: path, train, val,
      names), obj.names, obj.data, train.txt, valid.txt (Darknet; absolute image paths).
    The split is a seeded random choice of frames (same seed, same split). Positions the tracker
    predicted in gaps are labeled too by default (an unlabeled animal would teach the network to miss
    it); include_predicted=False leaves them out. Box sizes of 0 (unknown) take default_box px (a number
    or (width, height)); without it they are an error. Earlier images/labels of this clip in out_dir are
    replaced. Returns out_dir.
    """
    ext = _check_ext(ext)
    every = _check_every(every)
    if not (isinstance(val_fraction, (int, float)) and 0 <= val_fraction < 1):
        raise OmniTraxError(f"The validation fraction must lie in 0..1 (below 1), got {val_fraction!r}.")
    class_names = [str(c).strip() for c in class_names]
    if not class_names or any(not c for c in class_names):
        raise OmniTraxError("Give at least one class name, none of them empty.")
    rows = _checked_tracks(tracks, include_predicted)
    if rows.cls.min() < 0 or rows.cls.max() >= len(class_names):
        raise OmniTraxError(f"The tracks use class ids up to {int(rows.cls.max())} but only {len(class_names)} "
                            f"class name(s) were given ({', '.join(class_names)}); give one name per class.")
    frames = _pick_frames(rows.frame, every)
    rows = rows.select(np.isin(rows.frame, frames))
    wh = _box_sizes(rows, default_box)
    val = _split(frames, float(val_fraction), seed)
    clip = _safe_name(clip_name)
    order = np.argsort(rows.frame, kind="stable")
    bounds = np.searchsorted(rows.frame[order], frames, side="left").tolist() + [len(order)]
    listed = {split: [] for split in SPLITS}
    source, owned = _open(video)
    try:
        _check_frames_in_video(frames, source, "tracks")
        out_dir = _make_dir(Path(out_dir)).resolve()
        for split in SPLITS:
            _remove_stale(_make_dir(out_dir / "images" / split), clip, IMAGE_FORMATS)
            _remove_stale(_make_dir(out_dir / "labels" / split), clip, ("txt",))
        digits = _digits(source)
        width, height = source.width, source.height
        for k, (index, image) in enumerate(_frames_at(source, frames, on_progress)):
            split = "val" if index in val else "train"
            stem = f"{clip}_{index:0{digits}d}"
            image_path = _write_image(out_dir / "images" / split / f"{stem}.{ext}", image, ext)
            lines = []
            for i in order[bounds[k]:bounds[k + 1]]:
                w, h = wh[i]
                left, right = np.clip([rows.x[i] - w / 2, rows.x[i] + w / 2], 0, width)
                top, bottom = np.clip([rows.y[i] - h / 2, rows.y[i] + h / 2], 0, height)
                if right <= left or bottom <= top:
                    continue  # the box lies wholly outside the frame
                values = ((left + right) / 2 / width, (top + bottom) / 2 / height, (right - left) / width,
                          (bottom - top) / height)
                lines.append(f"{int(rows.cls[i])} " + " ".join(f"{v:.{LABEL_DECIMALS}f}" for v in values))
            write_text(out_dir / "labels" / split / f"{stem}.txt", "".join(f"{line}\n" for line in lines))
            listed[split].append(image_path)
    finally:
        if owned:
            source.close()
    _write_yolo_configs(out_dir, class_names, listed)
    return out_dir


def _write_yolo_configs(out_dir: Path, class_names, listed: dict) -> None:
    def lines(paths):
        return "".join(f"{p.as_posix()}\n" for p in paths)

    write_text(out_dir / "train.txt", lines(listed["train"]))
    write_text(out_dir / "valid.txt", lines(listed["val"]))
    write_text(out_dir / "obj.names", "".join(f"{c}\n" for c in class_names))
    write_text(
        out_dir / "obj.data", f"classes = {len(class_names)}\ntrain = {(out_dir / 'train.txt').as_posix()}\n"
        f"valid = {(out_dir / 'valid.txt').as_posix()}\nnames = {(out_dir / 'obj.names').as_posix()}\n"
        f"backup = {(out_dir / 'backup').as_posix()}\n")
    names = "".join(f"  {i}: {_yaml_str(c)}\n" for i, c in enumerate(class_names))
    write_text(
        out_dir / "dataset.yaml", f"# YOLO training set written by OmniTrax (Ultralytics layout)\npath: {_yaml_str(out_dir.as_posix())}\n"
        f"train: images/train\nval: images/val\nnames:\n{names}")


def read_yolo_labels(out_dir) -> dict:
    """{(split, image file name): (N, 5) float array of class, cx, cy, w, h} of a YOLO export."""
    out_dir = Path(out_dir)
    if not (out_dir / "labels").is_dir():
        raise OmniTraxError(f"'{out_dir}' has no labels/ folder; is it a YOLO training set?")
    result = {}
    for split in SPLITS:
        for label in sorted((out_dir / "labels" / split).glob("*.txt")):
            images = [out_dir / "images" / split / f"{label.stem}.{e}" for e in IMAGE_FORMATS]
            image = next((p for p in images if p.is_file()), None)
            if image is None:
                raise OmniTraxError(f"Label file '{label}' has no image in images/{split}/.")
            text = label.read_text(encoding="utf-8").split()
            try:
                values = np.array([float(v) for v in text], np.float64).reshape(-1, 5)
            except ValueError:
                raise OmniTraxError(f"Label file '{label}' is not YOLO format (class cx cy w h per line).") \
                    from None
            result[(split, image.name)] = values
    return result


# ------------------------------------------------------------------------------------ DeepLabCut
def _fmt(value: float) -> str:
    """A float as pandas writes it to CSV (shortest round-trip repr; empty for NaN)."""
    return "" if not math.isfinite(value) else repr(float(value))


def _dlc_table(poses: Poses, clip: str, image_names, frames, scorer: str, names=None):
    """Header rows and data rows of CollectedData (see the module docstring), as lists of strings."""
    ids = poses.ids()
    array, _, _ = poses.to_array(ids=ids, frames=frames)  # (F, T, J, 3)
    individuals = distinct_names(ids, names)
    joints = list(poses.joint_names)
    header = [["scorer", "", ""] + [scorer] * (len(ids) * len(joints) * 2),
              ["individuals", "", ""] + [n for n in individuals for _ in joints for _ in "xy"],
              ["bodyparts", "", ""] + [j for _ in individuals for j in joints for _ in "xy"],
              ["coords", "", ""] + ["x", "y"] * (len(ids) * len(joints))]
    xy = array[..., :2].reshape(len(frames), -1)
    body = [["labeled-data", clip, image] + [_fmt(v) for v in row.tolist()] for image, row in zip(image_names, xy)]
    return header, body, xy, individuals


def export_dlc_labeled(video, poses: Poses, out_dir, clip_name: str, scorer: str = "OmniTrax", every: int = 1,
                       names: dict | None = None, pcutoff: float | None = None, on_progress=None) -> Path:
    """DeepLabCut multi-animal labeled data from poses (e.g. corrected in Blender).

    Writes `<out_dir>/labeled-data/<clip>/img<frame>.png` (full frames, frame zero-padded to the width of
    the video's last frame index, as DeepLabCut's frame extraction names them) and
    `CollectedData_<scorer>.csv` (and `.h5` when pandas + PyTables are there) in that folder; see the
    module docstring for the layout. Keypoints with NaN positions, or with likelihood below `pcutoff`
    when given, are left unlabeled (NaN); frames without any labeled keypoint are skipped. Individuals
    are named by `names` (track id -> name, default `track_<id>`). Copy the clip folder into a DeepLabCut
    project's labeled-data/ whose config lists the same scorer, individuals and bodyparts.
    Returns the clip folder.
    """
    every = _check_every(every)
    scorer = str(scorer).strip()
    if not scorer or _safe_name(scorer) != scorer:
        raise OmniTraxError(f"The scorer name '{scorer}' must be non-empty without spaces or path characters "
                            f"(it is part of the file name); use the scorer of your DeepLabCut project.")
    if poses is None or not len(poses):
        raise OmniTraxError("There are no keypoints to export; estimate or label poses first.")
    if not poses.joint_names:
        raise OmniTraxError("The poses have no joint names; estimate them with a model first.")
    keep = np.isfinite(poses.x) & np.isfinite(poses.y)
    if pcutoff is not None:
        keep &= poses.likelihood >= float(pcutoff)
    kept = poses.select(keep)
    if not len(kept):
        raise OmniTraxError(f"No keypoint is labeled{' above the cut-off' if pcutoff is not None else ''}; "
                            f"lower the cut-off or correct some keypoints first.")
    frames = _pick_frames(kept.frame, every)
    clip = _safe_name(clip_name)
    folder = _make_dir(Path(out_dir) / "labeled-data" / clip)
    source, owned = _open(video)
    try:
        _check_frames_in_video(frames, source, "poses")
        digits = _digits(source)
        images = [f"img{int(f):0{digits}d}.png" for f in frames]
        header, body, xy, individuals = _dlc_table(kept, clip, images, frames, scorer, names)
        for k, (index, image) in enumerate(_frames_at(source, frames, on_progress)):
            _write_image(folder / images[k], image, "png")
    finally:
        if owned:
            source.close()
    with writing(folder / f"CollectedData_{scorer}.csv") as path, open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows(header + body)
    _write_dlc_h5(folder / f"CollectedData_{scorer}.h5", header, body, xy)
    return folder


def _write_dlc_h5(path: Path, header, body, xy) -> bool:
    """The same table as DeepLabCut's .h5; False (nothing written) without pandas or PyTables."""
    try:
        import pandas as pd
        import tables  # noqa: F401  (pandas needs it for to_hdf)
    except ImportError:
        return False
    columns = pd.MultiIndex.from_arrays([h[3:] for h in header], names=["scorer", "individuals", "bodyparts",
                                                                         "coords"])
    index = pd.MultiIndex.from_tuples([tuple(r[:3]) for r in body])
    pd.DataFrame(xy, index=index, columns=columns).to_hdf(path, key=DLC_H5_KEY, mode="w")
    return True


def _frame_of_image(name: str, path) -> int:
    digits = re.findall(r"\d+", Path(name.replace("\\", "/")).stem)
    if not digits:
        raise OmniTraxError(f"'{path}': image '{name}' has no frame number in its name.")
    return int(digits[-1])


def _parse_dlc_csv(path: Path):
    """(frames, individuals, bodyparts, coords, values (R, C)) of a DeepLabCut CSV, labeled data or analysis.

    Handles 3 or 4 header rows (single- or multi-animal) and a 1-column (frame number or image path) or
    3-column (labeled-data, clip, image) row index.
    """
    if not path.is_file():
        raise OmniTraxError(f"DeepLabCut file '{path}' not found; check the path.")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r]
    if len(rows) < 3 or rows[0][0] != "scorer":
        raise OmniTraxError(f"'{path}' is not a DeepLabCut CSV (its first row should start with 'scorer').")
    multi = rows[1][0] == "individuals"
    n_header = 4 if multi else 3
    coord_row = rows[n_header - 1]
    if coord_row[0] != "coords":
        raise OmniTraxError(f"'{path}' is not a DeepLabCut CSV (row {n_header} should start with 'coords').")
    n_index = 3 if len(coord_row) > 2 and coord_row[1] == "" and coord_row[2] == "" else 1
    width = len(coord_row)
    individuals = rows[1][n_index:] if multi else ["track_0"] * (width - n_index)
    bodyparts = rows[n_header - 2][n_index:]
    coords = coord_row[n_index:]
    frames, values = [], []
    for number, row in enumerate(rows[n_header:], start=n_header + 1):
        if len(row) != width:
            raise OmniTraxError(f"'{path}' line {number}: {len(row)} values, expected {width}.")
        key = row[n_index - 1]
        frames.append(int(key) if n_index == 1 and key.isdigit() else _frame_of_image(key, path))
        try:
            values.append([float(v) if v.strip() else np.nan for v in row[n_index:]])
        except ValueError:
            raise OmniTraxError(f"'{path}' line {number}: a value is not a number.") from None
    return np.asarray(frames, np.int64), individuals, bodyparts, coords, np.asarray(values, np.float64)


def read_dlc_csv(path) -> tuple[Poses, dict]:
    """A DeepLabCut CSV (labeled data or analysis output, multi- or single-animal) as (Poses, id -> name).

    Individuals named `track_<n>` get id n, others the next free ids in file order; joints keep the
    file's body-part order. Missing (NaN) keypoints have no row; likelihood is 1 where the file has none.
    """
    path = Path(path)
    frames, individuals, bodyparts, coords, values = _parse_dlc_csv(path)
    animals = list(dict.fromkeys(individuals))
    joints = list(dict.fromkeys(bodyparts))
    ids = ids_for_names(animals)
    column = {(i, b, c): k for k, (i, b, c) in enumerate(zip(individuals, bodyparts, coords))}
    parts = []
    for animal in animals:
        for j, joint in enumerate(joints):
            if (animal, joint, "x") not in column or (animal, joint, "y") not in column:
                continue
            x = values[:, column[animal, joint, "x"]] if len(values) else np.zeros(0)
            y = values[:, column[animal, joint, "y"]] if len(values) else np.zeros(0)
            li = column.get((animal, joint, "likelihood"))
            likelihood = values[:, li] if li is not None else np.ones(len(x))
            ok = np.isfinite(x) & np.isfinite(y)
            parts.append(Poses(track=np.full(int(ok.sum()), ids[animal]), frame=frames[ok],
                               joint=np.full(int(ok.sum()), j), x=x[ok], y=y[ok], likelihood=likelihood[ok],
                               joint_names=joints))
    poses = Poses.concat(parts) if parts else Poses.empty(joints)
    return poses, {v: k for k, v in ids.items()}


def read_dlc_labeled(folder) -> Poses:
    """The poses of a labeled-data folder written by export_dlc_labeled (or by DeepLabCut).

    folder: the `labeled-data/<clip>` folder holding one CollectedData_*.csv, that CSV itself, or an export
    root with exactly one labeled-data/<clip>/ inside. Frames come from the image names (img<frame>.png).
    """
    folder = Path(folder)
    if folder.is_file():
        return read_dlc_csv(folder)[0]
    found = sorted(folder.glob("CollectedData_*.csv")) or sorted(folder.glob("labeled-data/*/CollectedData_*.csv"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise OmniTraxError(f"'{folder}' has {what} CollectedData_*.csv files; choose the labeled-data/<clip> "
                            f"folder of one clip.")
    return read_dlc_csv(found[0])[0]
