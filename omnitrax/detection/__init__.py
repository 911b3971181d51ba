"""Detection (bpy-free): YOLO and background detectors, their output, runtimes, model files, masks, previews."""
from ..lazy import lazy_names

__all__ = ["BackgroundDetector", "Detections", "Detector", "MatchCounts", "RegionMask", "YoloDetector", "box_iou",
           "build_detector", "platform_devices", "shortfall_message", "write_detect_preview"]
__getattr__, __dir__ = lazy_names(__name__, {
    "Detections": "detections", "Detector": "detections", "build_detector": "build", "YoloDetector": "yolo",
    "BackgroundDetector": "background", "RegionMask": "masks", "box_iou": "geometry", "MatchCounts": "evaluation",
    "platform_devices": "runtimes", "shortfall_message": "shortfall", "write_detect_preview": "preview",
})
