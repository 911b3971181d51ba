"""Synthetic clips of walking ants with exact ground truth (for tests, the sample clip and training).

Conventions (pixels, origin top-left, 0-based frame index): pixel centres lie at integer coordinates
(OpenCV's convention), so the top-left pixel covers [-0.5, 0.5] x [-0.5, 0.5].

Each animal is three ellipses (abdomen, thorax, head) along its heading, plus thin, faint legs and
antennae. The ground-truth position (x, y) is the area centroid of the body silhouette (the three
ellipses, legs excluded) measured on its anti-aliased coverage mask as rendered (4 x 4 supersampling):
the point a detector that weights pixels by their difference to the background sees. The box is the
exact (analytic) axis-aligned box of the three ellipses. `angle` is the heading in radians in image
coordinates (0 = +x, pi/2 = +y, i.e. downwards), `length` the tip-to-tip body length in pixels.

Hard cases (all off by default): animals that never move (`still`), animals that rest through the middle of
the clip (`resting`), static floor specks that look like tiny animals, some of them flickering (`specks`,
`flicker`), and a smooth illumination gradient over the whole image (`uneven_light`).

Everything is deterministic for a seed (numpy default_rng; no global random state), and the first k
frames of a clip do not depend on n_frames unless resting > 0 (the rest is timed relative to the clip).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import OmniTraxError

#: ground-truth columns, in CSV order (GroundTruth adds "frame" in front)
KEYS = ("id", "x", "y", "left", "top", "width", "height", "head_x", "head_y", "thorax_x", "thorax_y",
        "abdomen_x", "abdomen_y", "angle", "length")
CSV_COLUMNS = ("frame",) + KEYS
POLARITIES = ("dark_on_light", "light_on_dark", "mixed")
# polarity="mixed": a mid-grey floor with animals of both shades; SIDES are the polarities the animals take
SIDES = ("dark_on_light", "light_on_dark")

SS = 4  # supersampling factor of the animal rasters
SHIFT = 4  # fractional bits of the coordinates given to cv2 drawing calls
# Body parts as (centre along the axis, semi-major, semi-minor) in body lengths; the tips are at +-0.5.
PARTS = {"abdomen": (-0.27, 0.23, 0.13), "thorax": (0.10, 0.16, 0.065), "head": (0.37, 0.13, 0.10)}
LIMB_ALPHA = 0.4  # opacity of legs and antennae relative to the body
# Animal colour (BGR) per polarity and the range of its per-animal brightness factor; specks use the colour too.
ANIMAL_LOOK = {"dark_on_light": ((30.0, 38.0, 50.0), (0.8, 1.25)),  # dark brown
               "light_on_dark": ((205.0, 215.0, 220.0), (0.88, 1.08))}
SPECK_RADIUS = (1.0, 3.0)  # px
SPECK_OPACITY = (0.5, 0.95)  # blend towards the animal colour
FLICKER_RANGE = (0.1, 1.0)  # per-frame factor on a flickering speck's opacity
LIGHT_FALLOFF = 0.6  # uneven_light=1: the darkest corner gets 1 - 0.6 = 40% of the brightest's light
# encounters (render_frames(encounters=...)): rad/frame of steering, distance (body lengths) at which a pair
# has met, frames an encounter may take, frames of rest after one
ENCOUNTER_STEER, ENCOUNTER_PASS, ENCOUNTER_TIMEOUT, ENCOUNTER_REST = 0.3, 0.8, 90, (10, 40)
ENCOUNTER_OFFSET = 0.35  # centres pass this many body lengths apart: the bodies touch, legs overlap
# looks="distinct": body lengths and brightness spread evenly over these ranges, and a light (on dark
# animals; dark on light ones) mark of one of MARKS, so that every animal looks different
DISTINCT_LENGTH = (24.0, 40.0)
DISTINCT_BRIGHTNESS = {"dark_on_light": (0.55, 1.6), "light_on_dark": (0.7, 1.1)}
MARKS = ("none", "abdomen_spot", "abdomen_stripe", "head_spot")
MARK_OPACITY = 0.85
MARK_COLOUR = {"dark_on_light": (215.0, 215.0, 205.0), "light_on_dark": (25.0, 25.0, 30.0)}
LOOKS = ("alike", "distinct", "identical")
IDENTICAL_LENGTH = 32.0  # looks="identical": every animal this long, of the polarity's base colour
# polarity="mixed": the floor's grey level; on it the light animals (about 210) differ about 1.7 times as
# much from the floor as the dark ones (about 40): black and white mice on a darkish grey floor, where the
# stronger side alone would hide the other half of the animals
MIXED_FLOOR = 100.0
MIXED_BLOTCHES = 0.5  # ... a more even floor than the others (its blotches at half their contrast) ...
MIXED_DISTINCT_BRIGHTNESS = {"dark_on_light": (0.55, 1.2), "light_on_dark": (0.75, 1.1)}  # ... and with
# looks="distinct" brightness ranges that keep every animal at least ~50 grey levels off the floor


# ----------------------------------------------------------------------------------------- background

def _background(rng, width, height, polarity) -> np.ndarray:
    """A static textured floor, float32 HxWx3 BGR: low-frequency blotches plus fine grain."""
    blotches = np.zeros((height, width), np.float32)
    even = MIXED_BLOTCHES if polarity == "mixed" else 1.0
    for cells, amplitude in ((4, 14.0), (12, 8.0), (40, 4.0)):
        small = rng.normal(0.0, 1.0, (max(2, cells * height // width), cells)).astype(np.float32)
        blotches += even * amplitude * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0.0, 5.0, (height, width)).astype(np.float32), (0, 0), 0.8)
    if polarity == "dark_on_light":
        base, tint = 185.0, np.array([0.90, 1.0, 1.06], np.float32)  # sandy floor
    elif polarity == "mixed":
        base, tint = MIXED_FLOOR, np.array([1.0, 1.0, 1.0], np.float32)  # mid-grey floor
    else:
        base, tint = 55.0, np.array([1.05, 1.0, 0.95], np.float32)  # dark, slightly blue floor
    grey = base + blotches + grain
    return np.clip(grey[:, :, None] * tint, 0, 255).astype(np.float32)


# ------------------------------------------------------------------------------------------- motion

class _Colony:
    """Positions, headings and speeds of all animals; step() advances one frame (vectorised)."""

    def __init__(self, rng, n, width, height, lengths=None, meet_rng=None, meet_rate=0.0):
        self.rng, self.n, self.width, self.height = rng, n, width, height
        self.length = rng.uniform(26.0, 38.0, n)
        if lengths is not None:  # drawn above all the same, so the motion stream stays as it was
            self.length = np.asarray(lengths, np.float64)
        self.margin = 0.5 * self.length + 1.5  # keeps the whole body inside the frame
        self.pos = self._spread(n)
        self.heading = rng.uniform(-np.pi, np.pi, n)
        self.turn = np.zeros(n)
        self.cruise = rng.uniform(1.5, 4.5, n)  # px/frame when running
        self.speed = self.cruise * rng.uniform(0.3, 1.0, n)
        self.pause_left = np.zeros(n, np.int64)
        self.gait = rng.uniform(0, 2 * np.pi, n)  # leg phase
        # encounters (a stream of their own; None: animals meet only by chance)
        self.meet_rng, self.meet_rate = meet_rng, meet_rate
        self.partner = np.full(n, -1)  # the animal each one walks towards (-1: none)
        self.meet_left = np.zeros(n, np.int64)  # frames the encounter may still last
        self.meet_rest = np.zeros(n, np.int64)  # frames before an animal looks for another one

    def _spread(self, n):
        """Initial positions without overlaps (rejection sampling, then anything)."""
        pos = np.zeros((n, 2))
        for i in range(n):
            for _ in range(200):
                p = self.rng.uniform([self.margin[i], self.margin[i]],
                                     [self.width - self.margin[i], self.height - self.margin[i]])
                if i == 0 or np.min(np.hypot(*(pos[:i] - p).T)) > 1.1 * max(self.length):
                    break
            pos[i] = p
        return pos

    STATE = ("pos", "heading", "turn", "cruise", "speed", "pause_left", "gait")

    def step(self, held=None):
        """Advance one frame; animals in the boolean mask `held` keep their pose and restart from standstill."""
        kept = {k: getattr(self, k)[held].copy() for k in self.STATE} if held is not None and held.any() else {}
        self._move()
        for key, value in kept.items():
            getattr(self, key)[held] = value
        if kept:
            self.speed[held] = 0.0

    def _move(self):
        rng, n = self.rng, self.n
        # smooth turning: an Ornstein-Uhlenbeck turn rate, with the odd sharp turn
        self.turn = 0.85 * self.turn + rng.normal(0.0, 0.05, n)
        sharp = rng.random(n) < 0.01
        self.turn[sharp] += rng.normal(0.0, 0.35, sharp.sum())
        # runs and stops
        running = self.pause_left == 0
        start_pause = running & (rng.random(n) < 0.008)
        self.pause_left[start_pause] = rng.integers(8, 60, start_pause.sum())
        self.pause_left[~running] -= 1
        new_cruise = rng.random(n) < 0.01
        self.cruise[new_cruise] = rng.uniform(1.5, 4.5, new_cruise.sum())
        target = np.where(self.pause_left > 0, 0.0, self.cruise)
        self.speed += 0.25 * (target - self.speed)
        self.heading += self.turn * np.clip(self.speed / 2.0, 0.2, 1.0)
        if self.meet_rng is not None:
            self._steer()
        step = self.speed[:, None] * np.c_[np.cos(self.heading), np.sin(self.heading)]
        self.pos += step
        self.gait += 0.45 * self.speed
        self._reflect()

    def _steer(self):
        """Encounters: a free animal and its nearest free neighbour walk at each other, at a run, aiming
        just beside the other, until they are close; they pass touching, then wander on."""
        rng, n = self.meet_rng, self.n
        self.meet_rest = np.maximum(self.meet_rest - 1, 0)
        meeting = self.partner >= 0
        if meeting.any():
            m = np.flatnonzero(meeting)
            p = self.partner[m]
            to = self.pos[p] - self.pos[m]
            dist = np.maximum(np.hypot(to[:, 0], to[:, 1]), 1e-9)
            # aim beside the partner, both keeping it on the same hand: they brush past each other
            beside = ENCOUNTER_OFFSET * 0.5 * (self.length[m] + self.length[p]) / dist
            to = to + beside[:, None] * np.c_[-to[:, 1], to[:, 0]]
            want = np.arctan2(to[:, 1], to[:, 0])
            diff = (want - self.heading[m] + np.pi) % (2 * np.pi) - np.pi
            self.heading[m] += np.clip(diff, -ENCOUNTER_STEER, ENCOUNTER_STEER)
            self.speed[m] = np.maximum(self.speed[m], self.cruise[m])
            self.pause_left[m] = 0
            self.meet_left[m] -= 1
            done = m[(dist < ENCOUNTER_PASS * self.length[m]) | (self.meet_left[m] <= 0)]  # then they pass straight on
            self.partner[done] = -1
            self.meet_rest[done] = rng.integers(*ENCOUNTER_REST, len(done))
        free = np.flatnonzero((self.partner < 0) & (self.meet_rest == 0))
        starts = rng.random(n) < self.meet_rate
        for i in free[starts[free]].tolist():
            others = free[(self.partner[free] < 0) & (free != i)]
            if self.partner[i] >= 0 or not len(others):
                continue
            d = np.hypot(*(self.pos[others] - self.pos[i]).T)
            j = int(others[np.argmin(d)])
            self.partner[i], self.partner[j] = j, i
            self.meet_left[i] = self.meet_left[j] = ENCOUNTER_TIMEOUT

    def _reflect(self):
        """Bounce off the frame edges: mirror the position and the heading."""
        lo = self.margin
        for axis, size in ((0, self.width), (1, self.height)):
            hi = size - self.margin
            below, above = self.pos[:, axis] < lo, self.pos[:, axis] > hi
            self.pos[below, axis] = 2 * lo[below] - self.pos[below, axis]
            self.pos[above, axis] = 2 * hi[above] - self.pos[above, axis]
            flip = below | above
            if axis == 0:
                self.heading[flip] = np.pi - self.heading[flip]
            else:
                self.heading[flip] = -self.heading[flip]
            self.turn[flip] *= -1
        self.heading = np.mod(self.heading + np.pi, 2 * np.pi) - np.pi


# ---------------------------------------------------------------------------------------- rendering

def _fixed(v) -> int:
    return int(round(v * (1 << SHIFT)))


def _to_hi(x, y, x0, y0):
    """Frame pixel -> fixed-point pixel of a supersampled patch whose top-left frame pixel is (x0, y0)."""
    return (_fixed((x - x0) * SS + (SS - 1) / 2), _fixed((y - y0) * SS + (SS - 1) / 2))


def _coverage(raster, size) -> np.ndarray:
    """A supersampled 0/255 raster averaged down to size x size frame pixels, float32 0..1."""
    return cv2.resize(raster, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _render_animal(cx, cy, heading, length, gait):
    """Coverage of one animal on its own patch.

    Returns (x0, y0, body, alpha, parts): the patch's top-left pixel, the body-only coverage (float32
    0..1), the full opacity (body plus faint limbs) and the part centres {name: (x, y)}.
    """
    c, s = np.cos(heading), np.sin(heading)
    half = int(np.ceil(0.75 * length)) + 2
    x0, y0 = int(np.floor(cx)) - half, int(np.floor(cy)) - half
    size = 2 * half + 1
    hi = size * SS

    def to_hi(x, y):
        return _to_hi(x, y, x0, y0)

    body = np.zeros((hi, hi), np.uint8)
    parts = {}
    degrees = float(np.degrees(heading))
    for name, (u, a, b) in PARTS.items():
        px, py = cx + u * length * c, cy + u * length * s
        parts[name] = (px, py)
        axes = (_fixed(a * length * SS), _fixed(b * length * SS))
        cv2.ellipse(body, to_hi(px, py), axes, degrees, 0, 360, 255, -1, cv2.LINE_8, SHIFT)

    limbs = np.zeros_like(body)
    thick = SS  # about one frame pixel
    tx, ty = parts["thorax"]
    for k in range(3):  # front, middle, hind leg pairs
        for side in (1, -1):
            swing = np.radians(18) * np.sin(gait + k * 2.1 + (0 if side > 0 else np.pi))
            hip_u = (0.09 - 0.07 * k) * length
            hip = (tx + hip_u * c, ty + hip_u * s)
            femur = heading + side * (np.pi / 2 - np.radians((50, 0, -50)[k]) - swing)
            knee = (hip[0] + 0.26 * length * np.cos(femur), hip[1] + 0.26 * length * np.sin(femur))
            tibia = femur - side * np.radians((40, 10, -30)[k])
            foot = (knee[0] + 0.24 * length * np.cos(tibia), knee[1] + 0.24 * length * np.sin(tibia))
            leg = np.array([to_hi(*hip), to_hi(*knee), to_hi(*foot)], np.int32)
            cv2.polylines(limbs, [leg], False, 255, thick, cv2.LINE_8, SHIFT)
    hx, hy = parts["head"]
    for side in (1, -1):
        d = heading + side * 0.5
        joint = (hx + 0.22 * length * np.cos(d), hy + 0.22 * length * np.sin(d))
        d2 = heading + side * 0.15
        tip = (joint[0] + 0.18 * length * np.cos(d2), joint[1] + 0.18 * length * np.sin(d2))
        cv2.polylines(limbs, [np.array([to_hi(hx, hy), to_hi(*joint), to_hi(*tip)], np.int32)], False, 255,
                      thick, cv2.LINE_8, SHIFT)

    body_cov = _coverage(body, size)
    alpha = np.maximum(body_cov, LIMB_ALPHA * _coverage(limbs, size))
    return x0, y0, body_cov, alpha, parts


def _render_mark(x0, y0, body, parts, heading, length, kind):
    """Coverage (float32 0..1, on _render_animal's patch, inside the body) of a mark of kind MARKS[...]."""
    if kind == "none":
        return None
    size = body.shape[0]
    raster = np.zeros((size * SS, size * SS), np.uint8)
    c, s = np.cos(heading), np.sin(heading)
    _, a, b = PARTS["abdomen" if kind != "head_spot" else "head"]
    px, py = parts["abdomen" if kind != "head_spot" else "head"]
    if kind == "abdomen_stripe":  # a band across the abdomen, half-way to its tip
        px, py = px - 0.45 * a * length * c, py - 0.45 * a * length * s
        axes = (0.22 * a, 1.2 * b)
    else:
        axes = (0.5 * a, 0.55 * b)
    cv2.ellipse(raster, _to_hi(px, py, x0, y0), (_fixed(axes[0] * length * SS), _fixed(axes[1] * length * SS)),
                float(np.degrees(heading)), 0, 360, 255, -1, cv2.LINE_8, SHIFT)
    return np.minimum(_coverage(raster, size), body)


def _distinct_looks(n, polarity):
    """Body lengths (px), brightness factors and mark kinds of n individually different animals.

    Lengths and brightness follow low-discrepancy sequences (golden ratio, sqrt 2) over their ranges, so
    any two animals differ; animals with the same mark (every 4th) differ in brightness by about half
    the range and in length by about a third of it."""
    k = np.arange(n)
    lo, hi = DISTINCT_LENGTH
    lengths = lo + (hi - lo) * np.mod(k * (np.sqrt(2) - 1) + 0.5, 1.0)
    ranges = MIXED_DISTINCT_BRIGHTNESS if polarity == "mixed" else DISTINCT_BRIGHTNESS
    b_lo, b_hi = np.array([ranges[side] for side in _sides(n, polarity)]).reshape(-1, 2).T
    brightness = b_lo + (b_hi - b_lo) * np.mod(k * (np.sqrt(5) - 1) / 2 + 0.1, 1.0)
    return lengths, brightness, [MARKS[i % len(MARKS)] for i in k]


def _sides(n, polarity):
    """The polarity of each of n animals: the clip's, or with polarity="mixed" dark (even ids) and light
    (odd ids) in turn."""
    return [SIDES[i % 2] for i in range(n)] if polarity == "mixed" else [polarity] * n


def _render_specks(rng, n, width, height):
    """n small discs anywhere on the floor: a list of (x0, y0, opacity patch) like _render_animal's."""
    centres = rng.uniform([0.0, 0.0], [width - 1.0, height - 1.0], (n, 2))
    radii = rng.uniform(*SPECK_RADIUS, n)
    opacities = rng.uniform(*SPECK_OPACITY, n)
    specks = []
    for (cx, cy), radius, opacity in zip(centres, radii, opacities):
        half = int(np.ceil(radius)) + 1
        x0, y0 = int(np.floor(cx)) - half, int(np.floor(cy)) - half
        size = 2 * half + 1
        disc = np.zeros((size * SS, size * SS), np.uint8)
        cv2.circle(disc, _to_hi(cx, cy, x0, y0), _fixed(radius * SS), 255, -1, cv2.LINE_8, SHIFT)
        specks.append((x0, y0, np.float32(opacity) * _coverage(disc, size)))
    return specks


def _illumination(rng, width, height, strength) -> np.ndarray:
    """Gain field HxWx1 float32: a linear gradient in a random direction, 1 at the brightest corner and
    1 - LIGHT_FALLOFF * strength at the darkest (the opposite one)."""
    angle = rng.uniform(-np.pi, np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    along = xx * np.cos(angle) + yy * np.sin(angle)
    darkness = (along - along.min()) / np.ptp(along)
    return (1.0 - LIGHT_FALLOFF * strength * darkness).astype(np.float32)[:, :, None]


def _ellipse_box(px, py, a, b, heading):
    """Exact axis-aligned box (x0, y0, x1, y1) of a rotated ellipse."""
    c, s = np.cos(heading), np.sin(heading)
    hw, hh = np.hypot(a * c, b * s), np.hypot(a * s, b * c)
    return px - hw, py - hh, px + hw, py + hh


def _blend(frame, x0, y0, alpha, colour):
    """frame[patch] = frame * (1 - alpha) + colour * alpha, clipped to the frame."""
    h, w = frame.shape[:2]
    size = alpha.shape[0]
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    a = alpha[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
    region = frame[fy0:fy1, fx0:fx1]
    region *= 1.0 - a
    region += a * colour


def _check_hard_cases(n_animals, still, resting, rest_fraction, specks, flicker, uneven_light):
    for name, count in (("still", still), ("resting", resting), ("specks", specks)):
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise OmniTraxError(f"{name} must be a whole number >= 0, got {count!r}.")
    if still + resting > n_animals:
        raise OmniTraxError(f"still + resting = {still} + {resting} exceeds n_animals = {n_animals}: they count "
                            f"animals among the n_animals.")
    if not 0 < rest_fraction < 1:
        raise OmniTraxError(f"rest_fraction must be between 0 and 1 (exclusive), got {rest_fraction}.")
    for name, value in (("flicker", flicker), ("uneven_light", uneven_light)):
        if not 0 <= value <= 1:
            raise OmniTraxError(f"{name} must be between 0 and 1, got {value}.")


def render_frames(n_frames: int = 250, seed: int = 0, n_animals: int = 20, polarity: str = "dark_on_light",
                  width: int = 640, height: int = 480, fps: float = 25.0, noise: float = 3.0,
                  blur: float = 0.6, still: int = 0, resting: int = 0, rest_fraction: float = 0.8,
                  specks: int = 0, flicker: float = 0.0, uneven_light: float = 0.0, looks: str = "alike",
                  encounters: float = 0.0):
    """Yield (frame, rows) for each of n_frames frames of a synthetic ant clip.

    frame: HxWx3 uint8 BGR. rows: dict of equal-length numpy arrays keyed by KEYS, one entry per animal
    (all animals are visible in every frame). noise: std of the per-frame Gaussian pixel noise in grey
    levels; blur: sigma of the Gaussian blur in pixels (0 = none). Motion is defined per frame; fps is
    only checked here and used by render_clip as the file's frame rate.

    Hard cases, all off by default (the defaults give the same clip, byte for byte, as before they existed):
    still: animals 0..still-1 never move (nor turn, nor move their legs).
    resting: the next `resting` animals walk for the first (1 - rest_fraction) / 2 of the clip, hold still
        for rest_fraction of it (round(rest_fraction * n_frames) identical frames), then walk on.
    specks: small static discs (radius 1-3 px) in the animals' colour on the floor, not in the rows;
        flicker: the fraction of them (rounded) whose opacity changes every frame, like reflections.
    uneven_light: 0..1, a linear illumination gradient in a random direction over the whole image (floor
        and animals); at 1 the darkest corner gets 40% of the light of the brightest. Rows are unchanged.

    For re-identification (both off by default, leaving the clip as it was):
    looks: "alike" (the default: lengths 26-38 px and a brightness factor drawn at random) or "distinct":
        individually different animals, each with its own body length (DISTINCT_LENGTH), brightness
        (DISTINCT_BRIGHTNESS) and mark (MARKS: none, a spot on the abdomen, a stripe across it, a spot on
        the head), see _distinct_looks. Motion is the same as with "alike" for a seed, but for the sizes.
        "identical": every animal alike (IDENTICAL_LENGTH, the base colour): only motion tells them apart.
    encounters: 0..1, per animal and frame the chance that a free animal and its nearest free neighbour
        walk straight at each other and over each other (bodies overlapping), then wander on: crossings
        and touches, often. 0: animals meet by chance only.

    polarity: "dark_on_light" (dark brown animals on a sandy floor, the default), "light_on_dark", or
        "mixed": a mid-grey floor (MIXED_FLOOR) with animals of both shades, dark (even ids) and light
        (odd ids), each with its side's colours, brightness ranges and marks (specks alternate too); the
        light ones differ more from the floor than the dark ones, as white and black mice on grey do.
    """
    if looks not in LOOKS:
        raise OmniTraxError(f"Unknown looks {looks!r}: use one of {', '.join(LOOKS)}.")
    if not 0 <= encounters <= 1:
        raise OmniTraxError(f"encounters must be between 0 and 1, got {encounters}.")
    if polarity not in POLARITIES:
        raise OmniTraxError(f"Unknown polarity {polarity!r}: use one of {', '.join(POLARITIES)}.")
    if n_frames < 0 or n_animals < 0 or width < 64 or height < 64:
        raise OmniTraxError("render_frames needs n_frames >= 0, n_animals >= 0 and a frame of at least 64x64.")
    if not fps > 0:
        raise OmniTraxError(f"fps must be positive, got {fps}.")
    _check_hard_cases(n_animals, still, resting, rest_fraction, specks, flicker, uneven_light)
    # spawn() keys children by index: the first four streams are those of the clips made before the hard cases
    streams = np.random.SeedSequence(seed).spawn(8)
    rng_floor, rng_colony, rng_look, rng_noise, rng_specks, rng_flicker, rng_light, rng_meet = (
        np.random.default_rng(s) for s in streams)
    floor = _background(rng_floor, width, height, polarity)
    lengths, factors, marks = _distinct_looks(n_animals, polarity) if looks == "distinct" else (None, None, None)
    if looks == "identical":
        lengths, factors = np.full(n_animals, IDENTICAL_LENGTH), np.ones(n_animals)
    colony = _Colony(rng_colony, n_animals, width, height, lengths=lengths,
                     meet_rng=rng_meet if encounters > 0 else None, meet_rate=encounters)
    sides = _sides(n_animals, polarity)
    if polarity == "mixed":  # the same draws as one polarity's, each spread over its own side's range
        drawn = rng_look.uniform(0.0, 1.0, (n_animals, 1))
        lo, hi = np.array([ANIMAL_LOOK[side][1] for side in sides]).reshape(-1, 2).T
        drawn = lo[:, None] + (hi - lo)[:, None] * drawn
    else:
        drawn = rng_look.uniform(*ANIMAL_LOOK[polarity][1], (n_animals, 1))
    base = np.array([ANIMAL_LOOK[side][0] for side in sides], np.float64).reshape(-1, 3)
    colours = (base * (drawn if factors is None else factors[:, None])).astype(np.float32)
    mark_colours = np.array([MARK_COLOUR[side] for side in sides], np.float32).reshape(-1, 3)
    ids = np.arange(n_animals)

    all_specks = _render_specks(rng_specks, specks, width, height)
    # specks take the animals' colour (with polarity="mixed" dark and light in turn)
    speck_colours = [np.array(ANIMAL_LOOK[side][0], np.float32) for side in _sides(len(all_specks), polarity)]
    n_flickering = int(round(flicker * specks))
    flickering, static_specks = all_specks[:n_flickering], all_specks[n_flickering:]
    for (x0, y0, opacity), colour in zip(static_specks, speck_colours[n_flickering:]):
        _blend(floor, x0, y0, opacity, colour)
    gain = _illumination(rng_light, width, height, uneven_light) if uneven_light > 0 else None
    is_still = ids < still
    is_resting = (ids >= still) & (ids < still + resting)
    rest_frames = int(round(rest_fraction * n_frames)) if resting else 0
    rest_start = (n_frames - rest_frames) // 2  # frames rest_start .. rest_start + rest_frames - 1 are alike

    for f in range(n_frames):
        frame = floor.copy()
        if flickering:
            for (x0, y0, opacity), factor, colour in zip(flickering, rng_flicker.uniform(*FLICKER_RANGE, n_flickering),
                                                         speck_colours):
                _blend(frame, x0, y0, np.float32(factor) * opacity, colour)
        cols = {k: np.zeros(n_animals) for k in KEYS}
        cols["id"] = ids.copy()
        for i in range(n_animals):
            (cx, cy), heading, length = colony.pos[i], colony.heading[i], colony.length[i]
            x0, y0, body, alpha, parts = _render_animal(cx, cy, heading, length, colony.gait[i])
            _blend(frame, x0, y0, alpha, colours[i])
            mark = None if marks is None else _render_mark(x0, y0, body, parts, heading, length, marks[i])
            if mark is not None:
                _blend(frame, x0, y0, np.float32(MARK_OPACITY) * mark, mark_colours[i])
            total = float(body.sum())
            yy, xx = np.indices(body.shape)
            cols["x"][i] = x0 + float((body * xx).sum()) / total
            cols["y"][i] = y0 + float((body * yy).sum()) / total
            boxes = np.array([_ellipse_box(*parts[name], a * length, b * length, heading)
                              for name, (_, a, b) in PARTS.items()])
            left, top = boxes[:, 0].min(), boxes[:, 1].min()
            cols["left"][i], cols["top"][i] = left, top
            cols["width"][i], cols["height"][i] = boxes[:, 2].max() - left, boxes[:, 3].max() - top
            for name in ("head", "thorax", "abdomen"):
                cols[f"{name}_x"][i], cols[f"{name}_y"][i] = parts[name]
            cols["angle"][i], cols["length"][i] = heading, length
        if gain is not None:
            frame *= gain
        if blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), blur)
        if noise > 0:
            frame += rng_noise.normal(0.0, noise, frame.shape[:2]).astype(np.float32)[:, :, None]
        yield np.clip(frame + 0.5, 0, 255).astype(np.uint8), cols
        # the step after frame f makes frame f + 1: resting animals hold it until their last rest frame
        colony.step(is_still | (is_resting & (rest_start <= f < rest_start + rest_frames - 1)))


# ------------------------------------------------------------------------------------- ground truth

class GroundTruth:
    """Per-frame ground truth of a clip as columns (numpy arrays) named by CSV_COLUMNS."""

    def __init__(self, columns: dict):
        n = len(columns["frame"])
        for key in CSV_COLUMNS:
            value = np.asarray(columns[key], np.int64 if key in ("frame", "id") else np.float64)
            if value.shape != (n,):
                raise ValueError(f"ground-truth column {key} has shape {value.shape}, expected ({n},)")
            setattr(self, key, value)

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def from_rows(cls, rows_per_frame) -> "GroundTruth":
        """From the rows render_frames yields, one dict per frame, in frame order (frame 0 first)."""
        rows_per_frame = list(rows_per_frame)
        columns = {"frame": np.concatenate([np.full(len(r["id"]), f, np.int64)
                                            for f, r in enumerate(rows_per_frame)] or [np.zeros(0, np.int64)])}
        for key in KEYS:
            columns[key] = np.concatenate([np.asarray(r[key], np.float64) for r in rows_per_frame]
                                          or [np.zeros(0)])
        return cls(columns)

    def columns(self) -> dict:
        return {key: getattr(self, key) for key in CSV_COLUMNS}

    def to_csv(self, path) -> Path:
        """Write a CSV with header CSV_COLUMNS; frame and id as integers, the rest with 3 decimals."""
        path = Path(path)
        table = np.column_stack([getattr(self, k) for k in CSV_COLUMNS]) if len(self) else np.zeros((0, 16))
        fmt = ["%d", "%d"] + ["%.3f"] * (len(CSV_COLUMNS) - 2)
        np.savetxt(path, table, fmt=fmt, delimiter=",", header=",".join(CSV_COLUMNS), comments="")
        return path

    @classmethod
    def from_csv(cls, path) -> "GroundTruth":
        path = Path(path)
        if not path.is_file():
            raise OmniTraxError(f"Ground-truth file {path} not found: check the path.")
        with path.open() as f:
            header = f.readline().strip().split(",")
        if header != list(CSV_COLUMNS):
            raise OmniTraxError(f"{path} is not an OmniTrax ground-truth CSV: its header must be "
                                f"{','.join(CSV_COLUMNS)}.")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2).reshape(-1, len(CSV_COLUMNS))
        return cls({key: table[:, i] for i, key in enumerate(CSV_COLUMNS)})

    def at_frame(self, frame: int) -> dict:
        """Rows (dict of arrays keyed by KEYS) of one 0-based frame."""
        keep = self.frame == frame
        return {key: getattr(self, key)[keep] for key in KEYS}

    def to_tracks(self):
        """The ground truth as omnitrax.tracking.tracks.Tracks (track = id)."""
        from .tracking.tracks import Tracks

        n = len(self)
        return Tracks(track=self.id.copy(), frame=self.frame.copy(), x=self.x.copy(), y=self.y.copy(),
                      width=self.width.copy(), height=self.height.copy(), confidence=np.ones(n),
                      cls=np.zeros(n, np.int64), predicted=np.zeros(n, bool))


