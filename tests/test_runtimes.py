"""Two inference runtimes (OpenCV DNN, ONNX Runtime) for the YOLO detector, the device choice, and the
pipeline that overlaps decoding, detection and tracking. Real OpenCV, real ONNX Runtime, real files."""
import sys
import threading

import cv2
import numpy as np
import pandas as pd
import pytest

from omnitrax import resources
from omnitrax.ahead import ahead
from omnitrax.cli import main
from omnitrax.detection import model_files, runtimes
from omnitrax.detection.yolo import YoloDetector
from omnitrax.errors import OmniTraxError

pytest.importorskip("onnxruntime")
HAS_OPENCV_CUDA = "cuda" in runtimes.opencv_devices()
HAS_ORT_GPU = runtimes.ort_devices() != ["cpu"]


def sample_frames(n=12):
    capture = cv2.VideoCapture(str(resources.sample_clip()))
    frames = [capture.read()[1] for _ in range(n)]
    capture.release()
    return frames


def bundled(**kw):
    return YoloDetector(str(resources.default_yolo_model()), names_path=str(resources.default_yolo_names()), **kw)


# ------------------------------------------------------------------------------------ same results
def test_both_runtimes_give_the_same_detections_with_the_bundled_model():
    frames = sample_frames()
    ocv, ort = bundled(runtime="opencv"), bundled(runtime="onnxruntime")
    assert "on OpenCV DNN" in ocv.description and "on ONNX Runtime" in ort.description
    counts = []
    for frame in frames:
        a, b = ocv.detect(frame), ort.detect(frame)
        assert len(a) == len(b)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
        np.testing.assert_array_equal(a.classes, b.classes)
        counts.append(len(a))
    assert min(counts) >= 15  # the sample shows ~20 ants: the comparison is not between empty results


@pytest.mark.parametrize("size", [160, 320, 416])
def test_both_runtimes_agree_on_a_dynamic_model_at_any_input_size(tmp_path, size):
    torch = pytest.importorskip("torch")

    class Head(torch.nn.Module):  # a real conv net with a YOLOv8 head: [1, 4 + 2, N] for any input size
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1), torch.nn.SiLU(),
                                            torch.nn.Conv2d(8, 6, 3, 4, 1))

        def forward(self, x):
            y = self.body(x).flatten(2)  # [B, 6, N]
            xy = torch.sigmoid(y[:, :2]) * size
            wh = torch.sigmoid(y[:, 2:4]) * 40 + 4
            return torch.cat([xy, wh, torch.sigmoid(y[:, 4:] * 20)], 1)

    path = model_files.export_onnx(Head(), tmp_path / "head.onnx", (size, size), dynamic=True)
    frames = sample_frames(3)
    for frame in frames:
        a = YoloDetector(path, input_size=size, confidence=0.5, runtime="opencv").detect(frame)
        b = YoloDetector(path, input_size=size, confidence=0.5, runtime="onnxruntime").detect(frame)
        assert len(a) == len(b) > 0
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)


def test_track_gives_the_same_tracks_on_both_runtimes(tmp_path):
    tables = {}
    for runtime in ("opencv", "onnxruntime"):
        out = tmp_path / runtime
        assert main(["track", str(resources.sample_clip()), "--out", str(out), "--runtime", runtime]) == 0
        tables[runtime] = pd.read_csv(out / "ants_tracks.csv")
    a, b = tables["opencv"], tables["onnxruntime"]
    assert len(a) == len(b) > 4000
    np.testing.assert_array_equal(a[["track", "frame"]].to_numpy(), b[["track", "frame"]].to_numpy())
    assert np.abs(a[["x", "y"]].to_numpy() - b[["x", "y"]].to_numpy()).max() <= 0.01


# ------------------------------------------------------------------------------------ choosing
def test_auto_takes_onnx_runtime_for_onnx_and_opencv_for_darknet(tmp_path):
    assert runtimes.choose("auto", "auto", "ONNX") == ("onnxruntime", runtimes.ort_devices()[0])
    assert runtimes.choose("auto", "auto", "Darknet") == ("opencv", "cuda" if HAS_OPENCV_CUDA else "cpu")
    assert runtimes.choose("auto", "cpu", "ONNX") == ("onnxruntime", "cpu")
    cfg = tmp_path / "v4t.cfg"
    cfg.write_text(model_files.yolov4_tiny_cfg(classes=2, width=160, height=160))
    model_files.write_darknet_weights(cfg.read_text(), tmp_path / "v4t.weights")
    det = YoloDetector(cfg, input_size=160)
    assert det.runtime == "opencv" and " on OpenCV DNN, " in det.description
    assert bundled().runtime == "onnxruntime"


def test_onnx_runtime_refuses_darknet_files_and_points_to_the_converter(tmp_path):
    cfg = tmp_path / "v4t.cfg"
    cfg.write_text(model_files.yolov4_tiny_cfg(classes=2, width=160, height=160))
    model_files.write_darknet_weights(cfg.read_text(), tmp_path / "v4t.weights")
    with pytest.raises(OmniTraxError, match="ONNX Runtime runs .onnx models only: convert .*convert-darknet"):
        YoloDetector(cfg, runtime="onnxruntime")


@pytest.mark.parametrize("platform,devices", [("linux", ("cpu", "cuda", "opencl")),
                                              ("win32", ("cpu", "cuda", "directml", "opencl")),
                                              ("darwin", ("cpu", "coreml", "opencl"))])
def test_each_platform_offers_its_own_devices(platform, devices):
    assert runtimes.platform_devices(platform) == devices


def test_a_device_of_another_platform_is_a_clear_error():
    other = "coreml" if sys.platform != "darwin" else "directml"
    with pytest.raises(OmniTraxError, match=f"does not exist on this platform .*choose one of: auto, cpu"):
        runtimes.choose("auto", other, "ONNX")


