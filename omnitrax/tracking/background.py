"""Model-free detection for fixed cameras: difference to a median background, blobs, sub-pixel centres.

Coordinates are pixels with the origin top-left and pixel centres at integer coordinates (as in
omnitrax.synthetic): a blob covering pixel columns 10..19 has left = 9.5 and width = 10.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from ..errors import OmniTraxError
from .detections import Detections, Detector

POLARITIES = ("auto", "darker", "lighter", "either")
AUTO_TAIL = 0.001  # auto polarity compares the strongest 0.1% of lighter and of darker differences ...
AUTO_RATIO = 1.5  # ... and takes the side that is this many times stronger (else "either")
MIN_AUTO_THRESHOLD = 12  # grey levels; the automatic threshold never goes below this ...
NOISE_FACTOR = 6.0  # ... nor below this many times the background's noise level
SPLIT_RATIO = 1.6  # a blob of at least this many animal areas is split
BLANK_RANGE = 2  # grey levels: sampled frames varying less than this are blank (nothing to detect)
FLOOR_WINDOW = 3  # the spatial floor is a median over windows of a third of the frame's shorter side
MIN_AUTO_AREA = 20  # px: the automatic minimum area when the video shows no animal-sized blobs
AUTO_MIN_FRACTION = 0.25  # automatic min area = this x the animal area (drops specks and fragments) ...
AUTO_MAX_FACTOR = 16.0  # ... and max area = this x the animal area (drops glare and arena edges)
RESTING_CONTRAST = 1.4  # a resting animal's mean difference is this many thresholds (floor texture: ~1.1)
SIZE_FRAMES = 20  # sample frames whose blobs estimate the animals' size
MIN_SPLIT_PART = 0.65  # with a known number of animals, a blob is split only into parts this big (animal areas)
KEPT, TOO_SMALL, TOO_LARGE, EXTRA = "kept", "too small", "too large", "weaker than the strongest N"
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_KERNEL_5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
GROUP_GAP = 2  # px: foreground pieces this close are one blob (a body cut at its thin waist)
_GROUP_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (GROUP_GAP + 1, GROUP_GAP + 1))
_REST_MARGIN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))  # grown around resting animals


def _grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim == 2:
        return frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    raise OmniTraxError(f"Expected a BGR or grey image, got an array of shape {frame.shape}.")


def dominant_area(areas) -> float | None:
    """The blob area where most foreground pixels lie (mode of the area-weighted log-area histogram).

    Specks are many but small, animals few but large: weighting by area lets the animals win. Returns
    the area-weighted median of the blobs in the modal bin and its neighbours; None without blobs.
    """
    areas = np.asarray(areas, np.float64)
    areas = areas[areas >= 4]
    if not len(areas):
        return None
    log = np.log2(areas)
    edges = np.arange(np.floor(log.min() * 4) / 4, log.max() + 0.5, 0.25)
    weights, _ = np.histogram(log, edges, weights=areas)
    smooth = np.convolve(weights, (1.0, 2.0, 1.0), mode="same")
    mode = int(np.argmax(smooth))
    near = (log >= edges[max(mode - 1, 0)]) & (log < edges[min(mode + 2, len(edges) - 1)])
    chosen = np.sort(areas[near])
    cumulative = np.cumsum(chosen)
    return float(chosen[np.searchsorted(cumulative, cumulative[-1] / 2)])


def _stronger_side(signed: np.ndarray, level: float) -> str | None:
    """'lighter' / 'darker' when the strongest 0.1% of differences lie mostly on that side, 'either' when
    both sides are alike, None when neither side rises above `level` (no evidence)."""
    if not len(signed):
        return None
    k = max(1, int(len(signed) * AUTO_TAIL))
    part = np.partition(signed, (k, len(signed) - k - 1))
    lighter = float(np.mean(np.clip(part[-k:], 0, None)))
    darker = float(np.mean(np.clip(-part[:k], 0, None)))
    if max(lighter, darker) < level:
        return None
    if lighter > AUTO_RATIO * darker:
        return "lighter"
    if darker > AUTO_RATIO * lighter:
        return "darker"
    return "either"


@dataclass
class Inspection:
    """One frame as the background detector sees it (for detect-preview and for explaining misses).

    difference: HxW uint8, how much each pixel differs from the background on the animals' side;
    foreground: HxW uint8 0/255 after threshold and clean-up; boxes (M, 4), areas (M,), parts (M,) and
    verdicts (M,) of every blob (KEPT, TOO_SMALL, TOO_LARGE or EXTRA); detections: what detect() returns.
    """

    difference: np.ndarray
    foreground: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    parts: np.ndarray
    verdicts: np.ndarray
    detections: Detections


def read_background_image(path) -> np.ndarray:
    """An empty-arena image file as a grey uint8 image (16-bit images scaled), or one clear error."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Empty arena image {path} not found: check the path, or leave it empty to learn "
                            f"the background from the video.")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim not in (2, 3):
        raise OmniTraxError(f"Cannot read the empty arena image {path}: save it as PNG, TIFF or JPEG.")
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        raise OmniTraxError(f"The empty arena image {path} has {image.dtype} pixels: save it as 8- or 16-bit.")
    return _grey(image)


