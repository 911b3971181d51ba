"""Blender operators that turn the clip's corrected tracks and poses into training data.

Each reads the markers as the user left them (corrections included), writes under the Export panel's
folder ('//' = next to the saved .blend) in `<clip>_crops/`, `<clip>_yolo/` or `<clip>_dlc/`, and reports
what it wrote. Invoked from the UI they first show their options in a dialog. Core modules (OpenCV) are
imported inside execute(), never when the add-on loads.
"""

from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from ...errors import OmniTraxError
from ..context import active_clip, selected_track_names
from ..modal import failure_text

_FORMATS = [("JPG", "JPEG", "Smaller files, lossy"), ("PNG", "PNG", "Lossless, larger files")]


def _clip_video(clip) -> str:
    """What the core reads for the clip: its movie file, or its image sequence."""
    from ..coords import clip_video

    return clip_video(clip)


def _stem(clip) -> str:
    from ..coords import clip_stem

    return clip_stem(clip)


def _target(context, clip, suffix: str) -> Path:
    from ..exporting import export_folder

    return export_folder(context.scene.omnitrax.export_dir) / f"{_stem(clip)}_{suffix}"


def _read_tracks(clip, selected_only: bool):
    from ..coords import ClipFrames
    from ..markers import read_tracks

    chosen = selected_track_names(clip) if selected_only else None
    if selected_only and not chosen:
        raise OmniTraxError("No tracks are selected; select some or turn off 'Selected tracks only'.")
    tracks, names = read_tracks(clip, ClipFrames.of(clip), chosen)
    if not len(tracks):
        raise OmniTraxError(f"Clip '{clip.name}' has no tracks to export; track it first.")
    return tracks, names


def _read_keypoints(clip, selected_only: bool, include_disabled: bool):
    """The keypoint markers as Poses (+ id -> animal name); disabled keypoints dropped unless asked for."""
    import numpy as np

    from ..coords import ClipFrames
    from ..markers import read_tracks
    from ..pose_markers import pose_object, read_poses

    frames = ClipFrames.of(clip)
    animal_ids = {name: tid for tid, name in read_tracks(clip, frames)[1].items()}
    poses, names = read_poses(clip, frames, animal_ids or None)
    if not len(poses):
        raise OmniTraxError(f"Clip '{clip.name}' has no keypoints to export; estimate poses first.")
    keep = np.ones(len(poses), bool)
    if not include_disabled:  # a disabled keypoint is one the user has not confirmed
        ids = {name: tid for tid, name in names.items()}
        muted = set()
        for track in pose_object(clip).tracks:
            animal, _, joint = track.name.rpartition(".")
            if animal in ids and joint in poses.joint_names:
                j = poses.joint_names.index(joint)
                for marker in track.markers:
                    if marker.mute:
                        muted.add((ids[animal], int(frames.video_from_marker(marker.frame)), j))
        keep &= np.array([(t, f, j) not in muted for t, f, j in
                          zip(poses.track.tolist(), poses.frame.tolist(), poses.joint.tolist())], bool)
    if selected_only:
        chosen = set(selected_track_names(clip))
        if not chosen:
            raise OmniTraxError("No tracks are selected; select some or turn off 'Selected tracks only'.")
        keep &= np.isin(poses.track, [tid for tid, name in names.items() if name in chosen])
    poses = poses.select(keep)
    if not len(poses):
        raise OmniTraxError("All keypoints are disabled or unselected; enable the ones you checked, or turn "
                            "on 'Include disabled keypoints'.")
    return poses, names


class _DatasetExport:
    """Shared behaviour: poll, the options dialog, progress, and turning errors into reports."""

    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return active_clip(context) is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        wm = context.window_manager
        started = [False]

        def progress(done, total):
            if not started[0]:
                wm.progress_begin(0, max(total, 1))
                started[0] = True
            wm.progress_update(done)

        try:
            message = self.export(context, active_clip(context), progress)
        except Exception as exc:
            self.report({"ERROR"}, failure_text(exc, "Export"))
            return {"CANCELLED"}
        finally:
            if started[0]:
                wm.progress_end()
        self.report({"INFO"}, message)
        return {"FINISHED"}


class OMNITRAX_OT_export_samples(_DatasetExport, bpy.types.Operator):
    """Write a square image of every tracked animal every n-th frame (for classifiers, re-identification
    or pose labelling), named <clip>_<frame>_<track>"""

    bl_idname = "omnitrax.export_samples"
    bl_label = "Export Animal Crops"

    every: IntProperty(name="Every n-th frame", default=1, min=1, description="Crop every n-th frame with tracks")
    mode: EnumProperty(name="Region", items=[
        ("constant", "Fixed size", "A square of the given size centred on each marker"),
        ("box", "Marker box", "The marker's box plus padding, made square"),
    ], default="constant")
    size: IntProperty(name="Size (px)", default=64, min=1,
                      description="Square size (fixed mode, and box mode where a box is unknown)")
    padding: IntProperty(name="Padding (px)", default=0, min=0, description="Box mode: pixels around each box")
    out_size: IntProperty(name="Resize to (px)", default=0, min=0,
                          description="Resize every crop to this size; 0 keeps the region's own size")
    grayscale: BoolProperty(name="Grayscale", default=False)
    file_format: EnumProperty(name="Format", items=_FORMATS, default="JPG")
    include_predicted: BoolProperty(name="Include gap positions", default=False,
                                    description="Also crop disabled markers the tracker filled in gaps")
    selected_only: BoolProperty(name="Selected tracks only", default=False)

    def export(self, context, clip, progress) -> str:
        from ...io.datasets import export_crops

        tracks, names = _read_tracks(clip, self.selected_only)
        out = _target(context, clip, "crops")
        written = export_crops(_clip_video(clip), tracks, out, _stem(clip), every=self.every,
                               mode=self.mode, size=self.size, padding=self.padding,
                               out_size=self.out_size or None, grayscale=self.grayscale,
                               ext=self.file_format.lower(), names=names,
                               include_predicted=self.include_predicted, on_progress=progress)
        return f"Exported {len(written)} crops of {len(tracks.ids())} tracks to {out}"


