"""Pinned pip installs of optional packages (pose estimation, GPU detection) into the extension's own folder:
what pip gets (requirements.py), the install (install.py) and what the runtimes can run on (devices.py);
bpy-free."""
from ..lazy import lazy_names

__all__ = ["DeviceProbe", "DeviceReport", "PackageSet", "PipInstall", "acceleration_choices", "activate",
           "deactivate", "installed_versions", "package_set", "probe_devices", "target_dir",
           "usable_onnxruntime_providers"]
__getattr__, __dir__ = lazy_names(__name__, {
    "PackageSet": "requirements", "package_set": "requirements", "acceleration_choices": "requirements",
    "installed_versions": "requirements", "PipInstall": "install", "target_dir": "install", "activate": "install",
    "deactivate": "install", "DeviceProbe": "devices", "DeviceReport": "devices", "probe_devices": "devices",
    "usable_onnxruntime_providers": "devices",
})
