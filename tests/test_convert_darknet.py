"""The Darknet -> ONNX converter (omnitrax.detection.darknet_onnx, `omnitrax convert-darknet`) against
OpenCV's own Darknet reader, on random-weight models written here and frames of the sample video.

The random weights keep activations at a steady scale (He init) and give the heads an objectness that
varies with the image, so a usual confidence keeps some tens of boxes per frame.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from omnitrax.cli import main
from omnitrax.detection import darknet_onnx, model_files, onnx_proto
from omnitrax.detection.yolo import YoloDetector
from omnitrax.errors import OmniTraxError

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "data" / "sample" / "ants.avi"


def conv(filters, size=3, stride=1, activation="leaky", bn=True):
    options = {"filters": filters, "size": size, "stride": stride, "pad": 1, "activation": activation}
    return ("convolutional", {"batch_normalize": 1, **options} if bn else options)


def head(classes, activation="linear"):
    return conv(3 * (5 + classes), size=1, activation=activation, bn=False)


def yolo(mask, classes, **options):
    anchors = "10,14, 23,27, 37,58, 81,82, 135,169, 344,319"
    return ("yolo", {"mask": ",".join(map(str, mask)), "anchors": anchors, "classes": classes, "num": 6, **options})


def full_layers_cfg(classes=2, width=160, height=128) -> str:
    """A small net with the YOLOv4 parts the tiny models lack: mish and swish, a residual shortcut, an
    SPP block (maxpools 5/9/13, stride 1), a grouped route, upsampling, scale_x_y."""
    layers = [conv(16, activation="mish"), conv(32, stride=2, activation="mish"),
              conv(16, 1, activation="mish"), conv(32, activation="mish"),
              ("shortcut", {"from": -3, "activation": "linear"}),                   # 4
              conv(64, stride=2, activation="swish"), conv(64, stride=2), conv(32, 1),  # 5-7
              ("maxpool", {"size": 5, "stride": 1}), ("route", {"layers": -2}),
              ("maxpool", {"size": 9, "stride": 1}), ("route", {"layers": -4}),
              ("maxpool", {"size": 13, "stride": 1}), ("route", {"layers": "-1,-3,-5,-6"}),  # 13
              conv(64, 1), ("route", {"layers": -1, "groups": 2, "group_id": 1}), conv(64, stride=2),
              ("dropout", {"probability": 0.1}),                                       # 17
              head(classes), yolo((3, 4, 5), classes, scale_x_y=1.1),
              ("route", {"layers": -5}), conv(32, 1), ("upsample", {"stride": 2}),
              ("route", {"layers": "-1, 5"}), conv(64), head(classes), yolo((0, 1, 2), classes, scale_x_y=1.2)]
    return model_files.cfg_text({"width": width, "height": height, "channels": 3}, layers)


def new_coords_cfg(classes=1) -> str:
    """Scaled-YOLOv4 heads: logistic head convs and [yolo] new_coords=1 (w = (2 t)^2 anchor)."""
    layers = [conv(16, stride=2), conv(32, stride=2), conv(32, stride=2), conv(64, stride=2), conv(64, stride=2),
              head(classes, "logistic"), yolo((3, 4, 5), classes, scale_x_y=2.0, new_coords=1)]
    return model_files.cfg_text({"width": 128, "height": 128, "channels": 3}, layers)


def random_weights(cfg_text: str, path, seed=0, obj_gain=3.0, obj_bias=-2.0, bn_scale=(0.5, 1.5)) -> None:
    """He-initialised conv weights and random batch norms (scales drawn from bn_scale); the convs that
    feed a [yolo] layer get small box weights and a strong, negatively biased objectness, so objectness
    ranges from ~0 to ~1 across the image."""
    sections = model_files.parse_cfg(cfg_text)[1:]
    feeds_head = [kind == "convolutional" and i + 1 < len(sections) and sections[i + 1][0] == "yolo"
                  for i, (kind, _) in enumerate(sections) if kind == "convolutional"]
    rng = np.random.default_rng(seed)
    arrays = []
    for c, is_head in zip(model_files.conv_layers(cfg_text), feeds_head):
        shape = (c["filters"], c["channels"] // c["groups"], c["size"], c["size"])
        weight = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
        if not is_head:
            arrays.append({"weight": weight, "mean": rng.normal(0, 0.1, shape[0]),
                           "var": rng.uniform(0.5, 2.0, shape[0]), "scale": rng.uniform(*bn_scale, shape[0])}
                          if c["batch_normalize"] else {"weight": weight})
            continue
        gain, bias = np.full((3, shape[0] // 3), 0.3), np.zeros((3, shape[0] // 3))
        gain[:, 4], bias[:, 4] = obj_gain, obj_bias
        arrays.append({"weight": weight * gain.reshape(-1, 1, 1, 1), "bias": bias.ravel()})
    model_files.write_darknet_weights(cfg_text, path, arrays)


def write_model(folder: Path, name: str, cfg_text: str, **weights_options) -> tuple[Path, Path]:
    cfg, weights = folder / f"{name}.cfg", folder / f"{name}.weights"
    cfg.write_text(cfg_text)
    random_weights(cfg_text, weights, **weights_options)
    return cfg, weights


@pytest.fixture(scope="module")
def frames():
    """Three frames of the sample video (640x480 ants), spread over it."""
    cap = cv2.VideoCapture(str(VIDEO))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for index in (0, count // 2, count - 1):
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
        assert ok, f"cannot read frame {index} of {VIDEO}"
        out.append(frame)
    cap.release()
    return out


def onnx_detector(path, runtime="opencv", **options) -> YoloDetector:
    """YoloDetector on the converted file, stretched like Darknet, on the runtime asked for."""
    try:
        return YoloDetector(path, letterbox=False, runtime=runtime, **options)
    except TypeError:  # a YoloDetector without a runtime choice runs OpenCV DNN only
        if runtime != "opencv":
            pytest.skip("this YoloDetector has no runtime choice")
        return YoloDetector(path, letterbox=False, **options)


def box_differences(a, b) -> float:
    """Largest coordinate difference (px) between two detection sets matched one to one by nearest box."""
    assert len(a) == len(b), (len(a), len(b))
    if not len(a):
        return 0.0
    distance = np.abs(a.boxes[:, None, :] - b.boxes[None, :, :]).max(axis=2)
    nearest = distance.argmin(axis=1)
    assert len(set(nearest.tolist())) == len(a), "two boxes matched the same box"
    np.testing.assert_array_equal(a.classes, b.classes[nearest])
    np.testing.assert_allclose(a.scores, b.scores[nearest], atol=1e-4)
    return float(distance[np.arange(len(a)), nearest].max())


def compare_detections(cfg, weights, onnx_path, frames, size, confidence, runtime="opencv"):
    """(detections per frame, largest box difference px); fails when a count differs or a box is 0.5 px off."""
    darknet = YoloDetector(cfg, weights, input_size=size, confidence=confidence)
    converted = onnx_detector(onnx_path, runtime, input_size=size, confidence=confidence)
    assert converted.layout == "yolov5" and converted.num_classes == darknet.num_classes
    assert getattr(converted, "runtime", "opencv") == runtime, converted.description
    counts, worst = [], 0.0
    for frame in frames:
        a, b = darknet.detect(frame), converted.detect(frame)
        worst = max(worst, box_differences(a, b))
        counts.append(len(a))
    assert worst < 0.5, worst
    return counts, worst


MODELS = {  # name: (cfg text, input size, confidence that keeps some tens of boxes, random_weights options)
    "yolov4-tiny": (model_files.yolov4_tiny_cfg(classes=3, width=320, height=320), (320, 320), 0.45, {}),
    "yolov3-tiny": (model_files.yolov3_tiny_cfg(classes=2, width=320, height=256, base=8), (320, 256), 0.3, {}),
    # its deeper features vary less over these frames: a stronger objectness
    "full-layers": (full_layers_cfg(), (160, 128), 0.25, {"obj_gain": 10.0, "obj_bias": -4.0}),
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Each model of MODELS written with random weights and converted through the CLI."""
    folder = tmp_path_factory.mktemp("convert")
    out = {}
    for name, (text, _, _, options) in MODELS.items():
        cfg, weights = write_model(folder, name, text, **options)
        onnx_path = folder / f"{name}.onnx"
        assert main(["convert-darknet", str(cfg), str(weights), str(onnx_path)]) == 0
        out[name] = cfg, weights, onnx_path
    return out


