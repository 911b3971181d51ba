"""Give every fragment an identity and a confidence: appearance times motion, no animal twice at once.

Motion says a track likely keeps its animal through a touch (KEEP), less likely through a gap or a jump,
and if it swaps, then with an animal it touched there. Fragments alive at the same time never share an
identity (omnitrax.identity.pipeline learns the appearance; this module only decides). Fragments are
those of omnitrax.identity.fragments; identities are 0..N-1, -1 for none.
"""
from __future__ import annotations

import heapq

import numpy as np

from ..tracking.tracks import Tracks
from .fragments import CROSSING, GAP, JUMP, Fragments

# how likely a track keeps its animal where a fragment begins, by how it begins
KEEP = {CROSSING: 0.7, GAP: 0.5, JUMP: 0.5}
STRAY = 0.3  # at a crossing: the share of the doubt on animals that were not in it
MIN_CROPS = 3  # a fragment needs this many appearance crops to anchor others (and to teach the model)
ANCHOR = 0.9  # a fragment whose appearance names its identity this surely anchors the others' confidence
TOUCHES = 10  # touches between anchors needed to measure how often a track keeps its animal through one
BREAK_WINDOW = 10  # frames: after a gap or jump, tracks that break this near are the likely swap partners
SLACK = 2  # frames two fragments of one identity may share where one ends and the other begins
SQUEEZE = 0.5  # a fragment left without an identity takes one held for at most this share of its frames


def overlaps(fr: Fragments) -> list:
    """For each fragment, the fragments of other tracks alive at the same time: in more than SLACK of its
    frames, or in frames that are not where one of the two ends and the other begins (two tracks cut
    one or two frames apart in a touch of several animals)."""
    order = np.argsort(fr.first, kind="stable")
    firsts = fr.first[order]
    out = []
    for f in range(len(fr)):
        # candidates start no later than f ends; of those, the ones that end no earlier than f starts
        cand = order[:np.searchsorted(firsts, fr.last[f], side="right")]
        cand = cand[(fr.last[cand] >= fr.first[f]) & (fr.track[cand] != fr.track[f])]
        shared = np.minimum(fr.last[cand], fr.last[f]) - np.maximum(fr.first[cand], fr.first[f]) + 1
        handover = ((fr.last[cand] - fr.first[f] < SLACK) & (fr.first[cand] < fr.first[f])) | (
            (fr.last[f] - fr.first[cand] < SLACK) & (fr.first[f] < fr.first[cand]))
        out.append(cand[~(handover & (shared <= SLACK))])
    return out


def prior(f: int, identity: np.ndarray, fr: Fragments, prev, nxt, n: int) -> np.ndarray:
    """What motion says about fragment f's identity, from the identities of the fragments before and
    after it in its track (uniform when neither has one)."""
    prior = np.ones(n)
    for neighbour, kind in ((prev[f], fr.begins[f]), (nxt[f], fr.ends[f])):
        if neighbour < 0 or identity[neighbour] < 0 or kind not in KEEP:
            continue
        keep = KEEP[kind]
        side = np.full(n, (1.0 - keep) / max(n - 1, 1))
        if kind == CROSSING:
            # the doubt lies on the animals it touched there
            near = fr.partners[f] if neighbour == prev[f] else fr.partners[nxt[f]]
            ids = np.unique(identity[near][identity[near] >= 0])
            ids = ids[ids != identity[neighbour]]
            if len(ids):
                side[:] = (1.0 - keep) * STRAY / max(n - 1 - len(ids), 1)
                side[ids] = (1.0 - keep) * (1.0 - STRAY) / len(ids)
        side[identity[neighbour]] = keep
        prior *= side
    return prior / prior.sum()


