"""Training-data export with the installed add-on (tests/test_blender_datasets.py): track, correct a marker
and a keypoint, export samples / YOLO / DeepLabCut under a '//' folder next to the saved .blend."""
import bpy

from blender_scenarios.bpy_helpers import addon_module, clip_editor, install, open_clip


def track_correct_export(zip_path, video, clip_start, blend):
    mod = install(zip_path)
    assert hasattr(bpy.types, "OMNITRAX_OT_export_samples")  # the add-on registers the dataset operators
    coords = addon_module(mod, "blender.coords")
    markers = addon_module(mod, "blender.markers")
    pose_markers = addon_module(mod, "blender.pose_markers")
    poses_mod = addon_module(mod, "pose.poses")

    clip, scene, props = open_clip(video, clip_start)

    def op(name, **kw):
        with clip_editor(clip):
            try:
                return sorted(getattr(bpy.ops.omnitrax, name)(**kw))
            except RuntimeError as exc:
                return str(exc)

    result = {"track": op("track", restart=True)}
    frames = coords.ClipFrames.of(clip)
    # the user renames a track and moves one of its markers: both are corrections the exports must carry
    first = sorted(t.name for t in clip.tracking.tracks)[0]
    clip.tracking.tracks[first].name = "Queen"
    marker = clip.tracking.tracks["Queen"].markers.find_frame(4, exact=True)  # video frame 3
    result["moved_marker_x"] = marker.co[0] * clip.size[0] - 0.5
    marker.co = (marker.co[0] + 5.0 / clip.size[0], marker.co[1])
    tracks, names = markers.read_tracks(clip, frames)
    result["tracks"] = {k: getattr(tracks, k).tolist() for k in ("track", "frame", "x", "y", "width", "height",
                                                                  "predicted")}
    result["names"] = {str(k): v for k, v in names.items()}

    # keypoints for every animal at every 2nd frame: head in front, tail behind; one below the cut-off
    ids = sorted(names)
    rows_t, rows_f, kps = [], [], []
    for tid in ids:
        one = tracks.for_track(tid)
        for f, x, y in zip(one.frame[::2], one.x[::2], one.y[::2]):
            rows_t.append(tid)
            rows_f.append(int(f))
            kps.append([[x + 4.25, y - 1.5, 0.9], [x - 4.0, y + 1.75, 0.9 if len(kps) != 3 else 0.2]])
    poses = poses_mod.Poses.from_keypoints(rows_t, rows_f, kps, ["head", "tail"], skeleton=[("head", "tail")])
    pose_markers.write_poses(clip, poses, frames, names, pcutoff=0.5)
    obj = pose_markers.pose_object(clip)
    f0 = min(rows_f)  # the user moves a head keypoint at the first frame with poses (always exported)
    a0 = names[rows_t[rows_f.index(f0)]]
    kp_marker = obj.tracks[a0 + ".head"].markers.find_frame(int(frames.marker_from_video(f0)), exact=True)
    result["moved"] = [a0, f0, (1 - kp_marker.co[1]) * clip.size[1] - 0.5]
    kp_marker.co = (kp_marker.co[0], kp_marker.co[1] + 3.0 / clip.size[1])
    read, pose_names = pose_markers.read_poses(clip, frames, {v: k for k, v in names.items()})
    muted = []
    for t in obj.tracks:
        animal, _, joint = t.name.rpartition(".")
        muted += [[animal, joint, int(frames.video_from_marker(m.frame))] for m in t.markers if m.mute]
    result["poses"] = {k: getattr(read, k).tolist() for k in ("track", "frame", "joint", "x", "y")}
    result["pose_names"] = {str(k): v for k, v in pose_names.items()}
    result["muted"] = muted

    props.export_dir = "//exports/"
    result["unsaved"] = op("export_samples")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    result["samples"] = op("export_samples", every=5, size=32, file_format="PNG")
    result["yolo"] = op("export_yolo_dataset", every=3, val_fraction=0.25, file_format="PNG")
    result["dlc"] = op("export_dlc_labels", every=2, scorer="Tester")
    result["frame_offset"] = clip.frame_offset
    return result