# ----------------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_converted_model_detects_what_opencvs_darknet_reader_detects(name, converted, frames):
    _, size, confidence, _ = MODELS[name]
    counts, worst = compare_detections(*converted[name], frames, size, confidence)
    assert min(counts) >= 15, counts  # a useful number of boxes to compare
    print(f"{name}: detections per frame {counts}, largest box difference {worst:.2g} px")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_converted_model_detects_the_same_on_onnxruntime(name, converted, frames):
    pytest.importorskip("onnxruntime")
    _, size, confidence, _ = MODELS[name]
    counts, worst = compare_detections(*converted[name], frames, size, confidence, runtime="onnxruntime")
    print(f"{name} on ONNX Runtime: detections per frame {counts}, largest box difference {worst:.2g} px")


def raw_rows(cfg, weights, onnx_path, blob):
    """(OpenCV Darknet rows, converted rows brought to OpenCV's form) for one input blob.

    OpenCV's rows are per head (cell, anchor), normalised boxes, class probability * objectness zeroed
    below 0.2; the converted rows are per head (anchor, cell), pixels, plain class probabilities."""
    darknet = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    darknet.setInput(blob)
    reference = darknet.forward(darknet.getUnconnectedOutLayersNames())
    net = cv2.dnn.readNetFromONNX(str(onnx_path))
    net.setInput(blob)
    rows = net.forward()[0]
    h, w = blob.shape[2:]
    mine, start = [], 0
    for ref in reference:
        n = len(ref)
        part = rows[start:start + n].reshape(3, n // 3, -1).transpose(1, 0, 2).reshape(n, -1).copy()
        start += n
        part[:, [0, 2]] /= w
        part[:, [1, 3]] /= h
        probs = part[:, 4:5] * part[:, 5:]
        part[:, 5:] = np.where(probs > 0.2, probs, 0)
        mine.append(part)
    assert start == len(rows)
    return np.concatenate(reference), np.concatenate(mine)


@pytest.mark.parametrize("cfg_text", [full_layers_cfg(), new_coords_cfg(), model_files.constant_cfg([(30, 20)] * 3, 2)],
                         ids=["shortcut-spp-mish-swish-groups-upsample", "new-coords", "avgpool"])
def test_every_output_value_equals_opencvs_darknet_reader(cfg_text, tmp_path, frames):
    cfg, weights = write_model(tmp_path, "net", cfg_text, seed=3)
    onnx_path = darknet_onnx.convert(cfg, weights, tmp_path / "net.onnx").path
    net = model_files.parse_cfg(cfg_text)[0][1]
    w, h = int(net["width"]), int(net["height"])
    blob = cv2.dnn.blobFromImage(frames[1], 1 / 255.0, (w, h), swapRB=True)
    reference, mine = raw_rows(cfg, weights, onnx_path, blob)
    assert np.abs(mine[:, :4] - reference[:, :4]).max() * max(w, h) < 0.01  # px
    assert np.abs(mine[:, 4:] - reference[:, 4:]).max() < 1e-4
    assert reference[:, 4].std() > 0.01 or len(reference) <= 3  # the values vary: a real comparison


# ----------------------------------------------------------------------------------- the file
def test_the_file_is_valid_onnx_with_a_free_batch_and_the_cfg_size(converted):
    onnx = pytest.importorskip("onnx")  # a dev dependency (absent from the Python 3.13 venv)
    _, _, path = converted["yolov4-tiny"]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 320, 320]
    assert {p.key: p.value for p in model.metadata_props} == {"source": "darknet", "letterbox": "0"}
    out = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out == ["batch", 3 * (10 * 10 + 20 * 20), 8]


