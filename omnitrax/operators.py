"""Blender operators: read settings, call the core, turn results into Blender data, report.

Core modules (and so OpenCV) are imported inside execute(), never when the add-on loads.
"""
import bpy
from bpy.props import BoolProperty

from . import resources
from .errors import OmniTraxError


def _failure_text(exc: Exception, what: str = "Tracking") -> str:
    """A user mistake (OmniTraxError) as it is; anything else as a bug, one line, details in the console."""
    if isinstance(exc, OmniTraxError):
        return str(exc)
    import traceback

    traceback.print_exception(exc)
    if isinstance(exc, MemoryError):
        return (f"{what} ran out of memory; nothing was changed. Use a smaller region, network size or frame "
                f"range.")
    first = " ".join(str(exc).split())[:200]
    return (f"{what} failed ({type(exc).__name__}: {first}); nothing was changed. Details in the system "
            f"console.")


def active_clip(context):
    space = context.space_data
    if space is not None and space.type == "CLIP_EDITOR" and space.clip is not None:
        return space.clip
    return context.scene.active_clip


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


class OMNITRAX_OT_track(bpy.types.Operator):
    """Detect and track every animal in the frame range: one tracking track per animal"""

    bl_idname = "omnitrax.track"
    bl_label = "Track Animals"
    bl_options = {"REGISTER", "UNDO"}

    restart: BoolProperty(
        name="Restart",
        description="Track from the start of the range, replacing earlier OmniTrax tracks. Off: continue "
                    "from the current frame, starting from the markers there (keeps their names and "
                    "everything before this frame)",
        default=False,
    )

    _job = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        from .blender.markers import owned_names

        if self.restart and owned_names(active_clip(context)):
            return context.window_manager.invoke_confirm(
                self, event, title="Track from the start?",
                message="This replaces the tracks OmniTrax made before (your own tracks stay).",
                confirm_text="Track")
        return self.execute(context)

    def execute(self, context):
        from .blender.tracking_job import BlenderTrackingJob

        try:
            job = BlenderTrackingJob(context, active_clip(context), self.restart)
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"OmniTrax: {job.run.description}")
        if bpy.app.background or context.window is None:
            return self._run_to_end(job)
        self._job = job
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.02, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(job.run.total, 1))
        return {"RUNNING_MODAL"}

    def _run_to_end(self, job):
        try:
            while job.step(1.0):
                pass
            return self._conclude(job, stopped=False)
        except Exception as exc:  # keep the user's data: undo what this run wrote
            job.restore_snapshot()
            self.report({"ERROR"}, _failure_text(exc))
            return {"CANCELLED"}
        finally:
            job.close()

    def _conclude(self, job, stopped: bool):
        n = job.write_results()
        p = job.progress
        done = f"{p.done}/{p.total} frames" if p else "no frames"
        self.report({"WARNING" if stopped else "INFO"},
                    f"OmniTrax {'stopped' if stopped else 'finished'}: {n} tracks, {done}")
        return {"FINISHED"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            return self._end_modal(context, stopped=True)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            more = job.step(0.1)
            if more:
                job.refresh_live()
        except Exception as exc:  # keep the user's data: undo what this run wrote
            job.restore_snapshot()
            self._cleanup(context)
            self.report({"ERROR"}, _failure_text(exc))
            return {"CANCELLED"}
        if not more:
            return self._end_modal(context, stopped=False)
        p = job.progress
        if p is not None:
            context.window_manager.progress_update(p.done)
        context.workspace.status_text_set(job.status_text())
        for area in context.screen.areas:
            if area.type == "CLIP_EDITOR":
                area.tag_redraw()
        return {"RUNNING_MODAL"}

    def _end_modal(self, context, stopped):
        try:
            return self._conclude(self._job, stopped)
        finally:
            self._cleanup(context)

    def _cleanup(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        self._job.close()


class OMNITRAX_OT_export_tracks(bpy.types.Operator):
    """Write the tracks as a tidy CSV (pixels, top-left origin, 0-based video frames) with per-track
    summaries, and optionally upstream-compatible per-track files"""

    bl_idname = "omnitrax.export_tracks"
    bl_label = "Export Tracks"

    selected_only: BoolProperty(name="Selected tracks only", default=False)
    legacy: BoolProperty(name="Legacy per-track files", default=False,
                         description="Also write one 'frame;x;y;class' file per track, as OmniTrax 1.x did")
    preview: BoolProperty(name="Preview video", default=False,
                          description="Also write <clip>_preview.mp4 with every track's box, name and path drawn")

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self, confirm_text="Export")

    def execute(self, context):
        from .blender.exporting import export_clip_tracks

        clip = active_clip(context)
        try:
            written = export_clip_tracks(clip, context.scene.omnitrax.export_dir,
                                         selected_only=self.selected_only, legacy=self.legacy,
                                         preview=self.preview)
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc, "Export"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {len(written)} file(s) to {written[0].parent}")
        return {"FINISHED"}


class OMNITRAX_OT_swap_tracks(bpy.types.Operator):
    """Swap the identities of the two selected tracks from the current frame on"""

    bl_idname = "omnitrax.swap_tracks"
    bl_label = "Swap Identities From Here"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        from .blender.markers import selected_names

        clip = active_clip(context)
        if clip is None:
            return False
        if len(selected_names(clip)) != 2:
            cls.poll_message_set("Select exactly two visible tracks")
            return False
        return True

    def execute(self, context):
        from .blender.coords import ClipFrames
        from .blender.identities import swap_from
        from .blender.markers import selected_names

        clip = active_clip(context)
        names = selected_names(clip)
        if len(names) != 2:
            self.report({"ERROR"}, f"Select exactly two visible tracks to swap ({len(names)} selected).")
            return {"CANCELLED"}
        a, b = names
        frame = int(ClipFrames.of(clip).marker_from_scene(context.scene.frame_current))
        try:
            swap_from(context, clip, a, b, frame)
        except Exception as exc:
            self.report({"ERROR"}, _failure_text(exc, "Swapping identities"))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Swapped {a} and {b} from frame {context.scene.frame_current} on")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_load_sample, OMNITRAX_OT_track, OMNITRAX_OT_export_tracks, OMNITRAX_OT_swap_tracks)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
