"""Reading frames of a video file or of an image sequence: a true frame count, random access and
prefetched sequential reads.

Frames are HxWx3 uint8 BGR images; indices are 0-based video frame indices. `VideoSource(path)` opens
either: find_series() decides from the path whether it names an image sequence (a folder of numbered
frames, one numbered frame file, or a glob) and ImageSequence reads it; any other path is a movie file.
"""
from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from .ahead import ahead
from .errors import OmniTraxError

DEFAULT_FPS = 25.0
PREFETCH = 4  # frames decoded ahead of the consumer
GRAB_AHEAD = 12  # read() skips up to this many frames forward by decoding instead of seeking
#: image files a sequence may hold (what OpenCV's imread and Blender both read)
IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".webp", ".jp2")
LEVEL_SAMPLES = 12  # frames sampled to choose the one linear map from >8-bit frames to 8 bits (GreyMap)
DEPTHS = (8, 10, 12, 14, 16)  # bit depths cameras store: the brightest sampled value picks the least that holds it
LEVEL_PERCENTILES = (0.1, 99.9)  # the grey levels a stretch maps to 0 and 255 (robust to hot pixels)
LOW_CONTRAST = 64  # grey levels: a sequence whose sampled levels span fewer than this under its bit-depth map ...
FINER = 2  # ... and hold at least this many times more distinct levels there than that map shows is stretched
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")  # name without its extension: prefix, the last digits, tail


def usable_fps(reported: float, fallback: float = DEFAULT_FPS) -> float:
    """The container's frame rate, or `fallback` when it reports 0, nan or nonsense."""
    return float(reported) if math.isfinite(reported) and 0 < reported < 10000 else float(fallback)


def spread_frames(start: int, stop: int, n: int) -> list[int]:
    """Up to n frame indices spread evenly over [start, stop) (non-empty), the first and last included."""
    n = max(1, min(int(n), stop - start))
    return np.unique(np.round(np.linspace(start, stop - 1, n)).astype(int)).tolist()


class UnreadableFrame(OmniTraxError):
    """A frame of an image sequence whose file is missing or cannot be read; raised when it is reached,
    so the frames before it are processed (a tracking run keeps them)."""

    def __init__(self, message: str, index: int, path: Path):
        super().__init__(message)
        self.index, self.path = index, path


# ------------------------------------------------------------------------------- image sequences

def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _parse(name: str):
    """(prefix, number text, suffix) of a numbered image file name, as Blender reads it (the last group
    of digits before the extension); None when the name has no number."""
    stem, ext = os.path.splitext(name)
    m = _NUMBERED.match(stem)
    return (m.group(1), m.group(2), m.group(3) + ext) if m else None


@dataclass(frozen=True)
class FrameSeries:
    """One numbered series of image files: frame index i is the file numbered first + i (as Blender shows a
    sequence: its first file at the clip's first frame, then one number per frame). A number between
    first and last without a file is a missing frame."""

    folder: Path
    prefix: str
    suffix: str  # after the number, the extension included
    files: dict = field(repr=False)  # number -> file name
    digits: int  # zero padding of the first file's number
    alone: bool = True  # the only series in its folder

    @cached_property
    def first(self) -> int:
        return min(self.files)

    @cached_property
    def last(self) -> int:
        return max(self.files)

    @property
    def frame_count(self) -> int:
        return self.last - self.first + 1

    @cached_property
    def missing(self) -> list[int]:
        """Frame indices in [0, frame_count) that have no file."""
        return [n - self.first for n in range(self.first, self.last + 1) if n not in self.files]

    def file(self, index: int) -> Path:
        """The file of frame `index` (the name it would have where it is missing)."""
        number = self.first + int(index)
        name = self.files.get(number) or f"{self.prefix}{number:0{self.digits}d}{self.suffix}"
        return self.folder / name

    @property
    def pattern(self) -> str:
        """The series as one name: frame_######.tif."""
        return f"{self.prefix}{'#' * max(self.digits, 1)}{self.suffix}"

    @property
    def stem(self) -> str:
        """Output file stem: the folder's name when the series is alone in it, else the series prefix."""
        prefix = self.prefix.strip(" _-.")
        return self.folder.resolve().name if self.alone or not prefix else prefix

    def describe(self) -> str:
        return (f"{self.file(0).name} .. {self.file(self.frame_count - 1).name} ({len(self.files)} files)"
                if len(self.files) > 1 else f"{self.file(0).name} (1 file)")


