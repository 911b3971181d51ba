"""What pip gets (omnitrax.packages.requirements): the pinned pose and GPU package sets per Python, platform
and acceleration, and the one line for a Blender that has none."""
from __future__ import annotations

import sys

import pytest

from omnitrax.packages import requirements


def test_the_pose_package_set_follows_the_blender_python():
    py311 = requirements.pose_package_set((3, 11), "linux")
    assert py311.unsupported is None  # 4.2-5.0: the pinned pose packages (pip resolves the rest) + onnxruntime
    assert py311.requirements == requirements.POSE_PACKAGES + ("onnxruntime==1.32.0",)
    py313 = requirements.pose_package_set((3, 13), "linux")
    assert py313.unsupported is None
    assert "deeplabcut-live==1.1.0" in py313.requirements and "--no-deps" in py313.pip_args
    # Blender's own numpy (and the extension's SciPy/OpenCV) are never installed over
    assert not any(r.split("==")[0].lower() in ("numpy", "scipy", "opencv-python-headless", "opencv-python")
                   for r in py313.requirements)
    assert all("==" in r for r in py313.requirements)  # every package pinned exactly
    mac = requirements.pose_package_set((3, 13), "darwin")
    assert "tensorflow==2.21.0" in mac.requirements and not any(r.startswith("nvidia") for r in mac.requirements)


def test_an_unsupported_blender_python_gets_one_line_that_says_what_to_do():
    reason = requirements.unsupported_reason((3, 14))
    assert reason is not None and "\n" not in reason and "3.14" in reason and "Blender" in reason
    assert requirements.pose_package_set((3, 14), "linux").requirements == ()
    assert requirements.unsupported_reason((3, 11)) is None and requirements.unsupported_reason((3, 13)) is None


# --- acceleration: what pip gets per platform -----------------------------------------------------------

PLATFORMS = [("linux", "x86_64"), ("win32", "AMD64"), ("darwin", "arm64")]
ONNXRUNTIMES = {"onnxruntime", "onnxruntime-gpu", "onnxruntime-directml"}


@pytest.mark.parametrize("platform, machine, choices", [
    ("linux", "x86_64", ("cpu", "cuda")), ("linux", "aarch64", ("cpu",)),
    ("win32", "AMD64", ("cpu", "cuda", "directml")),
    ("darwin", "arm64", ("cpu", "coreml")), ("darwin", "x86_64", ("cpu",)), ("freebsd14", "amd64", ("cpu",))])
def test_only_the_accelerations_of_the_platform_are_offered(platform, machine, choices):
    assert requirements.acceleration_choices(platform, machine) == choices
    for name in requirements.ACCELERATIONS:
        problem = requirements.acceleration_problem(name, platform, machine)
        assert (problem is None) == (name in choices)


def test_this_computer_gets_its_own_choices():
    import platform

    assert requirements.acceleration_choices() == requirements.acceleration_choices(sys.platform, platform.machine())
    # another platform: its usual machine
    assert requirements.acceleration_choices("win32") == ("cpu", "cuda", "directml")


@pytest.mark.parametrize("version", [(3, 11), (3, 13)])
@pytest.mark.parametrize("platform, machine", PLATFORMS)
def test_every_package_set_is_pinned_exactly_with_one_onnxruntime(version, platform, machine):
    for acceleration in requirements.acceleration_choices(platform, machine):
        pset = requirements.package_set(version, platform, acceleration, machine)
        assert pset.unsupported is None and pset.acceleration == acceleration
        names = [requirements.requirement_name(r).lower() for r in pset.requirements]
        assert len(names) == len(set(names)), names
        assert all(requirements.pinned_version(r) for r in pset.requirements), pset.requirements
        assert [n for n in names if n in ONNXRUNTIMES] == [pset.onnxruntime]  # exactly one, the acceleration's
        shown = {requirements.requirement_name(r) for r in pset.packages}
        assert {"deeplabcut-live", "torch", "torchvision", "timm", "numpy", pset.onnxruntime} <= shown
        # TensorFlow stays the CPU build (its CUDA extra would bring a second, clashing cuDNN)
        assert ("tensorflow" if platform == "darwin" else "tensorflow-cpu") in names
        assert not any(n.endswith("-cu12") for n in names)
        if version == (3, 13):  # installed with --no-deps: the list is the whole resolution, Blender's numpy kept
            assert pset.pip_args[:2] == requirements.POSE_PIP_ARGS_PY313
            assert pset.expected_distributions == len(pset.requirements)
            assert not set(names) & {"numpy", "scipy", "opencv-python-headless"}
        else:
            assert "--no-deps" not in pset.pip_args and "numpy==1.26.4" in pset.requirements


