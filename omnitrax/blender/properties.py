"""OmniTrax settings: a PropertyGroup on every Scene (saved with the .blend) and the add-on preferences.

Nothing is assigned to bpy.types at import; register() adds Scene.omnitrax and unregister() removes it.
"""
import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)


from ..errors import OmniTraxError
from . import pose_packages
from .context import ADDON_PACKAGE, PREFERENCE_SETTINGS, redraw_clip_editors


def _redraw_clip_editors(self, context):
    """Overlay switches take effect at once (the Clip Editor does not redraw on property changes)."""
    redraw_clip_editors(context)


def _path_options() -> set:
    """Blender 4.5+ warns about '//' paths unless the property says it supports them; 4.2-4.4 lack the option."""
    return {"PATH_SUPPORTS_BLEND_RELATIVE"} if bpy.app.version >= (4, 5, 0) else set()


PATH_OPTIONS = _path_options()


def schema_property(s):
    """The Blender property for one schema setting: same default, limits, choices and help."""
    common = dict(name=s.label, description=s.help)
    if s.choices:
        return EnumProperty(items=[(v.upper(), label, text) for v, label, text in s.choices],
                            default=s.default.upper(), **common)
    if s.kind is bool:
        return BoolProperty(default=s.default, **common)
    if s.kind in (int, float):
        limits = dict(min=s.min, max=s.max) if s.max is not None else dict(min=s.min)
        subtype = "PIXEL" if s.unit == "px" else "NONE"
        if s.kind is int:
            return IntProperty(default=s.default, subtype=subtype, step=s.multiple_of or 1, **limits, **common)
        precision = 6 if s.min and 0 < s.min < 0.001 else 3
        return FloatProperty(default=s.default, subtype=subtype, precision=precision, **limits, **common)
    subtype = {"file": "FILE_PATH", "folder": "DIR_PATH"}.get(s.path, "NONE")
    return StringProperty(default=s.default, subtype=subtype, options=PATH_OPTIONS if s.path else set(),
                          **common)


def _schema_annotations() -> dict:
    from .. import settings as schema

    return {s.name: schema_property(s) for s in schema.SETTINGS if s.scene}


def _preference_property(name: str, hidden: bool = False):
    """An enum preference for a machine setting; the compute device offers this platform's devices only."""
    from ..detection.runtimes import platform_devices
    from ..settings import BY_NAME

    s = BY_NAME[name]
    choices = [c for c in s.choices if name != "backend" or c[0] == "auto" or c[0] in platform_devices()]
    return EnumProperty(name=s.label, description=s.help, default=s.default.upper(),
                        items=[(v.upper(), label, text) for v, label, text in choices],
                        **({"options": {"HIDDEN"}} if hidden else {}))


#: preferences saved by earlier versions under another name -> the setting's name now
RENAMED_PREFERENCES = {"compute_device": "backend"}


class _BlenderOnlySettings:
    """Scene state that is not a pipeline setting: frame range, mask, export folder, display switches."""

    # --- range, mask, export ---------------------------------------------------------------------
    use_scene_range: BoolProperty(
        name="Use scene frame range", default=True,
        description="Track the scene's frame range; off: use the start and end below",
    )
    frame_start: IntProperty(name="Start", min=0, default=1, description="First scene frame to track")
    frame_end: IntProperty(name="End", min=0, default=250, description="Last scene frame to track")
    mask: PointerProperty(
        name="Mask", type=bpy.types.Mask,
        description="Only detect animals inside this mask (any Blender mask; layers and curves honoured)",
    )
    export_dir: StringProperty(
        name="Export folder", subtype="DIR_PATH", default="//omnitrax_export/", options=PATH_OPTIONS,
        description="Where CSV exports are written ('//' is the folder of the .blend file)",
    )
    # --- pose estimation (display and choice of animals) -----------------------------------------
    pose_selected_only: BoolProperty(
        name="Selected tracks only", default=False,
        description="Estimate poses only for the selected animal tracks",
    )
    show_skeleton: BoolProperty(
        name="Show skeletons", default=True, update=_redraw_clip_editors,
        description="Draw keypoints and bones over the clip",
    )
    skeleton_point_size: FloatProperty(name="Point size", min=1.0, max=30.0, default=5.0,
                                       update=_redraw_clip_editors)
    skeleton_line_width: FloatProperty(name="Line width", min=1.0, max=10.0, default=2.0,
                                       update=_redraw_clip_editors)
    skeleton_labels: BoolProperty(name="Joint labels", default=False, update=_redraw_clip_editors)
    show_overlay: BoolProperty(
        name="Show detections", default=False, update=_redraw_clip_editors,
        description="Draw detection boxes and track ids over the clip (slower)",
    )


