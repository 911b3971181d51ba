"""Frames/s of the YOLO detection stage vs. the bare OpenCV DNN forward loop, at input 416 and 640.

    python tools/bench_detection.py [--frames 24] [--repeats 3] [--model PATH [--weights PATH]]

For each model (the bundled data/models/ants_yolo.onnx when present, and a yolov4-tiny-sized Darknet
net with random weights written by omnitrax.tracking.model_files) and each input size it times, on the
same frames and the same cv2.dnn.Net:
  bare:          blob = cv2.dnn.blobFromImage(frame, ...); net.setInput(blob); net.forward(outnames)
  detect:        YoloDetector.detect(frame) for each frame (preprocess, forward, decode, NMS, filters)
  detect_batch:  YoloDetector.detect_batch(frames) (one forward per batch of frames)
Overhead = time(detect) / time(bare) - 1. Each timing is the best of --repeats rounds (the machine is shared).
Frames come from the bundled sample clip, else from the synthetic generator.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnitrax import resources  # noqa: E402
from omnitrax.tracking import model_files  # noqa: E402
from omnitrax.tracking.yolo import YoloDetector  # noqa: E402


def load_frames(n: int) -> tuple[list[np.ndarray], str]:
    clip = resources.sample_clip()
    if clip.is_file():
        capture = cv2.VideoCapture(str(clip))
        frames = []
        while len(frames) < n:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
        capture.release()
        if frames:
            return frames, f"{len(frames)} frames of {clip.name} ({frames[0].shape[1]}x{frames[0].shape[0]})"
    from omnitrax.synthetic import render_frames

    frames = [frame for frame, _ in render_frames(n_frames=n, seed=0)]
    return frames, f"{len(frames)} synthetic frames ({frames[0].shape[1]}x{frames[0].shape[0]})"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(detector: YoloDetector, frames, repeats: int) -> dict:
    net, names = detector.net, detector.output_names
    size = detector.input_size

    def bare():
        for frame in frames:
            net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255.0, size, swapRB=True, crop=False))
            net.forward(names)

    def detect():
        for frame in frames:
            detector.detect(frame)

    bare(), detect()  # warm up (allocations, first-run layer setup)
    times = {"bare": [], "detect": [], "detect_batch": []}
    for _ in range(repeats):  # interleave the three so load from other jobs hits them alike
        times["bare"].append(timed(bare))
        times["detect"].append(timed(detect))
        times["detect_batch"].append(timed(lambda: detector.detect_batch(frames)))
    return {k: len(frames) / min(v) for k, v in times.items()}


def darknet_yolov4_tiny(folder: Path) -> Path:
    cfg = folder / "yolov4-tiny.cfg"
    cfg.write_text(model_files.yolov4_tiny_cfg(classes=80))
    model_files.write_darknet_weights(cfg.read_text(), folder / "yolov4-tiny.weights", seed=0)
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", help="a .cfg or .onnx to bench instead of the default two")
    parser.add_argument("--weights")
    args = parser.parse_args()

    frames, source = load_frames(args.frames)
    print(f"frames: {source}; OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        models = []
        if args.model:
            models.append(("given model", args.model, args.weights))
        else:
            if resources.default_yolo_model().is_file():
                models.append(("bundled model", str(resources.default_yolo_model()), None))
            models.append(("yolov4-tiny-sized Darknet net, random weights (80 classes)",
                           str(darknet_yolov4_tiny(Path(tmp))), None))
        print(f"{'input':>6} {'bare fps':>9} {'detect fps':>11} {'batch fps':>10} {'overhead':>9}  model")
        for label, model, weights in models:
            for size in (416, 640):
                detector = YoloDetector(model, weights, input_size=size)
                fps = bench(detector, frames, args.repeats)
                overhead = fps["bare"] / fps["detect"] - 1
                print(f"{size:>6} {fps['bare']:>9.1f} {fps['detect']:>11.1f} {fps['detect_batch']:>10.1f} "
                      f"{overhead:>8.1%}  {label}: {detector.description}, batched: {detector.batch_supported}")


if __name__ == "__main__":
    main()
