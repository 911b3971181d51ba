"""The pose-package installer (omnitrax.packages.install): real pip installs of tiny packages built offline in
the test."""
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
from omnitrax.packages import devices, install, requirements
from omnitrax.packages.install import PipInstall


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
    t = install.target_dir(tmp_path)
    assert t.parent == tmp_path
    assert t.name == f"pose_site_packages_py{sys.version_info.major}{sys.version_info.minor}"
    assert install.log_path(t) == tmp_path / "pose_install.log"
    assert [requirements.requirement_name(r) for r in requirements.POSE_PACKAGES] == [
        "deeplabcut-live", "tensorflow-cpu", "torch", "torchvision", "timm", "numpy"]
    assert requirements.pinned_version("torch==2.14.1") == "2.14.1"


def test_install_activate_and_import_without_restart(tmp_path, wheels):
    target = install.target_dir(tmp_path / "user")
    install.activate(target)  # activated before it exists, as the add-on does at start-up
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
        assert requirements.installed_versions(target, ["otx_tiny_alpha==1.0", "otx-tiny-beta", "nothere"]) == {
            "otx_tiny_alpha": "1.0", "otx-tiny-beta": "0.5", "nothere": None}

        install.activate(target)
        assert sys.path[-1] == str(target)  # after Blender's and the extension's own packages
        assert sys.path.count(str(target)) == 1
        module = importlib.import_module("otx_tiny_alpha")
        assert module.VERSION == "1.0"
        assert Path(module.__file__).parent.parent == target
        # sys.path lookup (what the UI shows) sees it too
        assert requirements.installed_versions(packages=["otx_tiny_beta"]) == {"otx_tiny_beta": "0.5"}
    finally:
        install.deactivate(target)
        for name in ("otx_tiny_alpha", "otx_tiny_beta"):
            sys.modules.pop(name, None)
    assert str(target) not in sys.path


def test_upgrade_replaces_old_version_and_keeps_other_packages(tmp_path, wheels):
    target = tmp_path / "site"
    assert run_install(["otx_tiny_alpha==1.0", "otx_tiny_beta"], target, wheels).poll() == "done"
    assert (target / "otx_tiny_alpha" / "extra.py").is_file()
    job = run_install(["otx_tiny_alpha==2.0"], target, wheels)
    assert job.poll() == "done", job.error
    assert requirements.installed_versions(target, ["otx_tiny_alpha", "otx_tiny_beta"]) == {
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
    assert requirements.installed_versions(target, ["otx_ns_a", "otx_ns_b"]) == {"otx_ns_a": "2.0", "otx_ns_b": "1.0"}


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
    for wanted, dist, marker in steps:
        job = run_install(wanted, target, wheels)
        assert job.poll() == "done", job.error
        assert list(devices.onnxruntime_distributions(target)) == [dist]
        assert (target / "onnxruntime" / "__init__.py").read_text() == f"KIND = {marker!r}\n"
        assert [p.name for p in (target / "onnxruntime" / "capi").glob("*.py")] == [f"{marker}_only.py"]
        assert requirements.installed_versions(target, ["otx_tiny_beta"]) == {"otx_tiny_beta": "0.5"}
        assert (target / "otx_tiny_beta" / "__init__.py").is_file()
        tf = {n: v for n, v in requirements.installed_versions(target, ["tensorflow", "tensorflow-cpu"]).items() if v}
        assert list(tf) == (["tensorflow"] if marker == "cuda" else ["tensorflow-cpu"])
    assert len(list(target.glob("*onnxruntime*.dist-info"))) == 1