def _series_of(folder: Path, names) -> dict:
    """{(prefix, suffix): {number: name}} of the numbered image files among names."""
    groups: dict = {}
    for name in names:
        parsed = _parse(name) if _is_image(name) and not name.startswith(".") else None
        if parsed is None:
            continue
        prefix, digits, suffix = parsed
        numbers = groups.setdefault((prefix, suffix), {})
        other = numbers.setdefault(int(digits), name)
        if other != name:
            raise OmniTraxError(f"{folder / other} and {folder / name} are both frame {int(digits)} of the series "
                                f"{prefix}#{suffix}: keep one of them.")
    return groups


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file())
    except OSError as exc:
        raise OmniTraxError(f"Cannot list the folder {folder}: {exc.strerror or exc}.") from None


def _make(folder: Path, key, numbers: dict, alone: bool) -> FrameSeries:
    prefix, suffix = key
    first = numbers[min(numbers)]
    digits = len(_parse(first)[1])
    return FrameSeries(folder, prefix, suffix, dict(sorted(numbers.items())), digits, alone)


def _what_is_there(names, limit: int = 4) -> str:
    if not names:
        return "it is empty"
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"found {len(names)} file{'s' if len(names) != 1 else ''}: {shown}"


def _several(where: str, folder: Path, groups: dict) -> OmniTraxError:
    found = "; ".join(_make(folder, k, v, False).describe() for k, v in sorted(groups.items()))
    example = _make(folder, *max(groups.items(), key=lambda kv: len(kv[1])), False)
    return OmniTraxError(f"{where} holds {len(groups)} series of numbered frames ({found}): give the first frame "
                         f"of one (e.g. {example.file(0)}) or a glob such as '{folder / (example.prefix + '*' + example.suffix)}'.")


def _series_in_folder(folder: Path) -> FrameSeries:
    names = _listing(folder)
    groups = _series_of(folder, names)
    if not groups:
        images = [n for n in names if _is_image(n)]
        hint = (" (image files without a frame number; a sequence's files are numbered, e.g. frame_000001.png)"
                if images else "")
        raise OmniTraxError(f"The folder {folder} holds no numbered image frames ({', '.join(IMAGE_EXTENSIONS)}): "
                            f"{_what_is_there(names)}{hint}.")
    if len(groups) > 1:
        raise _several(f"The folder {folder}", folder, groups)
    return _make(folder, *next(iter(groups.items())), True)


def _series_from_frame(path: Path) -> FrameSeries:
    """The series `path` belongs to, from its number on (Blender shows a clip from the file it opened)."""
    folder, name = path.parent, path.name
    parsed = _parse(name)
    if parsed is None:  # one image without a number: a sequence of one frame, as in Blender
        return FrameSeries(folder, os.path.splitext(name)[0], os.path.splitext(name)[1], {0: name}, 0, True)
    prefix, digits, suffix = parsed
    groups = _series_of(folder, _listing(folder))
    numbers = {n: f for n, f in groups.get((prefix, suffix), {}).items() if n >= int(digits)}
    numbers[int(digits)] = name
    return _make(folder, (prefix, suffix), numbers, len(groups) <= 1)


def _series_from_glob(pattern: str) -> FrameSeries:
    matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(pattern)))
    files = [m for m in matches if m.is_file()]
    folders = sorted({m.parent for m in files if _is_image(m.name)})
    if len(folders) > 1:
        raise OmniTraxError(f"The glob '{pattern}' matches image files in {len(folders)} folders "
                            f"({', '.join(str(f) for f in folders[:3])}{' ...' if len(folders) > 3 else ''}): a "
                            f"sequence lies in one folder; give one folder per sequence.")
    if not folders:
        names = [str(m) for m in matches]
        raise OmniTraxError(f"The glob '{pattern}' matches no image files ({', '.join(IMAGE_EXTENSIONS)}): "
                            f"{_what_is_there(names) if names else 'it matches nothing'}; check the pattern "
                            f"(and quote it, so the shell does not expand it).")
    folder = folders[0]
    groups = _series_of(folder, [m.name for m in files])
    if not groups:
        raise OmniTraxError(f"The glob '{pattern}' matches image files without a frame number; a sequence's files "
                            f"are numbered, e.g. frame_000001.png.")
    if len(groups) > 1:
        raise _several(f"The glob '{pattern}'", folder, groups)
    return _make(folder, *next(iter(groups.items())), len(_series_of(folder, _listing(folder))) <= 1)


