"""Precision and recall of per-frame detections against ground-truth boxes, matched one-to-one by IoU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .geometry import box_iou


@dataclass
class MatchCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    def add(self, predicted_boxes, true_boxes, iou_threshold: float = 0.5) -> "MatchCounts":
        """Count one frame: the assignment maximising total IoU, pairs below the threshold unmatched."""
        iou = box_iou(predicted_boxes, true_boxes)
        rows, cols = linear_sum_assignment(-iou) if iou.size else ((), ())
        matched = int(np.count_nonzero(iou[rows, cols] >= iou_threshold)) if len(rows) else 0
        self.tp += matched
        self.fp += iou.shape[0] - matched
        self.fn += iou.shape[1] - matched
        return self

    def text(self) -> str:
        return f"precision {self.precision:.4f} recall {self.recall:.4f} (tp {self.tp}, fp {self.fp}, fn {self.fn})"