def count_crossings(truth: GroundTruth, within: float = 0.5) -> int:
    """How often two animals come closer than `within` times their mean body length (centre to centre):
    the times a pair enters that distance, over the whole clip (touches and walk-overs)."""
    frames = np.unique(truth.frame)
    close_before = set()
    count = 0
    for f in frames.tolist():
        here = truth.frame == f
        ids, x, y, length = truth.id[here], truth.x[here], truth.y[here], truth.length[here]
        d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        limit = within * 0.5 * (length[:, None] + length[None, :])
        i, j = np.nonzero(np.triu(d < limit, 1))
        close = {(int(ids[a]), int(ids[b])) for a, b in zip(i, j)}
        count += len(close - close_before)
        close_before = close
    return count


def render_clip(path, n_frames: int = 250, seed: int = 0, fourcc: str = "MJPG", **kwargs) -> GroundTruth:
    """Write render_frames(n_frames, seed, **kwargs) as a video file and return its ground truth.

    fourcc: "MJPG" (.avi, about 25 kB per 640x480 frame) by default, "XVID" (.avi) or "mp4v" (.mp4)
    for MPEG-4 part 2 (about 11 kB per frame); all load in OpenCV and Blender.
    """
    path = Path(path)
    width, height = kwargs.get("width", 640), kwargs.get("height", 480)
    fps = kwargs.get("fps", 25.0)
    if len(fourcc) != 4:
        raise OmniTraxError(f"fourcc must be four characters like 'MJPG' or 'mp4v', got {fourcc!r}.")
    if not path.parent.is_dir():
        raise OmniTraxError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (int(width), int(height)))
    if not writer.isOpened():
        raise OmniTraxError(f"OpenCV cannot write {path} with codec {fourcc}: use .avi with MJPG or .mp4 with mp4v.")
    rows = []
    try:
        for frame, r in render_frames(n_frames=n_frames, seed=seed, **kwargs):
            writer.write(frame)
            rows.append(r)
    finally:
        writer.release()
    return GroundTruth.from_rows(rows)


