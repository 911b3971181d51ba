"""Poses <-> Blender markers: one tracking track per (animal track, joint) in a separate tracking object.

The clip's camera object keeps one track per animal, uncluttered; keypoints live in the tracking object
"OmniTrax Poses", in tracks named `<animal track>.<joint>` (e.g. `track_3.head`). A keypoint whose
likelihood is below pcutoff is a disabled (muted) marker, not a missing one, so the user can enable and
fix it. Moving a keypoint marker is a correction: exports read the markers back. Joint names, skeleton
and per-keypoint likelihoods are kept in the clip's custom property "omnitrax_pose".
"""
from __future__ import annotations

import numpy as np

from ..tracking.tracks import ids_for_names, name_of
from .coords import ClipFrames, clip_size, marker_to_pixels, pixels_to_marker

POSE_OBJECT = "OmniTrax Poses"
META_KEY = "omnitrax_pose"
POINT_PX = 6.0  # pattern size of a keypoint marker


def pose_object(clip, create: bool = False):
    obj = clip.tracking.objects.get(POSE_OBJECT)
    if obj is None and create:
        obj = clip.tracking.objects.new(POSE_OBJECT)
        clip.tracking.objects.active = clip.tracking.objects[0]  # keep the camera's tracks in view
    return obj


def _meta(clip) -> dict:
    meta = clip.get(META_KEY)
    return {} if meta is None else meta.to_dict()


def read_poses(clip, frames: ClipFrames, animal_ids: dict | None = None):
    """The keypoint markers as a Poses table (full-frame pixels, 0-based video frames).

    animal_ids maps animal track names to track ids (default: `track_<n>` -> n, others numbered after).
    Returns (poses, id -> animal name).
    """
    from ..pose.poses import Poses

    meta = _meta(clip)
    joints = list(meta.get("joints", []))
    skeleton = [tuple(b) for b in meta.get("skeleton", [])]
    obj = pose_object(clip)
    if obj is None or not joints:
        return Poses.empty(joints, skeleton), {}
    width, height = clip_size(clip)
    likelihoods = meta.get("likelihood", {})
    by_animal = {}
    for track in obj.tracks:
        animal, _, joint = track.name.rpartition(".")
        if animal and joint in joints:
            by_animal.setdefault(animal, []).append((joints.index(joint), track))
    # keypoints of animals without an id (e.g. their track was deleted) get free ids
    ids = ids_for_names(sorted(by_animal), animal_ids)
    parts = []
    for animal, entries in by_animal.items():
        for joint, track in entries:
            n = len(track.markers)
            marker_frames = np.zeros(n, np.int32)
            co = np.zeros(n * 2, np.float32)
            track.markers.foreach_get("frame", marker_frames)
            track.markers.foreach_get("co", co)
            xy = marker_to_pixels(co.reshape(-1, 2), width, height)
            stored = likelihoods.get(track.name, {})
            score = dict(zip(stored.get("frames", []), stored.get("values", [])))
            parts.append(Poses(track=np.full(n, ids[animal]), frame=frames.video_from_marker(marker_frames),
                               joint=np.full(n, joint), x=xy[:, 0], y=xy[:, 1],
                               likelihood=[score.get(int(f), 1.0) for f in marker_frames],
                               joint_names=joints, skeleton=skeleton))
    poses = Poses.concat(parts) if parts else Poses.empty(joints, skeleton)
    if not len(poses):
        poses = Poses.empty(joints, skeleton)
    return poses, {v: k for k, v in ids.items()}


def write_poses(clip, poses, frames: ClipFrames, names: dict, pcutoff: float) -> int:
    """Store poses as keypoint markers, replacing earlier keypoints at the same (animal, frame).

    names maps track id -> animal track name. Keypoints elsewhere (other animals, other frames) stay.
    Returns the number of keypoint tracks written.
    """
    from ..pose.poses import Poses

    old, old_names = read_poses(clip, frames, {v: k for k, v in names.items()} if names else None)
    meta = _meta(clip)
    if len(old) and list(old.joint_names) != list(poses.joint_names):
        old = Poses.empty(poses.joint_names, poses.skeleton)  # another model: start afresh
    if len(old):
        replaced = set(zip(poses.track.tolist(), poses.frame.tolist()))
        keep = np.array([(t, f) not in replaced for t, f in zip(old.track.tolist(), old.frame.tolist())], bool)
        merged = Poses.concat([old.select(keep), Poses(track=poses.track, frame=poses.frame, joint=poses.joint,
                                                         x=poses.x, y=poses.y, likelihood=poses.likelihood,
                                                         joint_names=old.joint_names, skeleton=poses.skeleton)])
        all_names = {**old_names, **names}
    else:
        merged, all_names = poses, dict(names)
    # rebuild the pose object from the merged table
    obj = pose_object(clip)
    if obj is not None:
        clip.tracking.objects.remove(obj)
    obj = pose_object(clip, create=True)
    width, height = clip_size(clip)
    half = POINT_PX / 2.0 / np.array([width, height])
    corners = np.array([[-half[0], -half[1]], [half[0], -half[1]], [half[0], half[1]], [-half[0], half[1]]])
    likelihood_meta = {}
    written = 0
    joints = list(merged.joint_names)
    for tid in merged.ids():
        animal = name_of(all_names, tid)
        rows = merged.for_track(tid)
        for j, joint in enumerate(joints):
            r = rows.select(rows.joint == j)
            ok = np.isfinite(r.x) & np.isfinite(r.y)
            r = r.select(ok)
            if not len(r):
                continue
            marker_frames = frames.marker_from_video(r.frame).astype(int)
            name = f"{animal}.{joint}"
            track = obj.tracks.new(name=name, frame=int(marker_frames[0]))
            for f in marker_frames[1:]:
                track.markers.insert_frame(int(f))
            co = pixels_to_marker(np.column_stack([r.x, r.y]), width, height)
            track.markers.foreach_set("co", co.astype(np.float32).ravel())
            track.markers.foreach_set("mute", ~(r.likelihood >= pcutoff))
            track.markers.foreach_set("pattern_corners", np.tile(corners.ravel(), len(r)).astype(np.float32))
            track.markers.foreach_set("search_min", np.tile(corners[0] * 3, len(r)).astype(np.float32))
            track.markers.foreach_set("search_max", np.tile(corners[2] * 3, len(r)).astype(np.float32))
            likelihood_meta[name] = {"frames": marker_frames.tolist(),
                                     "values": np.round(r.likelihood, 6).tolist()}
            written += 1
    meta.update(joints=joints, skeleton=[list(b) for b in merged.skeleton], likelihood=likelihood_meta,
                pcutoff=float(pcutoff))
    clip[META_KEY] = meta
    return written


