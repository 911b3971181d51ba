"""Which inference runtime (OpenCV DNN, ONNX Runtime) and device run a detection network, and running it.

Runtimes: "opencv" reads Darknet .cfg/.weights and ONNX; "onnxruntime" reads ONNX (a Darknet model is
converted once with `omnitrax convert-darknet`). Devices: cpu, cuda (NVIDIA: OpenCV built with CUDA, or
onnxruntime-gpu), directml (Windows, any GPU: onnxruntime-directml), coreml (macOS: the standard
onnxruntime wheel), opencl (OpenCV's OpenCL target, many GPUs with the pip wheel). "auto" picks, for the
model at hand, ONNX Runtime when it is installed and the model is ONNX (1.3-2x OpenCV DNN on the CPU,
tools/bench_detection.py), on the first GPU it offers, else OpenCV DNN on CUDA when built with it, else
the CPU. An explicit choice that cannot run is a one-line error, never a silent fallback.

An Engine runs float blobs (B, 3, H, W) and returns the network's outputs; everything before and after
(resizing, decoding, NMS) is the detector's and identical for every engine.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from ..errors import OmniTraxError

RUNTIMES = ("opencv", "onnxruntime")
DEVICES = ("cpu", "cuda", "directml", "coreml", "opencl")
RUNTIME_LABELS = {"opencv": "OpenCV DNN", "onnxruntime": "ONNX Runtime"}
DEVICE_LABELS = {"cpu": "CPU", "cuda": "CUDA", "directml": "DirectML", "coreml": "CoreML", "opencl": "OpenCL"}
ORT_PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                 "directml": "DmlExecutionProvider", "coreml": "CoreMLExecutionProvider"}
ORT_GPU_ORDER = ("cuda", "directml", "coreml")  # what auto tries first on ONNX Runtime
_PLATFORM_DEVICES = {"linux": ("cpu", "cuda", "opencl"), "win32": ("cpu", "cuda", "directml", "opencl"),
                     "darwin": ("cpu", "coreml", "opencl")}
_ORT_PACKAGE = {"cuda": "onnxruntime-gpu", "directml": "onnxruntime-directml", "coreml": "onnxruntime"}


def platform_devices(platform: str | None = None) -> tuple[str, ...]:
    """The devices that exist on a platform (sys.platform value; default: this one), for choosing."""
    platform = platform or sys.platform
    key = "linux" if platform.startswith("linux") else platform
    return _PLATFORM_DEVICES.get(key, ("cpu", "opencl"))


def onnxruntime():
    """The onnxruntime module, or None when it is not installed (or does not load on this machine)."""
    try:
        import onnxruntime as ort
    except (ImportError, OSError):
        return None
    return ort


def ort_devices() -> list[str]:
    """Devices ONNX Runtime can use here (its execution providers), CPU last; [] without onnxruntime."""
    ort = onnxruntime()
    if ort is None:
        return []
    providers = set(ort.get_available_providers())
    return [d for d in ORT_GPU_ORDER if ORT_PROVIDERS[d] in providers] + ["cpu"]


def opencv_devices() -> list[str]:
    """Devices OpenCV DNN can use here: cuda when built with it, opencl when an OpenCL GPU answers, cpu."""
    import cv2

    devices = []
    if len(cv2.dnn.getAvailableTargets(cv2.dnn.DNN_BACKEND_CUDA)) > 0:
        devices.append("cuda")
    if cv2.ocl.haveOpenCL() and cv2.ocl.Device.getDefault().type() & cv2.ocl.DEVICE_TYPE_GPU:
        devices.append("opencl")  # OpenCV DNN runs OpenCL on GPUs only (on a CPU device it falls back)
    return devices + ["cpu"]


def choose(runtime: str, device: str, model_format: str) -> tuple[str, str]:
    """(runtime, device) that will run a model of this format ("ONNX" or "Darknet"), auto resolved."""
    runtime, device = str(runtime).lower(), str(device).lower()
    if runtime not in ("auto",) + RUNTIMES:
        raise OmniTraxError(f"Unknown runtime {runtime!r}; use auto, {', '.join(RUNTIMES)}.")
    if device not in ("auto",) + DEVICES:
        raise OmniTraxError(f"Unknown compute device {device!r}; use auto, {', '.join(DEVICES)}.")
    if device != "auto" and device not in platform_devices():
        raise OmniTraxError(f"The compute device {DEVICE_LABELS[device]} does not exist on this platform "
                            f"({sys.platform}); choose one of: auto, {', '.join(platform_devices())}.")
    ort = ort_devices()
    if runtime == "onnxruntime":
        if model_format != "ONNX":
            raise OmniTraxError("ONNX Runtime runs .onnx models only: convert the Darknet model once with "
                                "`omnitrax convert-darknet MODEL.cfg MODEL.weights MODEL.onnx` (Blender: Convert "
                                "to ONNX), or choose the runtime OpenCV DNN.")
        if not ort:
            raise OmniTraxError("ONNX Runtime is not installed: install it (pip install onnxruntime==1.32.0; "
                                "Blender: Preferences > OmniTrax > Install packages), or choose the runtime "
                                "auto or OpenCV DNN.")
        return runtime, _device_for("onnxruntime", device, ort)
    if runtime == "opencv":
        return runtime, _device_for("opencv", device, opencv_devices())
    # auto: ONNX Runtime for ONNX models when installed, unless only OpenCV has the device asked for
    if model_format == "ONNX" and ort and (device == "auto" or device in ort):
        return "onnxruntime", _device_for("onnxruntime", device, ort)
    return "opencv", _device_for("opencv", device, opencv_devices())


def _device_for(runtime: str, device: str, available: list[str]) -> str:
    if device == "auto":
        return available[0] if runtime == "onnxruntime" or available[0] == "cuda" else "cpu"
    if device in available:
        return device
    label = DEVICE_LABELS[device]
    if runtime == "opencv":
        why = {"cuda": "this OpenCV build has no CUDA support (pip wheels never do): choose runtime ONNX Runtime "
                       "with the GPU packages (Preferences > OmniTrax, GPU acceleration), or device auto/cpu",
               "opencl": "OpenCV finds no OpenCL device on this machine (a GPU driver with OpenCL is needed): "
                         "choose device auto or cpu"}.get(device, f"OpenCV DNN has no {label} device: choose "
                                                                  f"runtime ONNX Runtime, or device auto/cpu")
        raise OmniTraxError(f"Cannot run on {label}: {why}.")
    if device == "opencl":
        raise OmniTraxError("ONNX Runtime has no OpenCL device: choose runtime OpenCV DNN for OpenCL, or device "
                            "auto/cpu.")
    raise OmniTraxError(f"Cannot run on {label}: the installed ONNX Runtime has no {label} provider (it offers "
                        f"{', '.join(DEVICE_LABELS[d] for d in available)}). Install {_ORT_PACKAGE[device]} "
                        f"(Preferences > OmniTrax, GPU acceleration), or choose device auto/cpu.")


def first_line(error: Exception) -> str:
    """The useful line of an OpenCV/ONNX Runtime error ('... error: (-215:...) what in function ...')."""
    text = str(error).strip().splitlines()
    line = next((t for t in text if "error:" in t), text[-1] if text else "")
    return line.split("error:", 1)[-1].strip()


class Engine:
    """Runs a loaded network: forward(blob) -> outputs (list of arrays, in output_names order)."""

    runtime = ""
    device = ""
    errors: tuple[type[BaseException], ...] = ()  # what forward raises for an input the network refuses
    output_names: list[str]

    def forward(self, blob: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def keep_output(self, index: int) -> None:
        """From now on compute only output `index` (exports may add raw maps beside the decoded one)."""
        self.output_names = [self.output_names[index]]

    @property
    def description(self) -> str:
        return f"{RUNTIME_LABELS[self.runtime]}, {DEVICE_LABELS[self.device]}"


class OpenCVEngine(Engine):
    """A cv2.dnn.Net on the CPU, CUDA or OpenCL target."""

    runtime = "opencv"

    def __init__(self, net, device: str):
        import cv2

        self.net, self.device, self.errors = net, device, (cv2.error,)
        if device == "cuda":
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)
        else:
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_OPENCL if device == "opencl" else cv2.dnn.DNN_TARGET_CPU)
        self.output_names = list(net.getUnconnectedOutLayersNames())

    def forward(self, blob):
        self.net.setInput(blob)
        return list(self.net.forward(self.output_names))

    @property
    def description(self) -> str:
        text = super().description
        if self.device == "opencl":
            import cv2

            text += f" ({cv2.ocl.Device.getDefault().name()})"
        return text


class OrtEngine(Engine):
    """An ONNX Runtime InferenceSession on one execution provider (with the CPU for what it lacks)."""

    runtime = "onnxruntime"

    def __init__(self, path: Path, device: str):
        ort = onnxruntime()
        if device == "cuda" and hasattr(ort, "preload_dlls"):
            ort.preload_dlls()  # CUDA/cuDNN from NVIDIA's pip wheels (the GPU packages), found without PATH
        options = ort.SessionOptions()
        options.log_severity_level = 3  # provider fallbacks are reported by us, not printed by ORT
        providers = [ORT_PROVIDERS[device]] + ([] if device == "cpu" else [ORT_PROVIDERS["cpu"]])
        try:
            with warnings.catch_warnings():  # "provider not available": reported below, in our words
                warnings.simplefilter("ignore", UserWarning)
                self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as e:  # ORT raises its own pybind exception types
            raise OmniTraxError(f"ONNX Runtime cannot load '{path.name}': {first_line(e)}. Check the file, or "
                                f"choose the runtime OpenCV DNN.") from None
        if ORT_PROVIDERS[device] not in self.session.get_providers():
            raise OmniTraxError(f"ONNX Runtime could not start {DEVICE_LABELS[device]} for '{path.name}' (the GPU "
                                f"driver or the CUDA/cuDNN packages are missing): reinstall the GPU packages "
                                f"(Preferences > OmniTrax), or choose device auto/cpu.")
        self.device = device
        self.errors = (Exception,)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def fixed_size(self) -> tuple[int, int] | None:
        """(width, height) when the graph's input has fixed spatial dimensions, else None."""
        shape = self.session.get_inputs()[0].shape
        if len(shape) == 4 and all(isinstance(d, int) and d > 0 for d in shape[2:]):
            return int(shape[3]), int(shape[2])
        return None

    def forward(self, blob):
        return self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(blob, np.float32)})
