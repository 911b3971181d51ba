"""Video -> detections -> tracker -> Tracks, one frame at a time, with progress and cancel.

`TrackingRun.steps()` yields a Progress after every frame, so callers decide how to wait: the CLI
prints a progress bar, Blender's modal operator runs a few steps per timer tick and stops when the
user presses Esc. `result()` gives the tracks found so far, also after a stop.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..ahead import ahead
from ..detection.build import build_detector
from ..detection.detections import Detections, Detector
from ..errors import OmniTraxError
from .settings import TrackingSettings
from .tracks import Tracks


@dataclass
class Progress:
    frame: int  # video frame index just processed
    done: int  # frames processed so far
    total: int  # frames in the run
    fps: float  # frames per second so far
    tracks: int  # tracks alive now
    detections: int  # detections in this frame

    def text(self) -> str:
        return (f"frame {self.frame}  {self.done}/{self.total}  {self.fps:.1f} fps  "
                f"{self.tracks} tracks  {self.detections} detections")


@dataclass
class Seeds:
    """Tracks to continue: ids, positions (px) at `frame`, and optional velocities (px/frame) and boxes."""

    frame: int
    ids: np.ndarray
    xy: np.ndarray
    velocities: np.ndarray | None = None
    boxes: np.ndarray | None = None


# Imported detections (a file from any detector): when most of them (the median) score at least this, the
# detector is sure of its typical detection, and those below it are its doubtful ones: they only continue
# tracks, never start one (two-stage, as ByteTrack). Measured on MOT15's public detections (tools/bench_real.py,
# 11 sequences, medians 0.93-0.99): below 0.9 most detections are false (precision < 0.5 in every sequence),
# and the rule lifts pooled MOTA 0.319 -> 0.422 and IDF1 0.456 -> 0.487. A file whose scores spread wider says
# less with them (medians below 0.9: every detection counts alike, as before).
IMPORTED_STRONG_SCORE = 0.9


def imported_strong_score(detections: dict) -> float:
    """The score from which imported detections may start tracks: IMPORTED_STRONG_SCORE when the file's median
    score reaches it, else 0 (one stage)."""
    scores = [d.scores for d in detections.values() if len(d)]
    if not scores:
        return 0.0
    return IMPORTED_STRONG_SCORE if float(np.median(np.concatenate(scores))) >= IMPORTED_STRONG_SCORE else 0.0


def build_tracker(settings: TrackingSettings, two_stage: bool = False, scored: bool = True,
                  high_score: float | None = None):
    """The tracker the settings ask for. two_stage: the detector is YOLO, so detections below
    settings.confidence (down to low_confidence) only continue tracks; scored: the detections' scores
    are confidences (not the background detector's contrasts); high_score: weaker detections only continue
    tracks (imported detections: imported_strong_score)."""
    from .tracker import Tracker

    high = settings.confidence if two_stage and 0 < settings.low_confidence < settings.confidence else 0.0
    if high_score is not None:
        high = min(max(float(high_score), 0.0), 1.0)
    return Tracker(max_distance=settings.max_distance, max_gap=settings.max_gap, min_length=settings.min_length,
                   cost=settings.cost, process_noise=settings.process_noise,
                   measurement_noise=settings.measurement_noise, n_animals=settings.animals,
                   confirm=settings.confirm, high_score=high, scored=scored)


DETECT_AHEAD = 8  # frames detected ahead of the tracker
# automatic stitching reach: this many typical box sizes. A detector's object boxes (YOLO, imported): 1 (5 joined
# passers-by on MOT15: pooled IDF1 0.500 -> 0.400, tools/bench_real.py; the ant sample's YOLO tracks are as well
# joined with 1); the background detector's blob boxes: 5 (they break where animals touch; 1 cost the ant
# sample IDF1 0.94 -> 0.91) ...
STITCH_SIZES = 1.0
BLOB_STITCH_SIZES = 5.0
# ... across gaps of up to this many times max_gap. Object boxes: 1 (what the tracker did not bridge in max_gap
# frames is rarely the same animal: on MOT15 26 of 28 joins of ETH-Pedcross2 were two people; pooled IDF1
# 0.487 -> 0.494, the ant sample's YOLO IDF1 0.907 -> 0.908); blobs: 3 (the background detector's breaks where
# animals touch last longer: 1 cost the ant sample IDF1 0.940 -> 0.904)
STITCH_GAPS = 1
BLOB_STITCH_GAPS = 3
STITCH_UNKNOWN = 100.0  # ... or this many px when the tracks have no boxes


def stitch_distance(tracks: Tracks, max_distance: float, blobs: bool = False) -> float:
    """How far (px) a track's end may lie from the next one's start to be joined: twice the user's
    max_distance, else STITCH_SIZES (blobs: BLOB_STITCH_SIZES) typical animal sizes of these tracks."""
    if max_distance:
        return 2.0 * max_distance
    size = np.sqrt(np.maximum(tracks.width, 0) * np.maximum(tracks.height, 0))
    size = size[size > 0]
    sizes = BLOB_STITCH_SIZES if blobs else STITCH_SIZES
    return sizes * float(np.median(size)) if len(size) else STITCH_UNKNOWN


@dataclass
class TrackingRun:
    """One tracking job over frames [start, stop) of a video, or over detections read from a file."""

    settings: TrackingSettings
    video_path: str | None = None
    start: int = 0
    stop: int | None = None
    seeds: Seeds | None = None
    mask: object = None
    detections: dict | None = None  # {frame: Detections}, replaces the detector
    detector: Detector | None = None
    # detect on a worker thread ahead of the tracker; None: when the detector runs on a GPU. On the CPU the
    # network's own threads already use every core: a detection thread only competes with them (measured
    # 0.8-0.9x frames/s on 2 cores, tools/bench_detection.py)
    overlap: bool | None = None
    _tracker: object = field(default=None, init=False, repr=False)
    _video: object = field(default=None, init=False, repr=False)
    _last_frame: int = field(default=-1, init=False, repr=False)
    _source: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.video_path is None and self.detections is None:
            raise OmniTraxError("Nothing to track: give a video or a detections file.")
        if self.video_path is not None:
            from ..video import VideoSource

            self._video = VideoSource(self.video_path)
            n = self._video.frame_count
            self.stop = n if self.stop is None else min(self.stop, n)
        else:
            last = max(self.detections, default=-1)
            self.stop = last + 1 if self.stop is None else self.stop
        if not 0 <= self.start < self.stop:
            raise OmniTraxError(f"Frame range {self.start}..{self.stop - 1} is empty or outside the video.")
        if self.detections is None and self.detector is None:
            self.detector = build_detector(self.settings, self._video, self.mask)
        from_detector = self.detections is None
        self._tracker = build_tracker(self.settings, two_stage=from_detector and self.settings.detector == "yolo",
                                      scored=not (from_detector and self.settings.detector == "background"),
                                      high_score=None if from_detector else imported_strong_score(self.detections))
        if self.seeds is not None and len(self.seeds.ids):
            s = self.seeds
            self._tracker.seed(s.ids, s.xy, velocities=s.velocities, boxes=s.boxes, frame=s.frame)

    @property
    def description(self) -> str:
        return self.detector.description if self.detector is not None else "detections read from file"

    @property
    def class_names(self) -> list[str] | None:
        """The class names: the detector's (a YOLO names file or the model's own), else the names file of the
        settings (detections read from a file); None when unknown."""
        names = getattr(self.detector, "names", None)
        if names is None and self.detector is None and self.settings.names_path:
            from ..detection.yolo import read_names

            names = read_names(self.settings.names_path)
        return names

    @property
    def total(self) -> int:
        return self.stop - self.start

    def _frames(self) -> Iterator[tuple[int, Detections]]:
        if self.detections is not None:
            for f in range(self.start, self.stop):
                yield f, self.detections.get(f, Detections.empty())
            return
        # decoding runs on a thread of its own, ahead of detection; detection ahead of the tracker when overlapped
        overlap = self.detector.uses_gpu if self.overlap is None else self.overlap
        self._source = ahead(self._detected(), DETECT_AHEAD, name="omnitrax-detect") if overlap else self._detected()
        yield from self._source

    def _detected(self) -> Iterator[tuple[int, Detections]]:
        frames = self._video.frames(self.start, self.stop)
        batch = max(int(getattr(self.detector, "preferred_batch", 1)), 1)
        try:
            while chunk := list(itertools.islice(frames, batch)):
                images = [image for _, image in chunk]
                found = self.detector.detect_batch(images) if batch > 1 else [self.detector.detect(images[0])]
                yield from zip((f for f, _ in chunk), found)
        finally:
            frames.close()

    def steps(self) -> Iterator[Progress]:
        t0 = time.perf_counter()
        for done, (f, dets) in enumerate(self._frames(), start=1):
            self._tracker.update(f, dets.xy, boxes=dets.boxes, scores=dets.scores, classes=dets.classes)
            self._last_frame = f
            elapsed = max(time.perf_counter() - t0, 1e-9)
            yield Progress(f, done, self.total, done / elapsed, self._tracker.n_active, len(dets))

    def run(self, on_progress=None) -> Tracks:
        for progress in self.steps():
            if on_progress is not None and on_progress(progress) is False:
                break
        return self.result()

    def result(self) -> Tracks:
        """Tracks found so far (min_length applied, stitched if asked); frames before a seed excluded.

        With a known number of animals (settings.animals) the tracker fixes the identities: every one is
        kept whatever its length, and stitching only bridges the gaps it would bridge between tracks.
        """
        tracks = self._tracker.result()
        blobs = not self._tracker.scored
        gaps = max(self.settings.max_gap, 1)
        if self.settings.stitch and self.settings.animals and len(tracks):
            from .stitching import fill_gaps

            tracks = fill_gaps(tracks, gaps * BLOB_STITCH_GAPS)
        elif self.settings.stitch and len(tracks):
            from .stitching import stitch

            keep = () if self.seeds is None else [int(i) for i in self.seeds.ids]
            bridge = gaps * (BLOB_STITCH_GAPS if blobs else STITCH_GAPS)
            tracks = stitch(tracks, max_gap=bridge, max_distance=stitch_distance(tracks, self.settings.max_distance,
                                                                                   blobs),
                            keep_ids=keep)
        if self.seeds is not None:
            tracks = tracks.select(tracks.frame > self.seeds.frame)
        return tracks

    def close(self) -> None:
        if self._source is not None:
            self._source.close()  # stops the detection and decoding threads
        if self._video is not None:
            self._video.close()
