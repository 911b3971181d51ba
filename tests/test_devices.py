"""What the runtimes can run on (omnitrax.packages.devices): the device probe in its own process, the tiny
ONNX model it runs, onnxruntime-gpu without a GPU, and the one-line summary."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from omnitrax.packages import devices
from test_installer import make_wheel, run_install


def test_probe_devices_in_a_subprocess(tmp_path):
    import torch

    report = devices.probe_devices(target=tmp_path, frameworks=("torch",), timeout=120)
    assert report.torch_version == torch.__version__
    assert report.cores >= 1
    assert report.tensorflow_version is None  # not probed
    assert (len(report.torch_gpus) > 0) == torch.cuda.is_available()
    text = report.summary()
    assert text.startswith("CPU ") and f"torch {torch.__version__}" in text


def test_probe_devices_reports_missing_frameworks(tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    report = devices.probe_devices(python=str(venv / "bin" / "python"), timeout=60)
    assert report.torch_version is None and report.tensorflow_version is None
    assert report.errors == {}
    assert report.summary() == f"CPU {report.machine} ({report.cores} cores)"



def test_the_tiny_model_is_one_relu_that_onnxruntime_runs():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    model = onnx.load_from_string(devices.TINY_ONNX_MODEL)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Relu"]
    session = ort.InferenceSession(devices.TINY_ONNX_MODEL, providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.array([-2.0], np.float32)})[0].tolist() == [0.0]


def test_device_check_on_this_computer_sees_onnxruntime_and_opencv(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import cv2

    report = devices.probe_devices(target=tmp_path, frameworks=("onnxruntime", "opencv"), timeout=120)
    assert report.errors == {} and report.platform == sys.platform
    assert report.onnxruntime_version == ort.__version__ and report.onnxruntime_package == "onnxruntime"
    assert report.onnxruntime_providers == ort.get_available_providers()
    assert report.onnxruntime_usable[-1] == "CPUExecutionProvider"
    assert report.onnxruntime_usable == devices.usable_onnxruntime_providers()  # in this process: the same
    assert report.opencv_version == cv2.__version__ and report.opencv_cuda_targets == 0  # pip wheels: no CUDA
    assert report.opencl == cv2.ocl.haveOpenCL()
    text = report.summary()
    assert "\n" not in text
    assert text.startswith(f"CPU {report.machine} ({report.cores} cores); onnxruntime {ort.__version__}: ")
    assert f"; OpenCV {cv2.__version__}: no CUDA, " in text
    if report.onnxruntime_usable == ["CPUExecutionProvider"] and not report.opencl:  # a computer like this one
        assert text == (f"CPU {report.machine} ({report.cores} cores); onnxruntime {ort.__version__}: CPU; "
                        f"OpenCV {cv2.__version__}: no CUDA, no OpenCL")


_FAKE_ORT_GPU = '''"""onnxruntime-gpu as it behaves on a computer without an NVIDIA GPU (measured with the real
onnxruntime-gpu 1.31.1 here): CUDA is built in, preload_dlls() cannot load CUDA, a CUDA session falls back."""
__version__ = "1.31.1"


def get_available_providers():
    return ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def preload_dlls(*args, **kwargs):
    print("Failed to load libcublasLt.so.13: cannot open shared object file")


def set_default_logger_severity(level):
    pass


class SessionOptions:
    log_severity_level = 2


class InferenceSession:
    def __init__(self, model, options=None, providers=()):
        if "CUDAExecutionProvider" in providers:
            print("Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*")
        self._providers = ["CPUExecutionProvider"]

    def get_providers(self):
        return self._providers

    def run(self, outputs, feeds):
        return [feeds["x"]]
'''


def _python_with_numpy_only(tmp_path) -> tuple[str, Path]:
    """A bare venv (no onnxruntime, torch, ...) and a folder that holds only this interpreter's numpy."""
    import numpy

    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(numpy.__file__).parent.parent
    numpy_only = tmp_path / "numpy_only"
    numpy_only.mkdir()
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            (numpy_only / name).symlink_to(site / name)
    return str(venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")), numpy_only


def test_onnxruntime_gpu_without_an_nvidia_gpu_says_so_in_one_line(tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "onnxruntime_gpu", "1.31.1", {"onnxruntime/__init__.py": _FAKE_ORT_GPU}, package=False)
    target = tmp_path / "site"
    assert run_install(["onnxruntime-gpu==1.31.1"], target, wheels).poll() == "done"  # installs without a GPU
    python, numpy_only = _python_with_numpy_only(tmp_path)
    report = devices.probe_devices(target, python=python, frameworks=("onnxruntime",), paths=[numpy_only],
                                   timeout=60)
    assert report.errors == {}
    assert report.onnxruntime_package == "onnxruntime-gpu" and "CUDAExecutionProvider" in report.onnxruntime_providers
    assert report.onnxruntime_usable == ["CPUExecutionProvider"]
    assert "fell back" in report.onnxruntime_why["CUDAExecutionProvider"]
    assert report.summary() == (f"CPU {report.machine} ({report.cores} cores); onnxruntime-gpu is installed but sees "
                                "no NVIDIA GPU (CUDA provider not available): detection runs on the CPU")
    assert devices.onnxruntime_providers_for("cuda", report.onnxruntime_usable) == ["CPUExecutionProvider"]


def test_device_summary_of_a_gpu_computer():
    gpu = "NVIDIA H100 80GB HBM3"
    report = devices.DeviceReport.from_probe({
        "machine": "x86_64", "platform": "linux", "cores": 16, "errors": {},
        "onnxruntime": {"version": "1.31.1", "package": "onnxruntime-gpu", "packages": ["onnxruntime-gpu"],
                        "providers": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
                        "usable": ["CUDAExecutionProvider", "CPUExecutionProvider"], "why": {}},
        "opencv": {"version": "4.11.0", "cuda_targets": 0, "opencl": True, "opencl_device": gpu, "opencl_gpu": True},
        "torch": {"version": "2.14.1", "gpus": [gpu], "mps": False},
        "tensorflow": {"version": "2.21.0", "gpus": []}})
    assert report.onnxruntime_warning() is None
    assert report.summary() == (f"CPU x86_64 (16 cores); onnxruntime-gpu 1.31.1: CUDA, CPU; OpenCV 4.11.0: no CUDA, "
                                f"OpenCL {gpu}; torch 2.14.1: CUDA {gpu}; tensorflow 2.21.0: CPU only")
    assert devices.onnxruntime_providers_for("cuda", report.onnxruntime_usable) == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert devices.onnxruntime_providers_for("cpu", report.onnxruntime_usable) == ["CPUExecutionProvider"]

    windows = devices.DeviceReport(machine="AMD64", cores=8, platform="win32", onnxruntime_version="1.24.4",
                                   onnxruntime_package="onnxruntime-directml",
                                   onnxruntime_packages=["onnxruntime-directml", "onnxruntime"],
                                   onnxruntime_usable=["CPUExecutionProvider"])
    assert windows.summary() == ("CPU AMD64 (8 cores); onnxruntime-directml is installed but sees no DirectX 12 GPU "
                                 "(DirectML provider not available): detection runs on the CPU; several ONNX Runtime "
                                 "packages are importable (onnxruntime-directml, onnxruntime), onnxruntime-directml "
                                 "is used")
    mac = devices.DeviceReport(machine="arm64", cores=10, platform="darwin", onnxruntime_version="1.32.0",
                               onnxruntime_package="onnxruntime",
                               onnxruntime_usable=["CoreMLExecutionProvider", "CPUExecutionProvider"],
                               torch_version="2.14.1", mps=True)
    assert mac.summary() == "CPU arm64 (10 cores); onnxruntime 1.32.0: CoreML, CPU; torch 2.14.1: Apple GPU (MPS)"
