"""Install packages with pip into a private folder, in the background, and make them importable (bpy-free).

The pose packages (DeepLabCut-Live, TensorFlow, torch) and ONNX Runtime are far too big for the extension
zip, so the add-on preferences install them on request into a folder of the extension's user directory: no
admin rights, nothing written into Blender's own Python. What pip gets is decided in
omnitrax.packages.requirements; the Blender side (omnitrax.blender.pose_packages) only chooses the folder and
shows progress; everything else lives here and runs without Blender.

Consistency: pip installs into a staging folder next to the target; only a successful install is moved
into place (merged with what was there), so a failed or cancelled install leaves the target as it was.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import OmniTraxError
from .processes import kill_tree, new_group_kwargs
from .requirements import normalised_name, requirement_name

LOG_NAME = "pose_install.log"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
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
                                          stdin=subprocess.DEVNULL, env=env, **new_group_kwargs())
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
        kill_tree(self._proc)
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
                return normalised_name(line.split(":", 1)[1].strip())
            if not line.strip():
                break
    except OSError:
        pass
    return normalised_name(dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0])


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
