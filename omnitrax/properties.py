"""OmniTrax settings: a PropertyGroup on every Scene (saved with the .blend) and the add-on preferences.

Nothing is assigned to bpy.types at import; register() adds Scene.omnitrax and unregister() removes it.
"""
import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)


def _redraw_clip_editors(self, context):
    """Overlay switches take effect at once (the Clip Editor does not redraw on property changes)."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "CLIP_EDITOR":
                area.tag_redraw()


class OmniTraxSettings(bpy.types.PropertyGroup):
    # --- detection -------------------------------------------------------------------------------
    detector: EnumProperty(
        name="Detector",
        items=[
            ("YOLO", "YOLO network", "A YOLO network you trained (Darknet .cfg/.weights or ONNX), run by OpenCV"),
            ("BACKGROUND", "Background", "No network: animals are what differs from the static background. "
                                         "Needs a fixed camera"),
        ],
        default="YOLO",
    )
    model_path: StringProperty(
        name="Model", subtype="FILE_PATH", default="",
        description="Darknet .cfg or ONNX .onnx file of your YOLO network. Empty: the bundled ant model",
    )
    weights_path: StringProperty(
        name="Weights", subtype="FILE_PATH", default="",
        description="Darknet .weights file that belongs to the .cfg (not needed for ONNX)",
    )
    names_path: StringProperty(
        name="Class names", subtype="FILE_PATH", default="",
        description="Optional .names/.txt file, one class name per line, to label the tracks",
    )
    confidence: FloatProperty(
        name="Confidence", min=0.0, max=1.0, default=0.5,
        description="Detections scoring below this are ignored. Lower it if animals are missed, "
                    "raise it if the background produces false detections",
    )
    nms: FloatProperty(
        name="Overlap (NMS)", min=0.0, max=1.0, default=0.45,
        description="Boxes overlapping more than this (IoU) are merged into the best one. Raise it when "
                    "animals touch and one of them disappears",
    )
    network_size: IntProperty(
        name="Network size", min=32, max=4096, step=32, default=416,
        description="Input size of the network in pixels (a multiple of 32). Larger finds small animals "
                    "better but is slower. Your model files are never changed",
    )
    min_box: IntProperty(
        name="Min size", min=0, default=0, subtype="PIXEL",
        description="Ignore detections whose larger box side is below this many pixels (0: off)",
    )
    max_box: IntProperty(
        name="Max size", min=0, default=0, subtype="PIXEL",
        description="Ignore detections whose larger box side is above this many pixels (0: off)",
    )
    constant_box: IntProperty(
        name="Constant size", min=0, default=0, subtype="PIXEL",
        description="Give every marker a square box of this size instead of the detected box "
                    "(0: use detected boxes). Affects boxes only, not detection",
    )
    # --- background detector -----------------------------------------------------------------------
    polarity: EnumProperty(
        name="Animals are",
        items=[
            ("DARKER", "Darker", "Animals are darker than the background"),
            ("LIGHTER", "Lighter", "Animals are lighter than the background"),
            ("EITHER", "Either", "Animals differ from the background either way"),
        ],
        default="DARKER",
    )
    threshold: IntProperty(
        name="Threshold", min=0, max=255, default=0,
        description="Grey-level difference from the background that counts as animal (0: automatic, Otsu)",
    )
    min_area: IntProperty(
        name="Min area", min=0, default=20, subtype="PIXEL",
        description="Blobs smaller than this many pixels are noise, not animals",
    )
    max_area: IntProperty(
        name="Max area", min=0, default=0, subtype="PIXEL",
        description="Blobs larger than this many pixels are ignored (0: no limit)",
    )
    animal_area: IntProperty(
        name="Animal area", min=0, default=0, subtype="PIXEL",
        description="Typical area of one animal in pixels. When set, blobs of several touching animals "
                    "are split into that many animals (0: off)",
    )
    background_frames: IntProperty(
        name="Background frames", min=3, max=500, default=50,
        description="How many frames spread over the clip estimate the background (median)",
    )
    # --- tracker -----------------------------------------------------------------------------------
    max_distance: FloatProperty(
        name="Max distance", min=1.0, default=50.0, subtype="PIXEL",
        description="A detection further than this from a track's predicted position cannot join it. "
                    "About the distance an animal moves in a few frames",
    )
    max_gap: IntProperty(
        name="Max gap", min=0, default=10,
        description="Frames a track survives without detections (bridged by its motion model) before it ends",
    )
    min_length: IntProperty(
        name="Min length", min=1, default=10,
        description="Tracks with fewer detections than this are discarded as noise",
    )
    cost: EnumProperty(
        name="Match by",
        items=[
            ("DISTANCE", "Distance", "Match detections to tracks by the distance between centres"),
            ("IOU", "Box overlap", "Match by box overlap (IoU); for large, box-like animals that touch"),
        ],
        default="DISTANCE",
    )
    process_noise: FloatProperty(
        name="Motion noise", min=0.0, default=1.0,
        description="How erratically the animals move (Kalman process noise). Raise for animals that "
                    "turn and accelerate suddenly",
    )
    measurement_noise: FloatProperty(
        name="Position noise", min=0.0, default=1.0,
        description="How noisy the detected positions are, in pixels (Kalman measurement noise)",
    )
    stitch: BoolProperty(
        name="Stitch tracklets", default=True,
        description="After tracking, join tracks that end to tracks that start shortly after nearby, "
                    "to repair identity breaks",
    )
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
        name="Export folder", subtype="DIR_PATH", default="//omnitrax_export/",
        description="Where CSV exports are written ('//' is the folder of the .blend file)",
    )
    # --- pose estimation -------------------------------------------------------------------------
    pose_model_path: StringProperty(
        name="Pose model", subtype="DIR_PATH", default="",
        description="Exported DeepLabCut model folder (TensorFlow: pose_cfg.yaml + .pb; DeepLabCut 3: .pt). "
                    "Empty: the bundled ant model (head, thorax, abdomen)",
    )
    pose_skeleton_path: StringProperty(
        name="Skeleton", subtype="FILE_PATH", default="",
        description="DeepLabCut project config.yaml whose skeleton to draw (empty: the one next to the model, "
                    "if any)",
    )
    pose_roi_mode: EnumProperty(
        name="Region",
        items=[
            ("CONSTANT", "Fixed square", "A square of 'ROI size' pixels centred on each marker"),
            ("BOX", "Marker box", "The marker's box grown by 'Padding', made square and resized"),
        ],
        default="CONSTANT",
    )
    pose_roi_size: IntProperty(
        name="ROI size", min=8, default=96, subtype="PIXEL",
        description="Side of the square cut around each animal; about the size of the crops the network "
                    "was trained on",
    )
    pose_padding: IntProperty(
        name="Padding", min=0, default=10, subtype="PIXEL",
        description="Pixels added around the marker box (Region: Marker box)",
    )
    pcutoff: FloatProperty(
        name="Cut-off", min=0.0, max=1.0, default=0.5,
        description="Keypoints whose likelihood is below this are kept but disabled (enable and fix them, "
                    "or leave them out of analyses)",
    )
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


class OmniTraxPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    compute_device: EnumProperty(
        name="Compute device",
        items=[
            ("AUTO", "Automatic", "Use the GPU when OpenCV offers CUDA, else the CPU"),
            ("CPU", "CPU", "Always use the CPU"),
            ("CUDA", "CUDA GPU", "Use an NVIDIA GPU through OpenCV's CUDA backend (needs a CUDA build of OpenCV)"),
        ],
        default="AUTO",
    )

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "compute_device")
        layout.label(text="The detection backend in use is reported when tracking starts.", icon="INFO")
        from .blender import pose_packages

        pose_packages.draw_preferences(self.layout, context)


CLASSES = (OmniTraxSettings, OmniTraxPreferences)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register():
    _register_classes()
    bpy.types.Scene.omnitrax = PointerProperty(type=OmniTraxSettings)


def unregister():
    del bpy.types.Scene.omnitrax
    _unregister_classes()
