"""Real units: Set Scale measures pixels per unit from two markers a known length apart."""
import bpy
from bpy.props import FloatProperty

from ...errors import OmniTraxError
from ..context import active_clip, selected_track_names


def scale_from_markers(clip, scene_frame: int, length: float) -> tuple[float, float, list]:
    """(px per unit, distance px, [track names]) from the two selected tracks' markers at this frame."""
    from ..coords import ClipFrames, clip_size, marker_to_pixels

    if not length > 0:
        raise OmniTraxError("Enter the real length between the two markers (more than 0).")
    names = selected_track_names(clip)
    if len(names) != 2:
        raise OmniTraxError(f"Select exactly two tracks whose markers mark the ends of a known length "
                            f"({len(names)} selected); e.g. add two markers on a ruler with Ctrl+click.")
    marker_frame = int(ClipFrames.of(clip).marker_from_scene(scene_frame))
    width, height = clip_size(clip)
    points = []
    for name in names:
        marker = clip.tracking.tracks[name].markers.find_frame(marker_frame, exact=True)
        if marker is None or marker.mute:
            raise OmniTraxError(f"Track '{name}' has no marker at frame {scene_frame}: go to a frame where both "
                                f"selected tracks have one.")
        points.append(marker_to_pixels(marker.co, width, height)[0])
    distance = float(((points[0] - points[1]) ** 2).sum() ** 0.5)
    if distance < 1.0:
        raise OmniTraxError(f"The markers of '{names[0]}' and '{names[1]}' are less than a pixel apart; place them "
                            f"at the two ends of the known length.")
    return distance / length, distance, names


class OMNITRAX_OT_set_scale(bpy.types.Operator):
    """Set the scale (pixels per unit) from the two selected tracks' markers at this frame and the real
    length between them; summaries then give distances and speeds in that unit"""

    bl_idname = "omnitrax.set_scale"
    bl_label = "Set Scale"
    bl_options = {"REGISTER", "UNDO"}

    length: FloatProperty(name="Length", min=0.0, default=10.0, precision=3,
                          description="The real distance between the two markers, in the unit below")

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self, confirm_text="Set Scale")

    def draw(self, context):
        row = self.layout.row()
        row.prop(self, "length")
        row.prop(context.scene.omnitrax, "unit", text="")

    def execute(self, context):
        props = context.scene.omnitrax
        try:
            scale, distance, names = scale_from_markers(active_clip(context), context.scene.frame_current,
                                                        self.length)
            props.scale = scale
        except (OmniTraxError, TypeError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        unit = props.unit.lower()
        self.report({"INFO"}, f"Scale: {scale:.4g} px per {unit} ('{names[0]}' and '{names[1]}' are "
                              f"{distance:.1f} px apart). Delete the two reference tracks before exporting.")
        return {"FINISHED"}


CLASSES = (OMNITRAX_OT_set_scale,)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
