"""Model files that OpenCV DNN reads: Darknet .cfg text and .weights, and torch -> ONNX export.

Used by the YOLO detector (to check that a .weights file fits its .cfg), by the tests (to write real
models of any shape) and by tools/train_yolo.py (to export the bundled model). torch is imported only
inside export_onnx().

Darknet .weights layout: int32 major, minor, revision; then `seen` as int64 when major*10+minor >= 2
(int32 before); then for every [convolutional] layer in cfg order: biases, [batch-norm scales, rolling
means, rolling variances when batch_normalize=1], conv weights (filters x in/groups x size x size), all
float32 little-endian.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# Layers whose output has as many channels as their input and that hold no weights.
_PASS_THROUGH = {"maxpool", "avgpool", "upsample", "shortcut", "dropout", "yolo", "region", "softmax",
                 "scale_channels", "sam"}


def parse_cfg(text: str) -> list[tuple[str, dict]]:
    """A Darknet .cfg as a list of (section, {key: value-string}), [net] included, comments dropped."""
    sections = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"Bad section header {raw!r}")
            sections.append((line[1:-1].strip().lower(), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1][key.strip()] = value.strip()
        else:
            raise ValueError(f"Line outside a section or without '=': {raw!r}")
    if not sections or sections[0][0] not in ("net", "network"):
        raise ValueError("A Darknet cfg starts with a [net] section")
    return sections


def conv_layers(cfg_text: str) -> list[dict]:
    """Shape of every [convolutional] layer: filters, channels (input), size, groups, batch_normalize.

    Follows channel counts through route (with groups/group_id), shortcut, pooling and upsampling.
    Raises ValueError on a layer type it does not know (its weight count could not be known).
    """
    sections = parse_cfg(cfg_text)
    channels = int(sections[0][1].get("channels", 3))
    out_channels: list[int] = []  # per layer (excluding [net]), as Darknet counts them
    convs = []
    for index, (kind, p) in enumerate(sections[1:]):
        if kind == "convolutional":
            conv = {"filters": int(p["filters"]), "channels": channels, "size": int(p.get("size", 1)),
                    "groups": int(p.get("groups", 1)), "batch_normalize": int(p.get("batch_normalize", 0))}
            convs.append(conv)
            channels = conv["filters"]
        elif kind == "route":
            refs = [int(v) for v in p["layers"].split(",")]
            channels = sum(out_channels[r if r >= 0 else index + r] for r in refs) // int(p.get("groups", 1))
        elif kind not in _PASS_THROUGH:
            raise ValueError(f"Unknown Darknet layer type [{kind}]")
        out_channels.append(channels)
    return convs


def weight_count(cfg_text: str) -> int:
    """Number of float32 values a .weights file holds after its header for this cfg."""
    total = 0
    for c in conv_layers(cfg_text):
        total += c["filters"] * (4 if c["batch_normalize"] else 1)
        total += c["filters"] * (c["channels"] // c["groups"]) * c["size"] ** 2
    return total


def header_size(major: int, minor: int) -> int:
    """Bytes of the .weights header: three int32, then `seen` as int64 (or int32 for version < 0.2)."""
    return 12 + (8 if major * 10 + minor >= 2 else 4)


def read_weights_header(path) -> tuple[int, int, int]:
    with open(path, "rb") as f:
        data = f.read(12)
    if len(data) < 12:
        raise ValueError(f"{path} is too short to be a Darknet .weights file")
    return struct.unpack("<3i", data)


def write_darknet_weights(cfg_text: str, path, arrays=None, *, seed: int = 0, std: float = 0.05,
                          version=(0, 2, 5), seen: int = 0) -> None:
    """Write a .weights file for `cfg_text`.

    arrays: optional list with one entry per conv layer, each None (random) or a dict with any of
    "bias", "scale", "mean", "var", "weight" (missing ones are filled: weights ~ N(0, std), bias and
    mean 0, scale and var 1). Weights are shaped (filters, channels/groups, size, size).
    """
    convs = conv_layers(cfg_text)
    arrays = list(arrays or []) + [None] * (len(convs) - len(arrays or []))
    if len(arrays) != len(convs):
        raise ValueError(f"{len(arrays)} arrays given for {len(convs)} conv layers")
    rng = np.random.default_rng(seed)
    major, minor, revision = version
    with open(path, "wb") as f:
        f.write(struct.pack("<3i", major, minor, revision))
        f.write(struct.pack("<q" if header_size(major, minor) == 20 else "<i", seen))
        for conv, given in zip(convs, arrays):
            given = given or {}
            n = conv["filters"]
            wshape = (n, conv["channels"] // conv["groups"], conv["size"], conv["size"])
            parts = [("bias", (n,), 0.0)]
            if conv["batch_normalize"]:
                parts += [("scale", (n,), 1.0), ("mean", (n,), 0.0), ("var", (n,), 1.0)]
            parts.append(("weight", wshape, None))
            for name, shape, fill in parts:
                if name in given:
                    value = np.asarray(given[name], np.float32).reshape(shape)
                elif fill is None:
                    value = rng.normal(0.0, std, shape).astype(np.float32)
                else:
                    value = np.full(shape, fill, np.float32)
                f.write(value.astype("<f4").tobytes())


def cfg_text(net: dict, layers: list[tuple[str, dict]]) -> str:
    """Darknet cfg text from the [net] options and a list of (section, options)."""
    blocks = []
    for kind, options in [("net", net)] + list(layers):
        lines = [f"[{kind}]"] + [f"{k}={v}" for k, v in options.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _conv(filters, size=3, stride=1, bn=True, activation="leaky"):
    options = {"filters": filters, "size": size, "stride": stride, "pad": 1, "activation": activation}
    return ("convolutional", {"batch_normalize": 1, **options} if bn else options)


def _yolo(mask, anchors, classes):
    return ("yolo", {"mask": ",".join(map(str, mask)), "anchors": ", ".join(f"{w},{h}" for w, h in anchors),
                     "classes": classes, "num": len(anchors)})


def constant_cfg(anchors, classes: int = 1, width: int = 64, height: int = 64) -> str:
    """A net whose YOLO output does not depend on the image: global average pool -> 1x1 conv -> [yolo].

    One grid cell, one row per anchor; with zero conv weights the rows are set by the conv biases
    (tx, ty, tw, th, objectness, class logits per anchor), so tests know every output value.
    """
    head = ("convolutional", {"filters": len(anchors) * (5 + classes), "size": 1, "stride": 1, "pad": 0,
                              "activation": "linear"})
    return cfg_text({"width": width, "height": height, "channels": 3},
                    [("avgpool", {}), head, _yolo(range(len(anchors)), anchors, classes)])


_TINY_ANCHORS = [(10, 14), (23, 27), (37, 58), (81, 82), (135, 169), (344, 319)]


def yolov3_tiny_cfg(classes: int = 1, width: int = 416, height: int = 416, base: int = 16) -> str:
    """The yolov3-tiny architecture (two YOLO heads, strides 32 and 16); `base` scales the widths."""
    b = base
    layers = []
    for i, f in enumerate((b, 2 * b, 4 * b, 8 * b, 16 * b, 32 * b)):
        layers += [_conv(f), ("maxpool", {"size": 2, "stride": 2 if i < 5 else 1})]
    head = 3 * (5 + classes)
    layers += [_conv(64 * b), _conv(16 * b, 1), _conv(32 * b), _conv(head, 1, bn=False, activation="linear"),
               _yolo((3, 4, 5), _TINY_ANCHORS, classes),
               ("route", {"layers": -4}), _conv(8 * b, 1), ("upsample", {"stride": 2}),
               ("route", {"layers": "-1, 8"}), _conv(16 * b), _conv(head, 1, bn=False, activation="linear"),
               _yolo((0, 1, 2), _TINY_ANCHORS, classes)]
    return cfg_text({"width": width, "height": height, "channels": 3}, layers)


def yolov4_tiny_cfg(classes: int = 80, width: int = 416, height: int = 416, width_multiple: float = 1.0) -> str:
    """The yolov4-tiny architecture (CSP blocks with grouped routes, two heads), default 80 classes;
    width_multiple scales every layer's filters (0.75: about YOLOv8n's 3 M weights and 9 GFLOPs at 640)."""
    def n(filters):
        return max(16, int(round(filters * width_multiple / 16)) * 16)

    def csp(filters):
        # conv, route half of it, two convs, concat, 1x1 conv, concat with the block input, maxpool
        return [_conv(filters), ("route", {"layers": -1, "groups": 2, "group_id": 1}), _conv(filters // 2),
                _conv(filters // 2), ("route", {"layers": "-1,-2"}), _conv(filters, 1),
                ("route", {"layers": "-6,-1"}), ("maxpool", {"size": 2, "stride": 2})]

    head = 3 * (5 + classes)
    yolo_options = {"scale_x_y": 1.05, "iou_thresh": 0.213}
    layers = [_conv(n(32), stride=2), _conv(n(64), stride=2)] + csp(n(64)) + csp(n(128)) + csp(n(256))
    layers += [_conv(n(512)), _conv(n(256), 1), _conv(n(512)), _conv(head, 1, bn=False, activation="linear"),
               ("yolo", {**_yolo((3, 4, 5), _TINY_ANCHORS, classes)[1], **yolo_options}),
               ("route", {"layers": -4}), _conv(n(128), 1), ("upsample", {"stride": 2}),
               ("route", {"layers": "-1, 23"}), _conv(n(256)), _conv(head, 1, bn=False, activation="linear"),
               ("yolo", {**_yolo((1, 2, 3), _TINY_ANCHORS, classes)[1], **yolo_options})]
    return cfg_text({"width": width, "height": height, "channels": 3}, layers)


def external_data_marker_found(path) -> bool:
    """True when an ONNX file keeps tensors in a separate file (an `external_data` "location" entry)."""
    data = Path(path).read_bytes()
    return b"\n\x08location" in data


def export_onnx(module, path, input_size=(416, 416), *, dynamic: bool = True, opset: int = 13) -> Path:
    """Export a torch module (input N x 3 x H x W) to one self-contained ONNX file OpenCV 4.x reads.

    Uses the TorchScript exporter (dynamo=False): the dynamo exporter writes weights to a separate
    .onnx.data file that crashes OpenCV 4.x. `dynamic` makes batch, height and width free.
    """
    import warnings

    import torch

    path = Path(path)
    width, height = input_size
    module = module.eval()
    axes = {"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch"}} if dynamic else None
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, 3, height, width),), str(path), dynamo=False,
                          opset_version=opset, input_names=["images"], output_names=["output0"],
                          dynamic_axes=axes, do_constant_folding=True)
    if external_data_marker_found(path):
        raise RuntimeError(f"{path} was written with external data; OpenCV cannot read it")
    return path
