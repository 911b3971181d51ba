"""Install the heavy pose-estimation packages into a private folder, with pip, in the background (bpy-free).

The pose packages (DeepLabCut-Live, TensorFlow, torch) and ONNX Runtime are far too big for the extension
zip, so the add-on preferences install them on request into a folder of the extension's user directory: no
admin rights, nothing written into Blender's own Python. The user picks an acceleration (cpu, cuda,
directml, coreml: acceleration_choices() says which exist on a platform); package_set() is the one place
that says what pip gets for a Python, platform and acceleration. DeviceProbe reports, in a separate
process, what onnxruntime, OpenCV, torch and tensorflow really run on; usable_onnxruntime_providers() tells
the detection code the same for onnxruntime in its own process. The Blender side
(omnitrax.blender.pose_packages) only chooses the folder and shows progress; everything else lives here
and runs without Blender.

Consistency: pip installs into a staging folder next to the target; only a successful install is moved
into place (merged with what was there), so a failed or cancelled install leaves the target as it was.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OmniTraxError

# What pip gets: package_set(python, platform, acceleration) is the single source of truth (exact pins
# everywhere, see README.md). The pieces below are what it combines.
POSE_PACKAGES: tuple[str, ...] = (  # Python 3.11 (Blender 4.2-5.0), Linux/Windows, CPU; pip resolves the rest
    "deeplabcut-live==1.1.0",
    "tensorflow-cpu==2.21.0",
    "torch==2.14.1",
    "torchvision==0.29.1",
    "timm==1.0.31",  # DeepLabCut 3 backbones: dlclive's PyTorch path does not import without it
    "numpy==1.26.4",
)

# Python 3.13 (Blender 5.1+, numpy 2.x: 5.2.3 LTS bundles 2.5.5). deeplabcut-live 1.1.0 declares numpy<2 and
# Python<3.13 but runs there: measured with this exact set on Python 3.13 + numpy 2.5.5, the bundled ant
# model (data/models/ants_pose) gives the same keypoints as on Python 3.11 + numpy 1.26 (0.0 px apart) and a
# DeepLabCut 3 PyTorch model predicts. pip cannot resolve deeplabcut-live's metadata there (numpy 1.26 has
# no Python 3.13 wheel), so the COMPLETE dependency set is pinned below and installed with
# POSE_PIP_ARGS_PY313 (--no-deps for every package, --ignore-requires-python for deeplabcut-live). numpy,
# SciPy and OpenCV are deliberately absent: Blender's numpy and the extension's SciPy/OpenCV wheels are the
# ones imported, no second numpy lands in the folder.
POSE_PACKAGES_PY313: tuple[str, ...] = (  # shown and checked in the preferences (CPU set, Linux/Windows)
    "deeplabcut-live==1.1.0",
    "tensorflow-cpu==2.21.0",  # macOS: tensorflow==2.21.0 (tensorflow-cpu has no macOS wheels)
    "torch==2.14.1",
    "torchvision==0.29.1",
    "timm==1.0.31",
)
POSE_PIP_ARGS_PY313: tuple[str, ...] = ("--no-deps", "--ignore-requires-python")
# How the dependency lists were made (and how to redo them after a version change): pip's resolver,
#   pip install --dry-run --ignore-installed --report out.json --target t --only-binary=:all:
#       --python-version 3.13 --platform <every manylinux_2_x_x86_64 | win_amd64 | macosx_1x_0_arm64 ...>
#       <deeplabcut-live's dependencies> tensorflow-cpu==2.21.0 torch==2.14.1 torchvision==0.29.1 timm==1.0.31
#       numpy==2.5.5 pandas==3.0.6 <the onnxruntime package>
# run with the environment markers of the target platform (pip's --platform picks wheel tags only; markers
# such as platform_system == "Linux" follow the machine pip runs on unless they are set to the target's).
# This reproduces the lists below exactly; the Python 3.11 resolution has the same packages plus numpy,
# SciPy, OpenCV and pip (deeplabcut-live's own dependencies), which is how its count below is made.
_PY313_ALL = (  # every platform (the resolution of the packages above plus deeplabcut-live's dependencies)
    "absl-py==2.5.1", "annotated-types==0.8.0", "anyio==4.16.0", "astunparse==1.6.3", "blosc2==4.14.1",
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "click==8.5.1", "colorcet==3.2.1",
    "dlclibrary==0.0.12", "einops==0.8.2", "filelock==4.3.1", "flatbuffers==25.12.19", "fsspec==2026.9.0",
    "gast==0.7.0", "google-pasta==0.2.0", "grpcio==1.85.3", "h11==0.16.0", "h2==4.4.1", "h5py==3.14.0",
    "hf-xet==1.8.0", "hpack==4.2.0", "httpcore==1.0.9", "httpcore2==2.16.2", "httpx==0.28.1", "httpx2==2.16.2",
    "huggingface_hub==2.4.0", "hyperframe==6.1.0", "idna==3.20", "Jinja2==3.1.6", "keras==3.15.1",
    "libclang==18.1.1", "markdown-it-py==4.3.0", "MarkupSafe==3.0.4", "mdurl==0.1.2", "ml_dtypes==0.7.0",
    "mpmath==1.3.0", "msgpack==1.2.4", "namex==0.1.0", "ndindex==1.10.1", "networkx==3.7", "numexpr==2.14.2",
    "opt_einsum==3.4.0", "optree==0.20.0", "packaging==26.4", "pandas==3.0.6", "pillow==13.0.0",
    "protobuf==7.36.2", "py-cpuinfo==9.0.0", "pydantic==2.14.4", "pydantic_core==2.50.5", "Pygments==2.21.0",
    "python-dateutil==4.0.0", "PyYAML==6.0.4", "requests==2.34.2", "rich==15.0.0", "ruamel.yaml==0.19.1",
    "safetensors==0.8.0", "setuptools==84.2.1", "six==1.17.0", "sympy==1.14.0", "tables==3.11.1",
    "termcolor==3.3.0", "threadpoolctl==3.8.0", "tqdm==4.70.1", "truststore==0.10.5",
    "typing-inspection==0.4.5", "typing_extensions==4.16.0", "tzdata==2026.6", "urllib3==2.8.0",
    "wheel==0.48.0", "wrapt==2.5.2",
)
_PY313_LINUX = (  # torch's CUDA runtime (PyPI's Linux torch is a CUDA build; it runs on CPU-only machines too).
    # They are also every CUDA library onnxruntime-gpu's [cuda,cudnn] extras ask for, in versions it accepts.
    "cuda-bindings==13.5.0", "cuda-pathfinder==1.9.1", "cuda-toolkit==13.0.3.0", "nvidia-cublas==13.1.1.3",
    "nvidia-cuda-cupti==13.0.85", "nvidia-cuda-nvrtc==13.0.88", "nvidia-cuda-runtime==13.0.96",
    "nvidia-cudnn-cu13==9.24.0.43", "nvidia-cufft==12.0.0.61", "nvidia-cufile==1.15.1.6",
    "nvidia-curand==10.4.0.35", "nvidia-cusolver==12.0.4.66", "nvidia-cusparse==12.6.3.3",
    "nvidia-cusparselt-cu13==0.8.1", "nvidia-nccl-cu13==2.30.7", "nvidia-nvjitlink==13.5.37",
    "nvidia-nvshmem-cu13==3.4.5", "nvidia-nvtx==13.0.85", "triton==3.8.0",
)
_PY313_WINDOWS = ("colorama==0.4.6",)  # tqdm's console colours on Windows

# --- acceleration: which ONNX Runtime (detection) and which torch build (pose) pip gets ------------------
# onnxruntime, onnxruntime-gpu and onnxruntime-directml all install the same `onnxruntime` import package;
# exactly one of them may be in the folder (merge_into_place drops the one a new install replaces).
ONNXRUNTIME = "onnxruntime==1.32.0"  # CPU everywhere; on macOS the same wheel holds the CoreML provider
ONNXRUNTIME_GPU = "onnxruntime-gpu==1.31.1"  # NVIDIA, CUDA 13 + cuDNN 9, both as NVIDIA's pip wheels
ONNXRUNTIME_DIRECTML = "onnxruntime-directml==1.24.4"  # Windows, any DirectX 12 GPU. Untested here: not on
# this machine's package mirror; 1.24.4 is the newest release (DirectML is in maintenance, no 1.25+)
ONNXRUNTIME_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")
# onnxruntime-gpu's CUDA libraries on Windows (pip's resolution of onnxruntime-gpu[cuda,cudnn]==1.31.1 for
# win_amd64, Python 3.11 and 3.13 alike). On Linux torch's own pins above already are them.
_WINDOWS_CUDA_LIBRARIES = (
    "nvidia-cublas==13.10.0.20", "nvidia-cuda-nvrtc==13.5.37", "nvidia-cuda-runtime==13.5.37",
    "nvidia-cudnn-cu13==9.28.1.4", "nvidia-cufft==12.5.0.14", "nvidia-curand==10.4.5.25",
    "nvidia-nvjitlink==13.5.37",
)
# PyPI's Windows torch is a CPU build; PyTorch's own index has the CUDA ones. cu130 = CUDA 13.0, the CUDA of
# PyPI's Linux torch 2.14.1 and of onnxruntime-gpu 1.31.1 (onnxruntime then uses torch's CUDA DLLs).
# Untested here (that index cannot be reached from this machine).
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu130"
_WINDOWS_CUDA_TORCH = ("torch==2.14.1+cu130", "torchvision==0.29.1+cu130")
# TensorFlow stays the CPU build everywhere, on purpose: tensorflow[and-cuda]==2.21.0 resolves on Linux but
# brings NVIDIA's CUDA 12 wheels beside torch's CUDA 13 ones, and nvidia-cudnn-cu12 and nvidia-cudnn-cu13
# both install nvidia/cudnn/lib/libcudnn.so.9: one overwrites the other, and one process (`import dlclive`
# imports torch and tensorflow) can load only one libcudnn.so.9. TensorFlow has no GPU build for Windows.
# DeepLabCut 3 (PyTorch) models run on the GPU; DeepLabCut 2 (TensorFlow) models on the CPU.

CPU, CUDA, DIRECTML, COREML = "cpu", "cuda", "directml", "coreml"


@dataclass(frozen=True)
class Acceleration:
    """One choice of what the packages run on: its onnxruntime distribution and execution provider."""

    name: str
    label: str
    description: str
    onnxruntime: str  # the distribution that provides `import onnxruntime`
    provider: str  # the onnxruntime execution provider it is for
    device: str  # what the provider runs on, for messages ("NVIDIA GPU")


ACCELERATIONS: dict[str, Acceleration] = {a.name: a for a in (
    Acceleration(CPU, "CPU", "Detection and pose estimation on the processor; works on every computer",
                 "onnxruntime", "CPUExecutionProvider", "CPU"),
    Acceleration(CUDA, "NVIDIA GPU (CUDA)", "onnxruntime-gpu with NVIDIA's CUDA and cuDNN wheels for detection, "
                 "torch's CUDA build for DeepLabCut 3 models (a few GB more); needs an NVIDIA GPU and driver",
                 "onnxruntime-gpu", "CUDAExecutionProvider", "NVIDIA GPU"),
    Acceleration(DIRECTML, "Any GPU (DirectML)", "onnxruntime-directml: detection on any DirectX 12 GPU (AMD, "
                 "Intel, NVIDIA); pose estimation stays on the CPU", "onnxruntime-directml",
                 "DmlExecutionProvider", "DirectX 12 GPU"),
    Acceleration(COREML, "Apple Core ML", "Detection through Core ML (Apple GPU and Neural Engine), pose "
                 "estimation with torch on the Apple GPU (MPS)", "onnxruntime", "CoreMLExecutionProvider",
                 "Core ML device"),
)}
_PLATFORM_NAMES = {"linux": "Linux", "win32": "Windows", "darwin": "macOS"}
_USUAL_MACHINE = {"linux": "x86_64", "win32": "AMD64", "darwin": "arm64"}


def _platform_key(platform: str | None) -> str:
    platform = platform or sys.platform
    return "linux" if platform.startswith("linux") else platform


def _machine(platform: str | None, machine: str | None) -> str:
    """The machine (platform.machine()) to plan for: given, this one for this platform, else the usual one."""
    if machine:
        return machine
    if platform is None or _platform_key(platform) == _platform_key(sys.platform):
        import platform as platform_module

        return platform_module.machine() or _USUAL_MACHINE.get(_platform_key(platform), "")
    return _USUAL_MACHINE.get(_platform_key(platform), "")


def acceleration_choices(platform: str | None = None, machine: str | None = None) -> tuple[str, ...]:
    """The accelerations that exist for a sys.platform value and platform.machine() (default: this computer):
    Linux x86_64: cpu, cuda; Windows x64: cpu, cuda, directml; macOS arm64: cpu, coreml; others: cpu."""
    key = _platform_key(platform)
    m = _machine(platform, machine).lower()
    x64 = m in ("x86_64", "amd64", "x64")
    if key == "linux" and x64:
        return (CPU, CUDA)
    if key == "win32" and x64:
        return (CPU, CUDA, DIRECTML)
    if key == "darwin" and m in ("arm64", "aarch64"):
        return (CPU, COREML)  # Intel Macs: onnxruntime 1.32 and torch 2.14 have no x86_64 macOS wheels
    return (CPU,)


def acceleration_problem(acceleration: str, platform: str | None = None, machine: str | None = None) -> str | None:
    """None when `acceleration` exists on the platform, else one line saying which ones do."""
    choices = acceleration_choices(platform, machine)
    if acceleration in choices:
        return None
    known = ACCELERATIONS.get(acceleration)
    what = f"{known.label} acceleration" if known else f"The acceleration {acceleration!r}"
    where = f"{_PLATFORM_NAMES.get(_platform_key(platform), _platform_key(platform))} ({_machine(platform, machine)})"
    return (f"{what} does not exist on {where}: choose "
            f"{' or '.join(ACCELERATIONS[c].label for c in choices)}.")


@dataclass(frozen=True)
class PackageSet:
    """What pip gets for one Python, platform and acceleration: `packages` are shown and checked in the
    preferences, `requirements` + `pip_args` are what pip gets; `unsupported` (with the fix) when there is
    no set."""

    python: str
    packages: tuple[str, ...]
    requirements: tuple[str, ...]
    pip_args: tuple[str, ...] = ()
    expected_distributions: int = 0
    unsupported: str | None = None
    acceleration: str = CPU
    platform: str = ""

    @property
    def onnxruntime(self) -> str:
        """The onnxruntime distribution this set installs (onnxruntime, onnxruntime-gpu, -directml)."""
        return ACCELERATIONS[self.acceleration].onnxruntime if self.acceleration in ACCELERATIONS else ""


PosePackageSet = PackageSet  # the earlier name


def unsupported_reason(version: tuple[int, ...] | None = None) -> str | None:
    """None when the pose packages can be installed for this Python (default: the running one), else one
    line saying why not and what to do."""
    major, minor = tuple(version or sys.version_info)[:2]
    if (major, minor) in ((3, 11), (3, 13)):
        return None
    return (f"Pose estimation needs Blender 4.2-5.0 (Python 3.11) or 5.1+ (Python 3.13); this Blender runs "
            f"Python {major}.{minor}, for which OmniTrax has no tested DeepLabCut-Live package set: "
            "use one of those Blender versions for pose estimation.")


def _replace(requirements: tuple[str, ...], name: str, new: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for r in requirements:
        out.extend(new if requirement_name(r) == name else (r,))
    return tuple(out)


def package_set(version: tuple[int, ...] | None = None, platform: str | None = None,
                acceleration: str = CPU, machine: str | None = None) -> PackageSet:
    """The packages pip installs for a Python version, sys.platform value, acceleration and platform.machine()
    (defaults: this Blender's Python, this computer, cpu). The pose packages (DeepLabCut-Live, TensorFlow,
    torch) plus the onnxruntime distribution of the acceleration; exact pins throughout."""
    major, minor = tuple(version or sys.version_info)[:2]
    key = _platform_key(platform)
    python = f"{major}.{minor}"
    reason = unsupported_reason((major, minor)) or acceleration_problem(acceleration, platform, machine)
    if reason is None and key == "darwin" and _machine(platform, machine).lower() not in ("arm64", "aarch64"):
        reason = ("Pose estimation needs an Apple-silicon Mac on macOS: torch 2.14 and onnxruntime 1.32 have no "
                  "Intel-Mac (x86_64) builds; track on this Mac, estimate poses on another computer.")
    if reason is not None:
        return PackageSet(python, (), (), unsupported=reason, acceleration=acceleration, platform=key)
    windows_cuda = key == "win32" and acceleration == CUDA
    pose = POSE_PACKAGES[:-1]  # numpy: see below
    if key == "darwin":
        pose = _replace(pose, "tensorflow-cpu", ("tensorflow==2.21.0",))
    if windows_cuda:
        pose = _replace(_replace(pose, "torch", _WINDOWS_CUDA_TORCH[:1]), "torchvision", _WINDOWS_CUDA_TORCH[1:])
    ort = {CUDA: ONNXRUNTIME_GPU, DIRECTML: ONNXRUNTIME_DIRECTML}.get(acceleration, ONNXRUNTIME)
    cuda_libraries = _WINDOWS_CUDA_LIBRARIES if windows_cuda else ()
    index_args = ("--extra-index-url", TORCH_CUDA_INDEX) if windows_cuda else ()
    dependencies = (_PY313_ALL + (_PY313_LINUX if key == "linux" else _PY313_WINDOWS if key == "win32" else ())
                    + cuda_libraries)
    if (major, minor) == (3, 11):
        # pip resolves the dependencies; [cuda,cudnn] makes it take NVIDIA's CUDA/cuDNN wheels for onnxruntime
        wanted = ort.replace("onnxruntime-gpu==", "onnxruntime-gpu[cuda,cudnn]==")
        shown = pose + (POSE_PACKAGES[-1], ort)
        requirements = pose + (POSE_PACKAGES[-1], wanted) + cuda_libraries
        # numpy, SciPy, OpenCV and pip come on top of the Python 3.13 list (see above)
        expected = len(pose) + 1 + len(dependencies) + 4
        return PackageSet(python, shown, requirements, index_args, expected, acceleration=acceleration, platform=key)
    shown = pose + (ort,)
    requirements = shown + dependencies
    # numpy is shown (Blender's own, unpinned: 5.1+ bundle different 2.x releases) but never installed
    return PackageSet(python, shown + ("numpy",), requirements, POSE_PIP_ARGS_PY313 + index_args,
                      len(requirements), acceleration=acceleration, platform=key)


def pose_package_set(version: tuple[int, ...] | None = None, platform: str | None = None) -> PackageSet:
    """package_set() with the cpu acceleration (the earlier name)."""
    return package_set(version, platform, CPU)

LOG_NAME = "pose_install.log"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# pip output lines worth showing as progress, and what they mean for the fraction
_PROGRESS_LINE = re.compile(
    r"^(Collecting|Downloading|Using cached|Processing|Looking in|Building wheel|Installing build|"
    r"Getting requirements|Preparing metadata|Installing collected packages|Successfully|ERROR)")


def target_dir(base: str | os.PathLike) -> Path:
    """The folder the pose packages go into: `<base>/pose_site_packages_py311` (tagged with this
    Python's version, since compiled packages only work with the Python they were installed for)."""
    return Path(base) / f"pose_site_packages_py{sys.version_info.major}{sys.version_info.minor}"


def log_path(target: str | os.PathLike) -> Path:
    """The install log, kept in the target's parent folder (it survives a failed install)."""
    return Path(target).parent / LOG_NAME


def activate(target: str | os.PathLike) -> None:
    """Make packages in `target` importable in this process, now, without a restart.

    The folder goes to the END of sys.path: whatever Blender and the extension already provide (Blender's
    numpy, the bundled OpenCV and SciPy wheels) keeps winning. pip --target installs a full dependency
    set, numpy included; putting it first would shadow Blender's numpy with a second copy, which breaks
    every module that already imported the first one (bpy, cv2). Only packages Blender lacks (dlclive,
    torch, tensorflow) are found in the target. .pth files in the target are deliberately not executed.
    """
    path = str(Path(target))
    if path not in sys.path:
        sys.path.append(path)
    # forget cached directory listings (and "not a directory" entries) so new packages are seen
    importlib.invalidate_caches()


def deactivate(target: str | os.PathLike) -> None:
    """Undo activate(): modules already imported stay imported, new imports no longer see the folder."""
    path = str(Path(target))
    while path in sys.path:
        sys.path.remove(path)
    importlib.invalidate_caches()


def requirement_name(requirement: str) -> str:
    """The distribution name of a requirement string ("torch==2.14.1" -> "torch")."""
    m = _NAME.match(requirement)
    if not m:
        raise OmniTraxError(f"'{requirement}' is not a package requirement; write it like 'torch==2.14.1'.")
    return m.group(1)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions(target: str | os.PathLike | None = None,
                       packages: tuple[str, ...] | list[str] = POSE_PACKAGES) -> dict[str, str | None]:
    """{name: installed version or None} for each requirement in `packages`, read from package metadata
    (nothing is imported). target=None looks where `import` looks (sys.path); a folder looks only there."""
    path = None if target is None else [str(target)]
    dists = importlib.metadata.distributions() if path is None else importlib.metadata.distributions(path=path)
    found: dict[str, str] = {}
    for dist in dists:
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(_normalise(name), dist.version)  # first on the path wins, like import
    return {requirement_name(r): found.get(_normalise(requirement_name(r))) for r in packages}


def pinned_version(requirement: str) -> str | None:
    """The exact version pinned by '==' in a requirement string, else None."""
    m = re.search(r"==\s*([^\s;,]+)", requirement)
    return m.group(1) if m else None


# --- devices ---------------------------------------------------------------------------------------

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
            **_new_group_kwargs())
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
        _kill_tree(self._proc)


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