def _is_glob(text: str) -> bool:
    return glob.has_magic(text)


def find_series(path) -> FrameSeries | None:
    """The image sequence `path` names, or None when it names a movie file (existing or not).

    A folder: the one numbered series of image files in it (none or several: an OmniTraxError listing what
    is there). A numbered image file (frame_000123.tif): its series from that number on, as Blender opens
    it. A glob ('frames/*.png', quoted on the command line): the one series it matches. Frame i is the file
    numbered first + i; numbers without a file are missing frames (an error when they are reached).
    """
    text = os.fspath(path)
    p = Path(text).expanduser()
    if p.is_dir():
        return _series_in_folder(p)
    if p.is_file():
        return _series_from_frame(p) if _is_image(p.name) else None
    if _is_glob(text):
        return _series_from_glob(text)
    if _is_image(p.name):
        raise OmniTraxError(f"Frame file {p} not found: check the path (a sequence may also be given as its "
                            f"folder or a glob).")
    return None


def source_stem(path) -> str:
    """The stem for output file names: a movie's file stem; a sequence's folder name when it is the only
    series there, else its prefix. Never raises: a path that names no valid source gets its plain stem."""
    try:
        series = find_series(path)
    except OmniTraxError:
        series = None
    if series is not None:
        return series.stem
    p = Path(os.fspath(path)).expanduser()
    if _is_glob(str(p)):
        p = p.parent
    return p.stem if not p.is_dir() else p.resolve().name


def clip_file(path) -> Path:
    """The file Blender opens as a Movie Clip for this source: the movie, or the sequence's first frame."""
    series = find_series(path)
    return series.file(0) if series is not None else Path(os.fspath(path)).expanduser()


def check_source(path) -> None:
    """Raise the one-line OmniTraxError that opening would raise for a missing file or a bad sequence,
    without reading a frame (so commands can check their input before any work)."""
    if find_series(path) is None and not Path(os.fspath(path)).expanduser().is_file():
        raise OmniTraxError(f"Video file {path} not found: check the path.")


