"""The identity pass: who is who after tracking, from what each animal looks like and where it can be.

Tracks are cut into fragments wherever a track could have swapped animals (omnitrax.identity.fragments);
the clean views of each fragment give appearance features (omnitrax.identity.appearance). A model of the
N animals is learnt without labels, as idtracker.ai does: fragments alive at the same time are different
animals, so the frame where the most well-seen fragments coexist seeds N labels; fragments the model then
recognises surely (appearance x motion, and no fragment alive at the same time looks like that animal
too) join the training set, and the model is fitted again. The model's evidence is tempered by how well
it does on labelled crops it did not learn from; and when, judged by who is alive at the same time, it
names animals hardly better than a guess (identical-looking animals), it is not used at all: motion then
decides alone. omnitrax.identity.assignment then gives every fragment an identity and a
confidence; fragments below `certainty` are uncertain: the few a person should check.

`IdentityRun.steps()` yields IdentityProgress (reading frames, learning, assigning) so callers show
progress and stop (stop iterating, then close()); result() exists only when the run finished.
Fragments of `known` tracks (id -> identity; e.g. tracks a user locked after checking them) keep that
identity and teach the model. Units: pixels (origin top-left), 0-based video frames.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import OmniTraxError
from ..tracking.tracks import Tracks
from .appearance import LinearIdentities, crop_features
from .assignment import MIN_CROPS, best_first, confidence, prior, relabelled, squeeze_in
from .assignment import overlaps as overlaps_of
from .fragments import Fragments, body_sizes, split_fragments

MAX_CROPS = 24  # appearance crops per fragment, spread over its clean views
ACCEPT = 0.95  # a fragment joins the training set when its identity is at least this sure ...
CONTESTED = 0.2  # ... and no fragment alive at the same time looks like that animal with this probability
LEARN_ROUNDS = 6
# a fragment's appearance evidence: the mean log identity probability of its crops (each one counted at
# least FLOOR, so one odd crop cannot veto an identity) times its number of crops, at most EVIDENCE_CROPS
# (crops of one fragment are alike: more of them hardly tell more)
FLOOR = 0.05
EVIDENCE_CROPS = 3
# the model's evidence is tempered by the one of these that fits crops it did not learn from best
TEMPERATURES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0, 128.0, 256.0)
TRUST = 0.5  # a model estimated (from its first labels) to be right less often than this is not used
COEXISTING = 8  # fragments needed to estimate the model's error rate from who is alive at the same time
CALIBRATION_CROPS = 6
LIST_FRAMES = 5  # doubtful fragments shorter than this (moments inside a touch) are listed with a neighbour


@dataclass
class IdentityProgress:
    stage: str  # "reading" | "learning" | "assigning"
    done: int
    total: int
    fps: float = 0.0  # frames read per second (reading)

    def text(self) -> str:
        if self.stage == "reading":
            return f"identities: reading frame {self.done}/{self.total}  {self.fps:.0f} fps"
        return f"identities: {self.stage} {self.done}/{self.total}"


@dataclass
class FragmentTable:
    """One row per fragment: the input track, its frames, the identity given and how sure it is.

    identity is -1 where none could be given (more tracks at once than animals); uncertain marks the
    fragments to check: confidence below the run's certainty, no identity, or an identity squeezed in
    (assignment.squeeze_in: its rows yield where another fragment holds it); doubtful moments
    inside a touch (shorter than LIST_FRAMES) are checked at the next fragment of their track.
    """

    fragment: np.ndarray
    track: np.ndarray
    first: np.ndarray
    last: np.ndarray
    identity: np.ndarray
    confidence: np.ndarray
    uncertain: np.ndarray
    crops: np.ndarray  # appearance crops the fragment had

    def __len__(self) -> int:
        return len(self.fragment)


@dataclass
class IdentityResult:
    tracks: Tracks  # the input rows, track = identity (0..N-1; rows without one: N and up, one per input track)
    fragments: FragmentTable
    n_animals: int
    seconds: float
    leftover: dict  # ids N and up of `tracks` -> the input track their rows come from

    def sources(self) -> dict:
        """{identity: {input track: frames}}: which input tracks each identity's fragments come from."""
        t = self.fragments
        out: dict = {}
        for identity, track, first, last in zip(t.identity.tolist(), t.track.tolist(), t.first.tolist(),
                                                t.last.tolist()):
            if identity >= 0:
                per = out.setdefault(identity, {})
                per[track] = per.get(track, 0) + last - first + 1
        return out