@pytest.mark.skipif(HAS_ORT_GPU, reason="this ONNX Runtime has a GPU provider")
def test_cuda_on_a_cpu_only_onnx_runtime_names_the_package_to_install():
    with pytest.raises(OmniTraxError, match="no CUDA provider .*Install onnxruntime-gpu"):
        bundled(runtime="onnxruntime", backend="cuda")


@pytest.mark.skipif(HAS_ORT_GPU, reason="this ONNX Runtime has a GPU provider")
def test_a_gpu_provider_that_does_not_start_is_an_error_when_asked_for_and_a_reported_fallback_on_auto():
    path = resources.default_yolo_model()
    with pytest.raises(OmniTraxError, match="could not start CUDA"):
        runtimes.OrtEngine(path, "cuda")  # ORT without the CUDA provider runs on the CPU instead: we refuse
    det = bundled(runtime="onnxruntime")
    engine = det._onnx_engine(path, "onnxruntime", "cuda", auto=True, automatic_runtime=True)
    assert engine.device == "cpu" and "CUDA did not start" in det.fallback


def test_opencl_is_opencvs_device_only():
    with pytest.raises(OmniTraxError, match="ONNX Runtime has no OpenCL device"):
        runtimes.choose("onnxruntime", "opencl", "ONNX")
    if "opencl" in runtimes.opencv_devices():
        assert runtimes.choose("auto", "opencl", "ONNX") == ("opencv", "opencl")
    else:
        with pytest.raises(OmniTraxError, match="no OpenCL device"):
            runtimes.choose("auto", "opencl", "ONNX")


def test_without_onnx_runtime_auto_uses_opencv_and_asking_for_it_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what Python does when the package is absent
    assert runtimes.ort_devices() == []
    assert bundled().runtime == "opencv"
    with pytest.raises(OmniTraxError, match=r"ONNX Runtime is not installed: install it \(pip install "
                                            r"onnxruntime==1.32.0; Blender: Preferences"):
        bundled(runtime="onnxruntime")


def test_a_fixed_size_model_runs_on_opencv_at_other_sizes_and_onnx_runtime_says_so():
    det = bundled(input_size=640)  # the bundled model was exported for 416x416 only
    assert det.runtime == "opencv" and "ONNX Runtime runs 'ants_yolo.onnx' at 416x416 only" in det.description
    assert len(det.detect(sample_frames(1)[0])) > 0
    with pytest.raises(OmniTraxError, match="exported for input 416x416 only.*network size to 416x416"):
        bundled(input_size=640, runtime="onnxruntime")


def test_cli_errors_for_runtime_choices_are_one_line(tmp_path, capsys):
    code = main(["track", str(resources.sample_clip()), "--out", str(tmp_path), "--runtime", "onnxruntime",
                 "--size", "640"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "416x416 only" in err


# ------------------------------------------------------------------------------------ overlap
def test_ahead_keeps_order_and_stays_at_most_depth_ahead():
    produced = []

    def items():
        for i in range(50):
            produced.append(i)
            yield i

    got = []
    for item in ahead(items(), depth=3):
        got.append(item)
        assert len(produced) - len(got) <= 3 + 1  # the queue plus the one waiting to be put
    assert got == list(range(50))


def test_ahead_raises_the_producers_error_at_its_place():
    def items():
        yield 1
        yield 2
        raise OmniTraxError("frame 2 broke")

    got = []
    with pytest.raises(OmniTraxError, match="frame 2 broke"):
        for item in ahead(items(), depth=4):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_on_its_own_thread():
    closed = {}

    def items():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed["thread"] = threading.current_thread().name

    source = ahead(items(), depth=2, name="test-worker")
    assert next(source) == 0
    source.close()
    assert closed["thread"] == "test-worker"
    assert not any(t.name == "test-worker" for t in threading.enumerate())


def test_detection_is_overlapped_by_default_only_on_a_gpu():
    from omnitrax.tracking.pipeline import TrackingRun
    from omnitrax.tracking.settings import TrackingSettings

    run = TrackingRun(TrackingSettings(), str(resources.sample_clip()))
    next(run.steps())
    detecting_ahead = any(t.name == "omnitrax-detect" for t in threading.enumerate())
    run.close()
    assert detecting_ahead == run.detector.uses_gpu == (run.detector.engine.device != "cpu")


@pytest.mark.parametrize("detector", ["yolo", "background"])
def test_overlapped_pipeline_gives_exactly_the_tracks_of_the_sequential_one(detector):
    from omnitrax.tracking.pipeline import TrackingRun
    from omnitrax.tracking.settings import TrackingSettings

    results = []
    for overlap in (False, True):
        run = TrackingRun(TrackingSettings(detector=detector), str(resources.sample_clip()), stop=80,
                          overlap=overlap)
        results.append(run.run())
        run.close()
    a, b = results
    assert len(a) == len(b) > 1000
    np.testing.assert_array_equal(np.c_[a.track, a.frame, a.x, a.y], np.c_[b.track, b.frame, b.x, b.y])


def test_a_stopped_run_leaves_no_worker_threads():
    from omnitrax.tracking.pipeline import TrackingRun
    from omnitrax.tracking.settings import TrackingSettings

    run = TrackingRun(TrackingSettings(), str(resources.sample_clip()), overlap=True)
    steps = run.steps()
    for _ in range(30):
        next(steps)
    run.close()
    names = [t.name for t in threading.enumerate()]
    assert not any(n.startswith(("omnitrax-detect", "omnitrax-decode")) for n in names), names
    assert len(run.result()) > 0  # what was tracked before the stop is kept