def skeleton_shapes(clip, scene_frame: int, labels: bool = False):
    """Keypoints and bones of every animal at this scene frame, for the Clip Editor overlay.

    Colours follow the animal's track colour; disabled (low-likelihood) keypoints and the bones that
    touch them are dim and dashed. Normalised marker coordinates, as the overlay expects.
    """
    from .overlay import Label, Shapes

    obj = pose_object(clip)
    meta = _meta(clip)
    if obj is None or not meta.get("joints"):
        return None
    marker_frame = int(ClipFrames.of(clip).marker_from_scene(int(scene_frame)))
    animals = {}
    for track in obj.tracks:
        if track.hide:
            continue
        marker = track.markers.find_frame(marker_frame, exact=True)
        if marker is None:
            continue
        animal, _, joint = track.name.rpartition(".")
        animals.setdefault(animal, {})[joint] = (tuple(marker.co), bool(marker.mute))
    segments, seg_colors, dashed, points, point_colors, texts = [], [], [], [], [], []
    for animal, joints in animals.items():
        owner = clip.tracking.tracks.get(animal)
        rgb = tuple(owner.color) if owner is not None and owner.use_custom_color else (1.0, 0.6, 0.1)
        for a, b in meta.get("skeleton", []):
            if a in joints and b in joints:
                muted = joints[a][1] or joints[b][1]
                segments.append([joints[a][0], joints[b][0]])
                seg_colors.append((*rgb, 0.4 if muted else 0.9))
                dashed.append(muted)
        for joint, (co, muted) in joints.items():
            points.append(co)
            point_colors.append((*rgb, 0.35 if muted else 1.0))
            if labels:
                texts.append(Label(joint, co, (*rgb, 0.35 if muted else 1.0), (4.0, 4.0)))
    return Shapes(segments=np.array(segments, float).reshape(-1, 2, 2), segment_colors=np.array(seg_colors).reshape(-1, 4),
                  dashed=np.array(dashed, bool), points=np.array(points, float).reshape(-1, 2),
                  point_colors=np.array(point_colors).reshape(-1, 4), labels=texts)


def skeleton_layer(context, clip, scene_frame):
    """The overlay layer callback: skeletons when 'Show skeletons' is on."""
    props = context.scene.omnitrax
    if not props.show_skeleton:
        return None
    return skeleton_shapes(clip, scene_frame, props.skeleton_labels)


def swap_keypoints(context, clip, animal_a: str, animal_b: str, marker_frame: int) -> None:
    """Exchange the keypoints (markers and likelihoods) of two animals at clip frames >= marker_frame."""
    from .markers import swap_frame_lists, swap_track_markers

    obj = pose_object(clip)
    meta = _meta(clip)
    if obj is None or not meta.get("joints"):
        return
    likelihoods = meta.get("likelihood", {})
    for joint in meta["joints"]:
        name_a, name_b = f"{animal_a}.{joint}", f"{animal_b}.{joint}"
        if obj.tracks.get(name_a) is None and obj.tracks.get(name_b) is None:
            continue
        swap_track_markers(context, clip, obj.tracks, name_a, name_b, marker_frame, tracking_object=obj)
        a, b = swap_frame_lists(likelihoods.get(name_a, {}), likelihoods.get(name_b, {}), marker_frame,
                                ("values",))
        for name, entry in ((name_a, a), (name_b, b)):
            values = [1.0 if v is None else float(v) for v in entry["values"]]
            if entry["frames"]:
                likelihoods[name] = {"frames": entry["frames"], "values": values}
            else:
                likelihoods.pop(name, None)
    meta["likelihood"] = likelihoods
    clip[META_KEY] = meta
