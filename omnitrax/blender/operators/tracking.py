"""Tracking operators: open the sample, track / continue (modal, Esc stops), export tracks, swap identities.

Core modules (and so OpenCV) are imported inside execute(), never when the add-on loads.
"""
import bpy
from bpy.props import BoolProperty

from ... import resources
from ..context import active_clip, selected_track_names
from ..modal import JobOperator, failure_text


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
        context.scene.omnitrax.detector = "YOLO"
        self.report({"INFO"}, f"Opened {clip.name}: {clip.frame_duration} frames, "
                              f"{clip.size[0]}x{clip.size[1]} px")
        return {"FINISHED"}


class OMNITRAX_OT_track(JobOperator, bpy.types.Operator):
    """Detect and track every animal in the frame range: one tracking track per animal"""

    bl_idname = "omnitrax.track"
    bl_label = "Track Animals"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "Tracking"

    restart: BoolProperty(
        name="Restart",
        description="Track from the start of the range, replacing earlier OmniTrax tracks. Off: continue "
                    "from the current frame, starting from the markers there (keeps their names and "
                    "everything before this frame)",
        default=False,
    )

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        from ..markers import owned_names

        if self.restart and owned_names(active_clip(context)):
            return context.window_manager.invoke_confirm(
                self, event, title="Track from the start?",
                message="This replaces the tracks OmniTrax made before (your own tracks stay).",
                confirm_text="Track")
        return self.execute(context)

    def make_job(self, context):
        from ..tracking_job import BlenderTrackingJob

        return BlenderTrackingJob(context, active_clip(context), self.restart)

    def _finish(self, stopped: bool):
        # the detector found fewer animals than the Number of animals in many frames: say so, and what to try
        warning = self._job.shortfall() if hasattr(self._job, "shortfall") else None
        if warning:
            self.report({"WARNING"}, warning)
        return JobOperator._finish(self, stopped)


class _ExportOptions:
    """The choices Export Tracks and Export Poses share (omnitrax.blender.exporting.ExportOptions)."""

    selected_only: BoolProperty(name="Selected tracks only", default=False)
    frame_range_only: BoolProperty(name="Frame range only", default=False,
                                   description="Only the frames of the tracking range (the Tracking panel's "
                                               "start/end, or the scene's range)")
    all_clips: BoolProperty(name="All clips", default=False,
                            description="Every movie clip of this .blend that has tracks, not only the active one")
    subfolders: BoolProperty(name="One folder per clip", default=False,
                             description="Write each clip's files into a sub-folder named like the clip")
    preview: BoolProperty(name="Preview video", default=False,
                          description="Also write a video of the frames with every track (and skeleton) drawn")
    per_track_videos: BoolProperty(name="Video per animal", default=False,
                                   description="Also write one cropped video per animal (ROI size), following it")

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self, confirm_text="Export")

    def make_job(self, context):
        from ..exporting import ExportJob, ExportOptions

        return ExportJob(context, active_clip(context), self.kind, ExportOptions.of(self))


class OMNITRAX_OT_export_tracks(_ExportOptions, JobOperator, bpy.types.Operator):
    """Write the tracks as a tidy CSV (pixels, top-left origin, 0-based video frames) with per-track
    summaries and a run log, optionally upstream-compatible per-track files and videos"""

    bl_idname = "omnitrax.export_tracks"
    bl_label = "Export Tracks"
    job_name = "Export"
    kind = "tracks"

    legacy: BoolProperty(name="Legacy per-track files", default=False,
                         description="Also write one 'frame;x;y;class' file per track, as OmniTrax 1.x did")


class OMNITRAX_OT_swap_tracks(bpy.types.Operator):
    """Swap the identities of the two selected tracks from the current frame on"""

    bl_idname = "omnitrax.swap_tracks"
    bl_label = "Swap Identities From Here"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        clip = active_clip(context)
        if clip is None:
            return False
        if len(selected_track_names(clip)) != 2:
            cls.poll_message_set("Select exactly two visible tracks")
            return False
        return True

    def execute(self, context):
        from ..coords import ClipFrames
        from ..identities import swap_from

        clip = active_clip(context)
        names = selected_track_names(clip)
        if len(names) != 2:
            self.report({"ERROR"}, f"Select exactly two visible tracks to swap ({len(names)} selected).")
            return {"CANCELLED"}
        a, b = names
        frame = int(ClipFrames.of(clip).marker_from_scene(context.scene.frame_current))
        try:
            swap_from(context, clip, a, b, frame)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Swapping identities"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Swapped {a} and {b} from frame {context.scene.frame_current} on")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_load_sample, OMNITRAX_OT_track, OMNITRAX_OT_export_tracks, OMNITRAX_OT_swap_tracks)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
