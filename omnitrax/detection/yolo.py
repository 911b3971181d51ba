"""YOLO detection: Darknet .cfg/.weights and ONNX models, in any common output layout, on OpenCV DNN or
ONNX Runtime (omnitrax.detection.runtimes chooses and runs the network; all the rest is the same code).

Input: frames are resized to the network input size (`input_size`, set per call through the blob size,
so the user's files are never rewritten), either stretched (Darknet's training default) or letterboxed
(scaled to fit and padded with grey 114, the YOLOv5/v8 training default). Channels go in as RGB in [0, 1].

Output layouts (rows are predictions; cx, cy, w, h are box centre and size):
- "darknet": OpenCV's Darknet region/[yolo] layers give rows [cx, cy, w, h, obj, p_1..p_C] with the box
  normalised to the network input and p_c already multiplied by obj (OpenCV zeroes p_c when it is below
  0.2, so a confidence under 0.2 changes nothing for Darknet models).
- "yolov5": ONNX [B, N, 5+C] rows [cx, cy, w, h, obj, cls_1..cls_C] in input pixels; score = obj * cls.
- "yolov8": ONNX [B, 4+C, N] (YOLOv8 / YOLO11) columns [cx, cy, w, h, cls_1..cls_C] in input pixels, no
  objectness; score = cls.
For ONNX the layout is decided from the output shape (layout="auto"): the box axis is the one whose
length is the number of grid cells of a stride-8/16/32(/64) head with 1 or 3 anchors at this input size,
else the longer axis. Boxes along the middle axis mean "yolov5", along the last axis "yolov8"; a names
file overrides that when its class count fits only one (attributes = 5 + C or 4 + C). Pass layout=... to
force one.

Then per frame: best class per prediction, confidence threshold, boxes mapped back to frame pixels
(stretch or letterbox undone exactly), class-aware NMS (cv2.dnn.NMSBoxesBatched), predictions whose
centre falls outside the frame dropped, class filter, size limits, constant size, region mask.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import OmniTraxError
from . import model_files, runtimes
from .detections import Detections, Detector
from .runtimes import first_line

LAYOUTS = ("darknet", "yolov5", "yolov8")
PAD_VALUE = 114  # grey used by YOLOv5/v8 letterboxing


def _check_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise OmniTraxError(f"Cannot open {what} '{path}': file not found. Check the path.")
    return path


def _size(value) -> tuple[int, int]:
    width, height = (value, value) if np.isscalar(value) else value
    if int(width) != width or int(height) != height or width <= 0 or height <= 0 or width % 32 or height % 32:
        raise OmniTraxError(f"Network input size {value} is not a positive multiple of 32; use e.g. 320, 416 or 640.")
    return int(width), int(height)


def _grid_counts(width: int, height: int) -> set[int]:
    """Prediction counts of YOLO heads at strides 8-32 (or 8-64), anchor-free or with 3 anchors."""
    counts = set()
    for strides in ((8, 16, 32), (8, 16, 32, 64)):
        cells = sum((width // s) * (height // s) for s in strides)
        counts |= {cells, 3 * cells}
    return counts


def read_names(path) -> list[str]:
    """Class names from a Darknet .names / .txt file: one per line, in class-id order."""
    path = _check_file(path, "class names file")
    names = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if not names:
        raise OmniTraxError(f"The class names file '{path}' is empty; put one class name per line.")
    return names


class YoloDetector(Detector):
    """A YOLO network (Darknet or ONNX) run by OpenCV DNN or ONNX Runtime; see the module docstring.

    runtime: auto | opencv | onnxruntime; backend (the compute device): auto | cpu | cuda | directml |
    coreml | opencl (omnitrax.detection.runtimes.choose says which combinations run where)."""

    max_batch = 8  # frames per forward pass in detect_batch

    def __init__(self, model_path, weights_path=None, *, input_size=416, confidence=0.5, nms=0.45,
                 letterbox=None, classes=None, min_size=0, max_size=float("inf"), constant_size=None,
                 names_path=None, mask=None, backend="auto", layout="auto", runtime="auto"):
        self.input_size = _size(input_size)
        if not 0.0 <= confidence <= 1.0 or not 0.0 <= nms <= 1.0:
            raise OmniTraxError(f"Confidence ({confidence}) and NMS threshold ({nms}) must be between 0 and 1.")
        if layout not in ("auto",) + LAYOUTS:
            raise OmniTraxError(f"Unknown YOLO output layout {layout!r}; use auto, {', '.join(LAYOUTS)}.")
        self.confidence, self.nms = float(confidence), float(nms)
        self.min_size, self.max_size = float(min_size), float(max_size)
        self.constant_size = float(constant_size) if constant_size else None
        self.mask = mask
        self.names = self._read_names(names_path) if names_path else None

        model_path = _check_file(model_path, "YOLO model")
        suffix = model_path.suffix.lower()
        if suffix in (".cfg", ".weights"):
            self.format = "Darknet"
        elif suffix == ".onnx":
            self.format = "ONNX"
        else:
            raise OmniTraxError(f"'{model_path.name}' is not a YOLO model OmniTrax reads: choose a Darknet .cfg "
                                f"(with its .weights) or an .onnx file.")
        self.name = model_path.stem
        runtime_asked = runtime
        runtime, device = runtimes.choose(runtime, backend, self.format)
        self.fallback = ""  # why an automatic GPU choice ended on the CPU, if it did
        if self.format == "Darknet":
            net, default_letterbox = self._load_darknet(model_path, weights_path)
            self.engine = runtimes.OpenCVEngine(net, device)
        else:
            metadata = self._onnx_metadata(model_path)
            default_letterbox = metadata.get("letterbox", "1") != "0"  # Darknet conversions are stretched
            self.engine = self._onnx_engine(model_path, runtime, device, auto=str(backend).lower() == "auto",
                                            automatic_runtime=str(runtime_asked).lower() == "auto")
        self.letterbox = default_letterbox if letterbox is None else bool(letterbox)
        self.runtime, self.backend = self.engine.runtime, runtimes.DEVICE_LABELS[self.engine.device]
        self.batch_supported = None  # unknown until detect_batch tries a batch > 1
        # on a GPU one forward of several frames beats several forwards; on the CPU it does not (measured)
        self.uses_gpu = self.engine.device != "cpu"
        self.preferred_batch = self.max_batch if self.uses_gpu else 1

        self.layout, self.num_classes = self._probe(layout)
        if self.names is None and self.format == "ONNX":  # no names file: the model's own, when they fit
            stored = self._metadata_names(metadata)
            self.names = stored if stored and len(stored) == self.num_classes else None
        self.class_filter = self._class_ids(classes)
        w, h = self.input_size
        layout_text = "" if self.format == "Darknet" else f", {self.layout} layout"
        self.description = (f"YOLO ({self.format} {self.name}{layout_text}, {w}x{h}, "
                            f"{'letterbox' if self.letterbox else 'stretch'}) on {self.engine.description}"
                            f"{self.fallback}")

    # ----------------------------------------------------------------------------------- loading
    @staticmethod
    def _read_names(path) -> list[str]:
        return read_names(path)

    def _load_darknet(self, model_path: Path, weights_path):
        cfg, weights = model_path, Path(weights_path) if weights_path else None
        if cfg.suffix.lower() == ".weights":  # the user picked the weights: find the cfg
            cfg, weights = (weights, cfg) if weights is not None else (cfg.with_suffix(".cfg"), cfg)
            if cfg.suffix.lower() != ".cfg" or not cfg.is_file():
                raise OmniTraxError(f"'{model_path.name}' holds Darknet weights only: also choose the network's "
                                    f".cfg file (the model is the .cfg, the weights the .weights).")
        if weights is None:
            weights = cfg.with_suffix(".weights")
            if not weights.is_file():
                raise OmniTraxError(f"No weights for '{cfg.name}': choose the .weights file trained with it "
                                    f"(none named '{weights.name}' beside it).")
        weights = _check_file(weights, "Darknet weights")
        text = cfg.read_text(errors="replace")
        try:
            sections = model_files.parse_cfg(text)
        except ValueError as e:
            raise OmniTraxError(f"'{cfg.name}' is not a valid Darknet .cfg file ({e}).") from None
        self._check_weights_size(text, cfg, weights)
        try:
            net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        except cv2.error as e:
            raise OmniTraxError(f"OpenCV cannot read the Darknet model '{cfg.name}' + '{weights.name}': "
                                f"{first_line(e)}. Check that the two files belong together.") from None
        return net, sections[0][1].get("letter_box", "0") == "1"

    @staticmethod
    def _check_weights_size(cfg_text: str, cfg: Path, weights: Path) -> None:
        """OpenCV reads a .weights file that is too short without complaint: compare sizes first."""
        try:
            count = model_files.weight_count(cfg_text)
            major, minor, _ = model_files.read_weights_header(weights)
        except (ValueError, KeyError):
            return  # a layer type we cannot count: let OpenCV judge
        expected = model_files.header_size(major, minor) + 4 * count
        actual = weights.stat().st_size
        if actual != expected:
            raise OmniTraxError(f"'{weights.name}' does not fit '{cfg.name}': the cfg needs {expected:,} bytes of "
                                f"weights, the file has {actual:,}. Use the .weights trained with this .cfg "
                                f"(same classes and filters).")

    @staticmethod
    def _onnx_metadata(path: Path) -> dict:
        """The file's metadata_props ({} when it has none or cannot be read: the runtime's loader then says
        what is wrong with the file)."""
        from .onnx_proto import read_metadata

        try:
            return read_metadata(path)
        except OmniTraxError:
            return {}

    @staticmethod
    def _metadata_names(metadata: dict) -> list[str] | None:
        """Class names stored in an ONNX file: a JSON list (our converter) or Ultralytics' "{0: 'ant', ...}"."""
        import ast
        import json

        text = metadata.get("names")
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
        if isinstance(value, dict):
            value = [value[k] for k in sorted(value)] if sorted(value) == list(range(len(value))) else None
        return [str(v) for v in value] if isinstance(value, list) and value else None

    def _onnx_engine(self, path: Path, runtime: str, device: str, auto: bool, automatic_runtime: bool):
        if runtime == "opencv":
            return runtimes.OpenCVEngine(self._load_onnx(path), device)
        try:
            engine = runtimes.OrtEngine(path, device)
        except OmniTraxError as e:
            if not auto or device == "cpu":
                raise
            self.fallback = f" ({runtimes.DEVICE_LABELS[device]} did not start: {str(e).split(':')[0]})"
            engine = runtimes.OrtEngine(path, "cpu")
        fixed = engine.fixed_size()
        if fixed is None or fixed == self.input_size:
            return engine
        w, h = fixed
        if not automatic_runtime:
            raise OmniTraxError(f"'{path.name}' was exported for input {w}x{h} only, which ONNX Runtime keeps: set the "
                                f"network size to {w}x{h}, or choose the runtime OpenCV DNN (it resizes the network).")
        self.fallback = f" (ONNX Runtime runs '{path.name}' at {w}x{h} only)"
        return runtimes.OpenCVEngine(self._load_onnx(path), "cuda" if engine.device == "cuda" and "cuda" in
                                     runtimes.opencv_devices() else "cpu")

    @staticmethod
    def _load_onnx(path: Path):
        if model_files.external_data_marker_found(path):
            # OpenCV 4.x dies with a floating point exception on these: refuse before loading.
            raise OmniTraxError(f"'{path.name}' keeps its weights in a separate .onnx.data file, which OpenCV "
                                f"cannot read: re-export it as one file (torch.onnx.export(..., dynamo=False) or "
                                f"onnx.save_model(model, path, save_as_external_data=False)).")
        try:
            return cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as e:
            raise OmniTraxError(f"OpenCV cannot read the ONNX model '{path.name}': {first_line(e)}. Re-export it "
                                f"with opset 12-17 (e.g. torch.onnx.export(..., dynamo=False, "
                                f"opset_version=13)).") from None

    def _probe(self, layout: str) -> tuple[str, int]:
        """Run a blank frame once: fails early at a bad input size and tells the output layout."""
        w, h = self.input_size
        try:
            outputs = self._forward(np.zeros((1, 3, h, w), np.float32))
        except self.engine.errors as e:
            raise OmniTraxError(f"'{self.name}' cannot run at input size {w}x{h} ({first_line(e)}). If it was "
                                f"exported for a fixed size, set the network size to that size.") from None
        if self.format == "Darknet":
            widths = {o.shape[-1] for o in outputs}
            if any(o.ndim != 2 for o in outputs) or len(widths) != 1 or min(widths) < 6:
                raise self._layout_error([o.shape for o in outputs])
            chosen = "darknet" if layout == "auto" else layout
            return chosen, self._classes_for(chosen, widths.pop())
        # ONNX: use the largest 2D/3D output (exports may add raw per-level maps beside the decoded one)
        candidates = [(o.size, i) for i, o in enumerate(outputs) if o.ndim in (2, 3)]
        if not candidates:
            raise self._layout_error([o.shape for o in outputs])
        index = max(candidates)[1]
        self.engine.keep_output(index)
        shape = outputs[index].shape[-2:]
        boxes_last = self._boxes_axis_is_last(shape)
        attributes = shape[0] if boxes_last else shape[1]
        if layout == "auto":
            layout = "yolov8" if boxes_last else "yolov5"
            if self.names is not None and attributes in (4 + len(self.names), 5 + len(self.names)):
                layout = "yolov8" if attributes == 4 + len(self.names) else "yolov5"
        self._boxes_last = boxes_last
        return layout, self._classes_for(layout, attributes)

    def _boxes_axis_is_last(self, shape) -> bool:
        grid = _grid_counts(*self.input_size)
        a, b = shape
        if (a in grid) != (b in grid):
            return b in grid
        return b > a

    def _classes_for(self, layout: str, attributes: int) -> int:
        classes = attributes - (4 if layout == "yolov8" else 5)
        if classes < 1:
            raise self._layout_error([f"{attributes} values per box"])
        if self.names is not None and len(self.names) != classes:
            raise OmniTraxError(f"The names file lists {len(self.names)} classes but '{self.name}' predicts "
                                f"{classes}; use the names file that belongs to this model.")
        return classes

    def _layout_error(self, shapes) -> OmniTraxError:
        return OmniTraxError(f"Cannot decode the output of '{self.name}' (shape {', '.join(map(str, shapes))}): "
                             f"OmniTrax reads YOLO heads [1, N, 5+C] (YOLOv5), [1, 4+C, N] (YOLOv8/11) and Darknet "
                             f"[yolo] layers. Export the model with its detection head, without built-in NMS.")

    def _class_ids(self, classes):
        if classes is None:
            return None
        ids = []
        for c in classes:
            if isinstance(c, str):
                if self.names is None or c not in self.names:
                    raise OmniTraxError(f"Class {c!r} is not in the class names file {self.names or '(none given)'}.")
                ids.append(self.names.index(c))
            elif not 0 <= int(c) < self.num_classes:
                raise OmniTraxError(f"Class id {c} does not exist: the model has classes 0..{self.num_classes - 1}.")
            else:
                ids.append(int(c))
        return np.array(sorted(set(ids)), np.int64)

    def class_name(self, class_id: int) -> str:
        return self.names[class_id] if self.names and 0 <= class_id < len(self.names) else str(class_id)

    # ----------------------------------------------------------------------------------- running
    def _forward(self, blob: np.ndarray) -> list[np.ndarray]:
        return self.engine.forward(blob)

    def preprocess(self, frames) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
        """A float blob (B, 3, H, W) and per frame (scale_x, scale_y, pad_x, pad_y): net px = frame px * s + pad."""
        w, h = self.input_size
        if not self.letterbox:
            geometry = [(w / f.shape[1], h / f.shape[0], 0.0, 0.0) for f in frames]
            return cv2.dnn.blobFromImages(frames, 1 / 255.0, (w, h), swapRB=True, crop=False), geometry
        canvases, geometry = [], []
        for frame in frames:
            fh, fw = frame.shape[:2]
            s = min(w / fw, h / fh)
            nw, nh = min(w, round(fw * s)), min(h, round(fh * s))
            px, py = (w - nw) // 2, (h - nh) // 2
            canvas = np.full((h, w, 3), PAD_VALUE, np.uint8)
            canvas[py:py + nh, px:px + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
            canvases.append(canvas)
            geometry.append((nw / fw, nh / fh, float(px), float(py)))
        return cv2.dnn.blobFromImages(canvases, 1 / 255.0, swapRB=True), geometry

    def _rows(self, outputs: list[np.ndarray], i: int) -> np.ndarray:
        """Predictions of batch item i as rows (N, K)."""
        if self.format == "Darknet":
            parts = [o if o.ndim == 2 else o[i] for o in outputs]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        out = outputs[0] if outputs[0].ndim == 2 else outputs[0][i]
        return out.T if self._boxes_last else out

    def decode(self, rows: np.ndarray, frame_shape, geometry) -> Detections:
        """Detections in frame pixels from prediction rows (N, K) of one frame."""
        if self.layout == "yolov5":
            rows = rows[rows[:, 4] >= self.confidence]  # objectness bounds the score: cheap first cut
            scores = rows[:, 4:5] * rows[:, 5:]
        else:
            scores = rows[:, 5:] if self.layout == "darknet" else rows[:, 4:]
        classes = scores.argmax(axis=1)
        conf = scores[np.arange(len(scores)), classes]
        keep = (conf >= self.confidence) & (conf > 0)
        rows, conf, classes = rows[keep], conf[keep].astype(np.float64), classes[keep]
        if self.class_filter is not None:
            keep = np.isin(classes, self.class_filter)
            rows, conf, classes = rows[keep], conf[keep], classes[keep]
        if not len(rows):
            return Detections.empty()

        cxcywh = rows[:, :4].astype(np.float64)
        if self.layout == "darknet":
            cxcywh *= np.tile(self.input_size, 2)  # normalised -> input pixels
        sx, sy, px, py = geometry
        scale = np.array([sx, sy, sx, sy])
        boxes = np.empty_like(cxcywh)
        boxes[:, :2] = cxcywh[:, :2] - cxcywh[:, 2:] / 2 - (px, py)
        boxes[:, 2:] = cxcywh[:, 2:]
        boxes /= scale

        picked = np.asarray(cv2.dnn.NMSBoxesBatched(boxes, conf.astype(np.float32), classes.astype(np.int32),
                                                    0.0, self.nms), np.int64).reshape(-1)
        boxes, conf, classes = boxes[picked], conf[picked], classes[picked]

        fh, fw = frame_shape[:2]
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        sides = boxes[:, 2:]
        keep = ((centres >= 0) & (centres < (fw, fh))).all(axis=1)
        keep &= (sides >= self.min_size).all(axis=1) & (sides <= self.max_size).all(axis=1)
        boxes, conf, classes, centres = boxes[keep], conf[keep], classes[keep], centres[keep]
        if self.constant_size is not None:
            boxes = np.hstack([centres - self.constant_size / 2, np.full((len(boxes), 2), self.constant_size)])
        detections = Detections(centres, boxes, conf, classes)
        return self.mask.filter(detections) if self.mask is not None else detections

    def detect(self, frame: np.ndarray) -> Detections:
        blob, geometry = self.preprocess([frame])
        outputs = self._forward(blob)
        return self.decode(self._rows(outputs, 0), frame.shape, geometry[0])

    def detect_batch(self, frames) -> list[Detections]:
        """One forward pass per `max_batch` frames where the network takes a batch, else frame by frame."""
        frames = list(frames)
        results = []
        for start in range(0, len(frames), self.max_batch):
            chunk = frames[start:start + self.max_batch]
            outputs = self._batched_forward(chunk) if len(chunk) > 1 and self.batch_supported is not False else None
            if outputs is None:
                results += [self.detect(f) for f in chunk]
                continue
            blob_outputs, geometry = outputs
            results += [self.decode(self._rows(blob_outputs, i), f.shape, geometry[i]) for i, f in enumerate(chunk)]
        return results

    def _batched_forward(self, frames):
        """Outputs of one batched forward, or None when this network does not take batches."""
        blob, geometry = self.preprocess(frames)
        try:
            outputs = self._forward(blob)
        except self.engine.errors:
            outputs = None
        # a fixed-batch ONNX graph may run but fold the batch into other axes: check the leading axis
        ok = outputs is not None and all(o.ndim == 3 and o.shape[0] == len(frames) for o in outputs)
        self.batch_supported = ok
        return (outputs, geometry) if ok else None
