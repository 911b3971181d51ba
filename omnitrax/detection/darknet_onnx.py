"""Darknet YOLO (.cfg + .weights) -> one self-contained ONNX file that OpenCV DNN and ONNX Runtime run.

Batch norm is folded into the convolutions; every [yolo] head is decoded inside the graph, so the one
output `output0` is [batch, N, 5 + C] rows [cx, cy, w, h, objectness, class_1..class_C] in network-input
pixels (the "yolov5" layout YoloDetector decodes; score = objectness * class). The input `images` is
[batch, 3, H, W], RGB in [0, 1], at a fixed size (the cfg's width/height or the one asked for).

Layers: convolutional (groups, batch_normalize; activations linear, leaky, relu, logistic, mish,
swish), maxpool (SPP included), avgpool (global), upsample, route (layers, groups/group_id), shortcut,
dropout, yolo (mask, anchors, scale_x_y, new_coords): the YOLOv3, YOLOv3-tiny, YOLOv4, YOLOv4-tiny
and Scaled-YOLOv4 layouts. Where OpenCV's Darknet reader and Darknet itself differ, the result follows
OpenCV's reader (what upstream OmniTrax ran): batch-norm epsilon 1e-6; a default that the two read
differently (conv activation, maxpool size/stride, upsample stride) must be written in the cfg.

Metadata written: source="darknet", letterbox="1"/"0" (the cfg's letter_box), names (JSON list) when
the class names are known.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError
from . import model_files, onnx_proto

LAYERS = ("convolutional", "maxpool", "avgpool", "upsample", "route", "shortcut", "dropout", "yolo")
ACTIVATIONS = ("linear", "leaky", "relu", "logistic", "mish", "swish")
LAYOUTS = "YOLOv3, YOLOv3-tiny, YOLOv4, YOLOv4-tiny and Scaled-YOLOv4"
BN_EPSILON = 1e-6  # OpenCV's Darknet reader (Darknet's own code uses 1e-6 or 1e-5 depending on the fork)
OPSET = 13
INPUT, OUTPUT = "images", "output0"


@dataclass
class Conversion:
    """What was written: the file and the network it holds."""

    path: Path
    input_size: tuple[int, int]  # (width, height)
    classes: int
    heads: int
    rows: int  # predictions per image
    letterbox: bool
    names: list[str] | None = None
    metadata: dict = field(default_factory=dict)

    def summary(self) -> str:
        w, h = self.input_size
        labels = f" ({', '.join(self.names)})" if self.names and len(self.names) <= 5 else ""
        return (f"Wrote {self.path}: {w}x{h} input, {self.heads} YOLO head(s), {self.classes} class(es){labels}, "
                f"{self.rows:,} boxes per image, {'letterbox' if self.letterbox else 'stretched'} input.")


# ------------------------------------------------------------------------------------------- files
def darknet_files(model_path, weights_path=None) -> tuple[Path, Path]:
    """(cfg, weights) from a model setting (.cfg, or .weights with the .cfg beside it) and an optional
    weights setting (defaults to the .weights beside the .cfg)."""
    model = Path(model_path) if model_path else None
    if model is None or model.suffix.lower() not in (".cfg", ".weights"):
        raise OmniTraxError(f"The model {'setting is empty' if model is None else repr(model.name) + ' is not'}"
                            f"{'' if model is None else ' a Darknet .cfg'}: choose your network's .cfg file "
                            f"(and its .weights) to convert it to ONNX.")
    weights = Path(weights_path) if weights_path else None
    if model.suffix.lower() == ".weights":  # the weights were picked as the model: the cfg is beside them
        cfg = weights if weights is not None and weights.suffix.lower() == ".cfg" else model.with_suffix(".cfg")
        return cfg, model
    return model, weights if weights is not None else model.with_suffix(".weights")


def find_names(cfg: Path) -> Path | None:
    """The class names file of a cfg: <cfg stem>.names beside it, else the only .names file there."""
    same = cfg.with_suffix(".names")
    if same.is_file():
        return same
    others = sorted(cfg.parent.glob("*.names"))
    return others[0] if len(others) == 1 else None


def _existing(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Cannot open the {what} '{path}': file not found. Check the path.")
    return path


def convert(cfg_path, weights_path, out_path, *, names_path=None, size=None) -> Conversion:
    """Convert a Darknet model to the ONNX file out_path (a .onnx); size (width, height) overrides the
    cfg's. Every problem is an OmniTraxError with one line that says what to do."""
    from ..files import output_file, writing
    from .yolo import YoloDetector

    cfg = _existing(cfg_path, "Darknet cfg")
    weights = _existing(weights_path, "Darknet weights")
    out = Path(out_path)
    if out.suffix.lower() != ".onnx":
        raise OmniTraxError(f"The output '{out}' must be an .onnx file (OmniTrax opens ONNX models by that "
                            f"suffix): name it e.g. '{out.stem or 'model'}.onnx'.")
    names_file = _existing(names_path, "class names file") if names_path else find_names(cfg)
    names = YoloDetector._read_names(names_file) if names_file else None  # the detector's own checks

    text = cfg.read_text(errors="replace")
    sections = _parse(text, cfg)
    _check_layer_types(sections, cfg)
    data = weights.read_bytes()
    if len(data) < 12:
        raise OmniTraxError(f"'{weights.name}' is too short ({len(data)} bytes) to be a Darknet .weights file.")
    major, minor, _ = model_files.read_weights_header(weights)
    YoloDetector._check_weights_size(text, cfg, weights)  # same message as when the detector loads it

    builder = _Builder(sections, cfg.name, size)
    parts, conversion = builder.model(data, model_files.header_size(major, minor), names, out)
    del data, builder
    output_file(out, what="output folder", writable=True)
    with writing(out, "output file") as path, open(path, "wb") as f:
        for part in parts:
            f.write(part)
    return conversion


