"""The pose-package installer: real pip installs of tiny packages built offline in the test."""
from __future__ import annotations

import base64
import hashlib
import importlib
import io
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.packages import installer
from omnitrax.packages.installer import PipInstall


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str] | None = None,
               package: bool = True) -> Path:
    """Write a pure-Python wheel by hand: package `<name>` with VERSION (if `package`), plus `files`."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    contents = {f"{name}/__init__.py": f"VERSION = {version!r}\n"} if package else {}
    contents.update(files or {})
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    contents[f"{dist_info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: omnitrax-test\nRoot-Is-Purelib: true\n"
                                      "Tag: py3-none-any\n")
    record = []
    for path, text in contents.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
    return wheel


def make_slow_sdist(folder: Path, name: str, pid_file: Path) -> Path:
    """An sdist whose in-tree build backend writes its pid to `pid_file` and then sleeps a minute."""
    folder.mkdir(parents=True, exist_ok=True)
    root = f"{name}-1.0"
    backend = (f"import os, time\n"
               f"def get_requires_for_build_wheel(config_settings=None):\n"
               f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
               f"    time.sleep(60)\n"
               f"    return []\n"
               f"def build_wheel(*a, **k):\n"
               f"    raise RuntimeError('never reached')\n")
    members = {
        f"{root}/pyproject.toml": ('[build-system]\nrequires = []\nbuild-backend = "slow_backend"\n'
                                   'backend-path = ["."]\n'),
        f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{root}/slow_backend.py": backend,
    }
    sdist = folder / f"{root}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for path, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return sdist


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def offline(wheels: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(wheels))


def run_install(requirements, target, wheels, **kw) -> PipInstall:
    job = PipInstall(requirements, target, extra_args=offline(wheels), **kw)
    deadline = time.monotonic() + 60
    while job.poll() == "running":
        assert time.monotonic() < deadline, "pip did not finish in 60 s"
        time.sleep(0.05)
    return job


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    make_wheel(folder, "otx_tiny_alpha", "1.0", {"otx_tiny_alpha/extra.py": "X = 1\n"})
    make_wheel(folder, "otx_tiny_alpha", "2.0")
    make_wheel(folder, "otx_tiny_beta", "0.5")
    return folder


def test_target_dir_is_python_version_tagged(tmp_path):
    t = installer.target_dir(tmp_path)
    assert t.parent == tmp_path
    assert t.name == f"pose_site_packages_py{sys.version_info.major}{sys.version_info.minor}"
    assert installer.log_path(t) == tmp_path / "pose_install.log"
    assert [installer.requirement_name(r) for r in installer.POSE_PACKAGES] == [
        "deeplabcut-live", "tensorflow-cpu", "torch", "torchvision", "timm", "numpy"]
    assert installer.pinned_version("torch==2.14.1") == "2.14.1"


def test_install_activate_and_import_without_restart(tmp_path, wheels):
    target = installer.target_dir(tmp_path / "user")
    installer.activate(target)  # activated before it exists, as the add-on does at start-up
    try:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("otx_tiny_alpha")
        job = run_install(["otx_tiny_alpha==1.0", "otx_tiny_beta"], target, wheels)
        assert job.poll() == "done", job.error
        assert job.fraction() == 1.0
        assert job.progress_text().startswith("Installed otx_tiny_alpha==1.0")
        log = job.log_path.read_text()
        assert "Successfully installed otx_tiny_alpha-1.0 otx_tiny_beta-0.5" in log
        assert "--target" in log
        assert not job.staging.exists()
        assert installer.installed_versions(target, ["otx_tiny_alpha==1.0", "otx-tiny-beta", "nothere"]) == {
            "otx_tiny_alpha": "1.0", "otx-tiny-beta": "0.5", "nothere": None}

        installer.activate(target)
        assert sys.path[-1] == str(target)  # after Blender's and the extension's own packages
        assert sys.path.count(str(target)) == 1
        module = importlib.import_module("otx_tiny_alpha")
        assert module.VERSION == "1.0"
        assert Path(module.__file__).parent.parent == target
        # sys.path lookup (what the UI shows) sees it too
        assert installer.installed_versions(packages=["otx_tiny_beta"]) == {"otx_tiny_beta": "0.5"}
    finally:
        installer.deactivate(target)
        for name in ("otx_tiny_alpha", "otx_tiny_beta"):
            sys.modules.pop(name, None)
    assert str(target) not in sys.path


def test_upgrade_replaces_old_version_and_keeps_other_packages(tmp_path, wheels):
    target = tmp_path / "site"
    assert run_install(["otx_tiny_alpha==1.0", "otx_tiny_beta"], target, wheels).poll() == "done"
    assert (target / "otx_tiny_alpha" / "extra.py").is_file()
    job = run_install(["otx_tiny_alpha==2.0"], target, wheels)
    assert job.poll() == "done", job.error
    assert installer.installed_versions(target, ["otx_tiny_alpha", "otx_tiny_beta"]) == {
        "otx_tiny_alpha": "2.0", "otx_tiny_beta": "0.5"}
    names = sorted(p.name for p in target.iterdir())
    assert "otx_tiny_alpha-1.0.dist-info" not in names and "otx_tiny_alpha-2.0.dist-info" in names
    assert not (target / "otx_tiny_alpha" / "extra.py").exists()  # files of the old version are gone
    assert (target / "otx_tiny_alpha" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert not target.with_name("site.old").exists()


def test_upgrade_inside_a_shared_namespace_folder_keeps_the_other_distribution(tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "otx_ns_a", "1.0", {"otx_ns/a/__init__.py": "V = 1\n", "otx_ns/a_old.py": ""},
               package=False)
    make_wheel(wheels, "otx_ns_a", "2.0", {"otx_ns/a/__init__.py": "V = 2\n"}, package=False)
    make_wheel(wheels, "otx_ns_b", "1.0", {"otx_ns/b/__init__.py": "V = 1\n"}, package=False)
    target = tmp_path / "site"
    assert run_install(["otx_ns_a==1.0", "otx_ns_b"], target, wheels).poll() == "done"
    (target / "my_notes.txt").write_text("the user's own file")
    job = run_install(["otx_ns_a==2.0"], target, wheels)
    assert job.poll() == "done", job.error
    assert (target / "otx_ns" / "a" / "__init__.py").read_text() == "V = 2\n"
    assert (target / "otx_ns" / "b" / "__init__.py").read_text() == "V = 1\n"  # not lost with otx_ns/
    assert not (target / "otx_ns" / "a_old.py").exists()  # owned by the replaced version
    assert (target / "my_notes.txt").read_text() == "the user's own file"
    assert installer.installed_versions(target, ["otx_ns_a", "otx_ns_b"]) == {"otx_ns_a": "2.0", "otx_ns_b": "1.0"}


def test_failed_install_reports_clearly_and_leaves_target_untouched(tmp_path, wheels):
    target = tmp_path / "site"
    assert run_install(["otx_tiny_beta"], target, wheels).poll() == "done"
    before = snapshot(target)
    job = run_install(["otx_tiny_alpha==2.0", "otx_no_such_package==9.9"], target, wheels)
    assert job.poll() == "failed"
    message = str(job.error)
    assert isinstance(job.error, OmniTraxError)
    assert "otx_no_such_package" in message and str(job.log_path) in message
    assert "\n" not in message
    assert job.progress_text().startswith("Failed:")
    assert snapshot(target) == before
    assert not job.staging.exists()
    with pytest.raises(OmniTraxError, match="see the log at"):
        job.wait()


def test_cancel_mid_install_kills_pip_and_its_children(tmp_path, wheels):
    target = tmp_path / "site"
    assert run_install(["otx_tiny_beta"], target, wheels).poll() == "done"
    before = snapshot(target)
    pid_file = tmp_path / "backend.pid"
    make_slow_sdist(wheels, "otx_slow_gamma", pid_file)
    job = PipInstall(["otx_tiny_alpha==1.0", "otx_slow_gamma"], target, extra_args=offline(wheels),
                     expected_distributions=4)
    deadline = time.monotonic() + 40
    while not pid_file.exists():  # wait until pip runs the (sleeping) build backend in a child
        assert job.poll() == "running", job.error
        assert time.monotonic() < deadline, "the build backend never started"
        time.sleep(0.05)
    assert 0.0 < job.fraction() < 0.8
    assert job.progress_text().split()[0] in ("Collecting", "Processing", "Getting", "Installing",
                                              "Preparing", "Building")
    backend_pid = int(pid_file.read_text())
    job.cancel()
    assert job.poll() == "cancelled"
    assert job.progress_text() == "Cancelled"
    assert not process_alive(backend_pid), "the build backend survived the cancel"
    assert snapshot(target) == before
    assert not job.staging.exists()
    assert "cancelled by the user" in job.log_path.read_text()


def process_alive(pid: int, wait: float = 5.0) -> bool:
    """True when pid is still a running (not zombie) process after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def test_target_not_writable_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OmniTraxError, match="Cannot write to") as err:
        PipInstall(["otx_tiny_beta"], blocker / "site")
    assert str(blocker) in str(err.value)


