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

from ..errors import OmniTraxError
from ..io.ground_truth import KEYS, GroundTruth

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
