"""What the operators ask of Blender's context: the clip in use, its selected tracks, the frame range to
work on, the add-on's preferences, scene settings as the core takes them, and redraws."""
from __future__ import annotations

import bpy

from .. import settings as schema
from ..errors import OmniTraxError
from .coords import ClipFrames

#: the add-on's package (bl_ext.<repo>.omnitrax when installed as an extension, omnitrax from source)
ADDON_PACKAGE = __package__.rsplit(".", 1)[0]


def active_clip(context):
    """The clip of the Clip Editor the operator runs in, else the scene's active clip."""
    space = context.space_data
    if space is not None and space.type == "CLIP_EDITOR" and space.clip is not None:
        return space.clip
    return context.scene.active_clip


def selected_track_names(clip) -> list:
    """Names of the selected camera tracks, as Blender's own tools see them (hidden tracks are not selected)."""
    return [t.name for t in clip.tracking.tracks if t.select and not t.hide]


def redraw_clip_editors(context=None) -> None:
    """Ask every Clip Editor to redraw (it does not on property or marker changes made from Python)."""
    wm = (context or bpy.context).window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "CLIP_EDITOR":
                area.tag_redraw()


def frame_range(scene, props, clip, frames: ClipFrames) -> tuple[int, int]:
    """Video frame indices [start, stop) to work on, clipped to the clip."""
    first, last = (scene.frame_start, scene.frame_end) if props.use_scene_range else (props.frame_start,
                                                                                       props.frame_end)
    start = max(int(frames.video_from_scene(first)), 0)
    stop = min(int(frames.video_from_scene(last)) + 1, clip.frame_duration + clip.frame_offset)
    if start >= stop:
        raise OmniTraxError(f"The frame range {first}-{last} does not overlap the clip "
                            f"(scene frames {clip.frame_start}-{clip.frame_start + clip.frame_duration - 1}).")
    return start, stop


#: the machine settings (schema settings with scene=False): add-on preference properties of the same names
PREFERENCE_SETTINGS = tuple(s.name for s in schema.SETTINGS if not s.scene)


def machine_settings(context) -> dict:
    """The settings kept in the add-on preferences (runtime, backend: the compute device) as the core takes
    them: {setting: lower-case value}; the schema defaults when the add-on is not registered."""
    addon = context.preferences.addons.get(ADDON_PACKAGE)
    if addon is None:
        return {}
    return {name: getattr(addon.preferences, name).lower() for name in PREFERENCE_SETTINGS}


