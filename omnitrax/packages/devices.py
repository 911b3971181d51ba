"""What the detection and pose runtimes can run on: onnxruntime's execution providers, OpenCV's CUDA and
OpenCL, torch's and tensorflow's GPUs (bpy-free).

DeviceProbe reports, in a separate process, what onnxruntime, OpenCV, torch and tensorflow really run on;
usable_onnxruntime_providers() tells the detection code the same for onnxruntime in its own process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ..errors import OmniTraxError
from .processes import kill_tree, new_group_kwargs
from .requirements import ACCELERATIONS, COREML, CUDA, DIRECTML, ONNXRUNTIME_DISTRIBUTIONS, installed_versions

# y = Relu(x), x: float[1] (ONNX IR 7, opset 13): the smallest model an execution provider can run. An
# onnxruntime package lists the providers it was built with (onnxruntime-gpu lists CUDA on a computer
# without an NVIDIA GPU, and then runs on the CPU); only running a model tells whether one works.
TINY_ONNX_MODEL = bytes.fromhex("080712003a330a0c0a0178120179220452656c751201745a0f0a0178120a0a08080112040a020801"
                                "620f0a0179120a0a08080112040a02080142040a00100d")
PROVIDER_NAMES = {"CUDAExecutionProvider": "CUDA", "DmlExecutionProvider": "DirectML",
                  "CoreMLExecutionProvider": "CoreML", "CPUExecutionProvider": "CPU"}
FRAMEWORKS = ("torch", "tensorflow", "onnxruntime", "opencv")  # torch before tensorflow (GUIDE.md)

# Shared by the device probe (its own process) and usable_onnxruntime_providers() (this process).
_ORT_CHECK = r'''
GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")


def ort_check(ort, model):
    """(providers built in, providers that ran `model` (GPU first, CPU last), {provider: why it did not})."""
    import contextlib, io
    import numpy as np
    built = list(ort.get_available_providers())
    usable, why, quiet = [], {}, io.StringIO()
    if "CUDAExecutionProvider" in built and hasattr(ort, "preload_dlls"):
        try:  # NVIDIA's CUDA/cuDNN pip wheels next to onnxruntime (or torch's, when torch was imported first)
            with contextlib.redirect_stdout(quiet):
                ort.preload_dlls()
        except Exception as exc:
            why["CUDAExecutionProvider"] = f"{type(exc).__name__}: {exc}"[:200]
    for provider in [p for p in GPU_PROVIDERS if p in built] + ["CPUExecutionProvider"]:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            with contextlib.redirect_stdout(quiet):  # onnxruntime prints its fall-backs
                session = ort.InferenceSession(model, options, providers=[provider])
                if provider not in session.get_providers():
                    raise RuntimeError("it fell back to " + ", ".join(session.get_providers()))
                session.run(None, {"x": np.ones(1, np.float32)})
        except Exception as exc:
            why.setdefault(provider, (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0][:200])
        else:
            usable.append(provider)
    return built, usable, why
'''

_PROBE_SCRIPT = _ORT_CHECK + r'''
import json, os, platform, sys
target, frameworks, extra_paths, model = sys.argv[1], sys.argv[2].split(","), json.loads(sys.argv[3]), sys.argv[4]
for p in extra_paths + ([target] if target else []):  # after the interpreter's own, like the add-on does
    if p not in sys.path:
        sys.path.append(p)
out = {"machine": platform.machine(), "platform": sys.platform, "cores": os.cpu_count(), "errors": {}}
MODULES = {"torch": "torch", "tensorflow": "tensorflow", "onnxruntime": "onnxruntime", "opencv": "cv2"}


def ort_distributions(folder=None):
    import importlib.metadata as md
    found = []
    for dist in (md.distributions(path=[folder]) if folder else md.distributions()):
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml") and name not in found:
            found.append(name)
    return found


for name in frameworks:
    try:
        if name == "torch":
            import torch
            cuda = torch.cuda.is_available()
            mps = getattr(torch.backends, "mps", None)
            out["torch"] = {"version": torch.__version__,
                            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                                    if cuda else [],
                            "mps": bool(mps is not None and mps.is_available())}
        elif name == "tensorflow":
            import tensorflow as tf
            out["tensorflow"] = {"version": tf.__version__,
                                 "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]}
        elif name == "onnxruntime":
            import onnxruntime as ort
            ort.set_default_logger_severity(4)
            built, usable, why = ort_check(ort, bytes.fromhex(model))
            here = ort_distributions(os.path.dirname(os.path.dirname(os.path.abspath(ort.__file__))))
            out["onnxruntime"] = {"version": ort.__version__, "package": (here or ["onnxruntime"])[0],
                                  "packages": ort_distributions(), "providers": built, "usable": usable,
                                  "why": why}
        elif name == "opencv":
            import cv2
            ocl = bool(cv2.ocl.haveOpenCL())
            device = cv2.ocl.Device.getDefault() if ocl else None
            out["opencv"] = {"version": cv2.__version__,
                             "cuda_targets": len(cv2.dnn.getAvailableTargets(cv2.dnn.DNN_BACKEND_CUDA)),
                             "opencl": ocl, "opencl_device": device.name() if device is not None else "",
                             "opencl_gpu": bool(device is not None and device.type() & cv2.ocl.DEVICE_TYPE_GPU)}
    except ModuleNotFoundError as exc:
        if exc.name != MODULES.get(name):  # the framework is there but something it needs is not
            out["errors"][name] = f"{type(exc).__name__}: {exc}"[:300]
    except Exception as exc:
        out["errors"][name] = f"{type(exc).__name__}: {exc}"[:300]
sys.stdout.write("\nOMNITRAX_DEVICES " + json.dumps(out) + "\n")
sys.stdout.flush()
os._exit(0)
'''


@dataclass
class DeviceReport:
    """What the detection and pose runtimes can run on. *_version is None when that one is not installed."""

    machine: str
    cores: int
    torch_version: str | None = None
    torch_gpus: list[str] = field(default_factory=list)
    mps: bool = False
    tensorflow_version: str | None = None
    tensorflow_gpus: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # framework -> why it failed to load
    platform: str = ""  # sys.platform of the probed Python
    onnxruntime_version: str | None = None
    onnxruntime_package: str | None = None  # the distribution imported: onnxruntime, onnxruntime-gpu, ...
    onnxruntime_packages: list[str] = field(default_factory=list)  # every one importable (more than 1: broken)
    onnxruntime_providers: list[str] = field(default_factory=list)  # built in
    onnxruntime_usable: list[str] = field(default_factory=list)  # really ran a model here (GPU first, CPU last)
    onnxruntime_why: dict[str, str] = field(default_factory=dict)  # provider -> why it did not run
    opencv_version: str | None = None
    opencv_cuda_targets: int = 0  # OpenCV DNN's CUDA targets (0 with the pip wheels)
    opencl: bool = False  # cv2.ocl.haveOpenCL()
    opencl_device: str = ""
    opencl_gpu: bool = False  # the default OpenCL device is a GPU (OpenCV DNN's OpenCL target needs one)

    @classmethod
    def from_probe(cls, data: dict) -> DeviceReport:
        """The report of the probe script's JSON."""
        torch, tf = data.get("torch") or {}, data.get("tensorflow") or {}
        ort, cv = data.get("onnxruntime") or {}, data.get("opencv") or {}
        return cls(machine=data["machine"], cores=data.get("cores") or 1, platform=data.get("platform", ""),
                   torch_version=torch.get("version"), torch_gpus=torch.get("gpus", []),
                   mps=torch.get("mps", False), tensorflow_version=tf.get("version"),
                   tensorflow_gpus=tf.get("gpus", []), errors=data.get("errors", {}),
                   onnxruntime_version=ort.get("version"), onnxruntime_package=ort.get("package"),
                   onnxruntime_packages=ort.get("packages", []), onnxruntime_providers=ort.get("providers", []),
                   onnxruntime_usable=ort.get("usable", []), onnxruntime_why=ort.get("why", {}),
                   opencv_version=cv.get("version"), opencv_cuda_targets=cv.get("cuda_targets", 0),
                   opencl=cv.get("opencl", False), opencl_device=cv.get("opencl_device", ""),
                   opencl_gpu=cv.get("opencl_gpu", False))

    def onnxruntime_warning(self) -> str | None:
        """One line when the installed onnxruntime was installed for an accelerator that does not run here
        (onnxruntime-gpu without a working NVIDIA GPU, ...), else None."""
        if not self.onnxruntime_version:
            return None
        expected = {"onnxruntime-gpu": CUDA, "onnxruntime-directml": DIRECTML}.get(self.onnxruntime_package or "")
        if expected is None and self.platform == "darwin" and self.machine.lower() == "arm64":
            expected = COREML
        if expected is None or ACCELERATIONS[expected].provider in self.onnxruntime_usable:
            return None
        acc = ACCELERATIONS[expected]
        return (f"{self.onnxruntime_package} is installed but sees no {acc.device} "
                f"({PROVIDER_NAMES[acc.provider]} provider not available): detection runs on the CPU")

    def summary(self) -> str:
        """One line for the UI, e.g. 'CPU x86_64 (16 cores); onnxruntime-gpu 1.31.1: CUDA, CPU; OpenCV 4.11.0:
        no CUDA, OpenCL NVIDIA H100; torch 2.14.1: CUDA NVIDIA H100; tensorflow 2.21.0: CPU only'."""
        parts = [f"CPU {self.machine} ({self.cores} cores)"]
        if self.onnxruntime_version:
            usable = ", ".join(PROVIDER_NAMES.get(p, p.removesuffix("ExecutionProvider"))
                               for p in self.onnxruntime_usable) or "no provider runs"
            parts.append(self.onnxruntime_warning() or f"{self.onnxruntime_package} {self.onnxruntime_version}: "
                                                       f"{usable}")
            if len(self.onnxruntime_packages) > 1:
                parts.append(f"several ONNX Runtime packages are importable ({', '.join(self.onnxruntime_packages)}),"
                             f" {self.onnxruntime_package} is used")
        if self.opencv_version:
            opencl = f"OpenCL {self.opencl_device}".strip() if self.opencl else "no OpenCL"
            parts.append(f"OpenCV {self.opencv_version}: {'CUDA' if self.opencv_cuda_targets else 'no CUDA'}, "
                         f"{opencl}")
        if self.torch_version:
            gpu = ", ".join(f"CUDA {g}" for g in self.torch_gpus) or ("Apple GPU (MPS)" if self.mps else "CPU only")
            parts.append(f"torch {self.torch_version}: {gpu}")
        if self.tensorflow_version:
            parts.append(f"tensorflow {self.tensorflow_version}: {', '.join(self.tensorflow_gpus) or 'CPU only'}")
        for name, err in self.errors.items():
            parts.append(f"{name} fails to load ({err})")
        return "; ".join(parts)


