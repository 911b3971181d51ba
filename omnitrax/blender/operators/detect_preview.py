"""Preview Detection: a few frames of the active clip with what the detector sees drawn on them.

Writes `<clip>_detect_<frame>.png` (and `<clip>_background.png` for the background detector) with the
scene's settings and mask into the export folder, frames spread over the frame range to track, and loads
the first image into Blender (Image Editor). The core (omnitrax.detection.preview, OpenCV) is
imported inside execute(), never when the add-on loads.
"""
import bpy

from ..context import active_clip, frame_range, machine_settings
from ..modal import failure_text

PREVIEW_FRAMES = 6


class OMNITRAX_OT_detect_preview(bpy.types.Operator):
    """Write a few frames with the detections and the rejected blobs (and why) drawn on them into the export
    folder, to see why an animal is or is not detected before tracking"""

    bl_idname = "omnitrax.detect_preview"
    bl_label = "Preview Detection"

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def execute(self, context):
        try:
            result = self._write(context)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Preview Detection"))
            return {"CANCELLED"}
        _show(context, result.paths[0])
        self.report({"INFO"}, f"Wrote {len(result.paths)} preview images to {result.paths[0].parent} "
                              f"({result.description})")
        return {"FINISHED"}

    @staticmethod
    def _write(context):
        from ...detection.preview import write_detect_preview
        from ..coords import ClipFrames, clip_size, clip_stem, clip_video
        from ..exporting import export_folder
        from ..masks import region_mask
        from ..properties import settings_from_scene

        clip = active_clip(context)
        scene, props = context.scene, context.scene.omnitrax
        video = clip_video(clip)  # the movie, or the image sequence from the clip's first frame
        out = export_folder(props.export_dir)
        settings = settings_from_scene(props, machine_settings(context))
        frames = ClipFrames.of(clip)
        start, stop = frame_range(scene, props, clip, frames)
        width, height = clip_size(clip)
        mask = region_mask(props.mask, width, height)
        wm = context.window_manager
        wm.progress_begin(0, PREVIEW_FRAMES)
        try:
            return write_detect_preview(
                video, settings, out, frames=PREVIEW_FRAMES, mask=mask, start=start, stop=stop,
                stem=clip_stem(clip), what="export folder",
                on_progress=lambda done, total: wm.progress_update(done),
                frame_name=lambda f: f"scene frame {int(frames.scene_from_video(f))} (video frame {f})")
        finally:
            wm.progress_end()


def _show(context, path):
    """Load (or reload) the image and show it in every open Image Editor."""
    image = bpy.data.images.load(str(path), check_existing=True)
    image.reload()  # an earlier preview of the same name may be loaded already
    screen = context.screen
    for area in (screen.areas if screen is not None else ()):
        if area.type == "IMAGE_EDITOR":
            area.spaces.active.image = image
    return image


CLASSES = (OMNITRAX_OT_detect_preview,)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