def test_the_reader_gives_the_input_shape_and_metadata_without_the_onnx_package(converted):
    _, _, path = converted["yolov3-tiny"]
    assert onnx_proto.read_input_shape(path) == ("batch", 3, 256, 320)
    assert onnx_proto.read_metadata(path) == {"source": "darknet", "letterbox": "0"}


def test_a_batch_of_frames_is_one_forward_with_the_same_detections(converted, frames):
    _, _, path = converted["yolov4-tiny"]
    det = onnx_detector(path, input_size=320, confidence=0.45)
    batch = det._batched_forward(frames)
    assert batch is not None and det.batch_supported is True
    outputs, geometry = batch
    for i, frame in enumerate(frames):
        assert box_differences(det.decode(det._rows(outputs, i), frame.shape, geometry[i]), det.detect(frame)) < 1e-3


def test_size_option_sets_the_input_and_still_matches_darknet(tmp_path, frames):
    cfg, weights = write_model(tmp_path, "tiny", MODELS["yolov4-tiny"][0])
    out = tmp_path / "tiny416.onnx"
    assert main(["convert-darknet", str(cfg), str(weights), str(out), "--size", "416", "384"]) == 0
    assert onnx_proto.read_input_shape(out) == ("batch", 3, 384, 416)
    counts, _ = compare_detections(cfg, weights, out, frames[:1], (416, 384), 0.45)
    assert counts[0] > 0


