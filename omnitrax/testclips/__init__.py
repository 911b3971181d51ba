"""Synthetic clips with exact ground truth for tests, benchmarks and training; never needed at run time."""
from ..lazy import lazy_names

__all__ = ["count_crossings", "detector_errors", "moving_boxes", "render_clip", "render_frames"]
__getattr__, __dir__ = lazy_names(__name__, {
    "render_frames": "ants", "render_clip": "ants", "count_crossings": "ants", "moving_boxes": "boxes",
    "detector_errors": "boxes",
})
