"""Pinned pip installs of optional packages (bpy-free): what pip gets, the install, what the runtimes run on."""
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
