"""Blender operators: read settings, call the core, turn results into Blender data, report.

Core modules (and so OpenCV) are imported inside execute(), never when the add-on loads.
"""
import bpy

from . import resources


class OMNITRAX_OT_load_sample(bpy.types.Operator):
    """Open the bundled sample clip of ants, to try OmniTrax without your own video"""

    bl_idname = "omnitrax.load_sample"
    bl_label = "Open Sample Clip"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        path = resources.sample_clip()
        if not path.is_file():
            self.report({"ERROR"}, f"The sample clip is missing ({path}); reinstall the OmniTrax extension.")
            return {"CANCELLED"}
        clip = bpy.data.movieclips.load(str(path), check_existing=True)
        space = context.space_data
        if space is not None and space.type == "CLIP_EDITOR":
            space.clip = clip
        context.scene.active_clip = clip
        context.scene.frame_start = clip.frame_start
        context.scene.frame_end = clip.frame_start + clip.frame_duration - 1
        self.report({"INFO"}, f"Opened {clip.name}: {clip.frame_duration} frames, "
                              f"{clip.size[0]}x{clip.size[1]} px")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_load_sample,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
