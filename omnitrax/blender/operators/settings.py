"""Blender operators: save the scene's OmniTrax settings to a .toml/.yaml file, and load them back.

The file holds the tracking and pose settings under the Blender property names (see
omnitrax.settings_file), so `python -m omnitrax batch --settings FILE` runs a batch with exactly the
settings tuned in the panel. Enums are written lower-case and read in any case; Blender's `//`
(relative to the .blend) paths are made absolute on save. The runtime and the backend (the compute
device) are written from the add-on preferences but not changed on load, since they are preferences, not
scene settings.
"""
import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ...errors import OmniTraxError
from ..properties import apply_settings, scene_settings

FILTER = "*.toml;*.yaml;*.yml"


class OMNITRAX_OT_save_settings(bpy.types.Operator, ExportHelper):
    """Save the OmniTrax tracking and pose settings of this scene to a TOML or YAML file (for batches
    with `python -m omnitrax batch --settings FILE`, or to load into another scene)"""

    bl_idname = "omnitrax.save_settings"
    bl_label = "Save Settings"
    bl_options = {"REGISTER"}

    filename_ext = ".toml"
    check_extension = None  # keep .yaml / .yml when the user types them
    filter_glob: StringProperty(default=FILTER, options={"HIDDEN"})

    def execute(self, context):
        from pathlib import Path

        from ...settings_file import SUFFIXES, write_settings

        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() not in SUFFIXES:
            path = path.with_name(path.name + ".toml")
        try:
            from ..context import machine_settings

            tracking, pose = scene_settings(context.scene.omnitrax, machine_settings(context))
            write_settings(path, tracking, pose)
        except OmniTraxError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved OmniTrax settings to {path}")
        return {"FINISHED"}


class OMNITRAX_OT_load_settings(bpy.types.Operator, ImportHelper):
    """Load OmniTrax tracking and pose settings from a TOML or YAML settings file into this scene"""

    bl_idname = "omnitrax.load_settings"
    bl_label = "Load Settings"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".toml"
    filter_glob: StringProperty(default=FILTER, options={"HIDDEN"})

    def execute(self, context):
        from ...settings_file import read_settings

        path = bpy.path.abspath(self.filepath)
        try:
            tracking, pose = read_settings(path)
            apply_settings(context.scene.omnitrax, tracking, pose)
        except OmniTraxError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Loaded OmniTrax settings from {path}")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_save_settings, OMNITRAX_OT_load_settings)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
