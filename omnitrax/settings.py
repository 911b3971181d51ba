"""THE settings schema: every tracking and pose setting declared once (bpy-free).

Each `Setting` says its name, type, default, allowed values or range, unit, one-line help and group.
From this one table come the core's validation (`TrackingSettings`, pose runs), the settings files'
checks, the CLI flags and the Blender properties, so a value the panel accepts is a value the core
runs, and a value a file or the command line gives is refused with one clear line before any work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import OmniTraxError

GROUPS = ("detection", "background", "tracker", "identity", "pose")


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    group: str
    label: str
    help: str
    choices: tuple = ()  # ((value, label, help), ...) for text settings with fixed values
    min: float | None = None
    max: float | None = None
    unit: str = ""  # "px", "frames", "grey levels" ... shown in messages
    path: str = ""  # "file" | "folder" for path settings
    multiple_of: int = 0
    flag: str = ""  # CLI flag; default --<name with dashes>
    scene: bool = True  # a Blender scene property (False: a preference, e.g. the compute device)

    @property
    def kind(self) -> type:
        return type(self.default)

    @property
    def values(self) -> tuple:
        return tuple(c[0] for c in self.choices)

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.max is None:
            return f"at least {_num(self.min)}{unit}"
        return f"{_num(self.min)} to {_num(self.max)}{unit}"

    def check(self, value, where: str = ""):
        """value as this setting's type, or an OmniTraxError of one line naming the setting."""
        at = f" in {where}" if where else ""

        def bad(what):
            return OmniTraxError(f"Setting {self.name} = {value!r}{at} {what}.")

        kind = self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise bad("must be true or false")
            return value
        if kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad("must be a number")
            if not math.isfinite(value):
                raise bad(f"is not a finite number: use {self.range_text()}")
            if kind is int:
                if value != int(value):
                    raise bad("must be a whole number")
                value = int(value)
            else:
                value = float(value)
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise bad(f"is out of range: use {self.range_text()}")
            if self.multiple_of and value % self.multiple_of:
                raise bad(f"must be a multiple of {self.multiple_of} (e.g. 320, 416 or 640)")
            return value
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise bad("must be text")
        if self.choices:
            low = value.lower()
            if low not in self.values:
                raise bad(f"is not one of {', '.join(self.values)}")
            return low
        return value


def _num(x) -> str:
    return f"{x:,.0f}" if float(x) == int(x) and abs(x) >= 10000 else f"{x:g}"


_BIG_PX = 100_000  # no frame is wider than this
_BIG_AREA = 100_000_000  # px^2: a 10,000 x 10,000 frame

