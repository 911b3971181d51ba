"""Blender operators on the detection model: convert the scene's Darknet model to ONNX and use it.

The conversion itself is the core's (omnitrax.detection.darknet_onnx), imported inside execute(). The
ONNX file is written at the panel's network size (the size the Darknet model was run at), beside the
.cfg unless a path is given; the user's Darknet files are not changed.
"""
from pathlib import Path

import bpy
from bpy.props import StringProperty

from ..modal import failure_text
from ..properties import scene_value

DARKNET_SUFFIXES = (".cfg", ".weights")


class OMNITRAX_OT_convert_darknet(bpy.types.Operator):
    """Convert the Darknet model (.cfg + .weights) to one ONNX file beside the .cfg, at the network size set
    here, and use it: ONNX models run on ONNX Runtime and on every compute device"""

    bl_idname = "omnitrax.convert_darknet"
    bl_label = "Convert to ONNX"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(
        name="ONNX file", subtype="FILE_PATH", default="", options={"SKIP_SAVE"},
        description="Where to write the .onnx file (empty: beside the .cfg, with the same name)",
    )

    @classmethod
    def poll(cls, context):
        props = getattr(context.scene, "omnitrax", None)
        if props is None or not props.model_path.lower().endswith(DARKNET_SUFFIXES):
            cls.poll_message_set("Choose a Darknet .cfg (and its .weights) as the model first")
            return False
        return True

    def execute(self, context):
        props = context.scene.omnitrax
        try:
            from ...detection.darknet_onnx import convert, darknet_files

            cfg, weights = darknet_files(scene_value(props, "model_path"), scene_value(props, "weights_path"))
            out = Path(bpy.path.abspath(self.filepath)) if self.filepath else cfg.with_suffix(".onnx")
            size = scene_value(props, "network_size")
            result = convert(cfg, weights, out, names_path=scene_value(props, "names_path") or None,
                             size=(size, size))
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Convert to ONNX"))
            return {"CANCELLED"}
        props.model_path = _like(props.model_path, result.path)
        self.report({"INFO"}, f"{result.summary()} The model is now this file.")
        return {"FINISHED"}


def _like(before: str, path: Path) -> str:
    """`path` relative to the .blend ('//...') when the setting was, else absolute."""
    if before.startswith("//") and bpy.data.filepath:
        try:
            return bpy.path.relpath(str(path))
        except ValueError:  # another drive (Windows)
            pass
    return str(path)


CLASSES = (OMNITRAX_OT_convert_darknet,)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
