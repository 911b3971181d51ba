"""Add-on preferences: show the installed pose/GPU packages and install them with pip, in the background.

The work is done by the bpy-free omnitrax.packages (requirements, install, devices); this module picks the
folder (the extension's user directory, which survives extension updates and needs no admin rights) and the
acceleration (the preferences' `pose_acceleration`: cpu, cuda, directml or coreml, only those of this
platform), runs the install as a modal operator (timer-polled, Esc cancels), and draws the state in the
preferences.
"""
from __future__ import annotations

import os
import sys
import time

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from ..errors import OmniTraxError
from ..packages import devices, install, requirements


class _State:
    """What the preferences show between redraws (UI state only; nothing here is needed to run)."""

    def __init__(self):
        self.job: install.PipInstall | None = None  # the install in progress
        self.job_set: requirements.PackageSet | None = None  # the package set it installs (None: custom list)
        self.probe: devices.DeviceProbe | None = None  # the device check in progress
        self.versions: dict[tuple, dict] = {}  # packages -> {name: version or None}, cleared by refresh()
        self.devices = ""  # one line from the last device check
        self.message: tuple[str, str] | None = None  # (icon, text) of the last install's outcome


_STATE = _State()


def _extension_package() -> str:
    """The extension's own package name (e.g. 'bl_ext.user_default.omnitrax'); this module is one below."""
    return __package__.rpartition(".")[0]


def user_base(create: bool = False) -> str:
    """The extension's user folder: kept across extension updates, writable without admin rights."""
    try:
        return bpy.utils.extension_path_user(_extension_package(), path="", create=create)
    except ValueError:  # loaded as a legacy add-on, not as an extension
        return bpy.utils.user_resource("DATAFILES", path="omnitrax", create=create)


def target_path(create: bool = False):
    return install.target_dir(user_base(create))


# what the device check imports in its process (a test may leave out the slow torch and tensorflow)
PROBE_FRAMEWORKS = devices.FRAMEWORKS


def acceleration_items() -> list[tuple[str, str, str]]:
    """The acceleration choices of this computer's platform, as EnumProperty items (cpu first)."""
    return [(name, requirements.ACCELERATIONS[name].label, requirements.ACCELERATIONS[name].description)
            for name in requirements.acceleration_choices()]


def acceleration_property():
    """The preferences' `pose_acceleration` property: what the package installer installs."""
    return EnumProperty(
        name="Acceleration", items=acceleration_items(), default=requirements.CPU, update=_acceleration_changed,
        description="What the installed packages run on: the ONNX Runtime build for detection and the torch "
                    "build for pose estimation (only the choices of this platform are offered)")


def _acceleration_changed(self, context):
    _STATE.message = None  # the last install's outcome was for the set chosen before
    _redraw_preferences()


def _preferences(context=None):
    addon = (context or bpy.context).preferences.addons.get(_extension_package())
    return addon.preferences if addon is not None else None


def current_acceleration(context=None) -> str:
    """The acceleration chosen in the preferences ('cpu' when the add-on has no preferences)."""
    return getattr(_preferences(context), "pose_acceleration", requirements.CPU) or requirements.CPU


def package_set(acceleration: str | None = None) -> requirements.PackageSet:
    """What pip gets for this Blender's Python (3.11: Blender 4.2-5.0, 3.13: Blender 5.1+), this computer
    and an acceleration (default: the one chosen in the preferences)."""
    return requirements.package_set(acceleration=acceleration or current_acceleration())


def support_reason() -> str | None:
    """None when the pose packages can be installed in this Blender, else one line why not and the fix."""
    return requirements.unsupported_reason()


def refresh() -> None:
    """Forget the cached versions; the next draw reads them again (package metadata only, fast)."""
    _STATE.versions = {}


def _versions(packages: tuple[str, ...]) -> dict:
    if packages not in _STATE.versions:
        # where `import` looks: Blender's packages, the extension's wheels, then the pose folder
        _STATE.versions[packages] = requirements.installed_versions(None, packages)
    return _STATE.versions[packages]


def _job_running() -> bool:
    return _STATE.job is not None and _STATE.job.poll() == install.RUNNING


def _redraw_preferences() -> None:
    wm = getattr(bpy.context, "window_manager", None)
    for window in (wm.windows if wm else ()):
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()


def _poll_probe():
    """bpy.app.timers callback: collect the device check's result when it is ready."""
    probe = _STATE.probe
    if probe is None:
        return None
    try:
        report = probe.poll()
    except OmniTraxError as exc:
        report, _STATE.devices = None, str(exc)
    else:
        if report is None:
            return 0.5
        _STATE.devices = report.summary()
    _STATE.probe = None
    _redraw_preferences()
    return None


