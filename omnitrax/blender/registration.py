"""Register and unregister every Blender module of OmniTrax, in dependency order."""
import importlib

#: properties first (operators and panels read them), the panels last
MODULES = (".properties", ".overlay", ".operators.tracking", ".operators.detect_preview", ".operators.pose",
           ".operators.datasets", ".operators.settings", ".operators.models", ".operators.units", ".operators.identity",
           "..ui_panels", ".pose_packages")


def _modules():
    return [importlib.import_module(name, __package__) for name in MODULES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
