"""Regions of interest: where in the frame animals are tracked.

Polygons are (K, 2) arrays of (x, y) vertices in pixels, origin top-left, pixel centres at integer
coordinates. A point belongs to the region when it lies inside any include polygon (or there are no
include polygons) and inside no exclude polygon. Inside means the even-odd rule, so self-intersecting
outlines behave like cv2.fillPoly draws them.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import OmniTraxError
from .detections import Detections

_SHIFT = 4  # fractional bits for cv2.fillPoly


def _polygon(p, which: str, i: int) -> np.ndarray:
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise OmniTraxError(f"{which} polygon {i} is not a list of (x, y) points.") from None
    if p.ndim != 2 or p.shape[1] != 2:
        raise OmniTraxError(f"{which} polygon {i} must be a list of (x, y) points, got shape {p.shape}.")
    if len(p) < 3:
        raise OmniTraxError(f"{which} polygon {i} has {len(p)} point{'s' if len(p) != 1 else ''}; "
                            f"a region needs at least 3: add points or delete it.")
    if not np.isfinite(p).all():
        raise OmniTraxError(f"{which} polygon {i} has coordinates that are not numbers.")
    return p


def _inside(polygon: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Even-odd test of N points against one polygon, vectorised over points and edges."""
    x, y = xy[:, 0:1], xy[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)  # edge straddles the horizontal line through the point
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (np.count_nonzero(crosses & (x < x_at), axis=1) % 2) == 1


class RegionMask:
    """Include/exclude polygons in pixels; see the module docstring for the rule."""

    def __init__(self, include=(), exclude=()):
        self.include = [_polygon(p, "Include", i) for i, p in enumerate(include or ())]
        self.exclude = [_polygon(p, "Exclude", i) for i, p in enumerate(exclude or ())]

    @property
    def is_empty(self) -> bool:
        """True when the mask restricts nothing (no polygons at all)."""
        return not self.include and not self.exclude

    def contains(self, xy) -> np.ndarray:
        """Boolean array: which of the (N, 2) points (x, y) lie in the region."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        keep = np.zeros(len(xy), bool) if self.include else np.ones(len(xy), bool)
        for polygon in self.include:
            keep |= _inside(polygon, xy)
        for polygon in self.exclude:
            keep &= ~_inside(polygon, xy)
        return keep

    def filter(self, detections: Detections) -> Detections:
        """The detections whose centre lies in the region."""
        if self.is_empty or len(detections) == 0:
            return detections
        return detections.select(self.contains(detections.xy))

    def raster(self, width: int, height: int) -> np.ndarray:
        """HxW uint8 image: 255 inside the region, 0 outside (sub-pixel vertices, no anti-aliasing)."""
        if width <= 0 or height <= 0:
            raise OmniTraxError(f"A mask raster needs a positive size, got {width}x{height}.")
        image = np.full((height, width), 0 if self.include else 255, np.uint8)
        # one call per polygon: a single fillPoly call would cut holes where polygons overlap
        for polygons, value in ((self.include, 255), (self.exclude, 0)):
            for p in polygons:
                cv2.fillPoly(image, [np.round(p * (1 << _SHIFT)).astype(np.int32)], value, cv2.LINE_8, _SHIFT)
        return image

    def __repr__(self):
        return f"RegionMask({len(self.include)} include, {len(self.exclude)} exclude polygons)"