class IdentityRun:
    """Re-identify the animals of `tracks` (pixels, 0-based frames of `video_path`) as n_animals identities."""

    def __init__(self, tracks: Tracks, video_path, n_animals: int, certainty: float = 0.9,
                 known: dict | None = None, max_crops: int = MAX_CROPS):
        try:
            whole = int(n_animals) == n_animals and n_animals >= 1
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise OmniTraxError(f"The identity pass needs the number of animals (a whole number >= 1), got "
                                f"{n_animals!r}: give --animals N (Blender: Number of animals).")
        if not 0 <= certainty <= 1:
            raise OmniTraxError(f"Identity certainty must be between 0 and 1, got {certainty}.")
        if not isinstance(tracks, Tracks) or not len(tracks):
            raise OmniTraxError("The identity pass needs tracks: track the video first.")
        self.n = int(n_animals)
        self.certainty = float(certainty)
        self.tracks = tracks
        self.known = {int(t): int(i) for t, i in (known or {}).items()}
        bad = [i for i in self.known.values() if not 0 <= i < self.n]
        if bad or len(set(self.known.values())) != len(self.known):
            raise OmniTraxError(f"Known tracks must each have their own identity 0..{self.n - 1}.")
        from ..video import VideoSource

        self._video = VideoSource(video_path)
        if int(tracks.frame.max()) >= self._video.frame_count or int(tracks.frame.min()) < 0:
            self._video.close()
            raise OmniTraxError(f"The tracks reach frame {int(tracks.frame.max())}, but the video has frames "
                                f"0..{self._video.frame_count - 1}: they are not this video's tracks.")
        self.max_crops = int(max_crops)
        self.fragments: Fragments = split_fragments(tracks)
        self._crop_rows = _crop_rows(self.fragments, self.max_crops)
        self._result: IdentityResult | None = None
        self._features = self._crop_ok = None

    # --- running ------------------------------------------------------------------------------------
    def steps(self) -> Iterator[IdentityProgress]:
        t0 = time.perf_counter()
        yield from self._read()
        probabilities = yield from self._learn()
        yield IdentityProgress("assigning", 0, 1)
        self._result = self._assign(probabilities, time.perf_counter() - t0)
        yield IdentityProgress("assigning", 1, 1)

    def run(self, on_progress=None) -> IdentityResult | None:
        """Run to the end (None when on_progress returned False: stopped)."""
        for progress in self.steps():
            if on_progress is not None and on_progress(progress) is False:
                return None
        return self.result()

    def result(self) -> IdentityResult:
        if self._result is None:
            raise OmniTraxError("The identity pass has not finished.")
        return self._result

    def close(self) -> None:
        self._video.close()

    # --- 1. appearance of every crop ---------------------------------------------------------------
    def _read(self) -> Iterator[IdentityProgress]:
        rows = self._crop_rows
        t = self.tracks
        size = body_sizes(t)
        self._features = np.zeros((len(rows), 0), np.float32)
        if not len(rows):
            return
        frames = t.frame[rows]
        order = np.argsort(frames, kind="stable")
        rows, frames = rows[order], frames[order]
        self._crop_rows = rows
        first, stop = int(frames[0]), int(frames[-1]) + 1
        bounds = np.searchsorted(frames, np.arange(first, stop + 1))
        features, ok = [], []
        t0 = time.perf_counter()
        source = self._video.frames(first, stop)
        try:
            for index, image in source:
                r = rows[bounds[index - first]:bounds[index - first + 1]]
                if len(r):
                    f, k = crop_features(image, t.x[r], t.y[r], size[r])
                    features.append(f)
                    ok.append(k)
                done = index - first + 1
                if done % 10 == 0 or index == stop - 1:
                    yield IdentityProgress("reading", done, stop - first, done / max(time.perf_counter() - t0, 1e-9))
        finally:
            source.close()
        got = sum(len(f) for f in features)
        if got < len(rows):
            raise OmniTraxError(f"The video ended at frame {first + got} before the tracks' last frame {stop - 1}; "
                                f"the file may be damaged.")
        self._features = np.vstack(features)
        self._crop_ok = np.concatenate(ok)

    # --- 2. learning the N animals -------------------------------------------------------------------
    def _learn(self):
        fr = self.fragments
        n_frag = len(fr)
        keep = self._crop_ok if self._crop_ok is not None else np.zeros(0, bool)
        X = self._features[keep]
        crop_fragment = fr.fragment[self._crop_rows[keep]]
        counts = np.bincount(crop_fragment, minlength=n_frag)
        labels = np.full(n_frag, -1, np.int64)
        for tid, identity in self.known.items():
            labels[fr.track == tid] = identity
        overlaps = self._overlaps = overlaps_of(fr)
        if len(X) == 0:
            return np.full((n_frag, self.n), 1.0 / self.n)
        _seed(labels, fr, counts, self.n)
        model = LinearIdentities(self.n)
        probabilities, trusted = None, None
        for round_ in range(LEARN_ROUNDS):
            yield IdentityProgress("learning", round_, LEARN_ROUNDS)
            taught = labels[crop_fragment] >= 0
            if not taught.any():
                break
            temperature = _temperature(X, crop_fragment, labels, self.n, fr.first)
            model.fit(X[taught], labels[crop_fragment[taught]])
            crop_p = model.proba(X)
            if trusted is None:  # judged once enough fragments live beside labelled ones (None: not yet)
                trusted = _trusted(crop_p, crop_fragment, labels, counts, overlaps, n_frag, self.n)
                if trusted is False:
                    break  # appearance tells the animals apart too little here: motion decides
            probabilities = _evidence(crop_p, crop_fragment, n_frag, temperature)
            if not _accept(labels, probabilities, counts, overlaps, fr, self.n):
                break
        yield IdentityProgress("learning", LEARN_ROUNDS, LEARN_ROUNDS)
        if trusted is None and probabilities is not None:  # the labels the model added tell now, or never
            trusted = _trusted(crop_p, crop_fragment, labels, counts, overlaps, n_frag, self.n) is True
        if not trusted:
            return np.full((n_frag, self.n), 1.0 / self.n)
        return probabilities

    # --- 3. an identity for every fragment ----------------------------------------------------------
    def _assign(self, probabilities: np.ndarray, seconds: float) -> IdentityResult:
        fr = self.fragments
        # the training labels taught the model; identities are decided afresh, surest first (a label
        # accepted by mistake must not block a fragment that shows its animal more surely)
        fixed = np.full(len(fr), -1, np.int64)
        for tid, identity in self.known.items():
            fixed[fr.track == tid] = identity
        overlaps = self._overlaps
        keep = self._crop_ok if self._crop_ok is not None else np.zeros(0, bool)
        crops = np.bincount(fr.fragment[self._crop_rows[keep]], minlength=len(fr))
        identity = best_first(probabilities, fixed, fr, overlaps, self.n, crops)
        squeezed = squeeze_in(identity, probabilities, fr, overlaps, self.n)
        known = np.isin(fr.track, list(self.known))
        sure = confidence(probabilities, identity, fr, overlaps, self.n, crops, known)
        uncertain = _to_check((identity < 0) | squeezed | (sure < self.certainty), fr)
        uncertain |= identity < 0
        table = FragmentTable(fragment=np.arange(len(fr)), track=fr.track.copy(), first=fr.first.copy(),
                              last=fr.last.copy(), identity=identity, confidence=sure, uncertain=uncertain,
                              crops=crops)
        lost_tracks = np.unique(fr.track[identity < 0])
        return IdentityResult(tracks=relabelled(self.tracks, fr, identity, self.n, squeezed), fragments=table,
                              n_animals=self.n, seconds=seconds,
                              leftover={self.n + k: int(t) for k, t in enumerate(lost_tracks.tolist())})


