"""Reading video frames with OpenCV: a true frame count, random access and prefetched sequential reads.

Frames are HxWx3 uint8 BGR images; indices are 0-based video frame indices.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from .ahead import ahead
from .errors import OmniTraxError

DEFAULT_FPS = 25.0
PREFETCH = 4  # frames decoded ahead of the consumer
GRAB_AHEAD = 12  # read() skips up to this many frames forward by decoding instead of seeking


def usable_fps(reported: float) -> float:
    """The container's frame rate, or DEFAULT_FPS when it reports 0, nan or nonsense."""
    return float(reported) if math.isfinite(reported) and 0 < reported < 10000 else DEFAULT_FPS


def spread_frames(start: int, stop: int, n: int) -> list[int]:
    """Up to n frame indices spread evenly over [start, stop) (non-empty), the first and last included."""
    n = max(1, min(int(n), stop - start))
    return np.unique(np.round(np.linspace(start, stop - 1, n)).astype(int)).tolist()


class VideoSource:
    """One video file. Opening it checks that it decodes and has at least `min_frames` frames."""

    def __init__(self, path, min_frames: int = 2):
        self.path = Path(path)
        if not self.path.is_file():
            raise OmniTraxError(f"Video file {self.path} not found: check the path.")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise OmniTraxError(f"{self.path} is not a video OpenCV can read; convert it to MP4 (H.264) or MJPG AVI.")
        self._next = 0  # index the capture reads next
        ok, first = self._cap.read()
        if not ok or first is None:
            claimed = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
            self._cap.release()
            if claimed and claimed > 0:
                raise OmniTraxError(f"{self.path} is not a video OpenCV can read; convert it to MP4 (H.264) "
                                    f"or MJPG AVI.")
            raise OmniTraxError(f"{self.path} has no frames: choose a video that has some.")
        self._next = 1
        self.height, self.width = first.shape[:2]
        self.fps = usable_fps(self._cap.get(cv2.CAP_PROP_FPS))
        self.frame_count = self._count_frames()
        if self.frame_count < min_frames:
            self._cap.release()
            n = self.frame_count
            raise OmniTraxError(f"{self.path} has only {n} frame{'s' if n != 1 else ''}; tracking needs at least "
                                f"{min_frames}.")

    # ------------------------------------------------------------------------------------ counting
    def _readable(self, index: int) -> bool:
        self._seek(index)
        ok = self._cap.grab()
        self._next = index + 1 if ok else -1
        return bool(ok)

    def _seek(self, index: int):
        if index == self._next:
            return
        if self._next >= 0 and 0 < index - self._next <= GRAB_AHEAD:
            # decoding a few frames forward is cheaper than a seek (~15 frame decodes with FFmpeg)
            while self._next < index and self._cap.grab():
                self._next += 1
            if self._next == index:
                return
        if index == 0:  # reopening is the surest way back to the start (seeking fails in 1-frame files)
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
        else:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def _count_frames(self) -> int:
        """The number of readable frames; the container's claim is verified, not trusted."""
        claimed = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        claimed = int(claimed) if math.isfinite(claimed) and claimed > 0 else 0
        if claimed > 0 and self._readable(claimed - 1):
            n = claimed
            while self._cap.grab():  # the container under-reports: count on
                n += 1
            self._next = -1
            return n
        if claimed > 1:  # over-reported: the last readable frame lies below (0 is readable)
            lo, hi = 0, claimed - 1  # lo readable, hi not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self._readable(mid):
                    lo = mid
                else:
                    hi = mid
            return lo + 1
        # no usable claim: count by decoding from the start
        self._seek(0)
        n = 0
        while self._cap.grab():
            n += 1
        self._next = -1
        return max(n, 1)  # frame 0 was decoded when the file was opened

    # ------------------------------------------------------------------------------------- reading
    def _check_index(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.frame_count:
            raise OmniTraxError(f"Frame {index} is outside {self.path.name} (frames 0..{self.frame_count - 1}).")
        return index

    def read(self, index: int) -> np.ndarray:
        """The frame at a 0-based index (seeks unless it is the next one)."""
        index = self._check_index(index)
        if self._cap is None:
            raise OmniTraxError(f"{self.path.name} is closed; open it again.")
        self._seek(index)
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._next = -1
            raise OmniTraxError(f"Cannot decode frame {index} of {self.path}; the file may be damaged.")
        self._next = index + 1
        return frame

    def frames(self, start: int = 0, stop: int | None = None):
        """Yield (index, frame) for frames [start, stop), decoded ahead by a background thread.

        The thread uses its own capture and ends when the iteration ends, also when the consumer stops
        early (closing or dropping the generator).
        """
        stop = self.frame_count if stop is None else min(int(stop), self.frame_count)
        start = int(start)
        if start < 0 or start >= stop:
            raise OmniTraxError(f"Frame range {start}..{stop - 1} is empty or outside {self.path.name} "
                                f"(frames 0..{self.frame_count - 1}).")
        return self._prefetched(start, stop)

    def _prefetched(self, start: int, stop: int):
        return ahead(self._decoded(start, stop), PREFETCH, name=f"omnitrax-decode-{self.path.name}")

    def _decoded(self, start: int, stop: int):
        """(index, frame) for [start, stop) from a capture of its own, until a frame does not decode."""
        cap = cv2.VideoCapture(str(self.path))
        try:
            if start > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            for index in range(start, stop):
                ok, frame = cap.read()
                if not ok or frame is None:
                    return
                yield index, frame
        finally:
            cap.release()

    def sample_frames(self, n: int) -> list:
        """Up to n frames spread evenly over the whole video (first and last included)."""
        return [self.read(i) for i in spread_frames(0, self.frame_count, n)]

    # ---------------------------------------------------------------------------------- lifetime
    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"VideoSource({str(self.path)!r}: {self.frame_count} frames, {self.width}x{self.height}, "
                f"{self.fps:g} fps)")
