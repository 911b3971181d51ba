"""Every panel's draw() on a real Movie Clip Editor context, recorded (tests/test_panels.py)."""
import bpy

from blender_scenarios.bpy_helpers import clip_editor, install


class Recorder:
    """A UILayout stand-in that records what a panel draws."""

    def __init__(self, log):
        self.log = log
        self.use_property_split = False
        self.use_property_decorate = True

    def prop(self, data, name, **kw):
        self.log.append(["prop", type(data).__name__, name, name in data.bl_rna.properties])

    def operator(self, idname, **kw):
        category, name = idname.split(".")
        exists = name in dir(getattr(bpy.ops, category))
        self.log.append(["operator", idname, exists])
        return OperatorProps(idname, self.log) if exists else None

    def label(self, **kw):
        self.log.append(["label", kw.get("text", "")])

    def separator(self, **kw):
        pass

    def _nested(self, *a, **kw):
        return Recorder(self.log)

    row = column = box = split = column_flow = grid_flow = _nested


class OperatorProps:
    """Stands in for the operator properties a button sets; records whether each one exists."""

    def __init__(self, idname, log):
        category, name = idname.split(".")
        object.__setattr__(self, "_props", getattr(getattr(bpy.ops, category), name).get_rna_type().properties)
        object.__setattr__(self, "_idname", idname)
        object.__setattr__(self, "_log", log)

    def __setattr__(self, key, value):
        self._log.append(["operator_prop", self._idname, key, key in self._props])


class FakePanel:
    pass


def draw_every_panel(zip_path, video):
    """{panel class name: what it drew for both detectors (and pose regions), with and without the scene range;
    'no_clip': what the main panel draws with no clip shown}."""
    install(zip_path)
    clip = bpy.data.movieclips.load(video)
    results = {}
    with clip_editor(clip):
        settings = bpy.context.scene.omnitrax
        for detector, roi_mode in (("YOLO", "CONSTANT"), ("BACKGROUND", "BOX")):
            for scene_range in (True, False):
                settings.detector = detector
                settings.pose_roi_mode = roi_mode
                settings.use_scene_range = scene_range
                for name in sorted(n for n in dir(bpy.types) if n.startswith("OMNITRAX_PT")):
                    cls = getattr(bpy.types, name)
                    panel = FakePanel()
                    log = []
                    panel.layout = Recorder(log)
                    panel.settings = cls.settings if hasattr(cls, "settings") else None
                    cls.draw(panel, bpy.context)
                    results.setdefault(name, []).extend(log)
        # and with no clip shown: the main panel offers the sample
        bpy.context.space_data.clip = None
        log = []
        panel = FakePanel()
        panel.layout = Recorder(log)
        bpy.types.OMNITRAX_PT_clip.draw(panel, bpy.context)
        results["no_clip"] = log
    return results
