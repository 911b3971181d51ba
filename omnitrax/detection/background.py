"""Model-free detection for fixed cameras: difference to a median background, blobs, sub-pixel centres.

Coordinates are pixels with the origin top-left and pixel centres at integer coordinates (as in
omnitrax.testclips): a blob covering pixel columns 10..19 has left = 9.5 and width = 10.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from ..errors import OmniTraxError
from .detections import Detections, Detector

POLARITIES = ("auto", "darker", "lighter", "either")
SIDES = ("lighter", "darker")  # the two sides of the floor an animal can be on ("either": both)
AUTO_TAIL = 0.001  # auto polarity compares the strongest 0.1% of lighter and of darker differences ...
AUTO_RATIO = 1.5  # ... and takes the side that is this many times stronger (else "either") ...
# ... unless the other side shows animals too: animal-sized blobs (as big as the stronger side's animals,
# within AUTO_MIN_FRACTION .. AUTO_MAX_FACTOR) above that side's own threshold, not touching the stronger
# side's animals (not a shadow or a halo) and away from what the median holds (not a ghost of a resting
# animal), in at least this share of the sampled frames
OTHER_SIDE_FRAMES = 0.5
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

    def __init__(self, diff: np.ndarray, binary: np.ndarray, sides=None, split_area=None):
        """diff: the (masked) difference, binary: its foreground. sides: for animals on both sides of the
        floor, the foreground of each side (lighter, darker); a blob whose lighter and darker pixels each
        cover at least split_area px is two blobs, one per side (a light and a dark animal that touch),
        else one (an animal with a mark of the other shade). split_area None: never split."""
        self.diff, self.binary = diff, binary  # the (masked) difference and its foreground
        grouped = cv2.dilate(binary, _GROUP_KERNEL)
        self.n, labels = cv2.connectedComponents(grouped, connectivity=8, ltype=cv2.CV_32S)
        self.xs, self.ys = _foreground_pixels(binary)  # statistics use only these
        self.label = labels[self.ys, self.xs]
        self.dark = None  # with both sides: (pixels,) whether each pixel is on the darker side
        if sides is not None:
            self.dark = sides[1][self.ys, self.xs] > 0
            if split_area is not None and len(self.label):
                dark_px = np.bincount(self.label, self.dark, minlength=self.n)
                light_px = np.bincount(self.label, ~self.dark, minlength=self.n)
                both = (np.minimum(dark_px, light_px) >= split_area) & (np.arange(self.n) > 0)
                if both.any():  # the dark pixels of such blobs become blobs of their own
                    new = np.cumsum(both) - 1 + self.n
                    moved = both[self.label] & self.dark
                    self.label = np.where(moved, new[self.label], self.label)
                    self.n += int(both.sum())
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
        from the video (which side of the background the strongest differences lie on, or "either" when
        the other side shows moving animals of its own too); see `chosen`. With "either", each side has its
        own automatic threshold when the video shows animals on both (`thresholds`), and a blob is split
        into its lighter and its darker pixels when each part is an animal's size (two animals of unlike
        shade that touch), else kept whole (an animal with a mark of the other shade).
    threshold: grey-level difference that counts as animal (1-254); None = automatic, chosen by fit().
    min_area / max_area: blob size limits in pixels; None = automatic: fit() learns the animals' area
        (the dominant blob size) and keeps blobs from a quarter of it to 16 times it.
    animal_area: typical area of one animal in pixels; blobs of >= 1.6 animal areas are split into
        round(area / animal_area) animals by k-means on their pixel coordinates. None = no such splitting.
    animals: how many animals the video shows (0 = unknown). When known, each frame keeps the
        `animals` strongest blobs, and while it has fewer, the blob with the most area per animal is
        split once more, into parts of at least MIN_SPLIT_PART animal areas (only with animal_area: halves
        of crossing animals split by the learned area mislead the tracker more than one merged blob).
    mask: an omnitrax.detection.masks.RegionMask; pixels outside it are ignored.
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
        self.thresholds = {}  # side -> the threshold detect() applies on it (both sides with "either")
        self.both_shown = False  # fit() found moving animals on both sides of the floor
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
        self.thresholds, self.learned_area, self.both_shown = {}, None, False
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
        elif self.polarity == "either" and self.threshold is None:
            self._sides_shown(sample, held)
        held_diff = None if held is None else self._held_differences(held)
        sample_diffs = [self._differences(g) for g in sample]
        if self.threshold is not None:
            self.thresholds = {side: self.threshold for side in self.sides}
        elif len(self.sides) == 1 or self.both_shown:
            # each side its own threshold: dark and light animals differ from the floor unalike
            self.thresholds = {side: self._auto_threshold([d[side] for d in sample_diffs] + (
                [held_diff[side]] if held_diff is not None else [])) for side in self.sides}
        else:  # "either", but the video shows animals on one side only: one threshold on the absolute difference
            common = self._auto_threshold([cv2.max(*d.values()) for d in sample_diffs] + (
                [cv2.max(*held_diff.values())] if held_diff is not None else []))
            self.thresholds = {side: common for side in self.sides}
        self.threshold_used = min(self.thresholds.values())
        # the animals' size: blobs of the moving animals, and of those resting in the median
        areas = [self._blobs(d).area for d in sample_diffs]
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
        labels = labels[contrast >= RESTING_CONTRAST * self._blob_thresholds(blobs, labels)]  # not floor texture
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

    @property
    def sides(self) -> tuple:
        """The sides of the floor detect() looks at: ("lighter",), ("darker",) or both."""
        polarity = self.chosen or self.polarity
        return SIDES if polarity in ("either", "auto") else (polarity,)

    def _blob_thresholds(self, blobs: Blobs, labels: np.ndarray) -> np.ndarray:
        """The threshold of each blob's side (of most of its pixels)."""
        if blobs.dark is None:
            return np.full(len(labels), float(self.threshold_used))
        dark = np.bincount(blobs.label, blobs.dark, minlength=blobs.n)[labels] > 0.5 * blobs.area[labels]
        return np.where(dark, self.thresholds["darker"], self.thresholds["lighter"]).astype(float)

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
        if len(self.thresholds) > 1 and len(set(self.thresholds.values())) > 1:
            threshold = "threshold " + " / ".join(f"{self.thresholds[s]} {s}" for s in SIDES)
        else:
            threshold = f"threshold {self.threshold_used}"
        parts = [what, threshold, sizes]
        if self.resting:
            parts.append(f"{self.resting} resting animal{'s' if self.resting > 1 else ''} found")
        if self.given_background is not None:
            parts.append("empty arena image")
        if self.animals:
            parts.append(f"{self.animals} animals")
        return f"background subtraction ({'; '.join(parts)}), CPU"

    def _decide_polarity(self, greys, held=None) -> str:
        """'lighter', 'darker' or 'either': the side of the background where the strongest differences are,
        or both when the other side shows animals of its own too (_animals_on_the_other_side).

        Moving animals decide, measured away from where the median holds something (resting animals,
        whose ghosts differ both ways); when nothing moves, the resting animals in the median decide.
        """
        side, both = self._sides_shown(greys, held)
        if side is None and held is not None:
            side = _stronger_side(held[self._raster > 0] if self._raster is not None else held.ravel(),
                                  self._level())
        elif both:
            side = "either"  # animals of both shades: the stronger side alone would miss the others
        return side or "either"

    def _level(self) -> float:
        return max(MIN_AUTO_THRESHOLD, NOISE_FACTOR * self.noise)

    def _sides_shown(self, greys, held=None) -> tuple:
        """(the side of the strongest moving differences or "either" or None, see _stronger_side; whether
        both sides show moving animals). Sets self.both_shown."""
        level = self._level()
        usable = np.ones(self.background.shape, bool) if held is None else np.abs(held) < level
        if self._raster is not None:
            usable &= self._raster > 0
        moving = np.concatenate([(g.astype(np.int16) - self.background)[usable].ravel()[::3] for g in greys])
        side = _stronger_side(moving, level)
        if side in SIDES:
            self.both_shown = self._animals_on_the_other_side(greys, usable, side)
        elif side == "either":  # alike strong on both sides: each must show animals of its own
            self.both_shown = all(self._animals_on_the_other_side(greys, usable, s) for s in SIDES)
        return side, self.both_shown

    def _animals_on_the_other_side(self, greys, usable, strong: str) -> bool:
        """Whether the side weaker than `strong` shows animals of its own in the frames `greys`, measured
        where `usable` (see OTHER_SIDE_FRAMES)."""
        weak = SIDES[1 - SIDES.index(strong)]
        keep = usable.astype(np.uint8) * 255
        if self._raster is not None:
            keep = cv2.bitwise_and(keep, self._raster)
        diffs = [{side: cv2.bitwise_and(d[side], keep) for side in SIDES}
                 for d in (self._differences(g, SIDES) for g in greys)]
        if len(diffs) < 2:
            return False  # one frame: nothing moves, nothing tells
        thresholds = {side: self._auto_threshold([d[side] for d in diffs]) for side in SIDES}
        strong_blobs = [Blobs(d[strong], self._foreground(d[strong], thresholds[strong])) for d in diffs]
        weak_blobs = [Blobs(d[weak], self._foreground(d[weak], thresholds[weak])) for d in diffs]
        area = dominant_area(np.concatenate([b.area for b in strong_blobs]))
        if area is None:
            return False
        low, high = AUTO_MIN_FRACTION * area, AUTO_MAX_FACTOR * area
        shown = 0
        for blobs, other in zip(weak_blobs, strong_blobs):
            labels = blobs.real()
            labels = labels[(blobs.area[labels] >= low) & (blobs.area[labels] <= high)]
            if not len(labels):
                continue
            # the stronger side's animal-sized blobs, grown by 2 px: a weak blob touching one is its shadow or
            # halo (a mark of the stronger shade on a weak animal is smaller, and does not count)
            animals = np.zeros_like(other.binary)
            big = (other.area >= low)[other.label]
            animals[other.ys[big], other.xs[big]] = 255
            near = cv2.dilate(animals, _KERNEL_5)[blobs.ys, blobs.xs] > 0
            shown += bool((np.bincount(blobs.label, near, minlength=blobs.n)[labels] == 0).any())
        return shown >= OTHER_SIDE_FRAMES * len(weak_blobs)

    def _auto_threshold(self, diffs) -> int:
        """The automatic threshold of one side: Otsu's over its differences (every 7th pixel), never below
        MIN_AUTO_THRESHOLD nor NOISE_FACTOR times the noise."""
        floor = max(MIN_AUTO_THRESHOLD, int(np.ceil(NOISE_FACTOR * self.noise)))
        otsu, _ = cv2.threshold(np.concatenate([d.ravel()[::7] for d in diffs]).reshape(1, -1), 0, 255,
                                cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        return int(min(max(otsu, floor), 254))

    @staticmethod
    def _noise_level(stack: np.ndarray) -> float:
        """Robust std of frame-to-frame pixel noise (median absolute difference of consecutive frames)."""
        if len(stack) < 2:
            return 0.0
        step = max(1, stack.shape[1] * stack.shape[2] // 200_000)
        a = stack[:-1].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        b = stack[1:].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        return float(np.median(np.abs(a - b)) * 1.4826 / np.sqrt(2))

    def _held_differences(self, signed: np.ndarray) -> dict:
        """A signed difference (int16, median minus floor) as {side: uint8 difference} of the sides looked at."""
        return {side: np.clip(signed if side == "lighter" else -signed, 0, 255).astype(np.uint8)
                for side in self.sides}

    def _differences(self, grey: np.ndarray, sides=None) -> dict:
        """{side: uint8 difference to the background on that side} for the sides looked at (or `sides`)."""
        return {side: cv2.subtract(grey, self.background) if side == "lighter" else
                cv2.subtract(self.background, grey) for side in (sides or self.sides)}

    def _difference(self, grey: np.ndarray) -> np.ndarray:
        """How much each pixel differs from the background on the animals' side (both: the absolute difference)."""
        polarity = self.chosen or self.polarity
        if polarity == "darker":
            return cv2.subtract(self.background, grey)
        if polarity == "lighter":
            return cv2.subtract(grey, self.background)
        return cv2.absdiff(grey, self.background)

    def _foreground(self, diff: np.ndarray, threshold=None) -> np.ndarray:
        """The binary foreground of a (masked) difference image: thresholded, opened and closed."""
        threshold = self.threshold_used if threshold is None else threshold
        _, binary = cv2.threshold(diff, threshold, 255, cv2.THRESH_BINARY)
        # opening then closing with a 3 x 3 square is erode, dilate, dilate, erode; the two dilations
        # are one with a 5 x 5 square: three passes instead of four, the same pixels
        binary = cv2.erode(binary, _KERNEL)
        binary = cv2.dilate(binary, _KERNEL_5)
        return cv2.erode(binary, _KERNEL)

    def _blobs(self, diffs: dict) -> Blobs:
        """The blobs of {side: difference} (_differences): one side's, or both sides' (each grouped apart)."""
        if self._raster is not None:
            diffs = {side: cv2.bitwise_and(d, self._raster) for side, d in diffs.items()}
        if len(diffs) == 1:
            (side, diff), = diffs.items()
            return Blobs(diff, self._foreground(diff, self.thresholds.get(side)))
        light, dark = (self._foreground(diffs[side], self.thresholds.get(side)) for side in SIDES)
        split = None if self.learned_area is None else MIN_SPLIT_PART * self.learned_area
        return Blobs(cv2.max(diffs["lighter"], diffs["darker"]), cv2.bitwise_or(light, dark), sides=(light, dark),
                     split_area=split)

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
        blobs = self._blobs(self._differences(grey))
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