# ------------------------------------------------------------------- boxes and detector errors
#
# Box-level ground truth (no images) and the errors a real detector makes on it, for benchmarking
# trackers on "detector output" rather than on clean detections: misses in runs, false positives
# (clutter and duplicates), box jitter that grows with the box, and scores that overlap between true
# and false detections. Sizes and speeds are relative to the box size, so the same scene can be made at
# any scale (10 px ants in 4K to 200 px rodents or people) and a tracker's fixed pixel constants show.

BOX_ASPECT = (0.4, 1.0)  # short side / long side of a box
BOX_COVERAGE = 0.06  # default frame size: the boxes cover about this fraction of the frame
BOX_MIN_FRAME = 5.0  # ... and the frame is at least this many (largest) box sizes wide and high
SIZE_WOBBLE = 0.05  # slow relative change of a box's size over the clip (turning, moving in depth)
SPEED_CHANGE = 0.25  # slow relative change of an animal's speed around its own cruising speed
TURN_DECAY, TURN_NOISE = 0.8, 0.03  # heading: turn rate AR(1), rad/frame (stationary std ~0.05 rad/frame)
STEER = 0.25  # rad/frame an animal turns at most while walking to a meeting point
MEET_RATE = 1.0 / 40.0  # per free animal and frame: chance to start walking towards another one
MEET_FRAMES = (15, 60)  # frames an encounter takes until the two animals pass each other
MEET_REST = (10, 40)  # frames after an encounter before the animal looks for another one
MEET_OFFSET = 0.35  # lateral offset of each animal at the meeting point, in (mean) short sides
DUPLICATE_OFFSET = 0.35  # std of a duplicate-like false positive's offset from its animal, in box sizes
FP_SIZE_SPREAD = 0.2  # std of log size of a false positive relative to the box it copies


