"""Pose operators: estimate (the network off the main thread, Esc stops) and export as DeepLabCut files."""
import bpy
from bpy.props import BoolProperty

from ..context import active_clip
from ..modal import JobOperator, failure_text


class OMNITRAX_OT_estimate_poses(JobOperator, bpy.types.Operator):
    """Run the DeepLabCut model on every tracked animal (or on whole frames) in the frame range and store
    the keypoints as markers you can scrub and correct"""

    bl_idname = "omnitrax.estimate_poses"
    bl_label = "Estimate Poses"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "Pose estimation"
    tick_s = 0.1

    full_frame: BoolProperty(
        name="Full frame", default=False,
        description="One animal: run the network on the whole frame instead of a region around each track",
    )

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def make_job(self, context):
        from ..pose_job import BlenderPoseJob

        return BlenderPoseJob(context, active_clip(context), self.full_frame)


class OMNITRAX_OT_export_poses(bpy.types.Operator):
    """Write the keypoints, as corrected in Blender, as a DeepLabCut multi-animal CSV (and .h5)"""

    bl_idname = "omnitrax.export_poses"
    bl_label = "Export Poses"

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def execute(self, context):
        from ..exporting import export_clip_poses

        try:
            written, note = export_clip_poses(active_clip(context), context.scene.omnitrax.export_dir)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Export"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {', '.join(p.name for p in written)} to {written[0].parent}{note}")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_estimate_poses, OMNITRAX_OT_export_poses)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    _register_classes()
    from .. import overlay, pose_markers

    overlay.register_layer("pose", pose_markers.skeleton_layer, order=10)


def unregister():
    from .. import overlay

    overlay.unregister_layer("pose")
    _unregister_classes()
