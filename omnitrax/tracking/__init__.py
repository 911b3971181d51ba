"""Tracking (bpy-free): detections -> tracks (Kalman filter, assignment, tracker, stitching), video -> tracks."""
from ..lazy import lazy_names

__all__ = ["Progress", "Seeds", "Tracker", "TrackingRun", "TrackingSettings", "Tracks", "build_tracker",
           "fill_gaps", "stitch"]
__getattr__, __dir__ = lazy_names(__name__, {
    "Tracks": "tracks", "TrackingSettings": "settings", "TrackingRun": "pipeline", "Progress": "pipeline",
    "Seeds": "pipeline", "build_tracker": "pipeline", "Tracker": "tracker", "stitch": "stitching",
    "fill_gaps": "stitching",
})