def start_device_check(wait: bool) -> None:
    """Find what onnxruntime, OpenCV, torch and tensorflow can run on, in a separate process (the imports
    take seconds); that process sees what this one imports: Blender's packages, the extension's wheels,
    then the packages folder."""
    if _STATE.probe is not None:
        return
    _STATE.devices = "Checking devices..."
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    _STATE.probe = devices.DeviceProbe(target_path(), frameworks=PROBE_FRAMEWORKS, paths=paths)
    if wait:
        while _poll_probe() is not None:
            time.sleep(0.1)
    elif not bpy.app.timers.is_registered(_poll_probe):
        bpy.app.timers.register(_poll_probe, first_interval=0.5)


class OMNITRAX_OT_install_pose_packages(bpy.types.Operator):
    """Download the pose-estimation and detection packages (DeepLabCut-Live, TensorFlow, PyTorch, ONNX
    Runtime; a few GB) for the chosen acceleration and install them into OmniTrax's user folder. Blender
    stays usable; press Esc to cancel"""

    bl_idname = "omnitrax.install_pose_packages"
    bl_label = "Install Pose-Estimation Packages"
    bl_options = {"REGISTER", "INTERNAL"}

    requirements: StringProperty(
        name="Requirements", default="", options={"HIDDEN", "SKIP_SAVE"},
        description="Packages to install, one per line or space separated (empty: the pinned pose packages)",
    )
    find_links: StringProperty(
        name="Find links", default="", subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"},
        description="Also look for packages in this folder of wheels (for offline installs)",
    )
    no_index: BoolProperty(
        name="No index", default=False, options={"HIDDEN", "SKIP_SAVE"},
        description="Do not contact the Python Package Index; use only the folder in 'Find links'",
    )
    acceleration: StringProperty(
        name="Acceleration", default="", options={"HIDDEN", "SKIP_SAVE"},
        description="cpu, cuda, directml or coreml (empty: the one chosen in the preferences)",
    )

    _timer = None

    @classmethod
    def poll(cls, context):
        return not _job_running()

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(
            self, event, title="Install the pose-estimation packages?",
            message="pip downloads a few GB from the Python Package Index into OmniTrax's user folder. "
                    "Blender stays usable; Esc cancels.",
            confirm_text="Install")

    def execute(self, context):
        acceleration = self.acceleration.strip().lower() or current_acceleration(context)
        pset = package_set(acceleration)
        default = not self.requirements.split()
        # an acceleration this platform lacks is refused before pip runs, whatever is to be installed
        problem = requirements.acceleration_problem(acceleration) or (pset.unsupported if default else None)
        if problem:
            _STATE.message = ("ERROR", problem)
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        wanted = pset.requirements if default else tuple(self.requirements.split())
        extra = list(pset.pip_args) if default else []  # Python 3.13: the pinned set goes in with --no-deps
        if self.no_index:
            extra.append("--no-index")
        if self.find_links:
            extra += ["--find-links", bpy.path.abspath(self.find_links)]
        expected = pset.expected_distributions if default else None
        try:
            job = install.PipInstall(wanted, target_path(create=True), extra_args=extra,
                                     expected_distributions=expected)
        except OmniTraxError as exc:
            _STATE.message = ("ERROR", str(exc))
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _STATE.job, _STATE.job_set = job, (pset if default else None)
        _STATE.message = None
        if bpy.app.background or context.window is None:
            while job.poll() == install.RUNNING:
                time.sleep(0.1)
            return self._conclude(context, job)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = _STATE.job
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        if job.poll() != install.RUNNING:
            wm = context.window_manager
            wm.event_timer_remove(self._timer)
            wm.progress_end()
            result = self._conclude(context, job)
            _redraw_preferences()
            return result
        context.window_manager.progress_update(int(100 * job.fraction()))
        _redraw_preferences()
        return {"RUNNING_MODAL"}

    def cancel(self, context):  # Blender ends the operator (window closed, file loaded): stop pip too
        if _STATE.job is not None:
            _STATE.job.cancel()
            _STATE.job = None
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def _conclude(self, context, job):
        state = job.poll()
        pset = _STATE.job_set
        _STATE.job = _STATE.job_set = None
        refresh()
        if state == install.DONE:
            install.activate(job.target)
            shown = [p for p in pset.packages if p != "numpy"] if pset is not None else job.requirements
            versions = requirements.installed_versions(job.target, shown)
            text = "Installed " + ", ".join(f"{n} {v}" for n, v in versions.items())
            _STATE.message = ("CHECKMARK", text)
            self.report({"INFO"}, text)
            if not bpy.app.background:
                start_device_check(wait=False)
            return {"FINISHED"}
        if state == install.CANCELLED:
            text = "Installation cancelled; the packages installed before are unchanged."
            _STATE.message = ("CANCEL", text)
            self.report({"WARNING"}, text)
        else:
            _STATE.message = ("ERROR", str(job.error))
            self.report({"ERROR"}, str(job.error))
        return {"CANCELLED"}