# ----------------------------------------------------------------------------------------- helpers

def _to_check(doubt: np.ndarray, fr: Fragments) -> np.ndarray:
    """The fragments to list among the doubtful ones: those of at least LIST_FRAMES frames; a shorter one
    (a moment inside a touch) is checked where its track comes out of the touch: at the next fragment of
    its track that long (else the one before)."""
    short = (fr.last - fr.first + 1) < LIST_FRAMES
    out = doubt & ~short
    prev, nxt = fr.previous(), fr.following()
    for f in np.flatnonzero(doubt & short).tolist():
        for step in (nxt, prev):
            g = step[f]
            while g >= 0 and short[g]:
                g = step[g]
            if g >= 0:
                out[g] = True
                break
    return out


def _crop_rows(fr: Fragments, max_crops: int) -> np.ndarray:
    """Rows to crop: up to max_crops clean views per fragment, spread evenly over it."""
    rows = np.flatnonzero(fr.clear)
    if not len(rows):
        return rows
    frag = fr.fragment[rows]
    bounds = np.searchsorted(frag, np.arange(len(fr) + 1))  # rows are sorted by fragment
    chosen = []
    for f in range(len(fr)):
        r = rows[bounds[f]:bounds[f + 1]]
        if len(r) > max_crops:
            r = r[np.linspace(0, len(r) - 1, max_crops).round().astype(int)]
        chosen.append(r)
    return np.concatenate(chosen)