class DeviceProbe:
    """Finds what onnxruntime, OpenCV, torch and tensorflow can run on by importing them in a separate
    Python process (importing torch/tensorflow in Blender's process takes seconds and cannot be undone).
    `paths`: folders to put on that process's sys.path after its own (Blender's extension wheels, e.g. the
    caller's sys.path), `target` goes last. Non-blocking: call poll() until it returns a DeviceReport; it
    raises OmniTraxError when the probe crashes or runs past `timeout` seconds."""

    def __init__(self, target: str | os.PathLike | None = None, python: str = sys.executable,
                 frameworks: tuple[str, ...] = FRAMEWORKS, timeout: float = 180.0, paths=()):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        extra = [str(p) for p in paths if p and str(p) != str(target or "")]
        self._proc = subprocess.Popen(
            [python, "-c", _PROBE_SCRIPT, str(target) if target else "", ",".join(frameworks), json.dumps(extra),
             TINY_ONNX_MODEL.hex()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            **new_group_kwargs())
        self.report: DeviceReport | None = None

    def poll(self) -> DeviceReport | None:
        if self.report is not None:
            return self.report
        if self._proc.poll() is None:
            if time.monotonic() < self._deadline:
                return None
            self.cancel()
            raise OmniTraxError(f"Looking for GPUs took longer than {self._timeout:.0f} s and was stopped; "
                                "the pose packages may be broken: reinstall them.")
        output = self._proc.stdout.read().decode("utf-8", "replace")
        self._proc.stdout.close()
        for line in reversed(output.splitlines()):
            if line.startswith("OMNITRAX_DEVICES "):
                self.report = DeviceReport.from_probe(json.loads(line[len("OMNITRAX_DEVICES "):]))
                return self.report
        last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "no output")
        raise OmniTraxError(f"Looking for GPUs crashed ({last.strip()[:200]}); the pose packages may be "
                            "broken: reinstall them.")

    def wait(self) -> DeviceReport:
        while (report := self.poll()) is None:
            time.sleep(0.1)
        return report

    def cancel(self) -> None:
        kill_tree(self._proc)