def test_letterbox_and_class_names_are_written_as_metadata(tmp_path, capsys):
    text = model_files.yolov3_tiny_cfg(classes=2, width=160, height=160, base=2).replace("[net]", "[net]\nletter_box=1")
    cfg, weights = write_model(tmp_path, "lb", text)
    (tmp_path / "lb.names").write_text("worker\nsoldier\n")
    conversion = darknet_onnx.convert(cfg, weights, tmp_path / "lb.onnx")
    assert onnx_proto.read_metadata(tmp_path / "lb.onnx") == {
        "source": "darknet", "letterbox": "1", "names": json.dumps(["worker", "soldier"])}
    assert conversion.letterbox and conversion.names == ["worker", "soldier"]
    given = tmp_path / "other.txt"
    given.write_text("ant\nqueen\n")
    assert main(["convert-darknet", str(cfg), str(weights), str(tmp_path / "n.onnx"), "--names", str(given)]) == 0
    assert json.loads(onnx_proto.read_metadata(tmp_path / "n.onnx")["names"]) == ["ant", "queen"]
    assert "Wrote" in capsys.readouterr().out


def test_metadata_of_files_without_any_and_of_files_that_are_not_onnx(tmp_path):
    bare = tmp_path / "bare.onnx"
    x = onnx_proto.value_info("x", [1, 2])
    bare.write_bytes(onnx_proto.model([onnx_proto.node("Identity", ["x"], ["y"])], [], [x],
                                      [onnx_proto.value_info("y", [1, 2])]))
    assert onnx_proto.read_metadata(bare) == {}
    assert onnx_proto.read_input_shape(bare) == (1, 2)
    for name, data in [("text.onnx", b"hello, this is not a model\n"), ("empty.onnx", b""),
                       ("cut.onnx", bare.read_bytes()[:-3])]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(OmniTraxError, match=f"'{name}' is not an ONNX model"):
            onnx_proto.read_metadata(tmp_path / name)
    with pytest.raises(OmniTraxError, match="file not found"):
        onnx_proto.read_metadata(tmp_path / "missing.onnx")


