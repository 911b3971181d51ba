"""Detection speed: ONNX Runtime vs OpenCV DNN per model size, and the overlapped vs in-turn pipeline.

    python tools/bench_detection.py [--frames 24] [--repeats 3] [--device cpu]

1. For the bundled detector (416) and random-weight yolov4-tiny-layout networks at widths 0.5, 0.75
   (YOLOv8n-sized) and 1.0, at inputs 320, 416 and 640 (converted to ONNX by omnitrax's converter),
   frames/s of YoloDetector.detect on OpenCV DNN and on ONNX Runtime (same frames, same process,
   interleaved rounds, best of --repeats) and the ratio ONNX Runtime / OpenCV DNN.
2. `omnitrax track` on the bundled sample (TrackingRun over all 250 frames) with detection in turn
   (overlap=False, the default on the CPU) and on a worker thread ahead of the tracker (overlap=True, the
   default when the network runs on a GPU), for the YOLO
   detector on each runtime and for the background detector: frames/s and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from device_check import detection_fps, onnx_model, sample_frames  # noqa: E402

from omnitrax import resources  # noqa: E402
from omnitrax.detection import model_files  # noqa: E402
from omnitrax.detection.yolo import YoloDetector  # noqa: E402


def runtime_ratios(frames, repeats: int, device: str) -> None:
    print(f"{'model':<36} {'input':>5} {'weights':>8} {'OpenCV fps':>11} {'ORT fps':>8} {'ORT/OpenCV':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        models = [("bundled ants_yolo", str(resources.default_yolo_model()), 416, None)]
        for width in (0.5, 0.75, 1.0):
            for size in (320, 416, 640):
                label = f"yolov4-tiny x{width:g}" + (" (YOLOv8n-sized)" if width == 0.75 else "")
                models.append((label, str(onnx_model(Path(tmp), size, width)), size, width))

        for label, path, size, width in models:
            detectors = {r: YoloDetector(path, input_size=size, runtime=r, backend=device)
                         for r in ("opencv", "onnxruntime")}
            best = {r: 0.0 for r in detectors}
            for _ in range(repeats):  # alternate the runtimes so machine load hits both alike
                for r, det in detectors.items():
                    best[r] = max(best[r], detection_fps(det, frames, 1))
            weights = (f"{model_files.weight_count(model_files.yolov4_tiny_cfg(80, width_multiple=width)) / 1e6:.1f}M"
                       if width else "-")
            print(f"{label:<36} {size:>5} {weights:>8} {best['opencv']:>11.1f} {best['onnxruntime']:>8.1f} "
                  f"{best['onnxruntime'] / best['opencv']:>10.2f}x")


def pipeline_fps(settings, overlap: bool) -> float:
    from omnitrax.tracking.pipeline import TrackingRun

    run = TrackingRun(settings, str(resources.sample_clip()), overlap=overlap)
    t = time.perf_counter()
    run.run()
    elapsed = time.perf_counter() - t
    run.close()
    return run.total / elapsed


def overlap_ratios(repeats: int) -> None:
    from omnitrax.tracking.settings import TrackingSettings

    print(f"\n{'pipeline on ants.avi (250 frames)':<44} {'in turn fps':>12} {'overlapped fps':>15} {'ratio':>7}")
    for label, settings in (("YOLO on OpenCV DNN", TrackingSettings(runtime="opencv")),
                            ("YOLO on ONNX Runtime", TrackingSettings(runtime="onnxruntime")),
                            ("background detector", TrackingSettings(detector="background"))):
        best = {False: 0.0, True: 0.0}
        for _ in range(repeats):
            for overlap in best:
                best[overlap] = max(best[overlap], pipeline_fps(settings, overlap))
        print(f"{label:<44} {best[False]:>12.1f} {best[True]:>15.1f} {best[True] / best[False]:>6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="compute device for part 1 (default cpu)")
    args = parser.parse_args()
    frames = sample_frames(args.frames)
    import cv2

    from omnitrax.detection import runtimes

    ort = runtimes.onnxruntime()
    print(f"{len(frames)} frames of {resources.sample_clip().name}; OpenCV {cv2.__version__} "
          f"({cv2.getNumThreads()} threads), ONNX Runtime {ort.__version__ if ort else 'not installed'}")
    runtime_ratios(frames, args.repeats, args.device)
    overlap_ratios(args.repeats)


if __name__ == "__main__":
    main()