def probe_devices(target: str | os.PathLike | None = None, python: str = sys.executable,
                  frameworks: tuple[str, ...] = FRAMEWORKS, timeout: float = 180.0, paths=()) -> DeviceReport:
    """Blocking DeviceProbe: which CPU/GPUs onnxruntime, OpenCV, torch and tensorflow (from `target`, else
    `python`'s own packages) can use. Takes seconds (the imports); never call it from a draw function."""
    return DeviceProbe(target, python, frameworks, timeout, paths).wait()


# --- in this process (for the detection code) -------------------------------------------------------

_USABLE_PROVIDERS: list[str] | None = None


def onnxruntime_distributions(target: str | os.PathLike | None = None) -> dict[str, str]:
    """{distribution: version} of the onnxruntime packages installed (in `target`, else where `import` looks),
    from package metadata: nothing is imported. More than one means `import onnxruntime` gets either."""
    found = installed_versions(target, ONNXRUNTIME_DISTRIBUTIONS)
    return {name: version for name, version in found.items() if version}


def usable_onnxruntime_providers(refresh: bool = False) -> list[str]:
    """The onnxruntime execution providers that really run a model on this computer, GPU first, CPU last,
    e.g. ['CUDAExecutionProvider', 'CPUExecutionProvider']; [] when onnxruntime is not installed.

    Unlike onnxruntime.get_available_providers() (what the package was built with: onnxruntime-gpu lists
    CUDA without a GPU), each built-in GPU provider runs a one-node model. For onnxruntime-gpu it first calls
    onnxruntime.preload_dlls(), which loads NVIDIA's CUDA/cuDNN pip wheels from beside onnxruntime (needed
    before a CUDA session when torch has not been imported). Imports onnxruntime: call it when detection
    starts, never at registration or while drawing. Cached for the process (refresh=True checks again)."""
    global _USABLE_PROVIDERS
    if _USABLE_PROVIDERS is not None and not refresh:
        return list(_USABLE_PROVIDERS)
    try:
        import onnxruntime as ort
    except (ImportError, OSError):
        return []
    namespace: dict = {}
    exec(compile(_ORT_CHECK, "<omnitrax onnxruntime check>", "exec"), namespace)
    _, usable, _ = namespace["ort_check"](ort, TINY_ONNX_MODEL)
    _USABLE_PROVIDERS = usable
    return list(usable)


def onnxruntime_providers_for(acceleration: str, usable: list[str] | None = None) -> list[str]:
    """The providers list for onnxruntime.InferenceSession(..., providers=...) for an acceleration: its
    provider first when it runs here, then the CPU. `usable` defaults to usable_onnxruntime_providers()."""
    usable = usable_onnxruntime_providers() if usable is None else usable
    wanted = ACCELERATIONS[acceleration].provider if acceleration in ACCELERATIONS else "CPUExecutionProvider"
    return ([wanted] if wanted in usable and wanted != "CPUExecutionProvider" else []) + ["CPUExecutionProvider"]
