"""OmniTrax panels in the Movie Clip Editor's toolbar (beside Blender's own tracking panels). Layout only."""
import bpy


class _OmniTraxPanel:
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "TOOLS"
    bl_category = "OmniTrax"

    @staticmethod
    def settings(context):
        return context.scene.omnitrax


class OMNITRAX_PT_clip(_OmniTraxPanel, bpy.types.Panel):
    bl_label = "OmniTrax"
    bl_idname = "OMNITRAX_PT_clip"

    def draw(self, context):
        layout = self.layout
        clip = getattr(context.space_data, "clip", None)
        if clip is None:
            layout.label(text="Open a video clip to track", icon="INFO")
            layout.operator("omnitrax.load_sample", icon="FILE_MOVIE")
            return
        layout.label(text=f"{clip.name}: {clip.size[0]}x{clip.size[1]}, {clip.frame_duration} frames",
                     icon="SEQUENCE")
        col = layout.column(align=True)
        col.scale_y = 1.4
        col.operator("omnitrax.track", text="Track From Start", icon="PLAY").restart = True
        col.operator("omnitrax.track", text="Continue From This Frame", icon="FRAME_NEXT").restart = False
        row = layout.row(align=True)
        row.operator("omnitrax.save_settings", icon="EXPORT")
        row.operator("omnitrax.load_settings", icon="IMPORT")


class OMNITRAX_PT_detection(_OmniTraxPanel, bpy.types.Panel):
    bl_label = "Detection"
    bl_idname = "OMNITRAX_PT_detection"
    bl_parent_id = "OMNITRAX_PT_clip"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        s = self.settings(context)
        layout.prop(s, "detector")
        layout.prop(s, "animals")
        if s.detector == "YOLO":
            layout.prop(s, "model_path")
            layout.prop(s, "weights_path")
            layout.prop(s, "names_path")
            if s.model_path.lower().endswith((".cfg", ".weights")):  # Darknet: runs on ONNX Runtime once converted
                layout.operator("omnitrax.convert_darknet", icon="EXPORT")
            col = layout.column(align=True)
            col.prop(s, "confidence")
            col.prop(s, "low_confidence")
            col.prop(s, "nms")
            layout.prop(s, "network_size")
            col = layout.column(align=True)
            col.prop(s, "min_box")
            col.prop(s, "max_box")
        else:
            layout.prop(s, "polarity")
            layout.prop(s, "threshold")
            col = layout.column(align=True)
            col.prop(s, "min_area")
            col.prop(s, "max_area")
            col.prop(s, "animal_area")
            layout.prop(s, "background_image")
            layout.prop(s, "background_frames")
        layout.prop(s, "constant_box")
        layout.prop(s, "mask")
        layout.operator("omnitrax.detect_preview", icon="IMAGE_DATA")


class OMNITRAX_PT_tracking(_OmniTraxPanel, bpy.types.Panel):
    bl_label = "Tracking"
    bl_idname = "OMNITRAX_PT_tracking"
    bl_parent_id = "OMNITRAX_PT_clip"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        s = self.settings(context)
        col = layout.column(align=True)
        col.prop(s, "max_distance")
        col.prop(s, "max_gap")
        col.prop(s, "confirm")
        col.prop(s, "min_length")
        col = layout.column(align=True)
        col.prop(s, "cost")
        col.prop(s, "process_noise")
        col.prop(s, "measurement_noise")
        layout.prop(s, "stitch")
        layout.prop(s, "use_scene_range")
        if not s.use_scene_range:
            col = layout.column(align=True)
            col.prop(s, "frame_start")
            col.prop(s, "frame_end")
        layout.prop(s, "show_overlay")


class OMNITRAX_PT_export(_OmniTraxPanel, bpy.types.Panel):
    bl_label = "Export"
    bl_idname = "OMNITRAX_PT_export"
    bl_parent_id = "OMNITRAX_PT_clip"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        s = self.settings(context)
        layout.prop(s, "export_dir")
        row = layout.row(align=True)  # real units for the summary: px per unit, measured with Set Scale
        row.prop(s, "scale")
        row.prop(s, "unit", text="")
        layout.operator("omnitrax.set_scale", icon="DRIVER_DISTANCE")
        row = layout.row(align=True)
        row.operator("omnitrax.export_tracks", text="Export All", icon="EXPORT").selected_only = False
        row.operator("omnitrax.export_tracks", text="Selected").selected_only = True
        layout.operator("omnitrax.export_poses", icon="ARMATURE_DATA")
        from .blender.operators.datasets import draw_export_datasets

        draw_export_datasets(layout)


