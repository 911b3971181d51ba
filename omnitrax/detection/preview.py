"""A detection preview: a few frames of a video with what the detector sees drawn on them.

For a biologist asking "why is this animal (not) detected?": each image shows the frame with every kept
detection (green box, centre dot, "split into k" where one blob was split into k animals) and every
rejected blob with its reason (red "too small N px", orange "too large N px", grey "extra" beyond the
known number of animals); beside it (below it, for wide videos) the frame with the background
detector's foreground tinted over it, and above both a header with the detector's description, the
frame number and the counts. The YOLO detector has no foreground: its image shows the detections with
their scores and, in blue, near misses (candidates scoring below the confidence threshold).

    result = write_detect_preview("ants.avi", TrackingSettings(detector="background"), "out/")
    result.paths          # [out/ants_detect_000.png, ..., out/ants_background.png]
    result.description    # the detector's one-line description (polarity, threshold, areas, ...)
    result.chosen         # {"polarity": "lighter (automatic)", "threshold": "61 grey levels (automatic)", ...}
    result.frames         # one FrameCounts per image

Pixels with the origin at the top-left and 0-based video frames, as everywhere in the core. Files go
through omnitrax.files, so an unwritable output place is one clear line, refused before any work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

# BGR colours of what is drawn
GREEN = (0, 255, 0)  # kept detections
RED = (0, 0, 255)  # blobs too small
ORANGE = (0, 165, 255)  # blobs too large
GREY = (170, 170, 170)  # blobs beyond the known number of animals
BLUE = (255, 170, 60)  # YOLO near misses (below the confidence threshold)
MAGENTA = (255, 0, 255)  # foreground pixels
WEAK = (255, 140, 0)  # pixels above half the threshold that are not foreground
WHITE, BLACK = (255, 255, 255), (0, 0, 0)

MIN_SHORT_SIDE = 240  # px: smaller videos are enlarged (whole factors, pixels kept square) so labels fit
WIDE = 1.5  # frames wider than this many heights are stacked (foreground below), others side by side
NEAR_MISS_FRACTION = 0.5  # YOLO candidates from this fraction of the confidence threshold are near misses
MIN_NEAR_MISS = 0.05
FOREGROUND_ALPHA = 0.6
WEAK_ALPHA = 0.35
HEADER_WIDTH = 1400  # px of image width per unit of header text scale (~95 characters per line)


@dataclass
class FrameCounts:
    """What the detector made of one preview frame (blob counts are 0 for detectors without blobs)."""

    frame: int  # 0-based video frame index
    path: Path  # the image written
    detections: int  # what the detector returns for this frame (after splitting)
    kept: int = 0  # blobs kept
    split: int = 0  # of those, blobs split into several animals
    too_small: int = 0
    too_large: int = 0
    extra: int = 0  # blobs beyond the known number of animals
    near_misses: int = 0  # YOLO: candidates scoring below the confidence threshold

    def text(self) -> str:
        parts = [f"{self.detections} detection{'' if self.detections == 1 else 's'}"]
        blobs = self.kept + self.too_small + self.too_large + self.extra
        if blobs:
            rejected = [f"{n} {what}" for n, what in ((self.too_small, "too small"), (self.too_large, "too large"),
                                                      (self.extra, "extra")) if n]
            parts.append(f"{blobs} blob{'' if blobs == 1 else 's'}: {self.kept} kept"
                         + (f" ({self.split} split)" if self.split else "")
                         + "".join(f", {r}" for r in rejected))
        if self.near_misses:
            parts.append(f"{self.near_misses} below the confidence threshold")
        return "; ".join(parts)


@dataclass
class PreviewResult:
    """The files written and what the detector chose."""

    paths: list = field(default_factory=list)  # every file written: the frame images, then the background
    description: str = ""  # the detector's one-line description
    chosen: dict = field(default_factory=dict)  # setting -> the value the detector uses, as text
    frames: list = field(default_factory=list)  # FrameCounts per frame image, in frame order
    background: Path | None = None  # <stem>_background.png (background detector only)


def _check_frames(frames) -> None:
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise OmniTraxError(f"The number of preview frames must be a whole number of at least 1, got {frames}.")


def preview_frames(frame_count: int, frames: int, start: int = 0, stop: int | None = None) -> list[int]:
    """`frames` video frame indices spread evenly over [start, stop), the first and last included."""
    from ..video import spread_frames

    _check_frames(frames)
    stop = frame_count if stop is None else min(int(stop), frame_count)
    start = int(start)
    if not 0 <= start < stop:
        raise OmniTraxError(f"Frame range {start}..{stop - 1} is empty or outside the video "
                            f"(frames 0..{frame_count - 1}).")
    return spread_frames(start, stop, frames)


def write_detect_preview(video_path, settings, out_dir, frames: int = 6, mask=None, on_progress=None,
                         start: int = 0, stop: int | None = None, stem: str | None = None,
                         frame_name=None, what: str = "output folder") -> PreviewResult:
    """Write `<stem>_detect_<frame>.png` for `frames` frames spread over [start, stop) of the video (and
    `<stem>_background.png`, the learned background, for the background detector) into out_dir.

    settings: TrackingSettings (the detector is built by detection.build.build_detector, as for tracking).
    mask: a detection.masks.RegionMask or None; outside it the images are dimmed (the detector ignores it).
    on_progress(done, total): called after each image. stem: file name stem (default: the video's).
    frame_name(frame) -> text: how the header names a video frame (default "frame <index>").
    what: how error messages name out_dir ("output folder"; Blender: "export folder").
    """
    from ..files import ensure_folder, output_file
    from ..video import VideoSource
    from .build import build_detector

    _check_frames(frames)  # before any work, also before the video is opened
    out = ensure_folder(out_dir, what=what, writable=True)
    with VideoSource(video_path, min_frames=1) as video:
        indices = preview_frames(video.frame_count, frames, start, stop)
        stem = stem or Path(video_path).stem
        digits = len(str(max(video.frame_count - 1, 0)))
        names = [out / f"{stem}_detect_{f:0{digits}d}.png" for f in indices]
        background_path = out / f"{stem}_background.png"
        for path in names + ([background_path] if settings.detector == "background" else []):
            output_file(path, what=what)  # refuse before the detector learns anything
        detector = build_detector(settings, video, mask)
        inspects = hasattr(detector, "inspect")
        raster = None
        if mask is not None and not getattr(mask, "is_empty", False):
            raster = mask.raster(video.width, video.height)
        result = PreviewResult(description=detector.description, chosen=chosen_values(detector))
        for done, (f, path) in enumerate(zip(indices, names), start=1):
            frame = video.read(f)
            title = frame_name(f) if frame_name is not None else f"frame {f}"
            if inspects:
                image, counts = _background_image(frame, detector, detector.inspect(frame), raster, title)
            else:
                image, counts = _yolo_image(frame, detector, raster, title)
            counts.frame, counts.path = f, path
            result.paths.append(_write_png(path, image, what))
            result.frames.append(counts)
            if on_progress is not None:
                on_progress(done, len(indices))
        background = getattr(detector, "background", None)
        if inspects and background is not None:
            result.background = _write_png(background_path, background, what)
            result.paths.append(result.background)
    return result


def chosen_values(detector) -> dict:
    """The values the detector works with, as text, marked where they were chosen automatically."""
    def auto(value, unit, automatic):
        return f"{value} {unit}".strip() + (" (automatic)" if automatic else "")

    if hasattr(detector, "inspect"):
        polarity = getattr(detector, "chosen", None) or getattr(detector, "polarity", "?")
        out = {"polarity": auto(polarity, "", getattr(detector, "polarity", None) == "auto"),
               "threshold": auto(_thresholds(detector), "grey levels", getattr(detector, "threshold", 0) is None),
               "min area": auto(detector.min_area, "px", getattr(detector, "auto_min", False)),
               "max area": auto(detector.max_area if detector.max_area is not None else "any", "px" if
                                detector.max_area is not None else "", getattr(detector, "auto_max", False))}
        learned = getattr(detector, "learned_area", None)
        out["animal area"] = (f"{learned:.0f} px (learned from the video)" if learned is not None
                              else "no animal-sized blobs found")
        split = getattr(detector, "animal_area", None)
        if split is not None:
            out["splitting blobs by"] = f"{split:.0f} px per animal"
        out["resting animals"] = str(getattr(detector, "resting", 0))
        if getattr(detector, "animals", 0):
            out["animals"] = str(detector.animals)
        return out
    out = {"confidence": f"{detector.confidence:g}", "near misses from": f"{_near_miss_floor(detector):g}"}
    if hasattr(detector, "nms"):
        out["overlap (NMS)"] = f"{detector.nms:g}"
    if hasattr(detector, "input_size"):
        out["network size"] = "x".join(str(v) for v in detector.input_size) + " px"
    return out


def _thresholds(detector) -> str:
    """The background detector's threshold, or with animals on both sides one per side ("45 lighter / 28 darker")."""
    per_side = getattr(detector, "thresholds", {}) or {}
    if len(per_side) > 1 and len(set(per_side.values())) > 1:
        return " / ".join(f"{value} {side}" for side, value in per_side.items())
    return str(detector.threshold_used)


# ------------------------------------------------------------------------------------------- drawing
def _near_miss_floor(detector) -> float:
    return max(MIN_NEAR_MISS, NEAR_MISS_FRACTION * float(detector.confidence))


def _near_misses(detector, frame):
    """Candidates the detector drops for scoring below its threshold (detected with a lower one)."""
    threshold = detector.confidence
    try:
        detector.confidence = _near_miss_floor(detector)
        low = detector.detect(frame)
    finally:
        detector.confidence = threshold
    return low.select(low.scores < threshold)


class _Style:
    """Line widths and label sizes for panels `short` px on their shorter side (the header's text is
    sized by the image's width, see _header_scale), so the text keeps its size relative to the frame."""

    def __init__(self, short: int):
        self.line = max(1, int(round(short / 300)))
        self.label = max(0.35, short / 800)

    @staticmethod
    def thickness(scale: float) -> int:
        return max(1, int(round(scale * 1.6)))


def _enlargement(frame) -> int:
    return max(1, int(np.ceil(MIN_SHORT_SIDE / max(1, min(frame.shape[:2])))))


def _bgr(image):
    import cv2

    image = np.asarray(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image.copy()


def _enlarge(image, k: int):
    import cv2

    if k == 1:
        return image.copy()
    return cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)


def _dim_outside(image, raster, k: int):
    """Darken what lies outside the region mask (the detector ignores it)."""
    if raster is None:
        return image
    outside = _enlarge(raster, k) == 0
    image[outside] = (image[outside] * 0.35).astype(np.uint8)
    return image


def _box_pixels(box, k: int, pad: int):
    """A box (left, top, w, h; pixel centres at integers) as the canvas pixel rectangle just around it."""
    left, top, w, h = (float(v) for v in box)
    x0, y0 = int(np.floor((left + 0.5) * k)) - 1 - pad, int(np.floor((top + 0.5) * k)) - 1 - pad
    x1, y1 = int(np.ceil((left + w + 0.5) * k)) + pad, int(np.ceil((top + h + 0.5) * k)) + pad
    return x0, y0, x1, y1


def _text(image, text, origin, colour, scale, outline=True) -> None:
    """Text with a dark outline, readable on any floor."""
    import cv2

    t = _Style.thickness(scale)
    x, y = int(origin[0]), int(origin[1])
    if outline:
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, t + 2, cv2.LINE_AA)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, t, cv2.LINE_AA)


