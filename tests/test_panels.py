"""Every panel's draw() runs on a real Movie Clip Editor context, and everything it draws exists."""
import cv2
import numpy as np

from blender_harness import run_in_blender

DRAW_SCRIPT = '''
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

install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
results = {}
with clip_editor(clip):
    settings = bpy.context.scene.omnitrax
    for detector in ("YOLO", "BACKGROUND"):
        for scene_range in (True, False):
            settings.detector = detector
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
    panel = FakePanel(); panel.layout = Recorder(log)
    bpy.types.OMNITRAX_PT_clip.draw(panel, bpy.context)
    results["no_clip"] = log
report(results)
'''


def test_every_panel_draws_only_existing_properties(linux_zip, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()

    results = run_in_blender(f"ZIP = {str(linux_zip)!r}\nVIDEO = {str(video)!r}\n" + DRAW_SCRIPT,
                             tmp_path / "home")

    drawn_props = set()
    for panel, log in results.items():
        assert log, f"{panel} drew nothing"
        for entry in log:
            if entry[0] == "prop":
                assert entry[3], f"{panel} draws a property that does not exist: {entry[1]}.{entry[2]}"
                drawn_props.add(entry[2])
            if entry[0] == "operator":
                assert entry[2], f"{panel} draws an operator that does not exist: {entry[1]}"
            if entry[0] == "operator_prop":
                assert entry[3], f"{panel} sets {entry[1]}.{entry[2]}, which does not exist"
    # the branches really were drawn: detector-specific and range settings appear
    assert {"model_path", "confidence", "polarity", "min_area", "max_distance", "frame_start",
            "export_dir"} <= drawn_props
    assert ["operator", "omnitrax.load_sample", True] in results["no_clip"]
    ops = {e[1] for log in results.values() for e in log if e[0] == "operator"}
    assert {"omnitrax.track", "omnitrax.export_tracks", "omnitrax.swap_tracks", "clip.track_markers",
            "clip.join_tracks"} <= ops
    assert any(e[0] == "label" and "64x48" in e[1] for e in results["OMNITRAX_PT_clip"])