class OMNITRAX_OT_check_pose_packages(bpy.types.Operator):
    """Check which pose-estimation and detection packages are installed and which CPU/GPUs they can use"""

    bl_idname = "omnitrax.check_pose_packages"
    bl_label = "Check Pose-Estimation Packages"
    bl_options = {"REGISTER", "INTERNAL"}

    probe_devices: BoolProperty(
        name="Check devices", default=True, options={"HIDDEN", "SKIP_SAVE"},
        description="Also start onnxruntime, OpenCV, torch and tensorflow in a separate process to list the "
                    "GPUs they find",
    )

    def execute(self, context):
        if target_path().is_dir():
            install.activate(target_path())
        refresh()
        pset = package_set(current_acceleration(context))
        if pset.unsupported:
            self.report({"WARNING"}, pset.unsupported)
        else:
            versions = _versions(pset.packages)
            missing = [n for n, v in versions.items() if v is None]
            self.report({"WARNING" if missing else "INFO"},
                        f"Packages missing for {requirements.ACCELERATIONS[pset.acceleration].label}: "
                        f"{', '.join(missing)}" if missing else "All pose and detection packages are installed")
        if self.probe_devices:  # detection's runtimes are worth checking even where pose packages are not
            start_device_check(wait=bpy.app.background or context.window is None)
        return {"FINISHED"}


def draw_preferences(layout, context, packages: tuple[str, ...] | None = None) -> None:
    """Draw the package section into `layout` (from AddonPreferences.draw): the acceleration, the packages
    of the chosen set, install/check, the device line. Cheap: no imports, no subprocesses; versions are
    cached until an install or a check refreshes them."""
    pset = package_set(current_acceleration(context))
    packages = tuple(packages or pset.packages)
    box = layout.box()
    box.label(text="Pose estimation and GPU packages (DeepLabCut-Live, ONNX Runtime)", icon="ARMATURE_DATA")
    prefs = _preferences(context)
    if prefs is not None and "pose_acceleration" in prefs.bl_rna.properties:
        box.prop(prefs, "pose_acceleration")
    reason = support_reason() or pset.unsupported
    if reason and not packages:
        box.label(text=reason, icon="ERROR")
        return
    versions = _versions(packages)
    col = box.column(align=True)
    for requirement in packages:
        name, wanted = requirements.requirement_name(requirement), requirements.pinned_version(requirement)
        have = versions.get(name)
        if have is None:
            col.label(text=f"{name}: not installed" + (f" (needs {wanted})" if wanted else ""), icon="X")
        elif wanted and have != wanted:
            col.label(text=f"{name} {have}: installed, but OmniTrax needs {wanted}", icon="ERROR")
        else:
            col.label(text=f"{name} {have}", icon="CHECKMARK")

    job = _STATE.job
    if job is not None and job.poll() == install.RUNNING:
        box.label(text=f"Installing ({100 * job.fraction():.0f}%): {job.progress_text()}", icon="SORTTIME")
        box.label(text="Press Esc to cancel; the packages installed before stay as they are.")
    else:
        row = box.row()
        all_there = all(versions.get(requirements.requirement_name(r)) for r in packages)
        row.operator(OMNITRAX_OT_install_pose_packages.bl_idname,
                     text="Reinstall pose-estimation packages" if all_there else "Install pose-estimation packages",
                     icon="IMPORT")
        row.operator(OMNITRAX_OT_check_pose_packages.bl_idname, text="Check", icon="FILE_REFRESH")
    if _STATE.message is not None:
        icon, text = _STATE.message
        box.label(text=text, icon=icon)
    if _STATE.devices:
        box.label(text=f"Devices: {_STATE.devices}", icon="DESKTOP")
    target = target_path()
    box.label(text=f"Folder: {target}")
    log = install.log_path(target)
    if log.is_file():
        box.label(text=f"Log: {log}")


CLASSES = (OMNITRAX_OT_install_pose_packages, OMNITRAX_OT_check_pose_packages)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    _register_classes()
    target = target_path()
    if target.is_dir():  # packages installed in an earlier session: importable right away
        install.activate(target)
    refresh()


def unregister():
    if _STATE.job is not None:
        _STATE.job.cancel()
        _STATE.job = None
    if _STATE.probe is not None:
        _STATE.probe.cancel()
        _STATE.probe = None
    if bpy.app.timers.is_registered(_poll_probe):
        bpy.app.timers.unregister(_poll_probe)
    install.deactivate(target_path())
    refresh()
    _unregister_classes()