class OMNITRAX_OT_export_yolo_dataset(_DatasetExport, bpy.types.Operator):
    """Write every n-th frame with the animals' boxes as a YOLO training set (Ultralytics dataset.yaml
    and Darknet obj.data), split into training and validation frames"""

    bl_idname = "omnitrax.export_yolo_dataset"
    bl_label = "Export YOLO Dataset"

    every: IntProperty(name="Every n-th frame", default=10, min=1)
    val_fraction: FloatProperty(name="Validation share", default=0.2, min=0.0, max=0.9, step=5,
                                description="Share of the frames kept for validation")
    class_names: StringProperty(name="Classes", default="",
                                description="Comma-separated class names, in class-id order; empty: the class "
                                            "names tracking stored with the clip, else 'animal'")
    seed: IntProperty(name="Split seed", default=0, min=0, description="Same seed, same split")
    default_box: IntProperty(name="Default box (px)", default=0, min=0,
                             description="Box size for markers without one; 0: such markers are an error")
    file_format: EnumProperty(name="Format", items=_FORMATS, default="JPG")
    include_predicted: BoolProperty(name="Include gap positions", default=True,
                                    description="Also label disabled markers the tracker filled in gaps "
                                                "(an unlabeled animal teaches the network to miss it)")
    selected_only: BoolProperty(name="Selected tracks only", default=False)

    def export(self, context, clip, progress) -> str:
        from ...io.datasets import export_yolo, read_yolo_labels

        tracks, _ = _read_tracks(clip, self.selected_only)
        out = _target(context, clip, "yolo")
        from ..markers import class_names

        names = [n.strip() for n in self.class_names.split(",")] if self.class_names.strip() else \
            (class_names(clip) or ["animal"])
        export_yolo(_clip_video(clip), tracks, out, _stem(clip), every=self.every,
                    val_fraction=self.val_fraction, class_names=names, seed=self.seed,
                    default_box=self.default_box or None, ext=self.file_format.lower(),
                    include_predicted=self.include_predicted, on_progress=progress)
        labels = read_yolo_labels(out)
        n_val = sum(1 for split, _ in labels if split == "val")
        return f"Exported a YOLO dataset ({len(labels) - n_val} train + {n_val} val frames) to {out}"


class OMNITRAX_OT_export_dlc_labels(_DatasetExport, bpy.types.Operator):
    """Write every n-th frame with its keypoints, as corrected in Blender, as DeepLabCut labeled data
    (labeled-data/<clip>/ with CollectedData_<scorer>.csv) to train a pose network"""

    bl_idname = "omnitrax.export_dlc_labels"
    bl_label = "Export DeepLabCut Labels"

    every: IntProperty(name="Every n-th frame", default=1, min=1)
    scorer: StringProperty(name="Scorer", default="OmniTrax",
                           description="The scorer of your DeepLabCut project (part of the file name)")
    include_disabled: BoolProperty(name="Include disabled keypoints", default=False,
                                   description="Also label keypoints that are disabled (below the cut-off "
                                               "and not confirmed)")
    selected_only: BoolProperty(name="Selected tracks only", default=False)

    def export(self, context, clip, progress) -> str:
        from ...io.datasets import export_dlc_labeled

        poses, names = _read_keypoints(clip, self.selected_only, self.include_disabled)
        out = _target(context, clip, "dlc")
        folder = export_dlc_labeled(_clip_video(clip), poses, out, _stem(clip), scorer=self.scorer,
                                    every=self.every, names=names, on_progress=progress)
        n_images = len(list(folder.glob("img*.png")))
        return f"Exported {n_images} labeled frames of {len(poses.ids())} animals to {folder}"


def draw_export_datasets(layout) -> None:
    """The training-data buttons for the Export panel."""
    col = layout.column(align=True)
    col.label(text="Training data")
    col.operator("omnitrax.export_samples", icon="IMAGE_DATA")
    col.operator("omnitrax.export_yolo_dataset", icon="OBJECT_DATA")
    col.operator("omnitrax.export_dlc_labels", icon="ARMATURE_DATA")


CLASSES = (OMNITRAX_OT_export_samples, OMNITRAX_OT_export_yolo_dataset, OMNITRAX_OT_export_dlc_labels)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
