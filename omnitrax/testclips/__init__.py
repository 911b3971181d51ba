"""Test clips with exact ground truth: rendered videos of walking ants (ants.py) and box-level scenes with a
real detector's errors (boxes.py), for the tests, the benchmarks, the sample clip and model training. The
product never needs them at run time; their ground-truth CSV format is omnitrax.io.ground_truth."""
from ..lazy import lazy_names

__all__ = ["count_crossings", "detector_errors", "moving_boxes", "render_clip", "render_frames"]
__getattr__, __dir__ = lazy_names(__name__, {
    "render_frames": "ants", "render_clip": "ants", "count_crossings": "ants", "moving_boxes": "boxes",
    "detector_errors": "boxes",
})
