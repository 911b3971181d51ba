"""What this machine runs, and how fast: every inference runtime x device that is available here.

    python tools/device_check.py [--frames 32] [--repeats 3] [--no-pose]

Prints the machine, the runtimes and the devices each one offers, then frames/s of YoloDetector.detect
(resize, forward, decode, NMS) for
  - the bundled ant detector (data/models/ants_yolo.onnx, 416x416),
  - a YOLOv8n-sized random-weight network (yolov4-tiny at 0.75 width: 3.5 M weights, 80 classes) at
    640x640, converted to ONNX by omnitrax's own converter (no torch or onnx needed),
on each runtime x device, and pose frames/s of the bundled DeepLabCut model (data/models/ants_pose) on
each device its framework sees, for 1 and 20 animal crops per frame. Needs only what `omnitrax` needs
(plus onnxruntime / onnxruntime-gpu, deeplabcut-live when installed); runs unchanged on CPU and GPU
machines. Frames come from the bundled sample clip. Each figure is the best of --repeats rounds.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax import resources  # noqa: E402
from omnitrax.detection import model_files, runtimes  # noqa: E402
from omnitrax.detection.yolo import YoloDetector  # noqa: E402
from omnitrax.errors import OmniTraxError  # noqa: E402

V8N_WIDTH = 0.75  # yolov4-tiny at this width has about YOLOv8n's weights (3.5 M vs 3.2 M) and FLOPs


def sample_frames(n: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(resources.sample_clip()))
    frames = []
    while len(frames) < n:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def darknet_model(folder: Path, size: int, width_multiple: float = 1.0, classes: int = 80) -> Path:
    """A yolov4-tiny-layout Darknet model with random weights (seeded) at this input size: the .cfg."""
    cfg = folder / f"yolov4-tiny-x{width_multiple:g}-{size}.cfg"
    cfg.write_text(model_files.yolov4_tiny_cfg(classes=classes, width=size, height=size,
                                               width_multiple=width_multiple))
    model_files.write_darknet_weights(cfg.read_text(), cfg.with_suffix(".weights"), seed=0)
    return cfg


def onnx_model(folder: Path, size: int, width_multiple: float = 1.0) -> Path:
    """The same network converted to ONNX (omnitrax.detection.darknet_onnx)."""
    from omnitrax.detection.darknet_onnx import convert

    cfg = darknet_model(folder, size, width_multiple)
    out = cfg.with_suffix(".onnx")
    convert(cfg, cfg.with_suffix(".weights"), out)
    return out


def combinations(model_format: str) -> list[tuple[str, str]]:
    """(runtime, device) pairs that can run a model of this format here."""
    pairs = [("opencv", d) for d in runtimes.opencv_devices()]
    if model_format == "ONNX":
        pairs += [("onnxruntime", d) for d in runtimes.ort_devices()]
    return pairs


def detection_fps(detector: YoloDetector, frames, repeats: int) -> float:
    for frame in frames[:2]:
        detector.detect(frame)  # warm-up: first-run allocations, GPU kernel selection
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for frame in frames:
            detector.detect(frame)
        best = min(best, time.perf_counter() - t)
    return len(frames) / best


def detection_table(models, frames, repeats: int, out=print) -> dict:
    """{(label, size, runtime, device): fps} for each model x available runtime x device; prints rows."""
    figures = {}
    out(f"{'model':<34} {'input':>5} {'runtime':<13} {'device':<9} {'frames/s':>9}")
    for label, path, size in models:
        fmt = "ONNX" if str(path).endswith(".onnx") else "Darknet"
        for runtime, device in combinations(fmt):
            try:
                detector = YoloDetector(path, input_size=size, runtime=runtime, backend=device)
                fps = detection_fps(detector, frames, repeats)
            except OmniTraxError as e:
                out(f"{label:<34} {size:>5} {runtime:<13} {device:<9} {'-':>9}  ({e})")
                continue
            figures[label, size, runtime, device] = fps
            out(f"{label:<34} {size:>5} {runtime:<13} {device:<9} {fps:>9.1f}  {detector.description}")
    return figures


def pose_table(frames, repeats: int, out=print) -> None:
    """Pose frames/s of the bundled model (TensorFlow: it takes its GPU itself when it sees one)."""
    try:
        from omnitrax.pose.model import PoseModel

        model = PoseModel.load(resources.default_pose_model())
    except (OmniTraxError, ImportError) as e:
        out(f"pose: not available here ({str(e).splitlines()[0]})")
        return
    size = model.input_size or 96
    for animals in (1, 20):
        crops = np.stack([cv2.resize(frames[i % len(frames)][:256, :256], (size, size)) for i in range(animals)])
        model.predict(crops)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(5):
                model.predict(crops)
            best = min(best, (time.perf_counter() - t) / 5)
        out(f"pose ({model.model_type}, {model.device}, {size}px crops) {animals:>3} animals/frame: "
            f"{1 / best:>8.1f} frames/s ({animals / best:.0f} crops/s)")
    model.close()


def machine_lines() -> list[str]:
    lines = [f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPU threads, "
             f"Python {platform.python_version()}, numpy {np.__version__}",
             f"OpenCV {cv2.__version__}: devices {', '.join(runtimes.opencv_devices())}"]
    ort = runtimes.onnxruntime()
    lines.append(f"ONNX Runtime {ort.__version__}: providers {', '.join(ort.get_available_providers())}"
                 if ort else "ONNX Runtime: not installed")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pose", action="store_true", help="skip the pose figures")
    args = parser.parse_args(argv)
    for line in machine_lines():
        print(line)
    frames = sample_frames(args.frames)
    print(f"frames: {len(frames)} of {resources.sample_clip().name} ({frames[0].shape[1]}x{frames[0].shape[0]})")
    with tempfile.TemporaryDirectory() as tmp:
        models = [("bundled ants_yolo (ONNX)", str(resources.default_yolo_model()), 416),
                  ("YOLOv8n-sized, random weights", str(onnx_model(Path(tmp), 640, V8N_WIDTH)), 640)]
        detection_table(models, frames, args.repeats)
    if not args.no_pose:
        pose_table(frames, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
