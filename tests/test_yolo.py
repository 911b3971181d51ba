"""YoloDetector on real OpenCV DNN with Darknet and ONNX models written by the tests.

Decoding is checked against networks whose outputs are known exactly: a Darknet net that averages the
image away and sets its [yolo] rows with conv biases, and ONNX graphs that output constant tensors.
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from omnitrax.detection import model_files
from omnitrax.detection.detections import Detections
from omnitrax.detection.yolo import YoloDetector
from omnitrax.errors import OmniTraxError

ROOT = Path(__file__).resolve().parents[1]
HAS_CUDA = len(cv2.dnn.getAvailableTargets(cv2.dnn.DNN_BACKEND_CUDA)) > 0
FRAME = np.full((320, 640, 3), 90, np.uint8)  # non-square: 640 wide, 320 high


def logit(p):
    return float(np.log(p / (1 - p)))


def write_const_darknet(folder, anchors, rows, classes=1, name="const"):
    """A Darknet net with one grid cell whose [yolo] rows are set by biases.

    rows: per anchor (sigmoid(tx), sigmoid(ty), tw, th, objectness, class probabilities...).
    """
    cfg = folder / f"{name}.cfg"
    cfg.write_text(model_files.constant_cfg(anchors, classes))
    bias = []
    for sx, sy, tw, th, obj, *probs in rows:
        bias += [logit(sx), logit(sy), tw, th, logit(obj)] + [logit(p) for p in probs]
    head = {"bias": bias, "weight": np.zeros(len(bias) * 3)}
    model_files.write_darknet_weights(cfg.read_text(), folder / f"{name}.weights", [head])
    return cfg, folder / f"{name}.weights"


class Constant:
    """torch module factory: an ONNX graph whose output is `value` for every image in the batch."""

    @staticmethod
    def export(path, value, dynamic=True):
        torch = pytest.importorskip("torch")  # absent from the Python 3.13 venv: those tests skip there

        class Const(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("value", torch.as_tensor(np.asarray(value, np.float32))[None])

            def forward(self, x):
                return x.mean(dim=(1, 2, 3)).view(-1, 1, 1) * 0 + self.value

        return model_files.export_onnx(Const(), path, (64, 64), dynamic=dynamic)


def v5_rows(boxes, n_rows=100):
    """[N, 5+C] YOLOv5 rows (cx, cy, w, h, obj, cls...) padded with empty rows to n_rows."""
    rows = np.zeros((n_rows, len(boxes[0])), np.float32)
    rows[:len(boxes)] = boxes
    return rows


# Boxes in 320x320 network pixels: (cx, cy, w, h, obj, p(class a), p(class b)).
KNOWN = [
    (100, 160, 40, 20, 0.9, 0.9, 0.1),  # A: class 0, score 0.81
    (102, 161, 40, 20, 0.8, 0.9, 0.1),  # duplicate of A with a lower score: removed by NMS
    (104, 160, 40, 20, 0.9, 0.1, 0.8),  # B: overlaps A but is class 1: kept (class-aware NMS)
    (250, 100, 60, 30, 0.3, 1.0, 0.0),  # below confidence
    (200, 40, 40, 20, 0.9, 0.9, 0.0),   # in the letterbox padding: centre outside the frame
]


@pytest.fixture(scope="module")
def v5_model(tmp_path_factory):
    return Constant.export(tmp_path_factory.mktemp("v5") / "v5.onnx", v5_rows(KNOWN))


@pytest.fixture(scope="module")
def v8_model(tmp_path_factory):
    rows = v5_rows(KNOWN)
    v8 = np.hstack([rows[:, :4], rows[:, 4:5] * rows[:, 5:]]).T  # [4+C, N], scores without objectness
    return Constant.export(tmp_path_factory.mktemp("v8") / "v8.onnx", v8)


# ------------------------------------------------------------------------------------ decoding
@pytest.mark.parametrize("layout_fixture", ["v5_model", "v8_model"])
def test_onnx_boxes_land_exactly_in_the_frame_with_letterbox(layout_fixture, request):
    det = YoloDetector(request.getfixturevalue(layout_fixture), input_size=320)
    assert det.layout == ("yolov5" if layout_fixture == "v5_model" else "yolov8")
    assert det.num_classes == 2 and det.letterbox
    d = det.detect(FRAME)
    # letterbox: scale 0.5, the 640x320 frame becomes 320x160 placed 80 px down
    order = np.argsort(d.classes)
    np.testing.assert_allclose(d.boxes[order], [[160, 140, 80, 40], [168, 140, 80, 40]], atol=1e-3)
    np.testing.assert_allclose(d.xy[order], [[200, 160], [208, 160]], atol=1e-3)
    np.testing.assert_allclose(d.scores[order], [0.81, 0.72], atol=1e-5)
    assert d.classes[order].tolist() == [0, 1]


def test_onnx_boxes_land_exactly_in_the_frame_with_stretch(v5_model):
    d = YoloDetector(v5_model, input_size=320, letterbox=False).detect(FRAME)
    # stretch: x scale 0.5, y scale 1; the box at cy=40 is now inside the frame
    order = np.lexsort((d.classes, d.boxes[:, 1]))
    np.testing.assert_allclose(d.boxes[order], [[360, 30, 80, 20], [160, 150, 80, 20], [168, 150, 80, 20]],
                               atol=1e-3)
    assert d.classes[order].tolist() == [0, 0, 1]


def test_darknet_box_lands_exactly_in_the_frame(tmp_path):
    # one anchor 40x24 px, centre at (0.25, 0.6) of the network input, score 0.9 * 0.95
    cfg, weights = write_const_darknet(tmp_path, [(40, 24)], [(0.25, 0.6, 0, 0, 0.9, 0.95)])
    stretch = YoloDetector(cfg, weights, input_size=320)
    assert not stretch.letterbox and stretch.layout == "darknet"
    d = stretch.detect(FRAME)
    np.testing.assert_allclose(d.boxes, [[120, 180, 80, 24]], atol=1e-3)  # net box (80, 192, 40, 24)
    np.testing.assert_allclose(d.scores, [0.855], atol=1e-5)
    d = YoloDetector(cfg, weights, input_size=320, letterbox=True).detect(FRAME)
    np.testing.assert_allclose(d.boxes, [[120, 200, 80, 48]], atol=1e-3)
    np.testing.assert_allclose(d.xy, [[160, 224]], atol=1e-3)


@pytest.mark.parametrize("size", [320, 416, 640, (640, 320)])
def test_input_size_changes_without_touching_the_files(tmp_path, size):
    cfg, weights = write_const_darknet(tmp_path, [(40, 24)], [(0.25, 0.6, 0, 0, 0.9, 0.95)])
    before = [hashlib.sha1(p.read_bytes()).hexdigest() for p in (cfg, weights)]
    det = YoloDetector(cfg, weights, input_size=size)
    w, h = (size, size) if np.isscalar(size) else size
    assert f"{w}x{h}" in det.description
    d = det.detect(FRAME)
    # stretch: the centre is a fixed fraction of the frame, the anchor scales with frame / input
    np.testing.assert_allclose(d.xy, [[160, 192]], atol=1e-3)
    np.testing.assert_allclose(d.boxes[:, 2:], [[40 * 640 / w, 24 * 320 / h]], atol=1e-3)
    assert [hashlib.sha1(p.read_bytes()).hexdigest() for p in (cfg, weights)] == before


def test_darknet_nms_removes_duplicates_and_keeps_separate_boxes(tmp_path):
    same = [(0.5, 0.5, 0, 0, 0.9, 0.9), (0.51, 0.5, 0, 0, 0.8, 0.9), (0.5, 0.51, 0, 0, 0.7, 0.9)]
    cfg, weights = write_const_darknet(tmp_path, [(60, 60)] * 3, same, name="same")
    d = YoloDetector(cfg, weights, input_size=320).detect(FRAME)
    np.testing.assert_allclose(d.scores, [0.81], atol=1e-5)
    assert len(YoloDetector(cfg, weights, input_size=320, nms=1.0).detect(FRAME)) == 3

    apart = [(0.2, 0.5, 0, 0, 0.9, 0.9), (0.5, 0.5, 0, 0, 0.8, 0.9), (0.8, 0.5, 0, 0, 0.7, 0.9)]
    cfg, weights = write_const_darknet(tmp_path, [(60, 60)] * 3, apart, name="apart")
    d = YoloDetector(cfg, weights, input_size=320).detect(FRAME)
    np.testing.assert_allclose(np.sort(d.xy[:, 0]), [128, 320, 512], atol=1e-3)


def test_confidence_threshold(v5_model):
    assert len(YoloDetector(v5_model, input_size=320, confidence=0.75).detect(FRAME)) == 1  # A only
    assert len(YoloDetector(v5_model, input_size=320, confidence=0.25).detect(FRAME)) == 3  # + the 0.3 one


def test_class_filter_by_id_and_by_name(v5_model, tmp_path):
    d = YoloDetector(v5_model, input_size=320, classes=[1]).detect(FRAME)
    assert d.classes.tolist() == [1]
    names = tmp_path / "two.names"
    names.write_text("ant\nbee\n")
    det = YoloDetector(v5_model, input_size=320, classes=["ant"], names_path=names)
    assert det.detect(FRAME).classes.tolist() == [0]
    assert det.names == ["ant", "bee"] and det.class_name(1) == "bee"


SIZED = [(60, 100, 10, 10, 1, 1), (160, 100, 40, 30, 1, 1), (260, 160, 100, 90, 1, 1)]  # net px


@pytest.fixture(scope="module")
def sized_model(tmp_path_factory):
    return Constant.export(tmp_path_factory.mktemp("sized") / "sized.onnx", v5_rows(SIZED))


def test_min_and_max_size_filter_by_box_sides(sized_model):
    frame = np.zeros((320, 320, 3), np.uint8)  # same size as the input: boxes unchanged
    d = YoloDetector(sized_model, input_size=320).detect(frame)
    assert len(d) == 3
    d = YoloDetector(sized_model, input_size=320, min_size=20, max_size=60).detect(frame)
    np.testing.assert_allclose(d.boxes, [[140, 85, 40, 30]])


def test_constant_size_replaces_boxes_around_the_same_centres(sized_model):
    frame = np.zeros((320, 320, 3), np.uint8)
    d = YoloDetector(sized_model, input_size=320, constant_size=30).detect(frame)
    order = np.argsort(d.xy[:, 0])
    np.testing.assert_allclose(d.xy[order], [[60, 100], [160, 100], [260, 160]])
    np.testing.assert_allclose(d.boxes[order], [[45, 85, 30, 30], [145, 85, 30, 30], [245, 145, 30, 30]])


def test_mask_filters_detections(sized_model):
    from omnitrax.detection.masks import RegionMask

    # keep the left half, but cut a hole around the first animal's centre (60, 100): nothing is left
    left = RegionMask(include=[[[0, 0], [160, 0], [160, 320], [0, 320]]])
    d = YoloDetector(sized_model, input_size=320, mask=left).detect(np.zeros((320, 320, 3), np.uint8))
    np.testing.assert_allclose(d.xy, [[60, 100]])
    holed = RegionMask(include=left.include, exclude=[[[50, 90], [70, 90], [70, 110], [50, 110]]])
    d = YoloDetector(sized_model, input_size=320, mask=holed).detect(np.zeros((320, 320, 3), np.uint8))
    assert len(d) == 0


# ------------------------------------------------------------------------------------ layouts
def test_layout_heuristic_uses_the_grid_count_when_classes_outnumber_boxes(tmp_path):
    # At 32x32 a YOLOv8 head has 16+4+1 = 21 cells: [1, 84, 21] has boxes on the last (shorter) axis,
    # and a YOLOv5 head has 3*21 = 63 rows: [1, 63, 85] has boxes on the middle (shorter) axis.
    v8 = Constant.export(tmp_path / "v8.onnx", np.zeros((84, 21)))
    det = YoloDetector(v8, input_size=32)
    assert (det.layout, det.num_classes) == ("yolov8", 80)
    v5 = Constant.export(tmp_path / "v5.onnx", np.zeros((63, 85)))
    det = YoloDetector(v5, input_size=32)
    assert (det.layout, det.num_classes) == ("yolov5", 80)


def test_names_file_decides_between_v5_and_transposed_v8_rows(tmp_path):
    model = Constant.export(tmp_path / "rows.onnx", v5_rows([(100, 100, 20, 20, 0.6, 0.7)]))
    assert YoloDetector(model, input_size=320).layout == "yolov5"
    names = tmp_path / "two.names"
    names.write_text("a\nb\n")
    det = YoloDetector(model, input_size=320, names_path=names)  # 6 values = 4 + 2 classes
    assert (det.layout, det.num_classes) == ("yolov8", 2)
    d = det.detect(np.zeros((320, 320, 3), np.uint8))
    np.testing.assert_allclose(d.scores, [0.7], atol=1e-6)  # max of (0.6, 0.7), no objectness product
    forced = YoloDetector(model, input_size=320, names_path=None, layout="yolov8")
    assert forced.num_classes == 2


def test_random_weight_yolov3_tiny_and_yolov4_tiny_run_at_several_sizes(tmp_path):
    for name, cfg_text in [("yolov3-tiny", model_files.yolov3_tiny_cfg(classes=2, base=4)),
                           ("yolov4-tiny", model_files.yolov4_tiny_cfg(classes=3))]:
        cfg = tmp_path / f"{name}.cfg"
        cfg.write_text(cfg_text)
        model_files.write_darknet_weights(cfg_text, tmp_path / f"{name}.weights", seed=1)
        for size in (320, 416):
            det = YoloDetector(cfg, input_size=size, confidence=0.2)  # weights found beside the cfg
            backend = "CUDA" if HAS_CUDA else "CPU"
            assert det.description == f"YOLO (Darknet {name}, {size}x{size}, stretch) on OpenCV DNN, {backend}"
            assert det.num_classes == (2 if name == "yolov3-tiny" else 3)
            d = det.detect(FRAME)
            assert isinstance(d, Detections) and np.isfinite(d.boxes).all()
            assert ((d.scores >= 0.2) & (d.scores <= 1)).all()


def test_weight_count_matches_published_darknet_files():
    # yolov4-tiny.weights / yolov3-tiny.weights (80 classes) are 24,251,276 / 35,434,956 bytes
    assert model_files.header_size(0, 2) + 4 * model_files.weight_count(model_files.yolov4_tiny_cfg(80)) == 24251276
    assert model_files.header_size(0, 2) + 4 * model_files.weight_count(model_files.yolov3_tiny_cfg(80)) == 35434956


# ------------------------------------------------------------------------------------ batches
def test_detect_batch_is_one_forward_and_matches_detect(tmp_path, v8_model):
    cfg, weights = write_const_darknet(tmp_path, [(40, 24)], [(0.25, 0.6, 0, 0, 0.9, 0.95)])
    frames = [FRAME, np.zeros((240, 320, 3), np.uint8), np.zeros((480, 480, 3), np.uint8)]
    for det in (YoloDetector(cfg, weights, input_size=320), YoloDetector(v8_model, input_size=320)):
        batch = det.detect_batch(frames)
        assert det.batch_supported is True
        for frame, got in zip(frames, batch):
            want = det.detect(frame)
            np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-4)
            np.testing.assert_allclose(got.scores, want.scores, atol=1e-6)


def test_fixed_batch_onnx_falls_back_to_one_frame_at_a_time(tmp_path):
    torch = pytest.importorskip("torch")

    class FixedBatch(torch.nn.Module):  # reshape to batch 1: OpenCV folds a batch of 2 into other axes
        def forward(self, x):
            rows = torch.tensor([[30.0, 30.0, 10.0, 10.0, 0.9, 0.9]]).repeat(64, 1)
            return (x.mean() * 0 + rows).reshape(1, 64, 6)

    path = model_files.export_onnx(FixedBatch(), tmp_path / "fixed.onnx", (64, 64), dynamic=False)
    det = YoloDetector(path, input_size=64)
    result = det.detect_batch([np.zeros((64, 64, 3), np.uint8)] * 3)
    assert det.batch_supported is False
    assert [len(d) for d in result] == [1, 1, 1]
    np.testing.assert_allclose(result[2].boxes, [[25, 25, 10, 10]], atol=1e-4)


# ------------------------------------------------------------------------------------ backend
def test_backend_is_reported(v5_model):
    det = YoloDetector(v5_model, input_size=320, runtime="opencv")
    assert det.backend == ("CUDA" if HAS_CUDA else "CPU")
    assert det.description.endswith(f"on OpenCV DNN, {det.backend}")
    assert YoloDetector(v5_model, input_size=320, backend="cpu", runtime="opencv").backend == "CPU"


@pytest.mark.skipif(HAS_CUDA, reason="this OpenCV has CUDA")
def test_cuda_without_cuda_is_a_clear_error(v5_model):
    with pytest.raises(OmniTraxError, match="no CUDA support"):
        YoloDetector(v5_model, backend="cuda", runtime="opencv")


# ------------------------------------------------------------------------------------ bad input
def test_missing_files(tmp_path):
    with pytest.raises(OmniTraxError, match="file not found"):
        YoloDetector(tmp_path / "nope.onnx")
    cfg = tmp_path / "lonely.cfg"
    cfg.write_text(model_files.constant_cfg([(10, 10)]))
    with pytest.raises(OmniTraxError, match="No weights for 'lonely.cfg'"):
        YoloDetector(cfg)
    with pytest.raises(OmniTraxError, match="file not found"):
        YoloDetector(cfg, tmp_path / "other.weights")


def test_weights_without_cfg(tmp_path):
    cfg, weights = write_const_darknet(tmp_path, [(10, 10)], [(0.5, 0.5, 0, 0, 0.9, 0.9)])
    cfg.unlink()
    with pytest.raises(OmniTraxError, match=r"weights only.*\.cfg"):
        YoloDetector(weights)


def test_weights_picked_as_model_with_cfg_as_weights_still_load(tmp_path):
    cfg, weights = write_const_darknet(tmp_path, [(40, 24)], [(0.25, 0.6, 0, 0, 0.9, 0.95)])
    assert len(YoloDetector(weights, cfg, input_size=320).detect(FRAME)) == 1


def test_weights_of_another_cfg(tmp_path):
    cfg, weights = write_const_darknet(tmp_path, [(10, 10)], [(0.5, 0.5, 0, 0, 0.9, 0.9)])
    cfg.write_text(model_files.constant_cfg([(10, 10)], classes=3))  # now expects more weights
    with pytest.raises(OmniTraxError, match="does not fit 'const.cfg'"):
        YoloDetector(cfg, weights)


def test_invalid_cfg(tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("this is not a cfg\n")
    (tmp_path / "bad.weights").write_bytes(b"\0" * 20)
    with pytest.raises(OmniTraxError, match="not a valid Darknet .cfg"):
        YoloDetector(cfg)


@pytest.mark.parametrize("runtime,words", [("opencv", "OpenCV cannot read the ONNX model 'bad.onnx'"),
                                           ("onnxruntime", "ONNX Runtime cannot load 'bad.onnx'")])
def test_unreadable_onnx(tmp_path, runtime, words):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(OmniTraxError, match=words):
        YoloDetector(bad, runtime=runtime)


def test_unknown_suffix(tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"x")
    with pytest.raises(OmniTraxError, match="not a YOLO model"):
        YoloDetector(model)


def test_external_data_onnx_is_refused_before_opencv_loads_it_and_runs_on_onnx_runtime(tmp_path, v5_model):
    import onnx
    path = tmp_path / "ext.onnx"
    onnx.save_model(onnx.load(str(v5_model)), str(path), save_as_external_data=True,
                    location="ext.onnx.data", size_threshold=0)
    # OpenCV 4.x dies with SIGFPE on this file: run in a child so a regression cannot kill the suite
    code = ("from omnitrax.detection.yolo import YoloDetector\n"
            f"YoloDetector({str(path)!r}, runtime='opencv')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 1, run.stderr[-500:]
    assert "separate .onnx.data file" in run.stderr and "save_as_external_data=False" in run.stderr
    got = YoloDetector(path, input_size=320, runtime="onnxruntime").detect(FRAME)
    want = YoloDetector(v5_model, input_size=320, runtime="opencv").detect(FRAME)
    np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-3)


def test_input_size_not_multiple_of_32(v5_model):
    for size in (300, (320, 250), 0):
        with pytest.raises(OmniTraxError, match="multiple of 32"):
            YoloDetector(v5_model, input_size=size)


def test_unknown_output_layout(tmp_path):
    torch = pytest.importorskip("torch")

    path = model_files.export_onnx(torch.nn.Conv2d(3, 4, 3, padding=1), tmp_path / "conv.onnx", (64, 64))
    with pytest.raises(OmniTraxError, match=r"Cannot decode the output of 'conv'.*\[1, 4\+C, N\]"):
        YoloDetector(path, input_size=64)


def test_fixed_input_size_model_at_another_size(tmp_path):
    torch = pytest.importorskip("torch")

    path = model_files.export_onnx(torch.nn.Sequential(torch.nn.Conv2d(3, 6, 8, stride=8), torch.nn.Flatten(2),
                                                       torch.nn.Unflatten(2, (1, 64)), torch.nn.Flatten(2)),
                                   tmp_path / "fixed.onnx", (64, 64), dynamic=False)
    YoloDetector(path, input_size=64, layout="yolov8")
    with pytest.raises(OmniTraxError, match="cannot run at input size 96x64"):
        YoloDetector(path, input_size=(96, 64))


def test_names_file_problems(v5_model, tmp_path):
    with pytest.raises(OmniTraxError, match="file not found"):
        YoloDetector(v5_model, names_path=tmp_path / "none.names")
    four = tmp_path / "four.names"
    four.write_text("a\nb\nc\nd\n")
    with pytest.raises(OmniTraxError, match="lists 4 classes but 'v5' predicts 2"):
        YoloDetector(v5_model, names_path=four)
    with pytest.raises(OmniTraxError, match="Class id 5 does not exist"):
        YoloDetector(v5_model, classes=[5])