def test_python_without_pip_is_a_clear_error(tmp_path):
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    with pytest.raises(OmniTraxError, match="has no pip") as err:
        PipInstall(["otx_tiny_beta"], tmp_path / "site", python=str(python))
    assert "ensurepip" in str(err.value)
    assert list(tmp_path.iterdir()) == [venv]  # nothing created: no target, no staging folder


def test_bad_requirements_are_clear_errors(tmp_path):
    with pytest.raises(OmniTraxError, match="Nothing to install"):
        PipInstall([], tmp_path / "site")
    with pytest.raises(OmniTraxError, match="not a package requirement"):
        PipInstall(["==1.0"], tmp_path / "site")


def test_probe_devices_in_a_subprocess(tmp_path):
    import torch

    report = installer.probe_devices(target=tmp_path, frameworks=("torch",), timeout=120)
    assert report.torch_version == torch.__version__
    assert report.cores >= 1
    assert report.tensorflow_version is None  # not probed
    assert (len(report.torch_gpus) > 0) == torch.cuda.is_available()
    text = report.summary()
    assert text.startswith("CPU ") and f"torch {torch.__version__}" in text


def test_probe_devices_reports_missing_frameworks(tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    report = installer.probe_devices(python=str(venv / "bin" / "python"), timeout=60)
    assert report.torch_version is None and report.tensorflow_version is None
    assert report.errors == {}
    assert report.summary() == f"CPU {report.machine} ({report.cores} cores)"


def test_the_pose_package_set_follows_the_blender_python():
    py311 = installer.pose_package_set((3, 11), "linux")
    assert py311.unsupported is None  # 4.2-5.0: the pinned pose packages (pip resolves the rest) + onnxruntime
    assert py311.requirements == installer.POSE_PACKAGES + ("onnxruntime==1.32.0",)
    py313 = installer.pose_package_set((3, 13), "linux")
    assert py313.unsupported is None
    assert "deeplabcut-live==1.1.0" in py313.requirements and "--no-deps" in py313.pip_args
    # Blender's own numpy (and the extension's SciPy/OpenCV) are never installed over
    assert not any(r.split("==")[0].lower() in ("numpy", "scipy", "opencv-python-headless", "opencv-python")
                   for r in py313.requirements)
    assert all("==" in r for r in py313.requirements)  # every package pinned exactly
    mac = installer.pose_package_set((3, 13), "darwin")
    assert "tensorflow==2.21.0" in mac.requirements and not any(r.startswith("nvidia") for r in mac.requirements)


def test_an_unsupported_blender_python_gets_one_line_that_says_what_to_do():
    reason = installer.unsupported_reason((3, 14))
    assert reason is not None and "\n" not in reason and "3.14" in reason and "Blender" in reason
    assert installer.pose_package_set((3, 14), "linux").requirements == ()
    assert installer.unsupported_reason((3, 11)) is None and installer.unsupported_reason((3, 13)) is None


# --- acceleration: what pip gets per platform, and the device check -----------------------------------

PLATFORMS = [("linux", "x86_64"), ("win32", "AMD64"), ("darwin", "arm64")]
ONNXRUNTIMES = {"onnxruntime", "onnxruntime-gpu", "onnxruntime-directml"}


@pytest.mark.parametrize("platform, machine, choices", [
    ("linux", "x86_64", ("cpu", "cuda")), ("linux", "aarch64", ("cpu",)),
    ("win32", "AMD64", ("cpu", "cuda", "directml")),
    ("darwin", "arm64", ("cpu", "coreml")), ("darwin", "x86_64", ("cpu",)), ("freebsd14", "amd64", ("cpu",))])
def test_only_the_accelerations_of_the_platform_are_offered(platform, machine, choices):
    assert installer.acceleration_choices(platform, machine) == choices
    for name in installer.ACCELERATIONS:
        problem = installer.acceleration_problem(name, platform, machine)
        assert (problem is None) == (name in choices)


def test_this_computer_gets_its_own_choices():
    import platform

    assert installer.acceleration_choices() == installer.acceleration_choices(sys.platform, platform.machine())
    assert installer.acceleration_choices("win32") == ("cpu", "cuda", "directml")  # another platform: its usual machine


@pytest.mark.parametrize("version", [(3, 11), (3, 13)])
@pytest.mark.parametrize("platform, machine", PLATFORMS)
def test_every_package_set_is_pinned_exactly_with_one_onnxruntime(version, platform, machine):
    for acceleration in installer.acceleration_choices(platform, machine):
        pset = installer.package_set(version, platform, acceleration, machine)
        assert pset.unsupported is None and pset.acceleration == acceleration
        names = [installer.requirement_name(r).lower() for r in pset.requirements]
        assert len(names) == len(set(names)), names
        assert all(installer.pinned_version(r) for r in pset.requirements), pset.requirements
        assert [n for n in names if n in ONNXRUNTIMES] == [pset.onnxruntime]  # exactly one, the acceleration's
        shown = {installer.requirement_name(r) for r in pset.packages}
        assert {"deeplabcut-live", "torch", "torchvision", "timm", "numpy", pset.onnxruntime} <= shown
        # TensorFlow stays the CPU build (its CUDA extra would bring a second, clashing cuDNN)
        assert ("tensorflow" if platform == "darwin" else "tensorflow-cpu") in names
        assert not any(n.endswith("-cu12") for n in names)
        if version == (3, 13):  # installed with --no-deps: the list is the whole resolution, Blender's numpy kept
            assert pset.pip_args[:2] == installer.POSE_PIP_ARGS_PY313
            assert pset.expected_distributions == len(pset.requirements)
            assert not set(names) & {"numpy", "scipy", "opencv-python-headless"}
        else:
            assert "--no-deps" not in pset.pip_args and "numpy==1.26.4" in pset.requirements


def test_the_gpu_sets_hold_what_each_gpu_needs():
    linux = installer.package_set((3, 13), "linux", "cuda")
    # PyPI's Linux torch is a CUDA 13 build; its NVIDIA wheels are the ones onnxruntime-gpu 1.31.1 needs too
    assert "torch==2.14.1" in linux.requirements and "onnxruntime-gpu==1.31.1" in linux.requirements
    assert {"nvidia-cudnn-cu13==9.24.0.43", "nvidia-cuda-runtime==13.0.96", "nvidia-cufft==12.0.0.61",
            "nvidia-curand==10.4.0.35", "nvidia-cuda-nvrtc==13.0.88"} <= set(linux.requirements)
    assert len(linux.requirements) == len(installer.package_set((3, 13), "linux", "cpu").requirements) == 97
    assert installer.package_set((3, 11), "linux", "cuda").requirements[-1] == "onnxruntime-gpu[cuda,cudnn]==1.31.1"
    for version in ((3, 11), (3, 13)):
        windows = installer.package_set(version, "win32", "cuda")
        # PyPI's Windows torch is CPU-only: the CUDA build comes from PyTorch's own index
        assert "torch==2.14.1+cu130" in windows.requirements and "torchvision==0.29.1+cu130" in windows.requirements
        assert windows.pip_args[-2:] == ("--extra-index-url", "https://download.pytorch.org/whl/cu130")
        assert "nvidia-cudnn-cu13==9.28.1.4" in windows.requirements
        assert "onnxruntime-directml==1.24.4" in installer.package_set(version, "win32", "directml").requirements
        mac = installer.package_set(version, "darwin", "coreml")
        assert mac.requirements == installer.package_set(version, "darwin", "cpu").requirements  # same wheel
        assert "onnxruntime==1.32.0" in mac.requirements
    # sizes of pip's resolutions (Python 3.13 lists; 3.11 adds numpy, SciPy, OpenCV, pip)
    assert [len(installer.package_set((3, 13), p, a).requirements)
            for p, a in (("win32", "cpu"), ("win32", "cuda"), ("win32", "directml"), ("darwin", "coreml"))] == [
        79, 86, 79, 78]
    assert [installer.package_set((3, 11), p, a).expected_distributions
            for p, a in (("linux", "cuda"), ("win32", "cpu"), ("win32", "cuda"), ("darwin", "cpu"))] == [
        101, 83, 90, 82]


def test_cuda_on_macos_and_pose_on_an_intel_mac_are_refused_in_one_line():
    for version in ((3, 11), (3, 13)):
        pset = installer.package_set(version, "darwin", "cuda", "arm64")
        assert pset.requirements == () and pset.unsupported
        assert "\n" not in pset.unsupported and "macOS" in pset.unsupported and "Apple Core ML" in pset.unsupported
    assert "does not exist on Linux" in installer.package_set((3, 11), "linux", "directml").unsupported
    assert "'rocm'" in installer.package_set((3, 11), "linux", "rocm").unsupported
    intel = installer.package_set((3, 13), "darwin", "cpu", "x86_64")
    assert intel.requirements == () and "Apple-silicon" in intel.unsupported and "\n" not in intel.unsupported
    assert installer.pose_package_set((3, 11), "darwin").requirements[1] == "tensorflow==2.21.0"  # no tf-cpu on macOS


def test_switching_acceleration_leaves_exactly_one_onnxruntime(tmp_path):
    """The three onnxruntime distributions share the `onnxruntime` package: each install drops the one before,
    its files and its metadata; other distributions, also ones sharing a folder by mistake, stay."""
    wheels = tmp_path / "wheels"
    for dist, version, marker in (("onnxruntime", "1.32.0", "cpu"), ("onnxruntime_gpu", "1.31.1", "cuda"),
                                  ("onnxruntime_directml", "1.24.4", "dml")):
        make_wheel(wheels, dist, version, {"onnxruntime/__init__.py": f"KIND = {marker!r}\n",
                                           f"onnxruntime/capi/{marker}_only.py": "", "tests/__init__.py": ""},
                   package=False)
    make_wheel(wheels, "tensorflow_cpu", "2.21.0", {"tensorflow/__init__.py": "KIND = 'cpu'\n"}, package=False)
    make_wheel(wheels, "tensorflow", "2.21.0", {"tensorflow/__init__.py": "KIND = 'full'\n"}, package=False)
    make_wheel(wheels, "otx_tiny_beta", "0.5", {"tests/__init__.py": ""})  # ships tests/ too: not a rival
    target = tmp_path / "site"
    steps = [(["onnxruntime==1.32.0", "tensorflow-cpu==2.21.0", "otx_tiny_beta"], "onnxruntime", "cpu"),
             (["onnxruntime-gpu==1.31.1", "tensorflow==2.21.0"], "onnxruntime-gpu", "cuda"),
             (["onnxruntime-directml==1.24.4", "tensorflow-cpu==2.21.0"], "onnxruntime-directml", "dml")]
    for requirements, dist, marker in steps:
        job = run_install(requirements, target, wheels)
        assert job.poll() == "done", job.error
        assert list(installer.onnxruntime_distributions(target)) == [dist]
        assert (target / "onnxruntime" / "__init__.py").read_text() == f"KIND = {marker!r}\n"
        assert [p.name for p in (target / "onnxruntime" / "capi").glob("*.py")] == [f"{marker}_only.py"]
        assert installer.installed_versions(target, ["otx_tiny_beta"]) == {"otx_tiny_beta": "0.5"}
        assert (target / "otx_tiny_beta" / "__init__.py").is_file()
        tf = {n: v for n, v in installer.installed_versions(target, ["tensorflow", "tensorflow-cpu"]).items() if v}
        assert list(tf) == (["tensorflow"] if marker == "cuda" else ["tensorflow-cpu"])
    assert len(list(target.glob("*onnxruntime*.dist-info"))) == 1


def test_the_tiny_model_is_one_relu_that_onnxruntime_runs():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    model = onnx.load_from_string(installer.TINY_ONNX_MODEL)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Relu"]
    session = ort.InferenceSession(installer.TINY_ONNX_MODEL, providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.array([-2.0], np.float32)})[0].tolist() == [0.0]


