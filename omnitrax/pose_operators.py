"""Blender operators for pose estimation: estimate (modal, Esc stops) and export as DeepLabCut files."""
import bpy
from bpy.props import BoolProperty

from .operators import _failure_text, active_clip


class OMNITRAX_OT_estimate_poses(bpy.types.Operator):
    """Run the DeepLabCut model on every tracked animal (or on whole frames) in the frame range and store
    the keypoints as markers you can scrub and correct"""

    bl_idname = "omnitrax.estimate_poses"
    bl_label = "Estimate Poses"
    bl_options = {"REGISTER", "UNDO"}

    full_frame: BoolProperty(
        name="Full frame", default=False,
        description="One animal: run the network on the whole frame instead of a region around each track",
    )

    _job = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def execute(self, context):
        from .blender.pose_job import BlenderPoseJob

        try:
            job = BlenderPoseJob(context, active_clip(context), self.full_frame)
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc, "Pose estimation"))
            return {"CANCELLED"}
        job.start()
        if bpy.app.background or context.window is None:
            job.wait()
            return self._conclude(job, stopped=False)
        self._job = job
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(job.total, 1))
        return {"RUNNING_MODAL"}

    def _conclude(self, job, stopped: bool):
        try:
            n = job.write_results()
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc, "Pose estimation"))
            return {"CANCELLED"}
        self.report({"WARNING" if stopped else "INFO"},
                    f"OmniTrax pose {'stopped' if stopped else 'finished'}: {job.done}/{job.total} frames, "
                    f"{n} keypoint tracks ({job.description})")
        return {"FINISHED"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.stop()
        if event.type != "TIMER":
            return {"PASS_THROUGH"} if event.type != "ESC" else {"RUNNING_MODAL"}
        if job.running():
            context.window_manager.progress_update(job.done)
            context.workspace.status_text_set(job.status_text())
            return {"RUNNING_MODAL"}
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        for area in context.screen.areas:
            if area.type == "CLIP_EDITOR":
                area.tag_redraw()
        return self._conclude(job, stopped=job.stopped)


class OMNITRAX_OT_export_poses(bpy.types.Operator):
    """Write the keypoints, as corrected in Blender, as a DeepLabCut multi-animal CSV (and .h5)"""

    bl_idname = "omnitrax.export_poses"
    bl_label = "Export Poses"

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def execute(self, context):
        from .blender.exporting import export_clip_poses

        try:
            written, note = export_clip_poses(active_clip(context), context.scene.omnitrax.export_dir)
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc, "Export"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {', '.join(p.name for p in written)} to {written[0].parent}{note}")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_estimate_poses, OMNITRAX_OT_export_poses)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    _register_classes()
    from .blender import overlay, pose_markers

    overlay.register_layer("pose", pose_markers.skeleton_layer, order=10)


def unregister():
    from .blender import overlay

    overlay.unregister_layer("pose")
    _unregister_classes()