SETTINGS: tuple[Setting, ...] = (
    # --- detection -----------------------------------------------------------------------------------
    Setting("detector", "yolo", "detection", "Detector",
            "yolo: a YOLO network (default: the bundled ant model); background: no network, static camera",
            choices=(("yolo", "YOLO network",
                      "A YOLO network you trained (Darknet .cfg/.weights or ONNX), run by OpenCV"),
                     ("background", "Background",
                      "No network: animals are what differs from the static background. Needs a fixed camera"))),
    Setting("model_path", "", "detection", "Model",
            "Darknet .cfg or ONNX .onnx file of your YOLO network. Empty: the bundled ant model",
            path="file", flag="--model"),
    Setting("weights_path", "", "detection", "Weights",
            "Darknet .weights file that belongs to the .cfg (not needed for ONNX)", path="file", flag="--weights"),
    Setting("names_path", "", "detection", "Class names",
            "Optional .names/.txt file, one class name per line, to label the tracks", path="file",
            flag="--names"),
    Setting("confidence", 0.5, "detection", "Confidence",
            "Detections scoring below this are ignored. Lower it if animals are missed, raise it if the "
            "background produces false detections", min=0.0, max=1.0),
    Setting("low_confidence", 0.0, "detection", "Low confidence",
            "YOLO: detections between this and Confidence may only continue existing tracks, never start "
            "one (two-stage matching, as ByteTrack), so animals that are briefly hard to see stay tracked. "
            "0: off (detections below Confidence are ignored)", min=0.0, max=1.0),
    Setting("nms", 0.45, "detection", "Overlap (NMS)",
            "Boxes overlapping more than this (IoU) are merged into the best one. Raise it when animals "
            "touch and one of them disappears", min=0.0, max=1.0),
    Setting("network_size", 416, "detection", "Network size",
            "Input size of the network in pixels (a multiple of 32). Larger finds small animals better but "
            "is slower. Your model files are never changed", min=32, max=4096, unit="px", multiple_of=32,
            flag="--size"),
    Setting("min_box", 0, "detection", "Min size",
            "Ignore detections whose larger box side is below this many pixels (0: off)", min=0, max=_BIG_PX,
            unit="px"),
    Setting("max_box", 0, "detection", "Max size",
            "Ignore detections whose larger box side is above this many pixels (0: off)", min=0, max=_BIG_PX,
            unit="px"),
    Setting("constant_box", 0, "detection", "Constant size",
            "Give every marker a square box of this size instead of the detected box (0: use detected "
            "boxes). Affects boxes only, not detection", min=0, max=_BIG_PX, unit="px"),
    Setting("animals", 0, "detection", "Number of animals",
            "How many animals the video shows (0: unknown). When known, blobs of touching animals are split, "
            "the weakest extra detections of a frame dropped, and the tracker keeps exactly this many "
            "identities", min=0, max=100_000),
    Setting("runtime", "auto", "detection", "Runtime",
            "What runs the YOLO network; auto: ONNX Runtime for .onnx models when it is installed, else OpenCV "
            "DNN (the choice is reported when tracking starts)",
            choices=(("auto", "Automatic", "ONNX Runtime for .onnx models when it is installed, else OpenCV DNN"),
                     ("opencv", "OpenCV DNN", "OpenCV's DNN module: Darknet .cfg/.weights and .onnx models"),
                     ("onnxruntime", "ONNX Runtime",
                      "ONNX Runtime: .onnx models (convert Darknet models once with convert-darknet)")),
            scene=False),
    Setting("backend", "auto", "detection", "Compute device",
            "auto: the first GPU the runtime offers, else the CPU (the device in use is reported)",
            choices=(("auto", "Automatic", "The first GPU the runtime offers, else the CPU"),
                     ("cpu", "CPU", "Always use the CPU"),
                     ("cuda", "NVIDIA GPU (CUDA)",
                      "NVIDIA GPU: ONNX Runtime with the GPU packages, or an OpenCV built with CUDA"),
                     ("directml", "DirectML GPU", "Any GPU on Windows: ONNX Runtime with onnxruntime-directml"),
                     ("coreml", "Apple CoreML", "Apple GPU / Neural Engine on macOS: ONNX Runtime"),
                     ("opencl", "OpenCL GPU", "OpenCV DNN's OpenCL target (many GPUs, with the standard OpenCV)")),
            scene=False),
    # --- background detector -------------------------------------------------------------------------
    Setting("polarity", "auto", "background", "Animals are",
            "background detector: auto decides from the video whether the animals are darker or lighter "
            "than the floor (the choice is reported when tracking starts)",
            choices=(("auto", "Automatic", "Decided from the video: the side of the background where the "
                                           "strongest differences lie; reported when tracking starts"),
                     ("darker", "Darker", "Animals are darker than the background"),
                     ("lighter", "Lighter", "Animals are lighter than the background"),
                     ("either", "Either", "Animals differ from the background either way"))),
    Setting("threshold", 0, "background", "Threshold",
            "Grey-level difference from the background that counts as animal (0: automatic, Otsu)",
            min=0, max=254, unit="grey levels"),
    Setting("min_area", 0, "background", "Min area",
            "Blobs smaller than this many pixels are noise, not animals (0: automatic, learned from the "
            "video's blob sizes; reported when tracking starts)", min=0, max=_BIG_AREA, unit="px"),
    Setting("max_area", 0, "background", "Max area",
            "Blobs larger than this many pixels are ignored (0: automatic, learned from the video)",
            min=0, max=_BIG_AREA, unit="px"),
    Setting("animal_area", 0, "background", "Animal area",
            "Typical area of one animal in pixels: blobs of several touching animals are split into that "
            "many animals (0: automatic, the video's commonest blob size)", min=0, max=_BIG_AREA, unit="px"),
    Setting("background_image", "", "background", "Empty arena image",
            "An image of the arena without animals, the same size as the video. Empty: the background is "
            "learned from the video (animals that never move are still found)", path="file"),
    Setting("background_frames", 50, "background", "Background frames",
            "How many frames spread over the clip estimate the background (median)", min=3, max=500,
            unit="frames"),
    # --- tracker -------------------------------------------------------------------------------------
    Setting("max_distance", 0.0, "tracker", "Max distance",
            "A cap on how far a detection may lie from a track's predicted position to join it (0: no cap). "
            "The gate itself follows each animal's size and the track's uncertainty, so 0 suits 10 px ants "
            "and 200 px animals alike", min=0.0, max=float(_BIG_PX), unit="px"),
    Setting("max_gap", 10, "tracker", "Max gap",
            "Frames a track survives without detections (bridged by its motion model) before it ends",
            min=0, max=100_000, unit="frames"),
    Setting("confirm", 3, "tracker", "Confirm after",
            "A new track counts only after this many detections in a row (then from its first one); "
            "false detections rarely last that long. 1: every detection starts a track at once",
            min=1, max=1000, unit="frames"),
    Setting("min_length", 10, "tracker", "Min length",
            "Tracks with fewer detections than this are discarded as noise", min=1, max=100_000, unit="frames"),
    Setting("cost", "distance", "tracker", "Match by",
            "distance: between centres; iou: box overlap, for large box-like animals that touch",
            choices=(("distance", "Distance", "Match detections to tracks by the distance between centres"),
                     ("iou", "Box overlap",
                      "Match by box overlap (IoU); for large, box-like animals that touch"))),
    Setting("process_noise", 1.0, "tracker", "Motion noise",
            "How erratically the animals move (Kalman process noise). Raise for animals that turn and "
            "accelerate suddenly", min=1e-6, max=1e6),
    Setting("measurement_noise", 1.0, "tracker", "Position noise",
            "How noisy the detected positions are, in pixels (Kalman measurement noise)", min=1e-6, max=1e6),
    Setting("stitch", True, "tracker", "Stitch tracklets",
            "After tracking, join tracks that end to tracks that start shortly after nearby, to repair "
            "identity breaks"),
    # --- identities (the identity pass: omnitrax track --identify; Blender: Identify Animals) --------------
    Setting("identity_certainty", 0.9, "identity", "Certainty",
            "Identify Animals lists fragments whose identity is less sure than this as uncertain, for you to "
            "check (higher: more to check, fewer wrong ones unlisted)", min=0.0, max=1.0),
    # --- real units ------------------------------------------------------------------------------------
    Setting("scale", 0.0, "units", "Scale",
            "Pixels per unit of length (e.g. 10 px per mm), for distances and speeds in real units in the "
            "summary (0: pixels only). Blender: Set Scale measures it from two markers", min=0.0, max=1e6,
            unit="px per unit"),
    Setting("unit", "mm", "units", "Unit", "The unit of length of the scale",
            choices=(("um", "µm", "Micrometres"), ("mm", "mm", "Millimetres"), ("cm", "cm", "Centimetres"),
                     ("m", "m", "Metres"), ("in", "in", "Inches"))),
    # --- pose estimation -----------------------------------------------------------------------------
    Setting("pose_model_path", "", "pose", "Pose model",
            "Exported DeepLabCut model folder (TensorFlow: pose_cfg.yaml + .pb; DeepLabCut 3: .pt). Empty: "
            "the bundled ant model (head, thorax, abdomen)", path="folder", flag="--model"),
    Setting("pose_skeleton_path", "", "pose", "Skeleton",
            "DeepLabCut project config.yaml whose skeleton to draw (empty: the one next to the model, if any)",
            path="file", flag="--skeleton"),
    Setting("pose_roi_mode", "constant", "pose", "Region",
            "constant: a square of ROI size px around each marker; box: the marker's box plus padding, "
            "made square and resized to ROI size",
            choices=(("constant", "Fixed square", "A square of 'ROI size' pixels centred on each marker"),
                     ("box", "Marker box", "The marker's box grown by 'Padding', made square and resized")),
            flag="--roi-mode"),
    # 96 px: the crop size the bundled ant pose model was trained on (tools/train_pose.py)
    Setting("pose_roi_size", 96, "pose", "ROI size",
            "Side of the square cut around each animal; about the size of the crops the network was "
            "trained on", min=8, max=1024, unit="px", flag="--roi-size"),
    Setting("pose_padding", 10, "pose", "Padding", "Pixels added around the marker box (Region: Marker box)",
            min=0, max=1024, unit="px", flag="--padding"),
    Setting("pcutoff", 0.5, "pose", "Cut-off",
            "Keypoints whose likelihood is below this are kept but disabled (enable and fix them, or leave "
            "them out of analyses)", min=0.0, max=1.0),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def group(name: str) -> tuple[Setting, ...]:
    return tuple(s for s in SETTINGS if s.group == name)


TRACKING = tuple(s for s in SETTINGS if s.group != "pose")
POSE = group("pose")


def defaults(settings=SETTINGS) -> dict:
    return {s.name: s.default for s in settings}


def check(name: str, value, where: str = ""):
    """One value checked and converted by its setting (unknown names are an error)."""
    setting = BY_NAME.get(name)
    if setting is None:
        raise OmniTraxError(f"Unknown setting {name}{f' in {where}' if where else ''}. "
                            f"Known: {', '.join(sorted(BY_NAME))}.")
    return setting.check(value, where)


def check_all(values: dict, where: str = "") -> dict:
    """Every value checked, then the rules that tie settings together; returns the converted values."""
    out = {name: check(name, value, where) for name, value in values.items()}
    at = f" in {where}" if where else ""
    for low, high in (("min_area", "max_area"), ("min_box", "max_box")):
        if out.get(high) and out.get(low, 0) > out[high]:
            raise OmniTraxError(f"Setting {low} = {out[low]} is larger than {high} = {out[high]}{at}: "
                                f"lower {low} or raise {high} (0: no limit).")
    return out
