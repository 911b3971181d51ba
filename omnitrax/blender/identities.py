"""Swap two animals' identities from a frame on: markers, confidences, classes and keypoints together."""
from __future__ import annotations

from . import markers, pose_markers


def swap_from(context, clip, name_a: str, name_b: str, marker_frame: int) -> None:
    """Exchange two animals' identities at clip frames >= marker_frame: their markers, per-marker
    confidences and classes, and their keypoints with likelihoods. Names and track settings stay."""
    markers.swap_track_markers(context, clip, clip.tracking.tracks, name_a, name_b, marker_frame)
    meta = clip.get(markers.META_KEY)
    meta = {} if meta is None else meta.to_dict()
    if name_a in meta or name_b in meta:
        a, b = markers.swap_frame_lists(meta.get(name_a, {}), meta.get(name_b, {}), marker_frame,
                                        ("confidence", "classes"))
        for name, entry in ((name_a, a), (name_b, b)):
            conf = [1.0 if c is None else float(c) for c in entry["confidence"]]
            classes = [0 if c is None else int(c) for c in entry["classes"]]
            meta[name] = markers.meta_entry(dict(zip(entry["frames"], conf)), dict(zip(entry["frames"], classes)))
        clip[markers.META_KEY] = meta
    pose_markers.swap_keypoints(context, clip, name_a, name_b, marker_frame)