def best_first(probabilities, fixed, fr: Fragments, overlaps, n: int, crops: np.ndarray) -> np.ndarray:
    """Identities of all fragments: the fixed ones keep theirs; the others are given, surest first, the
    identity of highest appearance x motion probability that no fragment alive at the same time holds.

    Surest: fragments that show their animal (crops) before those that do not (whose identity is only
    what motion says); then the largest margin (log ratio) of that identity over the next likeliest one
    of all, taken or not, so a fragment is never sure merely because the others left it one identity;
    ties: the earlier fragment (where appearance tells nothing, identities follow the tracks in time)."""
    identity = fixed.copy()
    prev, nxt = fr.previous(), fr.following()
    version = np.zeros(len(fr), np.int64)
    heap = []

    def push(f):
        if identity[f] >= 0:
            return
        post = probabilities[f] * prior(f, identity, fr, prev, nxt, n)
        free = post.copy()
        used = identity[overlaps[f]]
        free[used[used >= 0]] = -1.0
        version[f] += 1
        best = int(free.argmax())
        if free[best] <= 0:
            return  # no identity left for it
        rival = np.delete(post, best).max() if n > 1 else 0.0
        margin = np.log(max(post[best], 1e-300)) - np.log(max(rival, 1e-300))
        heapq.heappush(heap, (int(crops[f] == 0), -round(float(margin), 2), int(fr.first[f]), f, int(version[f]),
                              best))

    for f in range(len(fr)):
        push(f)
    while heap:
        _, _, _, f, v, best = heapq.heappop(heap)
        if v != version[f] or identity[f] >= 0:
            continue
        identity[f] = best
        for g in np.r_[overlaps[f], prev[f], nxt[f]].tolist():
            if g >= 0 and identity[g] < 0:
                push(g)
    return identity


def squeeze_in(identity, probabilities, fr: Fragments, overlaps, n: int) -> np.ndarray:
    """Give the fragments left without an identity (every one was held by a fragment alive at the same
    time) the identity held for the fewest of their frames, if that is at most SQUEEZE of them (their
    rows in those frames then yield, see relabelled); the likelier one of equal clash. Returns which
    fragments were squeezed in."""
    squeezed = np.zeros(len(fr), bool)
    prev, nxt = fr.previous(), fr.following()
    for f in np.flatnonzero(identity < 0).tolist():
        others = overlaps[f]
        others = others[identity[others] >= 0]
        shared = np.minimum(fr.last[others], fr.last[f]) - np.maximum(fr.first[others], fr.first[f]) + 1
        clash = np.zeros(n)
        np.add.at(clash, identity[others], shared)
        post = probabilities[f] * prior(f, identity, fr, prev, nxt, n)
        best = int(np.lexsort((-post, clash))[0])
        if clash[best] <= SQUEEZE * (fr.last[f] - fr.first[f] + 1):
            identity[f] = best
            squeezed[f] = True
    return squeezed


def confidence(probabilities, identity, fr: Fragments, overlaps, n: int, crops, known) -> np.ndarray:
    """How sure each fragment's identity is: its appearance times what motion says from the nearest
    anchor before and after it in its track (a fragment whose own appearance names its identity surely,
    ANCHOR, or a known one), each boundary on the way a chance of a swap (KEEP; at touches as often as
    the anchors show), against the identities it could have been swapped with: the animals it touched
    where it begins or ends; after a gap or a jump, or for a track that begins late, the animals whose
    tracks break near then (BREAK_WINDOW) or that no track holds then; at the clip's start, every other."""
    prev, nxt = fr.previous(), fr.following()
    own = probabilities[np.arange(len(fr)), np.maximum(identity, 0)]
    anchor = known | ((identity >= 0) & (crops >= MIN_CROPS) & (own >= ANCHOR))
    keep = dict(KEEP)
    keep[CROSSING] = _touch_keep(identity, anchor, fr, prev)
    clip_start = int(fr.first.min()) if len(fr) else 0
    broken = (fr.begins != CROSSING) | (fr.ends != CROSSING)
    out = np.zeros(len(fr))
    for f in range(len(fr)):
        a = identity[f]
        if a < 0:
            continue
        if known[f]:
            out[f] = 1.0
            continue
        rivals = [_rivals_at_start(f, identity, fr, overlaps, prev, broken, clip_start, n)]
        if nxt[f] >= 0:
            rivals.append(_rivals_at_start(nxt[f], identity, fr, overlaps, prev, broken, clip_start, n))
        rivals = np.unique(np.concatenate(rivals))
        rivals = rivals[(rivals >= 0) & (rivals != a)]
        post = probabilities[f].copy()
        for step, kinds in ((prev, fr.begins), (nxt, fr.ends)):
            g, chance = f, 1.0  # chance that the track kept its animal from the anchor to here
            while True:
                chance *= keep.get(int(kinds[g]), 1.0)
                g = step[g]
                if g < 0 or anchor[g]:
                    break
            if g >= 0 and identity[g] >= 0:
                side = np.full(n, (1.0 - chance) / max(len(rivals), 1))
                side[identity[g]] = max(chance, side[identity[g]])
                post = post * side
        out[f] = post[a] / max(post[a] + post[rivals].sum(), 1e-300)
    return out


