"""Blender Mask -> the core's include/exclude polygons in pixels (top-left origin).

Every layer and spline counts; Bezier segments are sampled finely, so curved outlines stay curved.
Layers that add (Add, Merge Add, Lighten, Replace) give include polygons, layers that subtract give
exclude polygons; an inverted layer swaps the two. Hidden-for-render layers are skipped, like
Blender's own mask rendering. Layer order is not modelled: exclusions always win.
"""
from __future__ import annotations

import numpy as np

from ..errors import OmniTraxError
from .coords import marker_to_pixels

ADDING = {"ADD", "MERGE_ADD", "LIGHTEN", "REPLACE", "DIFFERENCE", "MUL"}
SUBTRACTING = {"SUBTRACT", "MERGE_SUBTRACT", "DARKEN"}
SAMPLES_PER_SEGMENT = 32


def mask_to_frame(co, width: int, height: int) -> np.ndarray:
    """Mask space -> normalised frame coordinates (bottom-left origin, 0..1 on both axes).

    Blender keeps mask coordinates square: on a wide frame the y axis is squeezed by height/width
    around 0.5 (BKE_mask_coord_from_frame); this undoes it.
    """
    co = np.asarray(co, dtype=np.float64).reshape(-1, 2).copy()
    if width > height:
        co[:, 1] = (co[:, 1] - 0.5) * (width / height) + 0.5
    elif height > width:
        co[:, 0] = (co[:, 0] - 0.5) * (height / width) + 0.5
    return co


def bezier_outline(points, cyclic: bool, samples: int = SAMPLES_PER_SEGMENT) -> np.ndarray:
    """Sample a Bezier spline given as (co, handle_right, handle_left) per point -> (K, 2) in mask space."""
    co = np.array([p[0] for p in points], dtype=np.float64)
    right = np.array([p[1] for p in points], dtype=np.float64)
    left = np.array([p[2] for p in points], dtype=np.float64)
    n = len(co)
    segments = n if cyclic else n - 1
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        j = (i + 1) % n
        p0, p1, p2, p3 = co[i], right[i], left[j], co[j]
        out.append(((1 - t) ** 3) * p0 + 3 * ((1 - t) ** 2) * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3)
    if not cyclic:
        out.append(co[-1:])
    return np.concatenate(out) if out else co


def mask_polygons(mask, width: int, height: int) -> tuple[list, list]:
    """(include, exclude) lists of (K, 2) pixel polygons for a bpy.types.Mask."""
    include, exclude = [], []
    for layer in mask.layers:
        if layer.hide_render:
            continue
        adds = layer.blend in ADDING
        if layer.invert:
            adds = not adds
        for spline in layer.splines:
            if not spline.use_cyclic or len(spline.points) < 3:
                continue  # an open curve or a closed one of two points encloses no area
            pts = [(tuple(p.co), tuple(p.handle_right), tuple(p.handle_left)) for p in spline.points]
            outline = bezier_outline(pts, spline.use_cyclic)
            pixels = marker_to_pixels(mask_to_frame(outline, width, height), width, height)
            (include if adds else exclude).append(pixels)
    return include, exclude


def region_mask(mask, width: int, height: int):
    """The core RegionMask for a Blender mask, or None when there is no mask."""
    if mask is None:
        return None
    from ..detection.masks import RegionMask

    include, exclude = mask_polygons(mask, width, height)
    shapes = sum(len(layer.splines) for layer in mask.layers if not layer.hide_render)
    if shapes and not include and not exclude:
        raise OmniTraxError(f"The mask '{mask.name}' has no closed shape, so it covers no area: close its curves "
                            f"(Toggle Cyclic, Alt+C) or clear the Mask field.")
    if include and max(_area(p) for p in include) < 1.0:
        raise OmniTraxError(f"The mask '{mask.name}' covers no area of the frame: draw it around the arena, "
                            f"or clear the Mask field.")
    return RegionMask(include=include, exclude=exclude)


def _area(polygon) -> float:
    """Shoelace area of a (K, 2) pixel polygon."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