def _pair(value, name, lo=0.0, strict=True):
    """(min, max) floats from a pair, checked: lo < / <= min <= max, finite."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise OmniTraxError(f"{name} must be a (min, max) pair of numbers, got {value!r}.") from None
    ok_lo = a > lo if strict else a >= lo
    if not (np.isfinite(a) and np.isfinite(b) and ok_lo and a <= b):
        raise OmniTraxError(f"{name} must be a (min, max) pair with {lo} {'<' if strict else '<='} min <= max, "
                            f"got {value!r}.")
    return a, b


def _count(value, name, lo=1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise OmniTraxError(f"{name} must be a whole number >= {lo}, got {value!r}.")
    return int(value)


def _number(value, name, lo, hi, lo_open=False, hi_open=True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OmniTraxError(f"{name} must be a number, got {value!r}.") from None
    ok = np.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise OmniTraxError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}, "
                            f"got {value!r}.")
    return v


def _default_frame(n_animals, size):
    """(width, height) of a 4:3 frame where n boxes of this size range cover BOX_COVERAGE of it."""
    lo, hi = size
    mean_area = (lo * lo + lo * hi + hi * hi) / 3.0 * np.mean(BOX_ASPECT)  # E[L^2] E[aspect]
    area = n_animals * mean_area / BOX_COVERAGE
    w, h = np.sqrt(area * 4.0 / 3.0), np.sqrt(area * 3.0 / 4.0)
    return int(np.ceil(max(w, BOX_MIN_FRAME * hi))), int(np.ceil(max(h, BOX_MIN_FRAME * hi)))


def moving_boxes(n_animals: int, n_frames: int, size=(10, 20), width=None, height=None, seed: int = 0,
                 crossings: bool = True, speed=(0.02, 0.15)):
    """Ground-truth boxes of animals walking about, as omnitrax.tracking.tracks.Tracks.

    track = animal id (0..n-1), frame 0..n_frames-1, x, y = box centre (px, origin top-left),
    width, height = box size (px); confidence 1, predicted False. Every box lies inside the frame.

    size:   (min, max) of a box's long side in px; the short side is 0.4-1.0 of it, and a box is tall
            (pedestrian-like) or wide at random. Sizes change slowly by about +-5 % over the clip.
    width, height: the frame in px; None: a 4:3 frame where the boxes cover about 6 % of the image
            (and at least five largest boxes wide and high), so density does not depend on the scale.
    speed:  (min, max) cruising speed of an animal in its own box long sides per frame; it varies slowly
            by +-25 % around that. Headings turn smoothly (a correlated random turn rate); animals bounce
            off the frame's edges.
    crossings: animals meet often: every so often a free animal and its nearest free neighbour walk
            towards each other (head-on, offset sideways by less than a box width) and pass through each
            other at the same frame, so their boxes overlap; then they wander on. False: wander only
            (animals still cross by chance).
    Deterministic for a seed (numpy default_rng).
    """
    n = _count(n_animals, "n_animals")
    n_frames = _count(n_frames, "n_frames")
    lo, hi = _pair(size, "size")
    s_lo, s_hi = _pair(speed, "speed", strict=False)
    dw, dh = _default_frame(n, (lo, hi))
    W = dw if width is None else _number(width, "width", 0, np.inf, lo_open=True)
    H = dh if height is None else _number(height, "height", 0, np.inf, lo_open=True)
    if min(W, H) < 2 * hi:
        raise OmniTraxError(f"A {W:g} x {H:g} px frame is too small for boxes up to {hi:g} px: make it at least "
                            f"{2 * hi:g} px wide and high, or leave width and height out.")
    rng = np.random.default_rng(seed)
    long_side = rng.uniform(lo, hi, n)
    short = long_side * rng.uniform(*BOX_ASPECT, n)
    tall = rng.random(n) < 0.5
    bw, bh = np.where(tall, short, long_side), np.where(tall, long_side, short)
    wobble_period, wobble_phase = rng.uniform(60, 240, n), rng.uniform(0, 2 * np.pi, n)
    cruise = rng.uniform(s_lo, s_hi, n) * long_side  # px/frame
    pace_period, pace_phase = rng.uniform(40, 160, n), rng.uniform(0, 2 * np.pi, n)
    pos = np.column_stack([rng.uniform(bw / 2, W - bw / 2), rng.uniform(bh / 2, H - bh / 2)])
    heading = rng.uniform(-np.pi, np.pi, n)
    turn = np.zeros(n)
    target = np.full((n, 2), np.nan)  # meeting point of animals in an encounter
    arrive = np.full(n, -1)  # frame of arrival there (-1: not in an encounter)
    rest = rng.integers(0, MEET_REST[1], n)  # frames until the animal may start an encounter

    xs, ys, ws, hs = (np.empty((n_frames, n)) for _ in range(4))
    for t in range(n_frames):
        scale = 1.0 + SIZE_WOBBLE * np.sin(2 * np.pi * t / wobble_period + wobble_phase)
        w, h = bw * scale, bh * scale
        # keep boxes inside the frame (bounce), also when a box grows at an edge
        for axis, extent, half in ((0, W, w / 2), (1, H, h / 2)):
            p = pos[:, axis]
            low, high = p < half, p > extent - half
            p[low] = 2 * half[low] - p[low]
            p[high] = 2 * (extent - half[high]) - p[high]
            np.clip(p, half, extent - half, out=p)
            if axis == 0:
                heading[low | high] = np.pi - heading[low | high]
            else:
                heading[low | high] = -heading[low | high]
        xs[t], ys[t], ws[t], hs[t] = pos[:, 0], pos[:, 1], w, h
        # --- next step
        v = cruise * (1.0 + SPEED_CHANGE * np.sin(2 * np.pi * t / pace_period + pace_phase))
        v = np.clip(v, s_lo * long_side, s_hi * long_side)
        turn = TURN_DECAY * turn + rng.normal(0.0, TURN_NOISE, n)
        meeting = arrive > t
        wander = ~meeting
        heading[wander] += turn[wander]
        if meeting.any():
            m = np.flatnonzero(meeting)
            to = target[m] - pos[m]
            want = np.arctan2(to[:, 1], to[:, 0])
            diff = (want - heading[m] + np.pi) % (2 * np.pi) - np.pi
            heading[m] += np.clip(diff, -STEER, STEER)
            v[m] = np.clip(np.hypot(to[:, 0], to[:, 1]) / (arrive[m] - t), 0.5 * s_lo * long_side[m],
                           1.5 * s_hi * long_side[m])
            turn[m] = 0.0
        pos += v[:, None] * np.column_stack([np.cos(heading), np.sin(heading)])
        ended = arrive == t + 1  # they meet in the next frame: then walk on through each other
        arrive[ended] = -1
        rest[ended] = rng.integers(*MEET_REST, ended.sum())
        rest = np.maximum(rest - 1, 0)
        if crossings:
            free = np.flatnonzero((arrive < 0) & (rest == 0))
            for i in rng.permutation(free).tolist():
                if arrive[i] >= 0 or rng.random() >= MEET_RATE:
                    continue
                others = free[(arrive[free] < 0) & (free != i)]
                if not len(others):
                    break
                pace = 0.5 * (v[i] + v[others])
                d = np.hypot(*(pos[others] - pos[i]).T)
                frames_to_meet = d / 2 / np.maximum(pace, 1e-9)
                ok = (frames_to_meet >= MEET_FRAMES[0]) & (frames_to_meet <= MEET_FRAMES[1])
                if not ok.any():
                    continue
                k = np.flatnonzero(ok)[np.argmin(d[ok])]
                j = int(others[k])
                mid = 0.5 * (pos[i] + pos[j])
                normal = np.array([-(pos[j, 1] - pos[i, 1]), pos[j, 0] - pos[i, 0]]) / max(d[k], 1e-9)
                offset = rng.uniform(-MEET_OFFSET, MEET_OFFSET) * 0.5 * (short[i] + short[j])
                target[i], target[j] = mid + offset * normal, mid - offset * normal
                arrive[i] = arrive[j] = t + 1 + int(round(frames_to_meet[k]))

    from .tracking.tracks import Tracks

    count = n_frames * n
    return Tracks(track=np.tile(np.arange(n), n_frames), frame=np.repeat(np.arange(n_frames), n),
                  x=xs.ravel(), y=ys.ravel(), width=ws.ravel(), height=hs.ravel(), confidence=np.ones(count),
                  cls=np.zeros(count, np.int64), predicted=np.zeros(count, bool))


def detector_errors(truth, seed: int = 0, miss: float = 0.1, miss_run: float = 5.0, false_positives: float = 0.05,
                    jitter: float = 0.05, fp_run: float = 1.0, duplicates: float = 0.5,
                    true_scores=(0.5, 1.0), false_scores=(0.1, 0.7), with_sources: bool = False):
    """What a real detector would report for ground-truth boxes: {frame: Detections} for every frame.

    truth:  omnitrax.tracking.tracks.Tracks with box sizes (e.g. from moving_boxes()).
    miss:   fraction of true boxes not detected. Misses come in runs: per track a two-state Markov
            chain (detected / missed) whose missed runs last miss_run frames on average (geometric),
            started in its stationary state. Needs miss <= miss_run / (1 + miss_run).
    false_positives: mean number of false detections per frame per ground-truth animal in that frame
            (0.05 with 20 animals: one per frame). A fraction `duplicates` of them sit near a true box
            (offset by about a third of its size, of similar size: a second box on one animal, a box on
            a part); the others lie anywhere in the area the ground truth spans, with the size of a
            random animal's box. A false positive lasts fp_run frames on average (geometric; 1: each
            frame independent), staying at its place (or with its animal) with fresh jitter each frame.
    jitter: box noise relative to the box: centre x, y with std jitter x width, jitter x height, and
            width, height multiplied by (1 + N(0, jitter)) (at least 0.2 of the true size).
    true_scores, false_scores: (min, max) of the uniform scores of true and false detections; they
            overlap by default (0.5-1.0 and 0.1-0.7), so no score threshold removes the false ones
            without losing true ones.
    with_sources: also return {frame: int array}: the true track id of each detection, -1 for false ones.

    Detections of a frame are in random order. Deterministic for a seed (numpy default_rng); the
    misses, jitter, false positives and scores use separate random streams, so changing one error
    level leaves the others' draws as they were.
    """
    from .detection.detections import Detections
    from .tracking.tracks import Tracks

    if not isinstance(truth, Tracks) or not len(truth):
        raise OmniTraxError("detector_errors needs ground-truth Tracks with at least one box (e.g. from "
                            "moving_boxes()).")
    if not ((truth.width > 0) & (truth.height > 0)).all():
        raise OmniTraxError("detector_errors needs boxes: every ground-truth row must have a width and "
                            "height > 0.")
    miss = _number(miss, "miss", 0.0, 1.0)
    miss_run = _number(miss_run, "miss_run", 1.0, np.inf)
    if miss > miss_run / (1.0 + miss_run) + 1e-12:
        raise OmniTraxError(f"miss {miss:g} with runs of {miss_run:g} frames is impossible: with runs that "
                            f"long the miss rate can be at most {miss_run / (1 + miss_run):.3g}; lower miss or "
                            f"raise miss_run.")
    false_positives = _number(false_positives, "false_positives", 0.0, np.inf)
    jitter = _number(jitter, "jitter", 0.0, 1.0)
    fp_run = _number(fp_run, "fp_run", 1.0, np.inf)
    duplicates = _number(duplicates, "duplicates", 0.0, 1.0, hi_open=False)
    t_lo, t_hi = _pair(true_scores, "true_scores", strict=False)
    f_lo, f_hi = _pair(false_scores, "false_scores", strict=False)
    if max(t_hi, f_hi) > 1.0:
        raise OmniTraxError("Scores must lie in [0, 1]: give true_scores and false_scores within 0..1.")

    miss_rng, jitter_rng, fp_rng, score_rng, order_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    t = truth
    n = len(t)
    # --- misses: a Markov chain along each track's rows (rows are sorted by track, frame)
    to_detected = 1.0 / miss_run
    to_missed = miss * to_detected / (1.0 - miss) if miss > 0 else 0.0
    u = miss_rng.random(n)
    start = np.r_[True, t.track[1:] != t.track[:-1]]
    missed = np.zeros(n, bool)
    state = False
    for k in range(n):
        if start[k]:
            state = u[k] < miss
        else:
            state = u[k] >= to_detected if state else u[k] < to_missed
        missed[k] = state
    # --- jitter (drawn for every row, so the draws do not depend on the misses)
    noise = jitter_rng.normal(0.0, 1.0, (n, 4)) * jitter
    det_x = t.x + noise[:, 0] * t.width
    det_y = t.y + noise[:, 1] * t.height
    det_w = t.width * np.maximum(1.0 + noise[:, 2], 0.2)
    det_h = t.height * np.maximum(1.0 + noise[:, 3], 0.2)
    true_score = score_rng.uniform(t_lo, t_hi, n)

    frames = np.arange(int(t.frame.min()), int(t.frame.max()) + 1)
    order = np.argsort(t.frame, kind="stable")
    lo_idx = np.searchsorted(t.frame[order], frames, "left")
    hi_idx = np.searchsorted(t.frame[order], frames, "right")
    area = (float((t.x - t.width / 2).min()), float((t.y - t.height / 2).min()),
            float((t.x + t.width / 2).max()), float((t.y + t.height / 2).max()))
    # --- false positives: ghosts born at rate false_positives * animals / fp_run, living fp_run frames
    ghost_life = np.zeros(0, np.int64)
    ghost_track = np.zeros(0, np.int64)  # -1: clutter at a fixed place; else the animal it follows
    ghost_geom = np.zeros((0, 4))  # clutter: centre x, y, w, h px; duplicate: offset dx, dy, size fx, fy
    out, sources = {}, {}
    for f, a, b in zip(frames.tolist(), lo_idx.tolist(), hi_idx.tolist()):
        rows = order[a:b]
        rows_seen = rows[~missed[rows]]
        # births
        n_new = int(fp_rng.poisson(false_positives * len(rows) / fp_run)) if len(rows) else 0
        if n_new:
            life = fp_rng.geometric(1.0 / fp_run, n_new)
            dup = fp_rng.random(n_new) < duplicates
            host = rows[fp_rng.integers(0, len(rows), n_new)]
            size_f = np.exp(fp_rng.normal(0.0, FP_SIZE_SPREAD, (n_new, 2)))
            offset = fp_rng.normal(0.0, DUPLICATE_OFFSET, (n_new, 2))
            cx = fp_rng.uniform(area[0], area[2], n_new)
            cy = fp_rng.uniform(area[1], area[3], n_new)
            geom = np.where(dup[:, None], np.column_stack([offset, size_f]),
                            np.column_stack([cx, cy, t.width[host] * size_f[:, 0], t.height[host] * size_f[:, 1]]))
            ghost_life = np.r_[ghost_life, life]
            ghost_track = np.r_[ghost_track, np.where(dup, t.track[host], -1)]
            ghost_geom = np.vstack([ghost_geom, geom])
        # duplicates whose animal is not in this frame end
        present = np.isin(ghost_track, t.track[rows]) | (ghost_track < 0)
        ghost_life, ghost_track, ghost_geom = ghost_life[present], ghost_track[present], ghost_geom[present]
        k = len(ghost_life)
        boxes_fp = np.zeros((k, 4))
        if k:
            dup = ghost_track >= 0
            g = ghost_geom.copy()
            if dup.any():
                host = rows[np.searchsorted(t.track[rows], ghost_track[dup])]  # rows of a frame: sorted by track
                w0, h0 = t.width[host], t.height[host]
                g[dup] = np.column_stack([t.x[host] + g[dup, 0] * w0, t.y[host] + g[dup, 1] * h0,
                                          w0 * g[dup, 2], h0 * g[dup, 3]])
            shake = fp_rng.normal(0.0, 1.0, (k, 4)) * jitter
            cx, cy = g[:, 0] + shake[:, 0] * g[:, 2], g[:, 1] + shake[:, 1] * g[:, 3]
            fw, fh = g[:, 2] * np.maximum(1.0 + shake[:, 2], 0.2), g[:, 3] * np.maximum(1.0 + shake[:, 3], 0.2)
            boxes_fp = np.column_stack([cx - fw / 2, cy - fh / 2, fw, fh])
        scores_fp = fp_rng.uniform(f_lo, f_hi, k)
        ghost_life = ghost_life - 1
        alive = ghost_life > 0
        ghost_life, ghost_track, ghost_geom = ghost_life[alive], ghost_track[alive], ghost_geom[alive]

        boxes = np.vstack([np.column_stack([det_x[rows_seen] - det_w[rows_seen] / 2, det_y[rows_seen] -
                                            det_h[rows_seen] / 2, det_w[rows_seen], det_h[rows_seen]]), boxes_fp])
        scores = np.r_[true_score[rows_seen], scores_fp]
        source = np.r_[t.track[rows_seen], np.full(k, -1, np.int64)]
        perm = order_rng.permutation(len(boxes))
        out[f] = Detections.from_boxes(boxes[perm], scores[perm], np.zeros(len(boxes), np.int64))
        sources[f] = source[perm]
    return (out, sources) if with_sources else out