def test_device_check_on_this_computer_sees_onnxruntime_and_opencv(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import cv2

    report = installer.probe_devices(target=tmp_path, frameworks=("onnxruntime", "opencv"), timeout=120)
    assert report.errors == {} and report.platform == sys.platform
    assert report.onnxruntime_version == ort.__version__ and report.onnxruntime_package == "onnxruntime"
    assert report.onnxruntime_providers == ort.get_available_providers()
    assert report.onnxruntime_usable[-1] == "CPUExecutionProvider"
    assert report.onnxruntime_usable == installer.usable_onnxruntime_providers()  # in this process: the same
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
    report = installer.probe_devices(target, python=python, frameworks=("onnxruntime",), paths=[numpy_only],
                                     timeout=60)
    assert report.errors == {}
    assert report.onnxruntime_package == "onnxruntime-gpu" and "CUDAExecutionProvider" in report.onnxruntime_providers
    assert report.onnxruntime_usable == ["CPUExecutionProvider"]
    assert "fell back" in report.onnxruntime_why["CUDAExecutionProvider"]
    assert report.summary() == (f"CPU {report.machine} ({report.cores} cores); onnxruntime-gpu is installed but sees "
                                "no NVIDIA GPU (CUDA provider not available): detection runs on the CPU")
    assert installer.onnxruntime_providers_for("cuda", report.onnxruntime_usable) == ["CPUExecutionProvider"]


def test_device_summary_of_a_gpu_computer():
    gpu = "NVIDIA H100 80GB HBM3"
    report = installer.DeviceReport.from_probe({
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
    assert installer.onnxruntime_providers_for("cuda", report.onnxruntime_usable) == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert installer.onnxruntime_providers_for("cpu", report.onnxruntime_usable) == ["CPUExecutionProvider"]

    windows = installer.DeviceReport(machine="AMD64", cores=8, platform="win32", onnxruntime_version="1.24.4",
                                     onnxruntime_package="onnxruntime-directml",
                                     onnxruntime_packages=["onnxruntime-directml", "onnxruntime"],
                                     onnxruntime_usable=["CPUExecutionProvider"])
    assert windows.summary() == ("CPU AMD64 (8 cores); onnxruntime-directml is installed but sees no DirectX 12 GPU "
                                 "(DirectML provider not available): detection runs on the CPU; several ONNX Runtime "
                                 "packages are importable (onnxruntime-directml, onnxruntime), onnxruntime-directml "
                                 "is used")
    mac = installer.DeviceReport(machine="arm64", cores=10, platform="darwin", onnxruntime_version="1.32.0",
                                 onnxruntime_package="onnxruntime",
                                 onnxruntime_usable=["CoreMLExecutionProvider", "CPUExecutionProvider"],
                                 torch_version="2.14.1", mps=True)
    assert mac.summary() == "CPU arm64 (10 cores); onnxruntime 1.32.0: CoreML, CPU; torch 2.14.1: Apple GPU (MPS)"