def _seed(labels, fr: Fragments, counts, n: int) -> None:
    """Label the fragments alive at the frame where the most well-seen fragments coexist (ties: the one
    whose least-seen fragment has the most crops) with the identities no known fragment holds there."""
    good = np.flatnonzero(counts >= MIN_CROPS)
    if not len(good):
        return
    best, best_score = None, (-1, -1)
    for t in np.unique(np.r_[fr.first[good], (fr.first[good] + fr.last[good]) // 2]):
        alive = good[(fr.first[good] <= t) & (fr.last[good] >= t)]
        score = (min(len(alive), n), int(counts[alive].min()) if len(alive) else 0)
        if score > best_score:
            best, best_score = alive, score
    if best is None:
        return
    taken = set(labels[best][labels[best] >= 0].tolist())
    free = iter(i for i in range(n) if i not in taken)
    for f in best[np.argsort(-counts[best], kind="stable")].tolist():
        if labels[f] < 0:
            label = next(free, None)
            if label is None:
                break
            labels[f] = label


def _evidence(p: np.ndarray, groups: np.ndarray, n_groups: int, temperature: float) -> np.ndarray:
    """(groups, N) identity probabilities of groups of crops (fragments) from the crops' (FLOOR,
    EVIDENCE_CROPS), tempered; uniform for groups without crops."""
    total = np.zeros((n_groups, p.shape[1]))
    np.add.at(total, groups, np.log(np.maximum(p, FLOOR)))
    counts = np.bincount(groups, minlength=n_groups)[:, None]
    if not np.isfinite(temperature):
        return np.full((n_groups, p.shape[1]), 1.0 / p.shape[1])
    evidence = total / np.maximum(counts, 1) * np.minimum(counts, EVIDENCE_CROPS) / temperature
    evidence -= evidence.max(axis=1, keepdims=True)
    out = np.exp(evidence)
    return out / out.sum(axis=1, keepdims=True)


def _trusted(crop_p, crop_fragment, labels, counts, overlaps, n_frag: int, n: int):
    """Whether the model tells the animals apart at all, judged without labels: a fragment cannot be an
    animal that a labelled fragment alive at the same time is, so how often the model names one of those
    (F of them) tells how often it is wrong (guessing, it would name one F / (N - 1) of the times it is
    wrong). False when it is right less often than TRUST; None when too few fragments tell yet
    (COEXISTING: the first labels all live in a short stretch of a clip where animals meet often)."""
    named, held = [], []
    p1 = _evidence(crop_p, crop_fragment, n_frag, 1.0)
    for f in np.flatnonzero((labels < 0) & (counts >= 1)).tolist():
        taken = np.unique(labels[overlaps[f]])
        taken = taken[taken >= 0]
        if len(taken):
            named.append(int(p1[f].argmax()))
            held.append(taken)
    if n < 2:
        return True
    if len(named) < COEXISTING:
        return None
    wrong = np.mean([float(k in h) * (n - 1) / len(h) for k, h in zip(named, held)])
    return 1.0 - wrong >= TRUST


def _temperature(X, crop_fragment, labels, n: int, first: np.ndarray) -> float:
    """How much to temper the model's evidence so that it is as sure as it is right: the temperature
    (TEMPERATURES) of least log loss on labelled crops the model did not see, in groups of
    CALIBRATION_CROPS like short fragments. Two folds: the earlier and the later labelled fragments of
    each identity, or the two halves in time of an identity's only fragment."""
    rows = np.flatnonzero(labels[crop_fragment] >= 0)
    y, frag = labels[crop_fragment[rows]], crop_fragment[rows]
    fold = np.zeros(len(rows), np.int64)
    for k in np.unique(y):
        mine = np.flatnonzero(y == k)
        fragments = np.unique(frag[mine])
        if len(fragments) >= 2:  # fragments are numbered by track, then time: split by time
            late = fragments[np.argsort(first[fragments], kind="stable")][len(fragments) // 2:]
            fold[mine[np.isin(frag[mine], late)]] = 1
        else:
            fold[mine[len(mine) // 2:]] = 1
    p = np.zeros((len(rows), n))
    for k in (0, 1):
        test = fold == k
        if not test.any() or test.all():
            return 1.0
        p[test] = LinearIdentities(n).fit(X[rows[~test]], y[~test]).proba(X[rows[test]])
    # groups: consecutive held-out crops of one fragment (and fold)
    key = frag * 2 + fold
    order = np.argsort(key, kind="stable")
    position = np.arange(len(rows)) - np.searchsorted(key[order], key[order])
    _, groups = np.unique(np.column_stack([key[order], position // CALIBRATION_CROPS]), axis=0, return_inverse=True)
    groups = groups.reshape(-1)
    truth = np.zeros(groups.max() + 1, np.int64)
    truth[groups] = y[order]
    losses = []
    for t in TEMPERATURES:
        right = _evidence(p[order], groups, len(truth), t)[np.arange(len(truth)), truth]
        losses.append(-np.log(np.maximum(right, 1e-300)).mean())
    return float(TEMPERATURES[int(np.argmin(losses))])


def _accept(labels, probabilities, counts, overlaps, fr: Fragments, n: int) -> bool:
    """Label the unlabelled fragments now recognised surely (appearance x what motion says from labelled
    neighbours), surest first, never with an identity that a fragment alive at the same time holds or
    also looks like (CONTESTED). True when any was added."""
    candidates = np.flatnonzero((labels < 0) & (counts >= MIN_CROPS))
    if not len(candidates):
        return False
    prev, nxt = fr.previous(), fr.following()
    post = np.array([probabilities[f] * prior(f, labels, fr, prev, nxt, n) for f in candidates])
    post /= post.sum(axis=1, keepdims=True)
    best = post.argmax(axis=1)
    sure = post[np.arange(len(candidates)), best]
    added = False
    for k in np.argsort(-sure, kind="stable").tolist():
        if sure[k] < ACCEPT:
            break
        f, identity = int(candidates[k]), int(best[k])
        others = overlaps[f]
        if identity in labels[others] or (probabilities[others, identity] >= CONTESTED).any():
            continue  # held, or wanted by an animal alive at the same time: left to the assignment
        labels[f] = identity
        added = True
    return added


