"""Public names of a package, imported on first use (PEP 562), so `from omnitrax.detection import
YoloDetector` works while importing the package itself loads none of its modules: the add-on imports
light modules of packages whose other modules load OpenCV or SciPy (detection.runtimes for the device
list), and registering it must stay light."""
from __future__ import annotations

import sys
from importlib import import_module


def lazy_names(package: str, names: dict[str, str]):
    """(__getattr__, __dir__) for a package's __init__: `names` maps each public name to the module of the
    package that defines it. A name is imported on first use and then kept on the package."""

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
