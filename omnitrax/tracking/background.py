"""Model-free detection for fixed cameras: difference to a median background, blobs, sub-pixel centres.

Coordinates are pixels with the origin top-left and pixel centres at integer coordinates (as in
omnitrax.synthetic): a blob covering pixel columns 10..19 has left = 9.5 and width = 10.
"""
from __future__ import annotations

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
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
GROUP_GAP = 2  # px: foreground pieces this close are one blob (a body cut at its thin waist)
_GROUP_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (GROUP_GAP + 1, GROUP_GAP + 1))


def _grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim == 2:
        return frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    raise OmniTraxError(f"Expected a BGR or grey image, got an array of shape {frame.shape}.")


class BackgroundDetector(Detector):
    """Animals are blobs that differ from the per-pixel median of sample frames.

    polarity: "darker" (animals darker than the floor), "lighter", "either", or "auto": decided by fit()
        from the video (which side of the background the strongest differences lie on); see `chosen`.
    threshold: grey-level difference that counts as animal (1-254); None = automatic, chosen by fit().
    min_area / max_area: blob size limits in pixels (after splitting); max_area None = no limit.
    animal_area: typical area of one animal in pixels; blobs of >= 1.6 animal areas are split into
        round(area / animal_area) animals by k-means on their pixel coordinates. None = no splitting.
    mask: an omnitrax.tracking.masks.RegionMask; pixels outside it are ignored.

    Detections: centre = difference-weighted centroid of the blob's pixels (sub-pixel), box = the blob's
    pixel extent, score = the blob's mean difference / 255 (its contrast, in [0, 1]).
    """

    def __init__(self, polarity: str = "darker", threshold=None, min_area: int = 20, max_area=None,
                 animal_area=None, mask=None):
        if polarity not in POLARITIES:
            raise OmniTraxError(f"Polarity {polarity!r} is not one of {', '.join(POLARITIES)}.")
        if threshold is not None and not 1 <= threshold <= 254:
            raise OmniTraxError(f"Threshold {threshold} is outside 1..254 grey levels; use 0/None for automatic.")
        if min_area < 0 or (max_area is not None and max_area < max(min_area, 1)):
            raise OmniTraxError(f"Blob areas must satisfy 0 <= min_area <= max_area, got {min_area} and {max_area}.")
        if animal_area is not None and animal_area <= 0:
            raise OmniTraxError(f"animal_area must be positive (pixels) or None, got {animal_area}.")
        self.polarity = polarity
        self.threshold = None if threshold is None else int(threshold)
        self.min_area = int(min_area)
        self.max_area = None if max_area is None else int(max_area)
        self.animal_area = None if animal_area is None else float(animal_area)
        self.mask = mask
        self.background = None  # HxW uint8, set by fit()
        self.noise = None  # robust std of the background's pixel noise, grey levels
        self.threshold_used = None  # the threshold detect() applies
        self._raster = None
        self.chosen = None if polarity == "auto" else polarity  # the polarity detect() applies
        self.description = f"background subtraction ({polarity} animals), CPU"

    # --------------------------------------------------------------------------------------- fit
    def fit(self, frames) -> "BackgroundDetector":
        """Estimate the background as the per-pixel median (grey) of the given frames; pick the threshold."""
        greys = [_grey(f) for f in frames]
        if not greys:
            raise OmniTraxError("The background detector needs at least one frame to estimate the background.")
        if len({g.shape for g in greys}) != 1:
            raise OmniTraxError("The background frames differ in size; take them all from one video.")
        stack = np.stack(greys)
        self.background = np.median(stack, axis=0).round().astype(np.uint8) if len(greys) > 1 else greys[0].copy()
        height, width = self.background.shape
        self._raster = None
        if self.mask is not None and not getattr(self.mask, "is_empty", False):
            self._raster = self.mask.raster(width, height)
        if self.polarity == "auto":
            self.chosen = self._decide_polarity(greys[:20])
            side = "either lighter or darker than" if self.chosen == "either" else f"{self.chosen} than"
            self.description = f"background subtraction (auto: animals are {side} the floor), CPU"
        diffs = np.concatenate([self._difference(g).ravel()[::7] for g in greys[:20]])
        self.noise = self._noise_level(stack)
        if self.threshold is not None:
            self.threshold_used = self.threshold
        else:
            floor = max(MIN_AUTO_THRESHOLD, int(np.ceil(NOISE_FACTOR * self.noise)))
            otsu, _ = cv2.threshold(diffs.reshape(1, -1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
            self.threshold_used = int(min(max(otsu, floor), 254))
        return self

    def _decide_polarity(self, greys) -> str:
        """'lighter', 'darker' or 'either': the side of the background where the strongest differences are."""
        d = np.concatenate([(g.astype(np.int16) - self.background).ravel()[::3] for g in greys])
        if self._raster is not None:
            d = np.concatenate([(g.astype(np.int16) - self.background)[self._raster > 0].ravel()[::3]
                                for g in greys])
        if not len(d):
            return "either"
        k = max(1, int(len(d) * AUTO_TAIL))
        part = np.partition(d, (k, len(d) - k - 1))
        lighter = float(np.mean(np.clip(part[-k:], 0, None)))
        darker = float(np.mean(np.clip(-part[:k], 0, None)))
        if lighter > AUTO_RATIO * darker:
            return "lighter"
        if darker > AUTO_RATIO * lighter:
            return "darker"
        return "either"

    @staticmethod
    def _noise_level(stack: np.ndarray) -> float:
        """Robust std of frame-to-frame pixel noise (median absolute difference of consecutive frames)."""
        if len(stack) < 2:
            return 0.0
        step = max(1, stack.shape[1] * stack.shape[2] // 200_000)
        a = stack[:-1].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        b = stack[1:].reshape(len(stack) - 1, -1)[:, ::step].astype(np.int16)
        return float(np.median(np.abs(a - b)) * 1.4826 / np.sqrt(2))

    def _difference(self, grey: np.ndarray) -> np.ndarray:
        polarity = self.chosen or self.polarity
        if polarity == "darker":
            return cv2.subtract(self.background, grey)
        if polarity == "lighter":
            return cv2.subtract(grey, self.background)
        return cv2.absdiff(grey, self.background)

    # ------------------------------------------------------------------------------------ detect
    def detect(self, frame: np.ndarray) -> Detections:
        if self.background is None:
            raise OmniTraxError("The background detector has no background yet: call fit() with frames first.")
        grey = _grey(frame)
        if grey.shape != self.background.shape:
            raise OmniTraxError(f"Frame size {grey.shape[1]}x{grey.shape[0]} differs from the background's "
                                f"{self.background.shape[1]}x{self.background.shape[0]}; fit on this video.")
        diff = self._difference(grey)
        if self._raster is not None:
            diff = cv2.bitwise_and(diff, self._raster)
        _, binary = cv2.threshold(diff, self.threshold_used, 255, cv2.THRESH_BINARY)
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _KERNEL)
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, _KERNEL)
        # blobs are groups of foreground pieces less than GROUP_GAP apart; their statistics use only
        # the foreground pixels themselves
        grouped = cv2.dilate(binary, _GROUP_KERNEL)
        n, labels = cv2.connectedComponents(grouped, connectivity=8, ltype=cv2.CV_32S)
        points = cv2.findNonZero(binary)
        if n <= 1 or points is None:
            return Detections.empty()
        points = points.reshape(-1, 2)  # (x, y) of every foreground pixel
        xs, ys = points[:, 0], points[:, 1]
        label = labels[ys, xs]
        weight = diff[ys, xs].astype(np.float64)
        stats = np.zeros((n, 5), np.int64)
        stats[:, cv2.CC_STAT_AREA] = np.bincount(label, minlength=n)
        x_min, y_min = np.full(n, 1 << 30), np.full(n, 1 << 30)
        x_max, y_max = np.full(n, -1), np.full(n, -1)
        np.minimum.at(x_min, label, xs)
        np.minimum.at(y_min, label, ys)
        np.maximum.at(x_max, label, xs)
        np.maximum.at(y_max, label, ys)
        stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP] = x_min, y_min
        stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT] = x_max - x_min + 1, y_max - y_min + 1
        areas = stats[:, cv2.CC_STAT_AREA]

        xy, boxes, scores = [], [], []
        split = np.zeros(n, bool)
        if self.animal_area is not None:
            split[1:] = areas[1:] >= SPLIT_RATIO * self.animal_area
        # unsplit blobs, vectorised over blobs
        keep = ~split
        keep[0] = False
        w_sum = np.bincount(label, weight, minlength=n)
        cx = np.bincount(label, weight * xs, minlength=n) / np.maximum(w_sum, 1e-9)
        cy = np.bincount(label, weight * ys, minlength=n) / np.maximum(w_sum, 1e-9)
        ok = keep & self._area_ok(areas)
        idx = np.flatnonzero(ok)
        xy.append(np.c_[cx[idx], cy[idx]])
        boxes.append(np.c_[stats[idx, 0] - 0.5, stats[idx, 1] - 0.5, stats[idx, 2], stats[idx, 3]].astype(np.float64))
        scores.append(w_sum[idx] / areas[idx] / 255.0)
        # merged blobs, split one by one
        for blob in np.flatnonzero(split):
            sel = label == blob
            parts = self._split(xs[sel], ys[sel], weight[sel], int(round(areas[blob] / self.animal_area)))
            xy.append(parts[0])
            boxes.append(parts[1])
            scores.append(parts[2])
        detections = Detections(np.concatenate(xy), np.concatenate(boxes), np.concatenate(scores))
        return detections

    def _area_ok(self, areas: np.ndarray) -> np.ndarray:
        ok = areas >= self.min_area
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