def _foreground_pixels(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the non-zero pixels in raster order, as cv2.findNonZero gives them, but faster on
    sparse images: empty runs of 8 pixels are skipped as one 64-bit word."""
    width = binary.shape[1]
    flat = np.ascontiguousarray(binary).reshape(-1)
    pad = (-flat.size) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros(pad, np.uint8)])
    words = np.flatnonzero(flat.view(np.uint64))
    inside = np.flatnonzero(flat.reshape(-1, 8)[words].reshape(-1))
    index = words[inside >> 3] * 8 + (inside & 7)
    return index % width, index // width


class Blobs:
    """Every blob of one frame before size and count rules: pixels, sums and extents (index 0 = none)."""

    def __init__(self, diff: np.ndarray, binary: np.ndarray):
        self.diff, self.binary = diff, binary  # the (masked) difference and its foreground
        grouped = cv2.dilate(binary, _GROUP_KERNEL)
        self.n, labels = cv2.connectedComponents(grouped, connectivity=8, ltype=cv2.CV_32S)
        self.xs, self.ys = _foreground_pixels(binary)  # statistics use only these
        self.label = labels[self.ys, self.xs]
        self.weight = diff[self.ys, self.xs].astype(np.float64)
        n = self.n
        self.area = np.bincount(self.label, minlength=n)
        # extents per label: sort the pixels by label once, then reduce each run (ufunc.at is slow)
        self.x_min, self.y_min = np.full(n, 1 << 30), np.full(n, 1 << 30)
        self.x_max, self.y_max = np.full(n, -1), np.full(n, -1)
        if len(self.label):
            order = np.argsort(self.label, kind="stable")
            ordered = self.label[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            present = ordered[starts]
            x, y = self.xs[order], self.ys[order]
            self.x_min[present], self.x_max[present] = np.minimum.reduceat(x, starts), np.maximum.reduceat(x, starts)
            self.y_min[present], self.y_max[present] = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
        self.strength = np.bincount(self.label, self.weight, minlength=n)  # summed difference
        w = np.maximum(self.strength, 1e-9)
        self.cx = np.bincount(self.label, self.weight * self.xs, minlength=n) / w
        self.cy = np.bincount(self.label, self.weight * self.ys, minlength=n) / w
        self.area[0] = 0  # label 0 is the floor

    @cached_property
    def boxes(self) -> np.ndarray:
        return np.c_[self.x_min - 0.5, self.y_min - 0.5, self.x_max - self.x_min + 1,
                     self.y_max - self.y_min + 1].astype(np.float64)

    def real(self) -> np.ndarray:
        """Labels of the blobs (label 0, the floor, and empty labels excluded)."""
        return np.flatnonzero(self.area > 0)


class BackgroundDetector(Detector):
    """Animals are blobs that differ from the background: the per-pixel median of frames spread over
    the video, where animals resting in place (learned into that median) are replaced by the spatial
    floor around them, or an empty-arena image the user gives.

    polarity: "darker" (animals darker than the floor), "lighter", "either", or "auto": decided by fit()
        from the video (which side of the background the strongest differences lie on); see `chosen`.
    threshold: grey-level difference that counts as animal (1-254); None = automatic, chosen by fit().
    min_area / max_area: blob size limits in pixels; None = automatic: fit() learns the animals' area
        (the dominant blob size) and keeps blobs from a quarter of it to 16 times it.
    animal_area: typical area of one animal in pixels; blobs of >= 1.6 animal areas are split into
        round(area / animal_area) animals by k-means on their pixel coordinates. None = no such splitting.
    animals: how many animals the video shows (0 = unknown). When known, each frame keeps the
        `animals` strongest blobs, and while it has fewer, the blob with the most area per animal is
        split once more, into parts of at least MIN_SPLIT_PART animal areas (only with animal_area: halves
        of crossing animals split by the learned area mislead the tracker more than one merged blob).
    mask: an omnitrax.tracking.masks.RegionMask; pixels outside it are ignored.
    background: an image of the empty arena (grey or BGR, the video's size) to use instead of learning.

    Detections: centre = difference-weighted centroid of the blob's pixels (sub-pixel), box = the blob's
    pixel extent, score = the blob's mean difference / 255 (its contrast, in [0, 1]).
    """

    def __init__(self, polarity: str = "auto", threshold=None, min_area=None, max_area=None,
                 animal_area=None, animals: int = 0, mask=None, background=None):
        if polarity not in POLARITIES:
            raise OmniTraxError(f"Polarity {polarity!r} is not one of {', '.join(POLARITIES)}.")
        if threshold is not None and not 1 <= threshold <= 254:
            raise OmniTraxError(f"Threshold {threshold} is outside 1..254 grey levels; use 0/None for automatic.")
        if (min_area is not None and min_area < 0) or (
                max_area is not None and max_area < max(min_area or 0, 1)):
            raise OmniTraxError(f"Blob areas must satisfy 0 <= min_area <= max_area, got {min_area} and {max_area}.")
        if animal_area is not None and animal_area <= 0:
            raise OmniTraxError(f"animal_area must be positive (pixels) or None, got {animal_area}.")
        if int(animals) != animals or animals < 0:
            raise OmniTraxError(f"The number of animals must be a whole number >= 0 (0: unknown), got {animals}.")
        self.polarity = polarity
        self.threshold = None if threshold is None else int(threshold)
        self.auto_min, self.auto_max = min_area is None, max_area is None
        self.min_area = None if min_area is None else int(min_area)  # the limits detect() applies
        self.max_area = None if max_area is None else int(max_area)
        self.animal_area = None if animal_area is None else float(animal_area)
        self.animals = int(animals)
        self.mask = mask
        self.given_background = None if background is None else _grey(background).copy()
        self.background = None  # HxW uint8, set by fit()
        self.floor = None  # HxW uint8: the spatial floor estimate (no compact objects), set by fit()
        self.noise = None  # robust std of the background's pixel noise, grey levels
        self.threshold_used = None  # the threshold detect() applies
        self.learned_area = None  # the animals' typical blob area found by fit(), px
        self.resting = 0  # animals fit() found resting in the median and took out of the background
        self._raster = None
        self.chosen = None if polarity == "auto" else polarity  # the polarity detect() applies
        self.description = f"background subtraction ({polarity} animals), CPU"

    # --------------------------------------------------------------------------------------- fit
    def fit(self, frames) -> "BackgroundDetector":
        """Learn the background, the polarity, the threshold and the animals' size from sample frames."""
        greys = [_grey(f) for f in frames]
        if not greys:
            raise OmniTraxError("The background detector needs at least one frame to estimate the background.")
        if len({g.shape for g in greys}) != 1:
            raise OmniTraxError("The background frames differ in size; take them all from one video.")
        stack = np.stack(greys)
        low, high = int(stack.min()), int(stack.max())
        if high - low < BLANK_RANGE:
            raise OmniTraxError(f"The video is blank: every sampled frame is the same flat grey ({low}), so "
                                f"there is nothing to detect. Check the file, the exposure or the lens cap.")
        height, width = stack.shape[1:]
        given = self.given_background
        if given is not None and given.shape != (height, width):
            raise OmniTraxError(f"The empty arena image is {given.shape[1]}x{given.shape[0]} px but the video is "
                                f"{width}x{height}: use an image taken with the same camera setup.")
        median = given if given is not None else (
            np.median(stack, axis=0).round().astype(np.uint8) if len(greys) > 1 else greys[0].copy())
        self._raster = None
        if self.mask is not None and not getattr(self.mask, "is_empty", False):
            self._raster = self.mask.raster(width, height)
        window = max(3, min(height, width) // FLOOR_WINDOW) | 1
        self.floor = cv2.medianBlur(median, window)  # removes anything compact: floor only
        # what the median holds beyond the floor: resting animals (and floor texture); not for a given image
        held = None if given is not None else median.astype(np.int16) - self.floor
        self.background = median
        sample = greys[:SIZE_FRAMES]
        self.noise = self._noise_level(stack)
        if self.polarity == "auto":
            self.chosen = self._decide_polarity(sample, held)
        held_diff = None if held is None else self._signed(held)
        if self.threshold is not None:
            self.threshold_used = self.threshold
        else:
            diffs = [self._difference(g).ravel()[::7] for g in sample]
            if held_diff is not None:
                diffs.append(held_diff.ravel()[::7])
            floor = max(MIN_AUTO_THRESHOLD, int(np.ceil(NOISE_FACTOR * self.noise)))
            otsu, _ = cv2.threshold(np.concatenate(diffs).reshape(1, -1), 0, 255,
                                    cv2.THRESH_BINARY | cv2.THRESH_OTSU)
            self.threshold_used = int(min(max(otsu, floor), 254))
        # the animals' size: blobs of the moving animals, and of those resting in the median
        areas = [self._blobs(self._difference(g)).area for g in sample]
        held_blobs = None if held_diff is None else self._blobs(held_diff)
        if held_blobs is not None:
            areas.append(held_blobs.area)
        self.learned_area = dominant_area(np.concatenate(areas))
        if self.auto_min:
            self.min_area = (MIN_AUTO_AREA if self.learned_area is None
                             else max(MIN_AUTO_AREA, int(AUTO_MIN_FRACTION * self.learned_area)))
        if self.auto_max:
            self.max_area = None if self.learned_area is None else int(AUTO_MAX_FACTOR * self.learned_area)
            if self.max_area is not None and self.max_area < self.min_area:
                self.max_area = None
        if held_blobs is not None:
            self._take_out_resting(held_blobs)
        self.description = self._describe()
        return self

    def _take_out_resting(self, blobs: Blobs) -> None:
        """Replace animal-like blobs of the median (animals that rested; `blobs` of median - floor) by the
        floor around them."""
        labels = blobs.real()
        labels = labels[self._area_ok(blobs.area[labels])]
        contrast = blobs.strength[labels] / np.maximum(blobs.area[labels], 1)
        labels = labels[contrast >= RESTING_CONTRAST * self.threshold_used]  # not mere floor texture
        if self.animals:
            labels = labels[np.argsort(-blobs.strength[labels], kind="stable")][:self.animals]
        self.resting = len(labels)
        if not len(labels):
            return
        region = np.zeros(self.background.shape, np.uint8)
        sel = np.isin(blobs.label, labels)
        region[blobs.ys[sel], blobs.xs[sel]] = 255
        region = cv2.dilate(cv2.morphologyEx(region, cv2.MORPH_CLOSE, _REST_MARGIN), _REST_MARGIN)
        self.background = np.where(region > 0, self.floor, self.background)

    def _describe(self) -> str:
        polarity = self.chosen or self.polarity
        if self.polarity == "auto":
            side = "either lighter or darker than" if polarity == "either" else f"{polarity} than"
            what = f"auto: animals are {side} the floor"
        else:
            what = f"{polarity} animals"
        sizes = f"areas {self.min_area}-{self.max_area or 'any'} px"
        if self.auto_min or self.auto_max:
            learned = f"{self.learned_area:.0f} px" if self.learned_area is not None else "no animal-sized blobs"
            sizes += f" (learned: animal {learned})"
        parts = [what, f"threshold {self.threshold_used}", sizes]
        if self.resting:
            parts.append(f"{self.resting} resting animal{'s' if self.resting > 1 else ''} found")
        if self.given_background is not None:
            parts.append("empty arena image")
        if self.animals:
            parts.append(f"{self.animals} animals")
        return f"background subtraction ({'; '.join(parts)}), CPU"

    def _decide_polarity(self, greys, held=None) -> str:
        """'lighter', 'darker' or 'either': the side of the background where the strongest differences are.

        Moving animals decide, measured away from where the median holds something (resting animals,
        whose ghosts differ both ways); when nothing moves, the resting animals in the median decide.
        """
        level = max(MIN_AUTO_THRESHOLD, NOISE_FACTOR * self.noise)
        usable = np.ones(self.background.shape, bool) if held is None else np.abs(held) < level
        if self._raster is not None:
            usable &= self._raster > 0
        moving = np.concatenate([(g.astype(np.int16) - self.background)[usable].ravel()[::3] for g in greys])
        side = _stronger_side(moving, level)
        if side is None and held is not None:
            side = _stronger_side(held[self._raster > 0] if self._raster is not None else held.ravel(), level)
        return side or "either"

    @staticmethod
    def _noise_level(stack: np.ndarray) -> float:
        """Robust std of frame-to-frame pixel noise (median absolute difference of consecutive frames)."""
        if len(stack) < 2:
            return 0.0
        step = max(1, stack.shape[1] * stack.shape[2] // 200_000)
        a = stack[:-1].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        b = stack[1:].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        return float(np.median(np.abs(a - b)) * 1.4826 / np.sqrt(2))

    def _signed(self, signed: np.ndarray) -> np.ndarray:
        """A signed difference (int16, image minus background) as the polarity's uint8 difference."""
        polarity = self.chosen or self.polarity
        if polarity == "darker":
            signed = -signed
        elif polarity == "either":
            signed = np.abs(signed)
        return np.clip(signed, 0, 255).astype(np.uint8)

    def _difference(self, grey: np.ndarray) -> np.ndarray:
        polarity = self.chosen or self.polarity
        if polarity == "darker":
            return cv2.subtract(self.background, grey)
        if polarity == "lighter":
            return cv2.subtract(grey, self.background)
        return cv2.absdiff(grey, self.background)

    def _foreground(self, diff: np.ndarray) -> np.ndarray:
        """The binary foreground of a (masked) difference image: thresholded, opened and closed."""
        _, binary = cv2.threshold(diff, self.threshold_used, 255, cv2.THRESH_BINARY)
        # opening then closing with a 3 x 3 square is erode, dilate, dilate, erode; the two dilations
        # are one with a 5 x 5 square: three passes instead of four, the same pixels
        binary = cv2.erode(binary, _KERNEL)
        binary = cv2.dilate(binary, _KERNEL_5)
        return cv2.erode(binary, _KERNEL)

    def _blobs(self, diff: np.ndarray) -> Blobs:
        if self._raster is not None:
            diff = cv2.bitwise_and(diff, self._raster)
        return Blobs(diff, self._foreground(diff))

    # ------------------------------------------------------------------------------------ detect
    def detect(self, frame: np.ndarray) -> Detections:
        return self.inspect(frame).detections

    def inspect(self, frame: np.ndarray) -> "Inspection":
        """Everything detect() sees in one frame: the difference, the foreground, every blob and its fate."""
        if self.background is None:
            raise OmniTraxError("The background detector has no background yet: call fit() with frames first.")
        grey = _grey(frame)
        if grey.shape != self.background.shape:
            raise OmniTraxError(f"Frame size {grey.shape[1]}x{grey.shape[0]} differs from the background's "
                                f"{self.background.shape[1]}x{self.background.shape[0]}; fit on this video.")
        blobs = self._blobs(self._difference(grey))
        labels = blobs.real()
        verdict = np.full(len(labels), KEPT, object)
        area = blobs.area[labels]
        verdict[area < self.min_area] = TOO_SMALL
        if self.max_area is not None:
            verdict[area > self.max_area] = TOO_LARGE
        parts = np.ones(len(labels), np.int64)
        ok = verdict == KEPT
        if self.animal_area is not None:
            big = ok & (area >= SPLIT_RATIO * self.animal_area)
            parts[big] = np.maximum(1, np.round(area[big] / self.animal_area)).astype(np.int64)
        if self.animals:
            self._fit_count(blobs.strength[labels], area, ok, parts, verdict)
        detections = self._detections(blobs, labels[verdict == KEPT], parts[verdict == KEPT])
        return Inspection(blobs.diff, blobs.binary, blobs.boxes[labels], area, parts, verdict, detections)

    def _fit_count(self, strength, area, ok, parts, verdict) -> None:
        """Known number of animals: drop the weakest extra blobs; split the largest while too few (in place)."""
        order = np.flatnonzero(ok)[np.argsort(-strength[ok], kind="stable")]
        room = self.animals
        for i in order:  # strongest first: each takes as many animals as it holds and there is room for
            if room <= 0:
                verdict[i] = EXTRA
                continue
            parts[i] = min(parts[i], room)
            room -= parts[i]
        one = self.animal_area
        if one is None:  # split halves of crossing animals mislead the tracker more than a merged blob
            return
        while room > 0 and len(order):  # fewer blobs than animals: split the blob with most area per part
            kept = order[verdict[order] == KEPT]
            if not len(kept):
                return
            per_part = area[kept] / (parts[kept] + 1)
            best = int(np.argmax(per_part))
            if per_part[best] < MIN_SPLIT_PART * one:
                return
            parts[kept[best]] += 1
            room -= 1

    def _detections(self, blobs: Blobs, labels: np.ndarray, parts: np.ndarray) -> Detections:
        whole, split = labels[parts == 1], np.flatnonzero(parts > 1)
        boxes = blobs.boxes
        xy = [np.c_[blobs.cx[whole], blobs.cy[whole]]]
        out_boxes = [boxes[whole]]
        scores = [blobs.strength[whole] / np.maximum(blobs.area[whole], 1) / 255.0]
        for i in split:  # merged blobs, split one by one
            sel = blobs.label == labels[i]
            found = self._split(blobs.xs[sel], blobs.ys[sel], blobs.weight[sel], int(parts[i]))
            xy.append(found[0])
            out_boxes.append(found[1])
            scores.append(found[2])
        return Detections(np.concatenate(xy), np.concatenate(out_boxes), np.concatenate(scores))

    def _area_ok(self, areas: np.ndarray) -> np.ndarray:
        ok = areas >= (self.min_area or 0)
        if self.max_area is not None:
            ok &= areas <= self.max_area
        return ok

    def _split(self, xs, ys, weight, k: int):
        """Split one blob's pixels into k animals (k-means on coordinates, started along the main axis)."""
        coords = np.c_[xs, ys].astype(np.float32)
        centred = coords - coords.mean(axis=0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        along = centred @ axes[0]
        start = np.minimum((np.argsort(np.argsort(along)) * k) // len(along), k - 1).astype(np.int32)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.05)
        _, labels, _ = cv2.kmeans(coords, k, start.reshape(-1, 1).copy(), criteria, 1,
                                  cv2.KMEANS_USE_INITIAL_LABELS)
        labels = labels.ravel()
        xy, boxes, scores = [], [], []
        for part in range(k):
            sel = labels == part
            area = int(sel.sum())
            if area == 0 or not self._area_ok(np.array([area]))[0]:
                continue
            w, px, py = weight[sel], xs[sel], ys[sel]
            xy.append(((w * px).sum() / w.sum(), (w * py).sum() / w.sum()))
            boxes.append((px.min() - 0.5, py.min() - 0.5, px.max() - px.min() + 1.0, py.max() - py.min() + 1.0))
            scores.append(w.sum() / area / 255.0)
        return np.reshape(xy, (-1, 2)), np.reshape(boxes, (-1, 4)), np.asarray(scores, np.float64)
