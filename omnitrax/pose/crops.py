"""Regions of interest (ROIs) around tracked animals: square boxes, crops for the pose network, and
the one mapping from crop pixels back to full-frame pixels.

Coordinate convention (as OpenCV and the rest of OmniTrax): pixels, origin top-left, integer
coordinates are pixel centres, so pixel i covers [i - 0.5, i + 0.5] and an image W pixels wide spans
[-0.5, W - 0.5]. An ROI row is (left, top, width, height) with width == height, the continuous area
[left, left + width] x [top, top + height] in those coordinates (like Tracks.boxes()). A crop of
`out_size` pixels spans [-0.5, out_size - 0.5] and covers its ROI exactly, so

    x_frame = left + (x_crop + 0.5) * width / out_size        (and the same for y with top)

Boxes made by roi_boxes have edges on pixel edges and whole-pixel sizes, so when width == out_size
a crop is an exact copy of frame pixels (no interpolation).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..errors import OmniTraxError

ROI_MODES = ("constant", "box")


def _square(cx, cy, size) -> np.ndarray:
    """(N, 4) square boxes of whole-pixel `size`, centred as near to (cx, cy) as the pixel grid allows."""
    size = np.maximum(np.ceil(np.asarray(size, np.float64) - 1e-9), 1.0)
    # edges on pixel edges: the nearest half-integer to centre - size / 2
    left = np.floor(cx - size / 2.0) + 0.5
    top = np.floor(cy - size / 2.0) + 0.5
    return np.column_stack([left, top, size, size])


def roi_boxes(xy, boxes=None, mode: str = "constant", size: float = 64, padding: float = 0) -> np.ndarray:
    """Square ROIs for N marker positions.

    xy:      (N, 2) marker centres in pixels.
    boxes:   (N, 4) detection boxes (left, top, width, height) in pixels, used by mode "box".
    mode:    "constant": a `size` x `size` square centred on each marker.
             "box": the marker's box grown by `padding` pixels on every side and made square (its
             longer side), centred on the marker; rows whose box is unknown (width or height <= 0)
             get the constant `size` square instead.
    Returns (N, 4) float64 rows (left, top, size, size), see the module docstring.
    """
    if mode not in ROI_MODES:
        raise OmniTraxError(f"Unknown ROI mode '{mode}'; choose one of {', '.join(ROI_MODES)}.")
    if not (isinstance(size, (int, float, np.integer, np.floating)) and math.isfinite(size) and size >= 1):
        raise OmniTraxError(f"ROI size must be a number of pixels >= 1, got {size!r}.")
    if not (math.isfinite(padding) and padding >= 0):
        raise OmniTraxError(f"ROI padding must be >= 0 pixels, got {padding!r}.")
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise OmniTraxError("ROI centres must be finite pixel positions; the tracks contain NaN or inf.")
    side = np.full(len(xy), float(size))
    if mode == "box":
        if boxes is None:
            raise OmniTraxError("ROI mode 'box' needs the tracks' box sizes; use mode 'constant' instead.")
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if len(boxes) != len(xy):
            raise ValueError(f"{len(boxes)} boxes for {len(xy)} positions")
        w, h = boxes[:, 2], boxes[:, 3]
        known = np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0)
        side[known] = np.maximum(w[known], h[known]) + 2.0 * padding
    return _square(xy[:, 0], xy[:, 1], side)


def _check_out_size(out_size) -> int:
    if int(out_size) != out_size or out_size < 1:
        raise OmniTraxError(f"Crop size must be a whole number of pixels >= 1, got {out_size!r}.")
    return int(out_size)


def extract(frame: np.ndarray, rois, out_size: int) -> np.ndarray:
    """Crops of `frame` for each ROI, resized to `out_size` x `out_size` pixels.

    frame: HxW or HxWxC uint8 image (BGR from VideoSource). Parts of an ROI outside the frame are
    black. Returns (K, out_size, out_size[, C]) of the frame's dtype; K = len(rois).
    Resizing is bilinear (fine for the moderate scale changes of pose crops).
    """
    out_size = _check_out_size(out_size)
    rois = np.asarray(rois, np.float64).reshape(-1, 4)
    crops = np.zeros((len(rois), out_size, out_size) + frame.shape[2:], frame.dtype)
    for i, (left, top, width, _) in enumerate(rois):
        k = out_size / width
        # frame -> crop: x_crop = (x_frame - left) * k - 0.5
        m = np.array([[k, 0.0, -left * k - 0.5], [0.0, k, -top * k - 0.5]])
        crops[i] = cv2.warpAffine(frame, m, (out_size, out_size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crops


def to_frame(keypoints, rois, out_size: int) -> np.ndarray:
    """Keypoints in crop pixels -> full-frame pixels (the inverse of extract's mapping).

    keypoints: (K, J, 2 or more) with x, y in crop pixels first (further columns, such as the
    likelihood, are copied unchanged). rois: (K, 4) the ROIs the crops were cut from.
    Returns a float64 copy of `keypoints` with x, y in frame pixels.
    """
    out_size = _check_out_size(out_size)
    out = np.array(keypoints, np.float64, copy=True)
    rois = np.asarray(rois, np.float64).reshape(-1, 4)
    if out.shape[0] != len(rois):
        raise ValueError(f"{out.shape[0]} keypoint sets for {len(rois)} ROIs")
    scale = (rois[:, 2] / out_size)[:, None]
    out[..., 0] = rois[:, 0:1] + (out[..., 0] + 0.5) * scale
    out[..., 1] = rois[:, 1:2] + (out[..., 1] + 0.5) * scale
    return out


def relative_to_rois(poses, tracks, roi_mode: str = "constant", roi_size: float = 64, padding: float = 0):
    """The poses with x, y in ROI pixels (origin at each animal's ROI for that frame, frame-pixel scale:
    upstream OmniTrax's per-animal crop layout) instead of frame pixels. The ROIs are the ones pose
    estimation cut (the same tracks and ROI settings); keypoints of a (track, frame) without a track row
    are dropped."""
    from dataclasses import replace

    rois = roi_boxes(np.column_stack([tracks.x, tracks.y]), tracks.boxes(), mode=roi_mode, size=roi_size,
                     padding=padding)
    key = tracks.track.astype(np.int64) * (1 << 32) + tracks.frame.astype(np.int64)
    wanted = poses.track.astype(np.int64) * (1 << 32) + poses.frame.astype(np.int64)
    order = np.argsort(key, kind="stable")
    at = np.clip(np.searchsorted(key[order], wanted), 0, max(len(key) - 1, 0))
    found = key[order][at] == wanted if len(key) else np.zeros(len(wanted), bool)
    rows = order[at][found]
    kept = poses.select(found)
    # x_crop = (x_frame - left) - 0.5: the ROI's first pixel centre is 0 (extract's mapping at scale 1)
    return replace(kept, x=kept.x - rois[rows, 0] - 0.5, y=kept.y - rois[rows, 1] - 0.5)
