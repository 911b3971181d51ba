"""Box-level ground truth (no images) and the errors a real detector makes on it, for benchmarking
trackers on "detector output" rather than on clean detections: misses in runs, false positives (clutter
and duplicates), box jitter that grows with the box, and scores that overlap between true and false
detections. Sizes and speeds are relative to the box size, so the same scene can be made at any scale
(10 px ants in 4K to 200 px rodents or people) and a tracker's fixed pixel constants show.

Pixels, origin top-left, 0-based frame index; deterministic for a seed (numpy default_rng).
"""
from __future__ import annotations

import numpy as np

from ..errors import OmniTraxError

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

    from ..tracking.tracks import Tracks

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
    from ..detection.detections import Detections
    from ..tracking.tracks import Tracks

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
