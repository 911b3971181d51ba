"""The bundled ant detector finds the animals of the bundled sample clip (held out from its training).

Runs the real file data/models/ants_yolo.onnx through YoloDetector at the default settings (input 416,
confidence 0.5, NMS 0.45) on every frame of data/sample/ants.* and matches the detections one-to-one
with the ground-truth boxes of data/sample/ants_gt.csv at IoU 0.5.
"""
import numpy as np
import pytest

from omnitrax import resources
from omnitrax.detection.evaluation import MatchCounts
from omnitrax.detection.yolo import YoloDetector
from omnitrax.tracking.settings import TrackingSettings
from omnitrax.video import VideoSource

MODEL, NAMES = resources.default_yolo_model(), resources.default_yolo_names()


def sample_frames_and_boxes():
    """(frames, boxes per frame) of the bundled clip, or of the seed-0 clip rendered anew if it is missing."""
    from omnitrax.io.ground_truth import GroundTruth
    from omnitrax.testclips import render_frames

    clip, truth = resources.sample_clip(), resources.sample_ground_truth()
    if clip.is_file() and truth.is_file():
        with VideoSource(clip) as video:
            frames = [frame for _, frame in video.frames()]
        gt = GroundTruth.from_csv(truth)
        boxes = [np.c_[gt.left, gt.top, gt.width, gt.height][gt.frame == f] for f in range(len(frames))]
        return frames, boxes
    rendered = list(render_frames(seed=0))
    return [f for f, _ in rendered], [np.c_[r["left"], r["top"], r["width"], r["height"]] for _, r in rendered]


def test_bundled_model_files_are_small_and_complete():
    assert MODEL.is_file() and NAMES.is_file()
    assert MODEL.stat().st_size < 2_000_000
    assert NAMES.read_text().split() == ["ant"]


def test_bundled_model_loads_like_a_user_model():
    detector = YoloDetector(MODEL, names_path=NAMES)
    assert (detector.layout, detector.num_classes, detector.letterbox) == ("yolov8", 1, True)
    runtime = "ONNX Runtime" if detector.runtime == "onnxruntime" else "OpenCV DNN"
    assert detector.description.startswith(f"YOLO (ONNX ants_yolo, yolov8 layout, 416x416, letterbox) on {runtime}, ")


def test_bundled_model_finds_the_sample_clip_animals():
    settings = TrackingSettings()  # the defaults a user gets
    detector = YoloDetector(MODEL, names_path=NAMES, input_size=settings.network_size,
                            confidence=settings.confidence, nms=settings.nms)
    frames, truth = sample_frames_and_boxes()
    assert len(frames) >= 100 and sum(map(len, truth)) >= 1000
    counts = MatchCounts()
    for start in range(0, len(frames), 8):
        for found, boxes in zip(detector.detect_batch(frames[start:start + 8]), truth[start:start + 8]):
            counts.add(found.boxes, boxes, iou_threshold=0.5)
    print(counts.text())
    assert counts.recall >= 0.9, counts.text()
    assert counts.precision >= 0.9, counts.text()


@pytest.mark.parametrize("size", [320, 640])
def test_bundled_model_runs_at_other_input_sizes(size):
    frames, truth = sample_frames_and_boxes()
    detector = YoloDetector(MODEL, names_path=NAMES, input_size=size)
    counts = MatchCounts()
    for frame, boxes in zip(frames[:10], truth[:10]):
        counts.add(detector.detect(frame).boxes, boxes)
    assert counts.recall > 0.5, counts.text()  # trained at 416: other sizes work, less well