def test_the_gpu_sets_hold_what_each_gpu_needs():
    linux = requirements.package_set((3, 13), "linux", "cuda")
    # PyPI's Linux torch is a CUDA 13 build; its NVIDIA wheels are the ones onnxruntime-gpu 1.31.1 needs too
    assert "torch==2.14.1" in linux.requirements and "onnxruntime-gpu==1.31.1" in linux.requirements
    assert {"nvidia-cudnn-cu13==9.24.0.43", "nvidia-cuda-runtime==13.0.96", "nvidia-cufft==12.0.0.61",
            "nvidia-curand==10.4.0.35", "nvidia-cuda-nvrtc==13.0.88"} <= set(linux.requirements)
    assert len(linux.requirements) == len(requirements.package_set((3, 13), "linux", "cpu").requirements) == 97
    assert requirements.package_set((3, 11), "linux", "cuda").requirements[-1] == "onnxruntime-gpu[cuda,cudnn]==1.31.1"
    for version in ((3, 11), (3, 13)):
        windows = requirements.package_set(version, "win32", "cuda")
        # PyPI's Windows torch is CPU-only: the CUDA build comes from PyTorch's own index
        assert "torch==2.14.1+cu130" in windows.requirements and "torchvision==0.29.1+cu130" in windows.requirements
        assert windows.pip_args[-2:] == ("--extra-index-url", "https://download.pytorch.org/whl/cu130")
        assert "nvidia-cudnn-cu13==9.28.1.4" in windows.requirements
        assert "onnxruntime-directml==1.24.4" in requirements.package_set(version, "win32", "directml").requirements
        mac = requirements.package_set(version, "darwin", "coreml")
        assert mac.requirements == requirements.package_set(version, "darwin", "cpu").requirements  # same wheel
        assert "onnxruntime==1.32.0" in mac.requirements
    # sizes of pip's resolutions (Python 3.13 lists; 3.11 adds numpy, SciPy, OpenCV, pip)
    assert [len(requirements.package_set((3, 13), p, a).requirements)
            for p, a in (("win32", "cpu"), ("win32", "cuda"), ("win32", "directml"), ("darwin", "coreml"))] == [
        79, 86, 79, 78]
    assert [requirements.package_set((3, 11), p, a).expected_distributions
            for p, a in (("linux", "cuda"), ("win32", "cpu"), ("win32", "cuda"), ("darwin", "cpu"))] == [
        101, 83, 90, 82]


def test_cuda_on_macos_and_pose_on_an_intel_mac_are_refused_in_one_line():
    for version in ((3, 11), (3, 13)):
        pset = requirements.package_set(version, "darwin", "cuda", "arm64")
        assert pset.requirements == () and pset.unsupported
        assert "\n" not in pset.unsupported and "macOS" in pset.unsupported and "Apple Core ML" in pset.unsupported
    assert "does not exist on Linux" in requirements.package_set((3, 11), "linux", "directml").unsupported
    assert "'rocm'" in requirements.package_set((3, 11), "linux", "rocm").unsupported
    intel = requirements.package_set((3, 13), "darwin", "cpu", "x86_64")
    assert intel.requirements == () and "Apple-silicon" in intel.unsupported and "\n" not in intel.unsupported
    # no tensorflow-cpu on macOS
    assert requirements.pose_package_set((3, 11), "darwin").requirements[1] == "tensorflow==2.21.0"