def test_metadata_of_a_model_made_by_the_onnx_package(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, 64, 64])],
                              [helper.make_tensor("w", TensorProto.FLOAT, [1], [0.5])])
    model = helper.make_model(graph)
    onnx.save(model, str(tmp_path / "plain.onnx"))
    assert onnx_proto.read_metadata(tmp_path / "plain.onnx") == {}
    assert onnx_proto.read_input_shape(tmp_path / "plain.onnx") == ("n", 3, 64, 64)
    helper.set_model_props(model, {"stride": "32", "names": "{0: 'ant'}"})
    onnx.save(model, str(tmp_path / "props.onnx"))
    assert onnx_proto.read_metadata(tmp_path / "props.onnx") == {"stride": "32", "names": "{0: 'ant'}"}


# ----------------------------------------------------------------------------------- errors
def _unsupported(text):
    return text.replace("[upsample]", "[reorg]")


ERRORS = {  # case: (what to change, expected words)
    "unsupported layer": ("cfg", _unsupported, "layer 19 is [reorg], which the ONNX converter does not support: it "
                                               "converts the YOLOv3, YOLOv3-tiny, YOLOv4, YOLOv4-tiny"),
    "weights of another cfg": ("weights", lambda b: b[:-400], "does not fit"),
    "weights too short": ("weights", lambda b: b[:6], "too short"),
    "missing cfg": ("missing", "cfg", "Cannot open the Darknet cfg"),
    "missing weights": ("missing", "weights", "Cannot open the Darknet weights"),
    "output folder is a file": ("out", lambda root: root / "a_file" / "m.onnx", "is a file, not a folder"),
    "output is a folder": ("out", lambda root: root / "a_folder.onnx", "a folder of that name is in the way"),
    "output not .onnx": ("out", lambda root: root / "model.bin", "must be an .onnx file"),
    "names of another model": ("names", "one\ntwo\nthree\n", "lists 3 classes but 'm.cfg' predicts 2"),
    "size not a multiple of 32": ("size", ["400", "416"], "400x416 is not a positive multiple of 32"),
    "head filters": ("cfg", lambda t: t.replace("classes=2", "classes=3", 1),
                     "needs 24: set filters=24 in the last [convolutional]"),
    "default read differently": ("cfg", lambda t: t.replace("activation=leaky\n", "", 1),
                                 "layer 0 [convolutional]: it does not state activation="),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_is_one_error_line_and_exit_code_2(case, tmp_path, capsys):
    kind, change, expected = ERRORS[case]
    text = model_files.yolov3_tiny_cfg(classes=2, width=160, height=160, base=2)
    cfg, weights = write_model(tmp_path, "m", text)
    (tmp_path / "a_file").write_text("not a folder\n")
    (tmp_path / "a_folder.onnx").mkdir()
    out, extra = tmp_path / "m.onnx", []
    if kind == "cfg":
        cfg.write_text(change(text))
    elif kind == "weights":
        weights.write_bytes(change(weights.read_bytes()))
    elif kind == "missing":
        (cfg if change == "cfg" else weights).unlink()
    elif kind == "out":
        out = change(tmp_path)
    elif kind == "names":
        (tmp_path / "m.names").write_text(change)
    elif kind == "size":
        extra = ["--size", *change]
    capsys.readouterr()
    assert main(["convert-darknet", str(cfg), str(weights), str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omnitrax: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err
    assert not (tmp_path / "m.onnx").exists() and not (out.exists() and out.is_file())


def test_the_model_setting_resolves_to_cfg_and_weights(tmp_path):
    cfg, weights = tmp_path / "m.cfg", tmp_path / "m.weights"
    assert darknet_onnx.darknet_files(cfg) == (cfg, weights)
    assert darknet_onnx.darknet_files(weights) == (cfg, weights)  # the weights picked as the model
    assert darknet_onnx.darknet_files(cfg, tmp_path / "w.weights") == (cfg, tmp_path / "w.weights")
    for model in ("", tmp_path / "m.onnx"):
        with pytest.raises(OmniTraxError, match="choose your network's .cfg file"):
            darknet_onnx.darknet_files(model)