OmniTraxSettings = type("OmniTraxSettings", (bpy.types.PropertyGroup,), {
    "__annotations__": {**_schema_annotations(), **_BlenderOnlySettings.__annotations__},
    "__doc__": "OmniTrax settings of a scene: the schema's settings (omnitrax.settings) plus scene state",
    "__module__": __name__,
})


class OmniTraxPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    runtime: _preference_property("runtime")
    backend: _preference_property("backend")
    # the compute device as saved before it took the schema's name: read once, by carry_renamed_preferences()
    compute_device: _preference_property("backend", hidden=True)
    pose_acceleration: pose_packages.acceleration_property()  # what the package installer installs

    def draw(self, context):
        layout = self.layout
        row = layout.row()
        row.prop(self, "runtime")
        row.prop(self, "backend")
        layout.label(text="The runtime and device in use are reported when tracking starts.", icon="INFO")
        from . import pose_packages

        pose_packages.draw_preferences(self.layout, context)


# --- scene <-> core settings ------------------------------------------------------------------------

def scene_value(props, name: str):
    """One Scene.omnitrax property as the core takes it: `//` paths made absolute, enums lower-cased,
    floats as typed (Blender stores float32: 0.45 reads back as 0.449999988)."""
    from .. import settings as schema

    value = getattr(props, name)
    setting = schema.BY_NAME.get(name)
    if setting is not None and setting.path:
        return bpy.path.abspath(value) if value else ""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value.lower() if isinstance(value, str) else value


def settings_from_scene(props, machine: dict | None = None):
    """Scene.omnitrax properties + the machine settings (context.machine_settings) -> TrackingSettings."""
    from ..tracking.settings import TrackingSettings

    values = {name: scene_value(props, name) for name in TrackingSettings.__dataclass_fields__
              if name not in PREFERENCE_SETTINGS}
    return TrackingSettings.from_mapping({**values, **(machine or {})})


def scene_settings(props, machine: dict | None = None) -> tuple[dict, dict]:
    """Scene.omnitrax -> (tracking dict, pose dict) for settings_file.write_settings (absolute paths)."""
    from ..settings_file import POSE_DEFAULTS, TRACKING_DEFAULTS

    tracking = {name: scene_value(props, name) for name in TRACKING_DEFAULTS if name not in PREFERENCE_SETTINGS}
    tracking.update(machine or {})
    return tracking, {name: scene_value(props, name) for name in POSE_DEFAULTS}


def apply_settings(props, tracking, pose: dict) -> None:
    """Set Scene.omnitrax from TrackingSettings and a pose dict, all or nothing.

    Every value is checked by the schema first (the panel's limits are the schema's, so nothing is
    clamped); should Blender still refuse one, the values set before it are put back.
    """
    from .. import settings as schema

    values = schema.check_all({k: v for k, v in {**tracking.to_dict(), **pose}.items()
                               if schema.BY_NAME[k].scene})
    before = {name: getattr(props, name) for name in values}
    try:
        for name, v in values.items():
            setattr(props, name, v.upper() if props.bl_rna.properties[name].type == "ENUM" else v)
    except (TypeError, ValueError, OverflowError) as exc:
        for name, v in before.items():
            setattr(props, name, v)
        raise OmniTraxError(f"Blender refused the setting {name} = {v!r} ({exc}); nothing was changed.") from None


CLASSES = (OmniTraxSettings, OmniTraxPreferences)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def carry_renamed_preferences(context=None) -> None:
    """Move a preference saved under its earlier name (RENAMED_PREFERENCES) to the setting's name, once:
    Blender keeps what the user saved under the old name, and Python can read it only through a property
    of that name."""
    addon = (context or bpy.context).preferences.addons.get(ADDON_PACKAGE)
    prefs = addon.preferences if addon is not None else None
    if prefs is None:
        return
    for old, new in RENAMED_PREFERENCES.items():
        if prefs.is_property_set(old):
            if not prefs.is_property_set(new):
                try:
                    setattr(prefs, new, getattr(prefs, old))
                except TypeError:  # a device this computer no longer offers: the default stays
                    pass
            prefs.property_unset(old)


def register():
    _register_classes()
    bpy.types.Scene.omnitrax = PointerProperty(type=OmniTraxSettings)
    carry_renamed_preferences()


def unregister():
    del bpy.types.Scene.omnitrax
    _unregister_classes()