def _parse(text: str, cfg: Path) -> list[tuple[str, dict]]:
    try:
        return model_files.parse_cfg(text)
    except ValueError as e:
        raise OmniTraxError(f"'{cfg.name}' is not a valid Darknet .cfg file ({e}).") from None


def _check_layer_types(sections, cfg: Path) -> None:
    for index, (kind, _) in enumerate(sections[1:]):
        if kind not in LAYERS:
            raise OmniTraxError(f"'{cfg.name}' layer {index} is [{kind}], which the ONNX converter does not "
                                f"support: it converts the {LAYOUTS} layouts ([{'], ['.join(LAYERS)}]).")


# ------------------------------------------------------------------------------------------- graph
@dataclass
class _Map:
    """One layer's output feature map: tensor name, channels, height, width."""

    name: str
    c: int
    h: int
    w: int


class _Graph:
    """Nodes and constants of the graph being built, with unique tensor names."""

    def __init__(self):
        self.nodes, self.initializers, self._used = [], [], set()

    def _name(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._used:
            n += 1
            name = f"{hint}_{n}"
        self._used.add(name)
        return name

    def const(self, array, hint: str) -> str:
        name = self._name(hint)
        self.initializers.append(onnx_proto.tensor(name, array))
        return name

    def op(self, op_type: str, inputs, hint: str, **attributes) -> str:
        out = self._name(hint)
        self.nodes.append(onnx_proto.node(op_type, inputs, [out], **attributes))
        return out


class _Builder:
    """Walks the cfg's layers in order, adding each one's ONNX nodes (weights read as it goes)."""

    def __init__(self, sections, cfg_name: str, size=None):
        self.net, self.layers, self.cfg_name = sections[0][1], sections[1:], cfg_name
        self.index = -1
        width, height = size if size else (self._net_int("width", 416), self._net_int("height", 416))
        if int(width) != width or int(height) != height or width <= 0 or height <= 0 or width % 32 or height % 32:
            raise OmniTraxError(f"Network input size {width}x{height} is not a positive multiple of 32; "
                                f"give e.g. --size 416 416.")
        self.width, self.height, self.channels = int(width), int(height), self._net_int("channels", 3)
        self.graph = _Graph()

    # ---- cfg values, with errors that name the layer
    def fail(self, what: str) -> OmniTraxError:
        where = "[net]" if self.index < 0 else f"layer {self.index} [{self.layers[self.index][0]}]"
        return OmniTraxError(f"'{self.cfg_name}' {where}: {what}.")

    def _net_int(self, key: str, default: int) -> int:
        try:
            return int(self.net.get(key, default))
        except ValueError:
            raise self.fail(f"{key}={self.net[key]} is not a whole number") from None

    def _get(self, p: dict, key: str, default, kind=int, required: str | None = None):
        if key not in p:
            if required is not None:
                raise self.fail(f"it does not state {key}= ({required}); add it to the cfg")
            return default
        try:
            return kind(p[key])
        except ValueError:
            raise self.fail(f"{key}={p[key]} is not a {'whole ' if kind is int else ''}number") from None

    def _ints(self, p: dict, key: str) -> list[int]:
        try:
            return [int(v) for v in p[key].split(",") if v.strip()]
        except (KeyError, ValueError):
            raise self.fail(f"{key}= must list layer numbers or indices (e.g. {key}=-1,8)") from None

    def _ref(self, maps, r: int) -> _Map:
        target = r if r >= 0 else self.index + r
        if not 0 <= target < self.index:
            raise self.fail(f"it refers to layer {r}, which is not an earlier layer")
        if maps[target] is None:
            raise self.fail(f"it refers to layer {target}, a [yolo] head, whose output cannot be reused")
        return maps[target]

    # ---- the whole model
    def model(self, data: bytes, offset: int, names, out: Path) -> tuple[list[bytes], Conversion]:
        """The serialized model (byte strings to write in order) from the weights `data` (read from byte
        `offset`), and what it holds."""
        self.data, self.offset = data, offset
        maps: list[_Map | None] = []
        current = _Map(INPUT, self.channels, self.height, self.width)
        heads, classes = [], None
        for self.index, (kind, p) in enumerate(self.layers):
            if current is None and kind != "route":
                raise self.fail("it follows a [yolo] head directly; the converter expects a [route] after each head")
            if kind == "yolo":
                rows, head_classes = self._yolo(current, p)
                if classes is not None and head_classes != classes:
                    raise self.fail(f"classes={head_classes}, but an earlier [yolo] head has {classes}")
                heads.append(rows)
                classes = head_classes
                current = None  # a head's output is not a feature map to build on
            else:
                current = getattr(self, "_" + kind)(current, p, maps)
            maps.append(current)
        self.index = -1
        if not heads:
            raise OmniTraxError(f"'{self.cfg_name}' has no [yolo] layer: only YOLO detectors ({LAYOUTS}) convert.")
        if self.offset != len(data):
            raise OmniTraxError(f"The weights were not all used ({len(data) - self.offset:,} bytes left): they do "
                                f"not belong to '{self.cfg_name}'.")
        if names is not None and len(names) != classes:
            raise OmniTraxError(f"The names file lists {len(names)} classes but '{self.cfg_name}' predicts "
                                f"{classes}; use the names file that belongs to this model.")
        total = sum(n for _, n in heads)
        g = self.graph
        output = g.op("Concat", [name for name, _ in heads], OUTPUT, axis=1) if len(heads) > 1 else \
            g.op("Identity", [heads[0][0]], OUTPUT)
        letterbox = self.net.get("letter_box", "0").strip() == "1"
        metadata = {"source": "darknet", "letterbox": "1" if letterbox else "0"}
        if names is not None:
            metadata["names"] = json.dumps(names)
        parts = onnx_proto.model_parts(
            g.nodes, g.initializers,
            [onnx_proto.value_info(INPUT, ["batch", self.channels, self.height, self.width])],
            [onnx_proto.value_info(output, ["batch", total, 5 + classes])],
            opset=OPSET, name=Path(self.cfg_name).stem, metadata=metadata)
        return parts, Conversion(out, (self.width, self.height), classes, len(heads), total, letterbox, names,
                                metadata)

    def _take(self, count: int) -> np.ndarray:
        end = self.offset + 4 * count
        if end > len(self.data):
            raise self.fail("the .weights file ends before this layer's weights")
        values = np.frombuffer(self.data, "<f4", count, self.offset)  # a view: folding makes the copy
        self.offset = end
        return values

    # ---- layers
    def _convolutional(self, x: _Map, p: dict, maps) -> _Map:
        g = self.graph
        filters = self._get(p, "filters", None, required="the number of filters")
        size, stride = self._get(p, "size", 1), self._get(p, "stride", 1)
        groups, bn = self._get(p, "groups", 1), self._get(p, "batch_normalize", 0) == 1
        pad = size // 2 if self._get(p, "pad", 0) else self._get(p, "padding", 0)
        for key, default in (("dilation", 1), ("flipped", 0), ("antialiasing", 0), ("stride_x", stride),
                             ("stride_y", stride), ("share_index", None)):
            if key in p and self._get(p, key, default) != default:
                raise self.fail(f"{key}={p[key]} is not supported by the ONNX converter")
        if filters <= 0 or size <= 0 or stride <= 0 or groups <= 0 or x.c % groups:
            raise self.fail(f"filters={filters}, size={size}, stride={stride}, groups={groups} do not fit its "
                            f"{x.c} input channels")
        bias = self._take(filters)
        if bn:
            scale, mean, var = self._take(filters), self._take(filters), self._take(filters)
        weight = self._take(filters * (x.c // groups) * size * size).reshape(filters, x.c // groups, size, size)
        if bn:  # y = (conv - mean) / sqrt(var + eps) * scale + bias, folded into the conv
            factor = scale / np.sqrt(var + BN_EPSILON)
            weight = weight * factor[:, None, None, None]
            bias = bias - mean * factor
        name = f"conv{self.index}"
        y = g.op("Conv", [x.name, g.const(weight, name + ".weight"), g.const(bias, name + ".bias")], name,
                 kernel_shape=[size, size], strides=[stride, stride], pads=[pad] * 4, group=groups)
        h, w = (x.h + 2 * pad - size) // stride + 1, (x.w + 2 * pad - size) // stride + 1
        activation = self._get(p, "activation", None, str, required="Darknet and OpenCV default to different ones")
        return _Map(self._activate(y, activation), filters, h, w)

    def _activate(self, x: str, activation: str) -> str:
        g, name = self.graph, f"act{self.index}"
        if activation not in ACTIVATIONS:
            raise self.fail(f"activation={activation} is not supported (use one of {', '.join(ACTIVATIONS)})")
        if activation == "leaky":
            return g.op("LeakyRelu", [x], name, alpha=0.1)
        if activation == "relu":
            return g.op("Relu", [x], name)
        if activation == "logistic":
            return g.op("Sigmoid", [x], name)
        if activation == "mish":  # x * tanh(softplus(x))
            return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x], name + ".softplus")], name + ".tanh")], name)
        if activation == "swish":  # x * sigmoid(x)
            return g.op("Mul", [x, g.op("Sigmoid", [x], name + ".sigmoid")], name)
        return x

    def _maxpool(self, x: _Map, p: dict, maps) -> _Map:
        why = "Darknet and OpenCV default to different ones"
        size, stride = self._get(p, "size", None, required=why), self._get(p, "stride", None, required=why)
        padding = self._get(p, "padding", size - 1)
        for key, default in (("stride_x", stride), ("stride_y", stride), ("maxpool_depth", 0), ("antialiasing", 0)):
            if key in p and self._get(p, key, default) != default:
                raise self.fail(f"{key}={p[key]} is not supported by the ONNX converter")
        if size <= 0 or stride <= 0 or padding < 0:
            raise self.fail(f"size={size}, stride={stride}, padding={padding} is not a pooling window")
        begin, end = padding // 2, padding - padding // 2  # Darknet pads (size - 1) mostly at the end
        y = self.graph.op("MaxPool", [x.name], f"maxpool{self.index}", kernel_shape=[size, size],
                          strides=[stride, stride], pads=[begin, begin, end, end])
        return _Map(y, x.c, (x.h + padding - size) // stride + 1, (x.w + padding - size) // stride + 1)

    def _avgpool(self, x: _Map, p: dict, maps) -> _Map:
        return _Map(self.graph.op("GlobalAveragePool", [x.name], f"avgpool{self.index}"), x.c, 1, 1)

    def _upsample(self, x: _Map, p: dict, maps) -> _Map:
        stride = self._get(p, "stride", None, required="Darknet and OpenCV default to different ones")
        if stride <= 0 or self._get(p, "scale", 1.0, float) != 1.0:
            raise self.fail("only upsampling by a positive whole stride (and scale=1) is supported")
        g = self.graph
        scales = g.const(np.array([1, 1, stride, stride], np.float32), f"upsample{self.index}.scales")
        y = g.op("Resize", [x.name, "", scales], f"upsample{self.index}", mode="nearest",
                 coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return _Map(y, x.c, x.h * stride, x.w * stride)

    def _route(self, x: _Map, p: dict, maps) -> _Map:
        g = self.graph
        groups, group_id = self._get(p, "groups", 1), self._get(p, "group_id", 0)
        if groups <= 0 or not 0 <= group_id < groups:
            raise self.fail(f"groups={groups}, group_id={group_id}: group_id must be between 0 and groups - 1")
        parts = []
        for r in self._ints(p, "layers"):
            src = self._ref(maps, r)
            if groups > 1:  # Darknet takes the group_id-th slice of each input's channels
                if src.c % groups:
                    raise self.fail(f"{src.c} channels do not split into groups={groups}")
                part = src.c // groups
                name = f"route{self.index}.slice"
                sliced = g.op("Slice", [src.name, g.const(np.array([group_id * part]), name + ".starts"),
                                        g.const(np.array([(group_id + 1) * part]), name + ".ends"),
                                        g.const(np.array([1]), name + ".axes")], name)
                src = _Map(sliced, part, src.h, src.w)
            parts.append(src)
        sizes = sorted({f"{m.w}x{m.h}" for m in parts})
        if len(sizes) > 1:
            raise self.fail(f"it joins maps of different sizes ({', '.join(sizes)}); check its layers=")
        if len(parts) == 1:
            return _Map(g.op("Identity", [parts[0].name], f"route{self.index}"), parts[0].c, parts[0].h, parts[0].w)
        y = g.op("Concat", [m.name for m in parts], f"route{self.index}", axis=1)
        return _Map(y, sum(m.c for m in parts), parts[0].h, parts[0].w)

    def _shortcut(self, x: _Map, p: dict, maps) -> _Map:
        refs = self._ints(p, "from")
        if len(refs) != 1:
            raise self.fail("a shortcut from more than one layer is not supported")
        for key, default in (("weights_type", "none"), ("alpha", None), ("beta", None)):
            if key in p and p[key] != default:
                raise self.fail(f"{key}={p[key]} is not supported by the ONNX converter")
        src = self._ref(maps, refs[0])
        if (src.c, src.h, src.w) != (x.c, x.h, x.w):
            raise self.fail(f"it adds a {src.c}x{src.h}x{src.w} map to a {x.c}x{x.h}x{x.w} one; only maps of "
                            f"the same shape are supported")
        y = self.graph.op("Add", [x.name, src.name], f"shortcut{self.index}")
        return _Map(self._activate(y, p.get("activation", "linear")), x.c, x.h, x.w)

    def _dropout(self, x: _Map, p: dict, maps) -> _Map:
        return x

    def _yolo(self, x: _Map, p: dict) -> tuple[tuple[str, int], int]:
        """Decode one head: rows [cx, cy, w, h, obj, cls...] in input pixels, as (tensor, row count)."""
        g, name = self.graph, f"yolo{self.index}"
        classes = self._get(p, "classes", None, required="the number of classes")
        try:
            anchors = [float(v) for v in p.get("anchors", "").split(",") if v.strip()]
        except ValueError:
            raise self.fail(f"anchors={p['anchors']} is not a list of numbers") from None
        if not anchors or len(anchors) % 2:
            raise self.fail("anchors= must list width,height pairs")
        total = self._get(p, "num", len(anchors) // 2)
        mask = self._ints(p, "mask") if "mask" in p else list(range(total))
        if len(anchors) != 2 * total or any(not 0 <= m < total for m in mask) or classes <= 0:
            raise self.fail(f"num={total}, mask={p.get('mask')} and {len(anchors) // 2} anchors do not agree")
        scale = self._get(p, "scale_x_y", 1.0, float)
        new_coords = self._get(p, "new_coords", 0) == 1
        a, k, cells = len(mask), 5 + classes, x.h * x.w
        if x.c != a * k:
            raise self.fail(f"the layer before it has {x.c} filters, but {a} anchors x (5 + {classes} classes) "
                            f"needs {a * k}: set filters={a * k} in the last [convolutional] before it")

        def const(value, hint):
            return g.const(np.asarray(value, np.float32), f"{name}.{hint}")

        def part(t, start, stop):
            return g.op("Slice", [t, g.const(np.array([start]), f"{name}.{start}"),
                                  g.const(np.array([stop]), f"{name}.{stop}e"),
                                  g.const(np.array([2]), f"{name}.axis{start}")], f"{name}.part{start}")

        t = g.op("Reshape", [x.name, g.const(np.array([0, a, k, cells]), f"{name}.shape")], f"{name}.grid")
        xy, wh, rest = part(t, 0, 2), part(t, 2, 4), part(t, 4, k)
        stride = np.array([self.width / x.w, self.height / x.h], np.float32).reshape(1, 1, 2, 1)
        cols, rows = np.meshgrid(np.arange(x.w), np.arange(x.h))
        grid = np.stack([cols.ravel(), rows.ravel()]).reshape(1, 1, 2, cells)
        # centre = (cell + sigmoid(t) * scale - (scale - 1) / 2) * stride
        offset = (grid - (scale - 1) / 2) * stride
        anchor_wh = np.array([anchors[2 * m:2 * m + 2] for m in mask], np.float32).reshape(1, a, 2, 1)
        if not new_coords:
            xy, wh, rest = (g.op("Sigmoid", [xy], f"{name}.xy_sig"), g.op("Exp", [wh], f"{name}.wh_exp"),
                            g.op("Sigmoid", [rest], f"{name}.scores"))
        else:  # Scaled-YOLOv4: the conv already applied the logistic; w = (2 t)^2 * anchor
            wh = g.op("Mul", [wh, wh], f"{name}.wh_sq")
            anchor_wh = anchor_wh * 4
        xy = g.op("Add", [g.op("Mul", [xy, const(scale * stride, "xy_scale")], f"{name}.xy_mul"),
                          const(offset, "xy_offset")], f"{name}.xy")
        wh = g.op("Mul", [wh, const(anchor_wh, "anchors")], f"{name}.wh")
        t = g.op("Concat", [xy, wh, rest], f"{name}.decoded", axis=2)
        t = g.op("Transpose", [t], f"{name}.rows_t", perm=[0, 1, 3, 2])
        t = g.op("Reshape", [t, g.const(np.array([0, a * cells, k]), f"{name}.rows_shape")], f"{name}.rows")
        return (t, a * cells), classes
