"""What each animal looks like: features of an image crop around it, and a linear classifier over them.

Features (numpy + OpenCV, no deep-learning package): the animal is the part of the crop that differs
from the crop's own border (the local floor) by at least half of its own strong contrast (so the body,
not the faint legs), the connected piece at its centre, holes filled. From it: its size (area, length,
width), its colour (the mean of its core, in absolute terms: the floor's texture varies more from place
to place than an animal's colour does), the spread and quantiles of its grey levels against the floor
(light or dark marks show there) and its pattern: the body turned to lie along its long axis, scaled to
its length and averaged with its mirror images, so neither the heading nor which end is the head matters
but where along the body a mark sits still does.

The classifier is linear discriminant analysis (one shared covariance, shrunk towards its diagonal):
fast to fit on tens of thousands of crops on a CPU. On our clips it beat a small CNN trained on the
same crops (tools/bench_identity.py).
"""
from __future__ import annotations

import cv2
import numpy as np

CROP_SIZES = 1.25  # crop side in body sizes (box diagonals): the whole animal at any heading
MIN_CONTRAST = 8.0  # grey levels: the least difference from the floor that counts as animal
PATTERN = (12, 6)  # pattern grid along x across the body, before mirroring (6 x 3 values after)
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
BODY_LEVEL = 0.5  # body pixels differ from the floor by at least this fraction of the body's strong contrast
SHRINK = 0.1  # covariance shrinkage towards its diagonal
N_FEATURES = 3 + 3 + 1 + len(QUANTILES) + (PATTERN[0] // 2) * (PATTERN[1] // 2) + 1


def crop_features(image: np.ndarray, xs, ys, sizes) -> tuple[np.ndarray, np.ndarray]:
    """Features (k, N_FEATURES) of the animals centred at (xs, ys) px with body sizes `sizes` px in one
    BGR (or grey) frame, and (k,) whether each could be measured (an animal found at the centre)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    colour = image if image.ndim == 3 else image[:, :, None]
    h, w = grey.shape
    out = np.zeros((len(xs), N_FEATURES), np.float32)
    ok = np.zeros(len(xs), bool)
    for k, (x, y, size) in enumerate(zip(xs, ys, sizes)):
        half = max(int(np.ceil(0.5 * CROP_SIZES * size)), 4)
        cx, cy = int(round(x)), int(round(y))
        x0, y0, x1, y1 = cx - half, cy - half, cx + half + 1, cy + half + 1
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            continue  # at the frame's edge: part of the animal may be outside
        features = _one(grey[y0:y1, x0:x1].astype(np.float32), colour[y0:y1, x0:x1].astype(np.float32))
        if features is not None:
            out[k], ok[k] = features, True
    return out, ok


def _one(grey: np.ndarray, colour: np.ndarray):
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    floor = float(np.median(border))
    diff = grey - floor
    contrast = np.abs(diff)
    spread = float(np.median(np.abs(border - floor))) * 1.4826  # the floor's own texture and noise
    level = max(MIN_CONTRAST, 3.0 * spread)
    above = contrast[contrast > level]
    if len(above) < 4:
        return None
    # the body, not the faint legs: pixels at more than half of the animal's own strong contrast
    strong = float(np.partition(above, int(0.9 * (len(above) - 1)))[int(0.9 * (len(above) - 1))])
    mask = (contrast > max(level, BODY_LEVEL * strong)).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None
    c = (grey.shape[0] - 1) / 2.0
    # the piece at the centre, else the largest near it
    label = int(labels[int(c), int(c)])
    if label == 0:
        d = np.hypot(centroids[1:, 0] - c, centroids[1:, 1] - c)
        near = np.flatnonzero(d < 0.35 * grey.shape[0])
        if not len(near):
            return None
        label = int(near[np.argmax(stats[1:, cv2.CC_STAT_AREA][near])]) + 1
    body = _filled((labels == label).astype(np.uint8))
    m = cv2.moments(body, binaryImage=True)
    area = m["m00"]
    if area < 4:
        return None
    mx, my = m["m10"] / area, m["m01"] / area
    a, b, cc = m["mu20"] / area + 1 / 12, m["mu02"] / area + 1 / 12, m["mu11"] / area
    root = np.sqrt(0.25 * (a - b) ** 2 + cc * cc)
    major, minor = 0.5 * (a + b) + root, max(0.5 * (a + b) - root, 1e-6)
    length, width = 4.0 * np.sqrt(major), 4.0 * np.sqrt(minor)
    angle = 0.5 * np.arctan2(2 * cc, a - b)
    inside = body.astype(bool)
    # its own colour: the mean of its core (the strongest-contrast half of the body), not against the
    # floor, whose texture varies more from place to place than one animal's colour does
    core = inside & (contrast >= np.median(contrast[inside]))
    shade = np.resize(colour[core].mean(axis=0), 3)
    values = diff[inside]
    sign = 1.0 if values.mean() >= 0 else -1.0  # lighter or darker than the floor
    ordered = np.sort(sign * values)
    levels = ordered[(np.asarray(QUANTILES) * (len(ordered) - 1)).astype(int)]
    # the pattern: the body turned to lie along x, scaled to its length, mirrored both ways
    pw, ph = PATTERN
    scale = pw / max(length * 1.1, 1.0)
    rot = cv2.getRotationMatrix2D((float(mx), float(my)), float(np.degrees(angle)), scale)
    rot[0, 2] += pw / 2.0 - mx
    rot[1, 2] += ph / 2.0 - my
    patch = cv2.warpAffine(sign * diff * body, rot, (pw, ph), flags=cv2.INTER_AREA)
    patch = patch + patch[::-1] + patch[:, ::-1] + patch[::-1, ::-1]
    pattern = patch[:ph // 2, :pw // 2].ravel() / 4.0
    # how much more of the body lies on one side of its middle (a large abdomen, a small head)
    along = cv2.warpAffine(body.astype(np.float32), rot, (pw, ph), flags=cv2.INTER_AREA).sum(axis=0)
    asymmetry = abs(float(along[:pw // 2].sum() - along[pw // 2:].sum())) / max(float(along.sum()), 1e-6)
    return np.concatenate([[np.log(area), np.log(length), np.log(width)], shade, [values.std()], levels,
                           pattern, [asymmetry]]).astype(np.float32)


def _filled(piece: np.ndarray) -> np.ndarray:
    """The piece (uint8 0/1) with its holes filled (a mark unlike the body can make one)."""
    contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(piece)
    cv2.drawContours(out, contours, -1, 1, thickness=-1)
    return out


class LinearIdentities:
    """Linear discriminant analysis over crop features: fit(X, labels), then proba(X) per identity."""

    def __init__(self, n_classes: int):
        self.n_classes = int(n_classes)
        self.mean = self.scale = self.weights = self.bias = None

    def fit(self, X: np.ndarray, labels: np.ndarray) -> "LinearIdentities":
        X = np.asarray(X, np.float64)
        labels = np.asarray(labels, np.int64)
        self.mean = X.mean(axis=0)
        self.scale = X.std(axis=0) + 1e-6
        Z = (X - self.mean) / self.scale
        means = np.zeros((self.n_classes, Z.shape[1]))
        seen = np.zeros(self.n_classes, bool)
        within = np.zeros((Z.shape[1], Z.shape[1]))
        for k in range(self.n_classes):
            rows = Z[labels == k]
            if len(rows):
                seen[k] = True
                means[k] = rows.mean(axis=0)
                centred = rows - means[k]
                within += centred.T @ centred
        within /= max(len(Z) - seen.sum(), 1)
        within = (1 - SHRINK) * within + SHRINK * np.diag(np.diag(within)) + 1e-3 * np.eye(len(within))
        inverse = np.linalg.inv(within)
        self.weights = means @ inverse  # (classes, features)
        self.bias = -0.5 * np.einsum("kf,kf->k", self.weights, means)
        self.bias[~seen] = -np.inf  # identities without examples are never predicted
        return self

    def log_proba(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, np.float64) - self.mean) / self.scale
        scores = Z @ self.weights.T + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))

    def proba(self, X: np.ndarray) -> np.ndarray:
        return np.exp(self.log_proba(X))