class VideoSource:
    """One video file or image sequence. Opening it checks that it decodes and has at least `min_frames`
    frames. `VideoSource(path)` gives an ImageSequence (a subclass) when find_series(path) names one.

    fps: the frame rate to use when the source has none of its own (image sequences, or a container that
    reports nonsense); default DEFAULT_FPS.
    """

    def __new__(cls, path, *args, **kwargs):
        if cls is VideoSource:
            series = find_series(path)
            if series is not None:
                source = super().__new__(ImageSequence)
                source._series = series
                return source
        return super().__new__(cls)

    def __init__(self, path, min_frames: int = 2, fps: float | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise OmniTraxError(f"Video file {self.path} not found: check the path.")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise OmniTraxError(f"{self.path} is not a video OpenCV can read; convert it to MP4 (H.264) or MJPG AVI.")
        self._next = 0  # index the capture reads next
        ok, first = self._cap.read()
        if not ok or first is None:
            claimed = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
            self._cap.release()
            if claimed and claimed > 0:
                raise OmniTraxError(f"{self.path} is not a video OpenCV can read; convert it to MP4 (H.264) "
                                    f"or MJPG AVI.")
            raise OmniTraxError(f"{self.path} has no frames: choose a video that has some.")
        self._next = 1
        self.height, self.width = first.shape[:2]
        self.fps = usable_fps(self._cap.get(cv2.CAP_PROP_FPS), DEFAULT_FPS if fps is None else fps)
        self.frame_count = self._count_frames()
        if self.frame_count < min_frames:
            self._cap.release()
            n = self.frame_count
            raise OmniTraxError(f"{self.path} has only {n} frame{'s' if n != 1 else ''}; tracking needs at least "
                                f"{min_frames}.")

    # ------------------------------------------------------------------------------------ counting
    def _readable(self, index: int) -> bool:
        self._seek(index)
        ok = self._cap.grab()
        self._next = index + 1 if ok else -1
        return bool(ok)

    def _seek(self, index: int):
        if index == self._next:
            return
        if self._next >= 0 and 0 < index - self._next <= GRAB_AHEAD:
            # decoding a few frames forward is cheaper than a seek (~15 frame decodes with FFmpeg)
            while self._next < index and self._cap.grab():
                self._next += 1
            if self._next == index:
                return
        if index == 0:  # reopening is the surest way back to the start (seeking fails in 1-frame files)
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
        else:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def _count_frames(self) -> int:
        """The number of readable frames; the container's claim is verified, not trusted."""
        claimed = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        claimed = int(claimed) if math.isfinite(claimed) and claimed > 0 else 0
        if claimed > 0 and self._readable(claimed - 1):
            n = claimed
            while self._cap.grab():  # the container under-reports: count on
                n += 1
            self._next = -1
            return n
        if claimed > 1:  # over-reported: the last readable frame lies below (0 is readable)
            lo, hi = 0, claimed - 1  # lo readable, hi not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self._readable(mid):
                    lo = mid
                else:
                    hi = mid
            return lo + 1
        # no usable claim: count by decoding from the start
        self._seek(0)
        n = 0
        while self._cap.grab():
            n += 1
        self._next = -1
        return max(n, 1)  # frame 0 was decoded when the file was opened

    @property
    def name(self) -> str:
        """How messages name the source."""
        return self.path.name

    @property
    def description(self) -> str:
        return f"{self.path.name}: {self.frame_count} frames, {self.width}x{self.height}, {self.fps:g} fps"

    # ------------------------------------------------------------------------------------- reading
    def _check_index(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.frame_count:
            raise OmniTraxError(f"Frame {index} is outside {self.name} (frames 0..{self.frame_count - 1}).")
        return index

    def read(self, index: int) -> np.ndarray:
        """The frame at a 0-based index (seeks unless it is the next one)."""
        index = self._check_index(index)
        if self._cap is None:
            raise OmniTraxError(f"{self.path.name} is closed; open it again.")
        self._seek(index)
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._next = -1
            raise OmniTraxError(f"Cannot decode frame {index} of {self.path}; the file may be damaged.")
        self._next = index + 1
        return frame

    def frames(self, start: int = 0, stop: int | None = None):
        """Yield (index, frame) for frames [start, stop), decoded ahead by a background thread.

        The thread uses its own capture and ends when the iteration ends, also when the consumer stops
        early (closing or dropping the generator).
        """
        stop = self.frame_count if stop is None else min(int(stop), self.frame_count)
        start = int(start)
        if start < 0 or start >= stop:
            raise OmniTraxError(f"Frame range {start}..{stop - 1} is empty or outside {self.name} "
                                f"(frames 0..{self.frame_count - 1}).")
        return self._prefetched(start, stop)

    def _prefetched(self, start: int, stop: int):
        return ahead(self._decoded(start, stop), PREFETCH, name=f"omnitrax-decode-{self.name}")

    def _decoded(self, start: int, stop: int):
        """(index, frame) for [start, stop) from a capture of its own, until a frame does not decode."""
        cap = cv2.VideoCapture(str(self.path))
        try:
            if start > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            for index in range(start, stop):
                ok, frame = cap.read()
                if not ok or frame is None:
                    return
                yield index, frame
        finally:
            cap.release()

    def sample_frames(self, n: int) -> list:
        """Up to n frames spread evenly over the whole video (first and last included)."""
        return [self.read(i) for i in spread_frames(0, self.frame_count, n)]

    # ---------------------------------------------------------------------------------- lifetime
    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"VideoSource({str(self.path)!r}: {self.frame_count} frames, {self.width}x{self.height}, "
                f"{self.fps:g} fps)")


# ------------------------------------------------------------------------- >8-bit frames to 8 bits

@dataclass(frozen=True)
class GreyMap:
    """The one linear map of a sequence's frames deeper than 8 bits onto 8 bits: v -> (v - lo) * 255 / (hi - lo),
    rounded, clipped to 0..255; the same for every frame (fit_grey_map chooses it).

    By bit depth (`bits` set): lo = 0 and hi = (2**bits - 1) * 2**shift, the largest value `bits`-bit data can
    hold, `shift` low bits always zero (left-aligned data: 12-bit values << 4 have shift 4). So 8-bit grey g
    stored as g * 257, or as 12-bit round(g * 4095 / 255), or that << 4, maps back to exactly g.
    Stretched (`bits` None): lo, hi are sampled grey levels (LEVEL_PERCENTILES); `reason` says why.
    """

    lo: float
    hi: float
    bits: int | None = None
    shift: int = 0
    reason: str = ""

    @property
    def stretched(self) -> bool:
        return self.bits is None

    def __call__(self, values) -> np.ndarray:
        """`values` (any shape and type) mapped to uint8."""
        values = np.asarray(values)
        wide = np.float64 if values.dtype.itemsize > 4 or not self.stretched else np.float32
        out = (values.astype(wide) - wide(self.lo)) * wide(255.0 / (self.hi - self.lo))
        return np.clip(np.nan_to_num(out) + 0.5, 0, 255).astype(np.uint8)

    @cached_property
    def table(self) -> np.ndarray:
        """The map of every uint16 value, for indexing."""
        return self(np.arange(65536, dtype=np.uint16))

    def describe(self) -> str:
        if self.stretched:
            return (f"grey levels {self.lo:g}..{self.hi:g} shown as 0..255 (stretched to the "
                    f"{LEVEL_PERCENTILES[0]:g}..{LEVEL_PERCENTILES[1]:g}% levels of {LEVEL_SAMPLES} frames: "
                    f"{self.reason})")
        if self.reason:
            return f"{self.reason}: 0..{self.hi:g} shown as 0..255 by its bit depth"
        if self.shift:
            return (f"{self.bits}-bit data shifted left by {self.shift} bits (the low {self.shift} always zero): "
                    f"0..{self.hi:g} shown as 0..255 by its bit depth")
        return f"{self.bits}-bit data: 0..{self.hi:g} shown as 0..255 by its bit depth"


def _colour_values(raw: np.ndarray) -> np.ndarray:
    """The image's grey or colour values without an alpha channel."""
    if raw.ndim == 3:
        return raw[:, :, :3] if raw.shape[2] >= 3 else raw[:, :, :1]
    return raw


def _grid(raw: np.ndarray) -> np.ndarray:
    """The image's colour or grey values without alpha, on a grid of about 100,000 pixels, as float64."""
    step = max(1, int(math.sqrt(raw.shape[0] * raw.shape[1] / 100_000)))
    values = _colour_values(raw[::step, ::step]).reshape(-1).astype(np.float64)
    return values[np.isfinite(values)]


def _stretch(values: np.ndarray, reason: str) -> GreyMap:
    if not len(values):
        values = np.zeros(1)
    lo, hi = (float(v) for v in np.percentile(values, LEVEL_PERCENTILES))
    if hi <= lo:  # (nearly) flat frames: the full range of what there is
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    return GreyMap(lo, hi, reason=reason)


def _depth_of(frame) -> tuple[int, int, bool]:
    """(brightest value, bitwise OR of all values, all values multiples of 257) of an unsigned-integer frame,
    alpha left out."""
    values = _colour_values(np.asarray(frame))
    if not values.size:
        return 0, 0, True
    return (int(values.max()), int(np.bitwise_or.reduce(values, axis=None)), not np.any(values % 257))


def _depth_map(top: int, ored: int, by_257: bool) -> GreyMap:
    if by_257 and top > 0:
        return GreyMap(0.0, 65535.0, bits=16, reason="8-bit data scaled to 16 bits (x 257)")
    bits = next(d for d in DEPTHS if d >= top.bit_length())
    zeros = ((ored & -ored).bit_length() - 1) if ored else 0  # low bits zero in every value
    shift = min(zeros, bits - DEPTHS[0])
    return GreyMap(0.0, float(((1 << (bits - shift)) - 1) << shift), bits=bits - shift, shift=shift)


def bit_depth_map(frames) -> GreyMap:
    """The bit-depth map of unsigned 16-bit frames: their brightest value picks the least of DEPTHS that holds it;
    low bits zero in every value mark left-aligned data (its bit depth is that less those bits); values that are
    all multiples of 257 are 8-bit data scaled to 16 bits (the usual exact 8 -> 16-bit conversion), whatever
    their brightest value."""
    top, ored, by_257 = 0, 0, True
    for frame in frames:
        t, o, b = _depth_of(frame)
        top, ored, by_257 = max(top, t), ored | o, by_257 and b
    return _depth_map(top, ored, by_257)


def fit_grey_map(frames) -> GreyMap:
    """The one map to 8 bits for a sequence, from sample `frames` as stored (deeper than 8 bits, all alike).

    Unsigned 16-bit frames: bit_depth_map(), unless that shows them with low contrast (their LEVEL_PERCENTILES
    span fewer than LOW_CONTRAST of the 256 grey levels) while they hold at least FINER times more distinct levels
    there than it shows (a genuinely low-contrast deep camera, not 8-bit data stored deep): then those
    LEVEL_PERCENTILES are stretched to 0..255. Other types (float, signed) are always stretched.
    """
    grids, dtype, top, ored, by_257 = [], None, 0, 0, True
    for frame in frames:  # one at a time: large frames are not all held
        frame = np.asarray(frame)
        dtype = frame.dtype
        grids.append(_grid(frame))
        if dtype == np.uint16:
            t, o, b = _depth_of(frame)
            top, ored, by_257 = max(top, t), ored | o, by_257 and b
    values = np.concatenate(grids) if grids else np.zeros(1)
    if dtype != np.uint16:
        return _stretch(values, f"{np.dtype(dtype or np.float32).name} data")
    fixed = _depth_map(top, ored, by_257)
    stretch = _stretch(values, "low contrast")
    if (stretch.hi - stretch.lo) * 255.0 / fixed.hi < LOW_CONTRAST:
        lower = np.percentile(values, LEVEL_PERCENTILES[0], method="lower")  # the sampled values at those levels
        higher = np.percentile(values, LEVEL_PERCENTILES[1], method="higher")
        inside = values[(values >= lower) & (values <= higher)]
        held, shown = len(np.unique(inside)), len(np.unique(fixed(inside)))
        if held > 1 and held >= FINER * shown:
            return stretch
    return fixed


class ImageSequence(VideoSource):
    """The frames of one FrameSeries (see find_series), read with cv2.imread(IMREAD_UNCHANGED).

    Greyscale frames become 3-channel BGR (what the detectors take); an alpha channel is dropped. Frames of
    more than 8 bits (16-bit TIFF or PNG, float TIFF) are mapped to 8 bits by one linear map for the whole
    sequence, fixed when it is opened from LEVEL_SAMPLES frames spread over it: `grey_map`, a GreyMap
    (fit_grey_map: by the bit depth the data uses; stretched for low-contrast deep data and float data), and
    `levels` = (grey level shown as 0, grey level shown as 255). One map, not one per frame, so a background
    model and its thresholds see the same scale in every frame. The pixel grid is the files' own, so
    coordinates are unchanged. A missing or unreadable file raises UnreadableFrame when its frame is read.
    """

    def __init__(self, path, min_frames: int = 2, fps: float | None = None):
        self.path = Path(os.fspath(path)).expanduser()
        series = self.__dict__.pop("_series", None) or find_series(path)
        if series is None:
            raise OmniTraxError(f"{path} is not an image sequence: give a folder of numbered frames, one numbered "
                                f"frame file or a glob.")
        self.series = series
        self.frame_count = series.frame_count
        if 2 * len(series.files) < self.frame_count:  # not frames but, e.g., time stamps
            raise OmniTraxError(f"The image sequence {self.name} has {len(series.files)} files for the "
                                f"{self.frame_count} numbers {series.first}..{series.last}: frame i is the file "
                                f"numbered {series.first} + i (as in Blender), so most frames would be missing. "
                                f"Number the files one by one (frame_000000, frame_000001, ...).")
        self.fps = usable_fps(float("nan"), DEFAULT_FPS if fps is None else fps)
        self.levels = None
        self.grey_map = None
        self._lut = None
        self.dtype = None
        first = self._load(0)
        self.dtype = first.dtype
        self.height, self.width = first.shape[:2]
        self.channels = 1 if first.ndim == 2 else first.shape[2]
        if self.frame_count < min_frames:
            n = self.frame_count
            raise OmniTraxError(f"The image sequence {self.name} has only {n} frame{'s' if n != 1 else ''}; "
                                f"tracking needs at least {min_frames}.")
        if self.dtype != np.uint8:
            self.grey_map = fit_grey_map(self._level_samples())
            self.levels = (self.grey_map.lo, self.grey_map.hi)
            if self.dtype == np.uint16:
                self._lut = self.grey_map.table

    @property
    def name(self) -> str:
        return f"{self.series.folder.name}/{self.series.pattern}"

    @property
    def missing(self) -> list[int]:
        """Frame indices whose file is missing (each raises UnreadableFrame when reached)."""
        return self.series.missing

    @property
    def description(self) -> str:
        kind = {np.dtype(np.uint8): "8-bit", np.dtype(np.uint16): "16-bit"}.get(np.dtype(self.dtype),
                                                                             f"{np.dtype(self.dtype).name}")
        colour = "greyscale" if self.channels <= 2 else "colour"
        text = (f"image sequence {self.series.describe()} in {self.series.folder}: {self.frame_count} frames, "
                f"{self.width}x{self.height}, {kind} {colour}")
        if self.grey_map is not None:
            text += f", {self.grey_map.describe()}"
        return text

    # ------------------------------------------------------------------------------------- reading
    def _available(self) -> list[int]:
        first = self.series.first
        return [n - first for n in self.series.files]

    def _load(self, index: int) -> np.ndarray:
        """The file of frame `index` as stored (any depth and channels), checked against the first frame."""
        path = self.series.file(index)
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.is_file() else None
        if raw is None or raw.size == 0:
            if not path.is_file():
                raise UnreadableFrame(f"Frame {index} of the image sequence {self.name} is missing: there is no file "
                                      f"{path}. Restore it or renumber the files.", index, path)
            raise UnreadableFrame(f"Frame {index} of the image sequence {self.name} cannot be read: {path} is not an "
                                  f"image OpenCV can read (damaged or incomplete?).", index, path)
        if self.dtype is not None and (raw.dtype != self.dtype or raw.shape[:2] != (self.height, self.width)):
            raise UnreadableFrame(f"Frame {index} of the image sequence {self.name} ({path}) is {raw.shape[1]}x"
                                  f"{raw.shape[0]} {raw.dtype}, but its first frame is {self.width}x{self.height} "
                                  f"{self.dtype}: all frames of a sequence must be alike.", index, path)
        return raw

    def _level_samples(self):
        """Up to LEVEL_SAMPLES frames as stored, spread over the files there are (unreadable ones left out: the
        error comes when a run reaches them)."""
        available = self._available()
        for k in spread_frames(0, len(available), LEVEL_SAMPLES):
            try:
                yield self._load(available[k])
            except UnreadableFrame:
                continue

    def _to_bgr(self, raw: np.ndarray) -> np.ndarray:
        image = raw
        if image.dtype != np.uint8:
            image = self._lut[image] if self._lut is not None else self.grey_map(image)
        if image.ndim == 3 and image.shape[2] == 3:
            return image
        if image.ndim == 3 and image.shape[2] == 4:
            return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        grey = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, 0])  # 1 or 2 (grey, alpha) channels
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)

    def read(self, index: int) -> np.ndarray:
        """The frame at a 0-based index, as 8-bit BGR."""
        return self._to_bgr(self._load(self._check_index(index)))

    def _decoded(self, start: int, stop: int):
        for index in range(start, stop):
            yield index, self.read(index)

    def sample_frames(self, n: int) -> list:
        """Up to n frames spread evenly over the frames that have a file; unreadable ones are left out (a run
        raises when it reaches them)."""
        available = self._available()
        frames = []
        for k in spread_frames(0, len(available), n):
            try:
                frames.append(self.read(available[k]))
            except UnreadableFrame:
                continue
        if not frames:
            raise OmniTraxError(f"None of the sampled frames of the image sequence {self.name} can be read.")
        return frames

    def close(self):
        pass

    def __repr__(self):
        return (f"ImageSequence({str(self.path)!r}: {self.frame_count} frames, {self.series.describe()}, "
                f"{self.width}x{self.height}, {self.fps:g} fps"
                + (f", levels {self.levels[0]:g}..{self.levels[1]:g}" if self.levels else "") + ")")
