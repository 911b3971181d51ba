"""The detector the settings ask for: YOLO (the bundled ant model unless a model is given) or the
background detector, built from a TrackingSettings (omnitrax.tracking.settings) or anything with its
fields. Tracking, the detection preview and the Blender layer all build their detector here."""
from __future__ import annotations

from ..errors import OmniTraxError
from .detections import Detector


def build_detector(settings, video=None, mask=None) -> Detector:
    """The detector the settings ask for; the background detector learns its background from `video`."""
    if settings.detector == "background":
        from .background import BackgroundDetector, read_background_image

        if video is None:
            raise OmniTraxError("The background detector needs the video to estimate the background.")
        empty = read_background_image(settings.background_image) if settings.background_image else None
        detector = BackgroundDetector(
            polarity=settings.polarity, threshold=settings.threshold or None, min_area=settings.min_area or None,
            max_area=settings.max_area or None, animal_area=settings.animal_area or None,
            animals=settings.animals, mask=mask, background=empty)
        detector.fit(video.sample_frames(settings.background_frames))
        return detector

    from .. import resources
    from .yolo import YoloDetector

    model = settings.model_path or str(resources.default_yolo_model())
    names = settings.names_path or (str(resources.default_yolo_names()) if not settings.model_path else None)
    return YoloDetector(
        model, settings.weights_path or None, input_size=settings.network_size,
        confidence=min(settings.confidence, settings.low_confidence or 1.0), nms=settings.nms,
        min_size=settings.min_box,
        max_size=settings.max_box or float("inf"), constant_size=settings.constant_box or None,
        names_path=names, mask=mask, backend=settings.backend, runtime=settings.runtime)