# --- processes -------------------------------------------------------------------------------------

def _new_group_kwargs() -> dict:
    """Start a child in its own process group so cancel() can end it together with its children."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _kill_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """End `proc` and every process it started (pip runs build backends in children)."""
    if proc.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    else:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever is left of the group (the leader, or children that ignored SIGTERM)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_pip(python: str = sys.executable) -> str:
    """pip's version line for `python`; OmniTraxError with what to do when that Python has no pip."""
    try:
        res = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OmniTraxError(f"Cannot run Python at {python} to install packages ({exc}); "
                            "reinstall Blender or install the pose packages by hand.") from None
    if res.returncode != 0:
        raise OmniTraxError(f"The Python at {python} has no pip; run '{python} -m ensurepip --upgrade' once "
                            "in a terminal (as the user who installed Blender), then install again.")
    return res.stdout.strip()


# --- the install ------------------------------------------------------------------------------------

class PipInstall:
    """`python -m pip install --target <target> ...` in a background process, polled by the caller.

    Starts at construction. pip installs into `<target>.staging`; when pip succeeds poll() merges it into
    `target` (replacing older versions of the same distributions, keeping the rest), so a failed or
    cancelled install leaves `target` exactly as it was. pip's output goes to the log file
    `<target's parent>/pose_install.log` as it arrives.
    """

    def __init__(self, requirements, target: str | os.PathLike, python: str = sys.executable,
                 extra_args=(), expected_distributions: int | None = None):
        self.requirements = [str(r) for r in requirements]
        if not self.requirements:
            raise OmniTraxError("Nothing to install: give at least one package requirement.")
        for r in self.requirements:
            requirement_name(r)
        self.target = Path(target)
        self.staging = self.target.with_name(self.target.name + ".staging")
        self.log_path = log_path(self.target)
        self.expected = max(len(self.requirements), expected_distributions or 0)
        self.error: OmniTraxError | None = None
        self._state = RUNNING
        self._collected: list[str] = []
        self._installing: int | None = None  # number of distributions pip announced it installs
        self._last_line = "Starting pip"
        self._tail = ""
        self._lines: list[str] = []
        self._fraction = 0.0

        check_pip(python)
        self._prepare_folders()
        self.command = [python, "-m", "pip", "install", "--target", str(self.staging), "--upgrade",
                        "--no-input", "--progress-bar", "off", "--disable-pip-version-check",
                        *[str(a) for a in extra_args], *self.requirements]
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.command)}\n".encode())
        self._log.flush()
        self._read_from = self._log.tell()
        env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_INPUT="1")
        try:
            self._proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, **_new_group_kwargs())
        except OSError as exc:
            self._log.close()
            raise OmniTraxError(f"Cannot start pip ({exc}); see the log at {self.log_path}.") from None
        self._reader = open(self.log_path, "rb")
        self._reader.seek(self._read_from)

    def _prepare_folders(self) -> None:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            if self.staging.exists():  # left over from a crash: never trust it
                shutil.rmtree(self.staging)
            self.staging.mkdir()
            probe = self.staging / ".write_test"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise OmniTraxError(f"Cannot write to {parent} ({exc.strerror or exc}); free some space or fix "
                                "the folder's permissions, then install again.") from None

    # -- progress --
    def _read_output(self) -> None:
        chunk = self._reader.read()
        if not chunk:
            return
        text = self._tail + chunk.decode("utf-8", "replace")
        *lines, self._tail = text.split("\n")
        for raw in lines:
            self._note(raw.strip())

    def _note(self, line: str) -> None:
        if not line:
            return
        self._lines.append(line)
        del self._lines[:-200]
        if _PROGRESS_LINE.match(line):
            self._last_line = line if len(line) <= 120 else line[:117] + "..."
        if line.startswith(("Collecting ", "Processing ")):  # one per distribution (index / local file)
            self._collected.append(line.split()[1])
        elif line.startswith("Installing collected packages:"):
            self._installing = len(line.split(":", 1)[1].split(","))

    def progress_text(self) -> str:
        """The last meaningful line of pip's output, e.g. 'Collecting torch==2.14.1'."""
        if self._state == RUNNING:
            self._read_output()
        return self._last_line

    def fraction(self) -> float:
        """A rough 0..1 estimate: each distribution collected counts up to 0.8 against the expected
        number of distributions, 'Installing collected packages' is 0.9, done is 1. Never decreases."""
        if self._state == RUNNING:
            self._read_output()
        if self._state == DONE:
            f = 1.0
        elif self._installing is not None:
            f = 0.9
        else:
            n = len(self._collected)
            f = 0.8 * n / max(self.expected, n + 1)
        self._fraction = max(self._fraction, f)
        return self._fraction

    @property
    def output_lines(self) -> list[str]:
        """The last (up to 200) non-empty lines pip printed."""
        return list(self._lines)

    # -- state --
    def poll(self) -> str:
        """'running', 'done', 'failed' (see .error) or 'cancelled'. Moves a finished install into place."""
        if self._state != RUNNING:
            return self._state
        self._read_output()
        code = self._proc.poll()
        if code is None:
            return RUNNING
        self._read_output()
        if self._tail:
            self._note(self._tail.strip())
            self._tail = ""
        if code == 0:
            try:
                merge_into_place(self.staging, self.target)
                self._last_line = f"Installed {', '.join(self.requirements)}"
                self._finish(DONE)
            except OmniTraxError as exc:
                self.error = exc
                self._finish(FAILED)
        else:
            errors = [ln for ln in self._lines if ln.startswith("ERROR")]
            last = (errors or self._lines or [f"pip exited with code {code}"])[-1]
            last = re.sub(r"^ERROR:\s*", "", last)
            self.error = OmniTraxError(f"Installing the pose packages failed: {last[:300]} - see the log at "
                                       f"{self.log_path}")
            self._last_line = "Failed: " + last[:110]
            self._finish(FAILED)
        return self._state

    def wait(self, timeout: float | None = None) -> str:
        """Block until pip ends (or `timeout` seconds pass: then cancel). Raises .error when it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() == RUNNING:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                break
            time.sleep(0.1)
        if self._state == FAILED:
            raise self.error
        return self._state

    def cancel(self) -> None:
        """Stop pip and everything it started; the target stays as it was before this install."""
        if self._state != RUNNING:
            return
        _kill_tree(self._proc)
        self._read_output()
        self._last_line = "Cancelled"
        self._log.write(b"\n=== cancelled by the user\n")
        self._finish(CANCELLED)

    def _finish(self, state: str) -> None:
        self._state = state
        for handle in (self._reader, self._log):
            try:
                handle.close()
            except OSError:
                pass
        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)


def _dist_name(dist_info: Path) -> str | None:
    """Normalised project name of a `*.dist-info` folder (from METADATA, else from the folder name)."""
    try:
        for line in (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name:"):
                return _normalise(line.split(":", 1)[1].strip())
            if not line.strip():
                break
    except OSError:
        pass
    return _normalise(dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0])


def _recorded_paths(dist_info: Path) -> set[str]:
    """Paths (relative, '/'-separated) an installed distribution owns: its RECORD plus its dist-info."""
    paths = {dist_info.name}
    try:
        for line in (dist_info / "RECORD").read_text(encoding="utf-8", errors="replace").splitlines():
            path = line.rsplit(",", 2)[0].strip().strip('"').replace("\\", "/")
            if path and not path.startswith(".."):
                paths.add(path)
    except OSError:
        pass
    return paths


def _with_parents(paths: set[str]) -> set[str]:
    """`paths` plus every folder above them ('a/b/c.py' -> 'a/b/c.py', 'a/b', 'a')."""
    out = set(paths)
    for path in paths:
        parts = path.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return out


# top-level packages some wheels ship by mistake; sharing one of these does not make two distributions rivals
_GENERIC_TOP_LEVEL = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks",
                                "scripts", "tools", "src", "build"})


def _import_roots(dist_info: Path) -> set[str]:
    """The top-level import names a distribution owns: its regular packages (`name/__init__.py`) and its
    top-level modules (`name.py`, `name.*.so`, `name.*.pyd`). Namespace folders (nvidia/, google/) are not
    among them, so distributions that share those are never taken for rivals."""
    roots = set()
    for path in _recorded_paths(dist_info):
        parts = path.split("/")
        if len(parts) == 2 and parts[1] == "__init__.py":
            roots.add(parts[0])
        elif len(parts) == 1 and parts[0].endswith((".py", ".so", ".pyd")):
            roots.add(parts[0].split(".", 1)[0])
    return roots - _GENERIC_TOP_LEVEL


def merge_into_place(staging: Path, target: Path) -> None:
    """Make `target` = the new install in `staging` + whatever of the old target it does not replace.

    Old distributions that are reinstalled (same name, any version) or replaced (another distribution of
    the same import package: onnxruntime / onnxruntime-gpu / onnxruntime-directml, tensorflow /
    tensorflow-cpu) are dropped with every file their RECORD lists, so exactly one of them stays;
    a regular package (with __init__.py) of the new install replaces the old folder whole;
    folders shared by several distributions (namespace packages like nvidia/ or google/, bin/) are
    merged file by file. Only renames: target -> backup, kept entries backup -> staging,
    staging -> target; on failure everything is moved back.
    """
    staging, target = Path(staging), Path(target)
    if not target.exists():
        try:
            os.replace(staging, target)
        except OSError as exc:
            raise OmniTraxError(f"Cannot move the new packages into {target} ({exc.strerror or exc}); "
                                "check the folder's permissions and install again.") from None
        return
    new_infos = list(staging.glob("*.dist-info"))
    new_dists = {_dist_name(p) for p in new_infos}
    new_roots = set().union(*(_import_roots(p) for p in new_infos))
    dropped: set[str] = set()
    kept: set[str] = set()
    for old in target.glob("*.dist-info"):
        replaced = _dist_name(old) in new_dists or bool(_import_roots(old) & new_roots)
        (dropped if replaced else kept).update(_recorded_paths(old))
    dropped_tree, kept_tree = _with_parents(dropped), _with_parents(kept)
    backup = target.with_name(target.name + ".old")
    if backup.exists():
        shutil.rmtree(backup)
    moved: list[str] = []

    def keep(rel: str) -> None:
        os.replace(backup / rel, staging / rel)
        moved.append(rel)

    def merge(rel_dir: str) -> None:
        for entry in (backup / rel_dir).iterdir() if rel_dir else backup.iterdir():
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            new = staging / rel
            if entry.is_dir() and not entry.is_symlink():
                if new.is_dir():
                    if not (new / "__init__.py").exists():  # shared folder: merge what it holds
                        merge(rel)
                elif not new.exists():
                    if rel in dropped_tree and rel in kept_tree:  # partly owned by a dropped dist
                        new.mkdir()
                        merge(rel)
                    elif rel not in dropped_tree:  # a kept distribution's, or the user's own
                        keep(rel)
            elif not new.exists() and rel not in dropped:
                keep(rel)

    try:
        os.replace(target, backup)
        try:
            merge("")
            os.replace(staging, target)
        except OSError:
            for rel in reversed(moved):  # roll back: the old target, complete, in its place
                os.replace(staging / rel, backup / rel)
            os.replace(backup, target)
            raise
    except OSError as exc:
        raise OmniTraxError(f"Cannot replace {target} ({exc.strerror or exc}); files may be in use: restart "
                            "Blender and install again. The packages installed before were kept.") from None
    shutil.rmtree(backup, ignore_errors=True)