def _rivals_at_start(f, identity, fr: Fragments, overlaps, prev, broken, clip_start: int, n: int) -> np.ndarray:
    """Identities fragment f could have been swapped with where it begins (see confidence)."""
    if fr.begins[f] == CROSSING:
        return identity[fr.partners[f]]
    if prev[f] < 0 and fr.first[f] == clip_start:
        return np.arange(n)
    others = overlaps[f]
    start = fr.first[f]
    window = BREAK_WINDOW + (start - fr.last[prev[f]] if prev[f] >= 0 else 0)
    near = others[broken[others] & ((np.abs(fr.first[others] - start) <= window) |
                                     (np.abs(fr.last[others] - start) <= window))]
    at_start = others[(fr.first[others] <= start) & (fr.last[others] >= start)]
    return np.r_[identity[near], np.setdiff1d(np.arange(n), identity[at_start])]


def _touch_keep(identity, anchor, fr: Fragments, prev) -> float:
    """How often a track keeps its animal through a touch, as the anchors show it: of the touches between
    two anchors of one track, the share with the same identity on both sides (with one of each added,
    so few touches say little); KEEP's guess when there are fewer than TOUCHES."""
    f = np.flatnonzero((fr.begins == CROSSING) & anchor)
    f = f[(prev[f] >= 0) & anchor[np.maximum(prev[f], 0)]]
    if len(f) < TOUCHES:
        return KEEP[CROSSING]
    same = int((identity[f] == identity[prev[f]]).sum())
    return float(np.clip((same + 1) / (len(f) + 2), KEEP[CROSSING], 0.99))


def relabelled(tracks: Tracks, fr: Fragments, identity: np.ndarray, n: int, squeezed=None) -> Tracks:
    """The rows of `tracks` with track = their fragment's identity; rows of fragments without one keep
    apart as ids n, n+1, ... (one per input track). Where two fragments of one identity share a frame,
    one row is kept: not a squeezed-in fragment's (squeeze_in), else the one of the fragment that began
    first (handed over, see SLACK)."""
    row_identity = identity[fr.fragment].copy()
    lost = row_identity < 0
    if lost.any():
        _, rank = np.unique(tracks.track[lost], return_inverse=True)
        row_identity[lost] = n + rank
    yields = np.zeros(len(fr), bool) if squeezed is None else np.asarray(squeezed, bool)
    order = np.lexsort((fr.first[fr.fragment], yields[fr.fragment], tracks.frame, row_identity))
    duplicate = np.zeros(len(tracks), bool)
    same = (np.diff(row_identity[order]) == 0) & (np.diff(tracks.frame[order]) == 0)
    duplicate[order[1:][same]] = True
    keep = ~duplicate
    columns = {name: getattr(tracks, name)[keep] for name in ("frame", "x", "y", "width", "height", "confidence",
                                                              "cls", "predicted")}
    return Tracks(track=row_identity[keep], **columns)
