"""The one data type that flows from detectors to the tracker."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _arr(a, shape_tail, dtype):
    a = np.asarray(a, dtype=dtype)
    return a.reshape((-1,) + shape_tail)


@dataclass
class Detections:
    """Detections of one frame, all in pixels with the origin at the top-left.

    xy:      (N, 2) float64 centres (x, y).
    boxes:   (N, 4) float64 boxes as (left, top, width, height).
    scores:  (N,)   float64 confidences in [0, 1].
    classes: (N,)   int64 class ids.
    """

    xy: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray = field(default=None)
    classes: np.ndarray = field(default=None)

    def __post_init__(self):
        self.xy = _arr(self.xy, (2,), np.float64)
        n = len(self.xy)
        self.boxes = _arr(self.boxes, (4,), np.float64) if self.boxes is not None else np.zeros((n, 4))
        self.scores = _arr(self.scores, (), np.float64) if self.scores is not None else np.ones(n)
        self.classes = _arr(self.classes, (), np.int64) if self.classes is not None else np.zeros(n, np.int64)
        if not (len(self.boxes) == len(self.scores) == len(self.classes) == n):
            raise ValueError(
                f"Detections arrays disagree in length: xy {n}, boxes {len(self.boxes)}, "
                f"scores {len(self.scores)}, classes {len(self.classes)}"
            )

    def __len__(self) -> int:
        return len(self.xy)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 2)), np.zeros((0, 4)))

    @classmethod
    def from_boxes(cls, boxes, scores=None, classes=None) -> "Detections":
        """Detections whose centres are the centres of their (left, top, w, h) boxes."""
        boxes = _arr(boxes, (4,), np.float64)
        xy = boxes[:, :2] + boxes[:, 2:] / 2.0
        return cls(xy, boxes, scores, classes)

    def select(self, keep) -> "Detections":
        """A subset by boolean mask or index array."""
        return Detections(self.xy[keep], self.boxes[keep], self.scores[keep], self.classes[keep])


class Detector:
    """What every detector offers. Subclasses implement detect(); detect_batch() may be faster."""

    #: one line saying what runs, e.g. "YOLO (ONNX) on OpenCV DNN, CPU"
    description: str = ""
    #: frames per detect_batch() call that the pipeline should give it (1: frame by frame)
    preferred_batch: int = 1
    #: the work runs on a GPU, so the CPU is free meanwhile (the pipeline then detects ahead on a thread)
    uses_gpu: bool = False

    def detect(self, frame: np.ndarray) -> Detections:  # frame: HxWx3 uint8 BGR
        raise NotImplementedError

    def detect_batch(self, frames) -> list:
        return [self.detect(f) for f in frames]
