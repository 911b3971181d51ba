"""What pip gets: the pinned package sets for pose estimation and GPU detection, per Python, platform and
acceleration, and which of them are installed (bpy-free).

The user picks an acceleration (cpu, cuda, directml, coreml: acceleration_choices() says which exist on a
platform); package_set() is the one place that says what pip gets for a Python, platform and acceleration.
installed_versions() reads what is there from package metadata, importing nothing.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from dataclasses import dataclass

from ..errors import OmniTraxError

# package_set(python, platform, acceleration) is the single source of truth (exact pins everywhere, see
# README.md). The pieces below are what it combines.
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


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_name(requirement: str) -> str:
    """The distribution name of a requirement string ("torch==2.14.1" -> "torch")."""
    m = _NAME.match(requirement)
    if not m:
        raise OmniTraxError(f"'{requirement}' is not a package requirement; write it like 'torch==2.14.1'.")
    return m.group(1)


def normalised_name(name: str) -> str:
    """A distribution name as pip compares names ("Foo_Bar.baz" -> "foo-bar-baz")."""
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
            found.setdefault(normalised_name(name), dist.version)  # first on the path wins, like import
    return {requirement_name(r): found.get(normalised_name(requirement_name(r))) for r in packages}


def pinned_version(requirement: str) -> str | None:
    """The exact version pinned by '==' in a requirement string, else None."""
    m = re.search(r"==\s*([^\s;,]+)", requirement)
    return m.group(1) if m else None