def _label(image, text, rect, colour, scale) -> None:
    """A label above the rectangle (below it at the top edge), kept inside the image."""
    import cv2

    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, _Style.thickness(scale))
    x0, y0, x1, y1 = rect
    height, width = image.shape[:2]
    x = min(max(x0, 1), max(width - tw - 1, 1))
    y = y0 - base - 1 if y0 - th - base - 1 >= 0 else min(y1 + th + 2, height - base - 1)
    _text(image, text, (x, y), colour, scale)


def _box(image, box, k, colour, style, pad=0, label=None) -> tuple:
    import cv2

    rect = _box_pixels(box, k, pad)
    cv2.rectangle(image, rect[:2], rect[2:], colour, style.line, cv2.LINE_8)
    if label:
        _label(image, label, rect, colour, style.label)
    return rect


def _dot(image, xy, k, colour, style) -> None:
    import cv2

    cx, cy = (float(xy[0]) + 0.5) * k - 0.5, (float(xy[1]) + 0.5) * k - 0.5
    centre = (int(round(cx * 16)), int(round(cy * 16)))
    radius = (style.line + 1) * 16
    cv2.circle(image, centre, radius + 16, BLACK, -1, cv2.LINE_AA, 4)
    cv2.circle(image, centre, radius, colour, -1, cv2.LINE_AA, 4)


