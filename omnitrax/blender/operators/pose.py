"""Pose operators: estimate (the network off the main thread, Esc stops) and export as DeepLabCut files."""
import bpy
from bpy.props import BoolProperty

from ..context import active_clip
from ..modal import JobOperator
from .tracking import _ExportOptions


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


class OMNITRAX_OT_export_poses(_ExportOptions, JobOperator, bpy.types.Operator):
    """Write the keypoints, as corrected in Blender, as a DeepLabCut multi-animal CSV (and .h5), optionally one
    single-animal file per track and videos with the skeletons"""

    bl_idname = "omnitrax.export_poses"
    bl_label = "Export Poses"
    job_name = "Export"
    kind = "poses"

    per_track: BoolProperty(name="One file per animal", default=False,
                            description="Also write one single-animal DeepLabCut CSV per track (<clip>_poses/)")
    crop_pixels: BoolProperty(name="In ROI pixels", default=False,
                              description="The per-animal files in pixels of each animal's region of interest "
                                          "(upstream OmniTrax's layout) instead of frame pixels")


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