class OMNITRAX_PT_pose(_OmniTraxPanel, bpy.types.Panel):
    bl_label = "Pose Estimation"
    bl_idname = "OMNITRAX_PT_pose"
    bl_parent_id = "OMNITRAX_PT_clip"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        s = self.settings(context)
        layout.prop(s, "pose_model_path")
        layout.prop(s, "pose_skeleton_path")
        layout.prop(s, "pose_roi_mode")
        col = layout.column(align=True)
        col.prop(s, "pose_roi_size")
        if s.pose_roi_mode == "BOX":
            col.prop(s, "pose_padding")
        layout.prop(s, "pcutoff")
        layout.prop(s, "pose_selected_only")
        col = layout.column(align=True)
        col.scale_y = 1.3
        col.operator("omnitrax.estimate_poses", text="Estimate Poses", icon="ARMATURE_DATA").full_frame = False
        col.operator("omnitrax.estimate_poses", text="Full Frame (one animal)").full_frame = True
        layout.prop(s, "show_skeleton")
        if s.show_skeleton:
            col = layout.column(align=True)
            col.prop(s, "skeleton_point_size")
            col.prop(s, "skeleton_line_width")
            col.prop(s, "skeleton_labels")


class OMNITRAX_PT_manual(_OmniTraxPanel, bpy.types.Panel):
    """Blender's own marker tools, gathered for correcting tracks."""

    bl_label = "Correct Tracks"
    bl_idname = "OMNITRAX_PT_manual"
    bl_parent_id = "OMNITRAX_PT_clip"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        col = layout.column(align=True)
        col.operator("clip.add_marker_at_click", text="Add Marker", icon="ADD")
        row = col.row(align=True)
        row.operator("clip.delete_marker", text="Delete Marker")
        row.operator("clip.delete_track", text="Delete Track")
        layout.label(text="Track selected markers:")
        row = layout.row(align=True)
        op = row.operator("clip.track_markers", text="", icon="TRACKING_BACKWARDS")
        op.backwards, op.sequence = True, True
        op = row.operator("clip.track_markers", text="", icon="TRACKING_BACKWARDS_SINGLE")
        op.backwards, op.sequence = True, False
        op = row.operator("clip.track_markers", text="", icon="TRACKING_FORWARDS_SINGLE")
        op.backwards, op.sequence = False, False
        op = row.operator("clip.track_markers", text="", icon="TRACKING_FORWARDS")
        op.backwards, op.sequence = False, True
        row = layout.row(align=True)
        row.operator("clip.clear_track_path", text="Clear Before", icon="TRACKING_CLEAR_BACKWARDS").action = "UPTO"
        row.operator("clip.clear_track_path", text="Clear After", icon="TRACKING_CLEAR_FORWARDS").action = "REMAINED"
        row = layout.row(align=True)
        row.operator("clip.refine_markers", text="Refine Backwards").backwards = True
        row.operator("clip.refine_markers", text="Refine Forwards").backwards = False
        col = layout.column(align=True)
        col.operator("clip.join_tracks", text="Join Selected Tracks", icon="LINKED")
        col.operator("omnitrax.swap_tracks", icon="UV_SYNC_SELECT")
        # --- identities: tell the animals apart by appearance, then check the uncertain fragments
        layout.label(text="Identities (locked tracks count as checked):")
        col = layout.column(align=True)
        col.operator("omnitrax.identify", icon="COMMUNITY")
        col.prop(self.settings(context), "identity_certainty")
        clip = getattr(context.space_data, "clip", None)
        stored = clip.get("omnitrax_uncertain") if clip is not None else None
        if stored:
            layout.label(text=f"{len(stored['fragments'])} of {stored['total']} fragments uncertain", icon="QUESTION")
        row = layout.row(align=True)
        row.operator("omnitrax.identity_step", text="Previous", icon="TRIA_LEFT").direction = -1
        row.operator("omnitrax.identity_step", text="Next Uncertain", icon="TRIA_RIGHT").direction = 1


CLASSES = (OMNITRAX_PT_clip, OMNITRAX_PT_detection, OMNITRAX_PT_tracking, OMNITRAX_PT_manual,
           OMNITRAX_PT_pose, OMNITRAX_PT_export)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