def _draw_detections(image, detections, k, style, colour=GREEN, scores=False, names=None) -> None:
    for i in range(len(detections)):
        label = None
        if scores:
            label = f"{detections.scores[i]:.2f}"
            if names is not None and 0 <= detections.classes[i] < len(names) and len(names) > 1:
                label = f"{names[detections.classes[i]]} {label}"
        _box(image, detections.boxes[i], k, colour, style, label=label)
        _dot(image, detections.xy[i], k, colour, style)


def _header(lines, width: int, scale: float):
    """A black strip with lines of coloured segments [(text, colour), ...], wrapped to `width`."""
    import cv2

    t = _Style.thickness(scale)
    (_, th), base = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, t)  # one line's height
    step, margin = th + base + max(2, th // 2), max(4, th // 2)
    space = cv2.getTextSize(" ", cv2.FONT_HERSHEY_SIMPLEX, scale, t)[0][0]
    placed, y = [], margin + th
    for segments in lines:
        x = margin
        for text, colour in segments:
            for word in text.split(" "):
                if not word:
                    continue
                w = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, t)[0][0]
                if x > margin and x + w > width - margin:
                    x, y = margin + 2 * space, y + step
                placed.append((word, (x, y), colour))
                x += w + space
        y += step
    strip = np.zeros((y - step + base + margin + 1, width, 3), np.uint8)
    for word, origin, colour in placed:
        _text(strip, word, origin, colour, scale, outline=False)
    return strip


