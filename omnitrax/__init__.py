"""OmniTrax: multi-animal tracking and pose estimation in Blender's Movie Clip Editor.

This file only registers the Blender layer. It imports nothing at module load, so the bpy-free core
(omnitrax.tracking, omnitrax.io, omnitrax.pose, the CLI) can be imported without Blender, and
enabling the add-on never loads OpenCV, TensorFlow or torch.
"""

_MODULES = ("properties", "blender.overlay", "operators", "pose_operators", "dataset_operators", "settings_operators", "ui_panels",
            "blender.pose_packages")


def _blender_modules():
    import importlib

    return [importlib.import_module(f".{name}", __name__) for name in _MODULES]


def register():
    for module in _blender_modules():
        module.register()


def unregister():
    for module in reversed(_blender_modules()):
        module.unregister()