def _compose(panels, header_lines):
    """Panels side by side (stacked when wide), a header strip above."""
    height, width = panels[0].shape[:2]
    body = panels[0] if len(panels) == 1 else (
        np.vstack(panels) if width > WIDE * height else np.hstack(panels))
    return np.vstack([_header(header_lines, body.shape[1], max(0.4, body.shape[1] / HEADER_WIDTH)), body])


def _background_image(frame, detector, inspection, raster, title):
    import cv2

    from .background import EXTRA, KEPT, TOO_LARGE, TOO_SMALL

    k = _enlargement(frame)
    style = _Style(min(frame.shape[:2]) * k)
    pad = style.line + 1  # rejected blobs can be a pixel or two: their boxes stand off them
    left = _dim_outside(_enlarge(_bgr(frame), k), raster, k)
    verdicts = np.asarray(inspection.verdicts, object)
    areas = np.asarray(inspection.areas).astype(int)
    parts = np.asarray(inspection.parts).astype(int)
    counts = FrameCounts(frame=-1, path=Path(), detections=len(inspection.detections))
    rejected = {TOO_SMALL: (RED, "too small {} px"), TOO_LARGE: (ORANGE, "too large {} px"), EXTRA: (GREY, "extra")}
    order = sorted(range(len(verdicts)), key=lambda i: verdicts[i] == KEPT)  # kept ones drawn last, on top
    for i in order:
        verdict, box = verdicts[i], inspection.boxes[i]
        if verdict == KEPT:
            counts.kept += 1
            if parts[i] > 1:
                counts.split += 1
                _box(left, box, k, GREEN, style, pad=pad, label=f"split into {parts[i]}")
            else:
                _label(left, f"{areas[i]} px", _box_pixels(box, k, 0), GREEN, style.label * 0.85)
            continue
        colour, text = rejected.get(verdict, (GREY, str(verdict)))
        counts.too_small += verdict == TOO_SMALL
        counts.too_large += verdict == TOO_LARGE
        counts.extra += verdict == EXTRA
        _box(left, box, k, colour, style, pad=pad, label=text.format(areas[i]))
    _draw_detections(left, inspection.detections, k, style)

    right = (_enlarge(cv2.cvtColor(_bgr(frame), cv2.COLOR_BGR2GRAY), k) * 0.7).astype(np.uint8)
    right = cv2.cvtColor(right, cv2.COLOR_GRAY2BGR)
    threshold = int(detector.threshold_used)
    for pixels, colour, alpha in ((np.asarray(inspection.difference) >= max(1, threshold // 2), WEAK, WEAK_ALPHA),
                                  (np.asarray(inspection.foreground) > 0, MAGENTA, FOREGROUND_ALPHA)):
        sel = _enlarge(pixels.astype(np.uint8), k) > 0
        right[sel] = (right[sel] * (1 - alpha) + np.array(colour) * alpha).astype(np.uint8)
    right = _dim_outside(right, raster, k)

    limits = f"{detector.min_area}-{detector.max_area if detector.max_area is not None else 'any'} px"
    lines = [[(detector.description, WHITE)],
             [(f"{title}: {counts.text()}", WHITE)],
             [("kept", GREEN), ("(area; split into k: one blob, k animals)", WHITE),
              ("too small", RED), ("/", WHITE), ("too large", ORANGE), (f"(areas {limits})", WHITE),
              ("extra", GREY), ("(beyond the number of animals)", WHITE)],
             [("other image:", WHITE), ("foreground", MAGENTA), (f"(difference >= {threshold} grey levels),", WHITE),
              (f"difference >= {max(1, threshold // 2)}", WEAK), ("(almost)", WHITE)]]
    return _compose([left, right], lines), counts


def _yolo_image(frame, detector, raster, title):
    k = _enlargement(frame)
    style = _Style(min(frame.shape[:2]) * k)
    image = _dim_outside(_enlarge(_bgr(frame), k), raster, k)
    detections = detector.detect(frame)
    misses = _near_misses(detector, frame)
    counts = FrameCounts(frame=-1, path=Path(), detections=len(detections), near_misses=len(misses))
    names = getattr(detector, "names", None)
    _draw_detections(image, misses, k, style, colour=BLUE, scores=True, names=names)
    _draw_detections(image, detections, k, style, scores=True, names=names)
    lines = [[(detector.description, WHITE)],
             [(f"{title}: {counts.text()}", WHITE)],
             [(f"detected (score >= {detector.confidence:g})", GREEN),
              (f"below the confidence threshold (score {_near_miss_floor(detector):g}-{detector.confidence:g})",
               BLUE)]]
    return _compose([image], lines), counts


def _write_png(path, image, what: str) -> Path:
    import cv2

    from ..files import writing

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OmniTraxError(f"Cannot encode the preview image '{path}' as PNG.")
    with writing(path, what=what) as p:
        p.write_bytes(data.tobytes())
    return Path(path)
