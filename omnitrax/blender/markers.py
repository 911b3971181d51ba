"""Tracks <-> Blender tracking tracks and markers, in bulk.

Conventions (Blender's own): a track is drawn from its first enabled marker to a disabled marker
after its last one, so each written track gets a disabled marker the frame before it starts and
the frame after it ends. Frames the tracker bridged without a detection are written as disabled
markers at the predicted position. Reading reverses this: leading/trailing disabled markers are
dropped, inner disabled markers come back as predicted positions.
"""
from __future__ import annotations

import colorsys

import numpy as np

from ..errors import OmniTraxError
from ..tracking.tracks import Tracks, ids_for_names, track_name
from .coords import ClipFrames, box_size_to_marker, clip_size, marker_to_pixels, pixels_to_marker

#: clip ID property: names of the tracks OmniTrax created (so reruns replace only those)
OWNED_KEY = "omnitrax_owned_tracks"
#: clip ID property: per-track class id and per-marker confidence, which markers cannot hold
META_KEY = "omnitrax_track_meta"
#: clip ID property: the detector's class names (class id -> name), for the exports
CLASS_NAMES_KEY = "omnitrax_class_names"
DEFAULT_BOX_PX = 24.0


def track_color(track_id: int):
    """Well-separated colours for neighbouring ids (golden-ratio hue steps)."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    return colorsys.hsv_to_rgb(hue, 0.85, 1.0)


def _marker_arrays(track):
    """(frames, co (N, 2), mute, pattern corners (N, 4, 2)) of a track's markers."""
    a = marker_arrays(track, ("frame", "co", "mute", "pattern_corners"))
    n = len(a["frame"])
    return a["frame"], a["co"].reshape(n, 2), a["mute"], a["pattern_corners"].reshape(n, 4, 2)


def owned_names(clip) -> set:
    return set(clip.get(OWNED_KEY, []))


def _set_owned(clip, names) -> None:
    clip[OWNED_KEY] = sorted(names)


def set_class_names(clip, names) -> None:
    """Keep the detector's class names with the clip (saved in the .blend); empty/None: leave them as they are."""
    if names:
        clip[CLASS_NAMES_KEY] = [str(n) for n in names]


def class_names(clip) -> list | None:
    """The class names tracking stored with the clip, None when it stored none."""
    names = clip.get(CLASS_NAMES_KEY)
    return [str(n) for n in names] if names else None


def write_tracks(clip, tracks: Tracks, frames: ClipFrames, names: dict | None = None,
                 constant_size: float = 0.0, search_px: float = 0.0) -> dict:
    """Write every track of `tracks` into `clip` (markers at existing frames are replaced).

    names maps track id -> Blender track name (seeded tracks keep the user's names); other ids get
    `track_<id>`. Returns the id -> name map used. Boxes give the pattern area (`constant_size` px
    overrides them); the search area is the pattern grown by `search_px` on each side (0: by its own size).
    """
    names = dict(names or {})
    width, height = clip_size(clip)
    last_marker_frame = clip.frame_duration  # clip frames run 1..frame_duration
    blender_tracks = clip.tracking.tracks
    owned = owned_names(clip) & {t.name for t in blender_tracks}  # renamed or deleted ones are no longer ours
    meta = clip.get(META_KEY)
    meta = {} if meta is None else meta.to_dict()
    for tid in tracks.ids():
        rows = tracks.for_track(tid)
        name = names.setdefault(int(tid), track_name(tid))
        marker_frames = frames.marker_from_video(rows.frame).astype(int)
        track = blender_tracks.get(name)
        if track is None:
            track = blender_tracks.new(name=name, frame=int(marker_frames[0]))
            track.color = track_color(tid)
            track.use_custom_color = True
            owned.add(name)
        # disabled end markers, as Blender's own tracker leaves them
        before, after = int(marker_frames[0]) - 1, int(marker_frames[-1]) + 1
        ends = [f for f in (before, after) if 1 <= f <= last_marker_frame
                and not track.markers.find_frame(f, exact=True)]
        for f in list(marker_frames) + ends:
            track.markers.insert_frame(int(f))

        all_frames, co, mute, corners = _marker_arrays(track)
        idx = np.searchsorted(all_frames, marker_frames)
        co[idx] = pixels_to_marker(np.column_stack([rows.x, rows.y]), width, height)
        mute[idx] = rows.predicted
        size_px = np.column_stack([rows.width, rows.height]).astype(np.float64)
        if constant_size > 0:
            size_px[:] = constant_size
        size_px[(size_px[:, 0] <= 0) | (size_px[:, 1] <= 0)] = DEFAULT_BOX_PX
        half = box_size_to_marker(size_px, width, height) / 2.0
        corners[idx] = np.stack([-half, half * [1, -1], half, half * [-1, 1]], axis=1)
        if ends:
            end_idx = np.searchsorted(all_frames, ends)
            nearest = np.clip(np.searchsorted(all_frames[idx], all_frames[end_idx]), 0, len(idx) - 1)
            co[end_idx] = co[idx[nearest]]
            corners[end_idx] = corners[idx[nearest]]
            mute[end_idx] = True
        track.markers.foreach_set("co", co.ravel())
        track.markers.foreach_set("mute", mute)
        track.markers.foreach_set("pattern_corners", corners.ravel())
        pattern_min, pattern_max = corners.min(axis=1), corners.max(axis=1)
        # the search area: the pattern grown by search_px, or (0) by the pattern's own size
        grow = box_size_to_marker([[search_px, search_px]], width, height) if search_px else pattern_max - pattern_min
        pattern_min = pattern_min - grow
        pattern_max = pattern_max + grow
        track.markers.foreach_set("search_min", pattern_min.astype(np.float32).ravel())
        track.markers.foreach_set("search_max", pattern_max.astype(np.float32).ravel())

        entry = meta.get(name, {})
        old_frames = entry.get("frames", [])
        conf = dict(zip(old_frames, entry.get("confidence", [])))
        classes = dict(zip(old_frames, entry.get("classes", [entry.get("cls", 0)] * len(old_frames))))
        conf.update(zip(marker_frames.tolist(), np.asarray(rows.confidence, float).tolist()))
        classes.update(zip(marker_frames.tolist(), np.asarray(rows.cls, int).tolist()))
        meta[name] = meta_entry(conf, classes)
    clip[META_KEY] = meta
    _set_owned(clip, owned)
    return names


def meta_entry(conf: dict, classes: dict) -> dict:
    """Per-marker confidence and class of one track, by clip frame; `cls` is the track's commonest class."""
    keys = sorted(conf)
    cls = [int(classes.get(k, 0)) for k in keys]
    common = int(np.bincount(cls).argmax()) if cls else 0
    return {"cls": common, "frames": keys, "confidence": [conf[k] for k in keys], "classes": cls}


def read_tracks(clip, frames: ClipFrames, track_names=None) -> tuple[Tracks, dict]:
    """Markers -> Tracks (pixels, 0-based video frames) and the id -> name map.

    Tracks named `track_<n>` keep id n; any other name gets a free id above those.
    """
    width, height = clip_size(clip)
    meta = clip.get(META_KEY)
    meta = {} if meta is None else meta.to_dict()
    chosen = [t for t in clip.tracking.tracks if track_names is None or t.name in track_names]
    ids = ids_for_names(t.name for t in chosen)

    parts = []
    for t in chosen:
        marker_frames, co, mute, corners = _marker_arrays(t)
        enabled = np.flatnonzero(~mute)
        if len(enabled) == 0:
            continue
        keep = slice(enabled[0], enabled[-1] + 1)
        marker_frames, co, mute, corners = marker_frames[keep], co[keep], mute[keep], corners[keep]
        xy = marker_to_pixels(co, width, height)
        size = (corners.max(axis=1) - corners.min(axis=1)) * [width, height]
        entry = meta.get(t.name, {})
        conf_by_frame = dict(zip(entry.get("frames", []), entry.get("confidence", [])))
        cls_by_frame = dict(zip(entry.get("frames", []), entry.get("classes", [])))
        track_cls = int(entry.get("cls", 0))
        n = len(marker_frames)
        parts.append(Tracks(
            track=np.full(n, ids[t.name]), frame=frames.video_from_marker(marker_frames).astype(int),
            x=xy[:, 0], y=xy[:, 1], width=size[:, 0], height=size[:, 1],
            confidence=np.array([conf_by_frame.get(int(f), 1.0) for f in marker_frames]),
            cls=np.array([cls_by_frame.get(int(f), track_cls) for f in marker_frames], np.int64),
            predicted=mute.copy()))
    tracks = Tracks.concat(parts) if parts else Tracks.empty()
    return tracks, {v: k for k, v in ids.items()}


# --- whole-track edits: snapshot, delete, restore, swap ----------------------------------------

_MARKER_FIELDS = (("frame", np.int32, 1), ("co", np.float32, 2), ("mute", bool, 1),
                  ("pattern_corners", np.float32, 8), ("search_min", np.float32, 2),
                  ("search_max", np.float32, 2))
#: per-track state a user may have set (visibility, lock, colour, Blender tracker options...)
_SKIPPED_STATE = {"name", "annotation"}


def _track_state(track) -> dict:
    state = {}
    for prop in track.bl_rna.properties:
        if prop.is_readonly or prop.identifier in _SKIPPED_STATE or prop.type == "POINTER":
            continue
        value = getattr(track, prop.identifier)
        state[prop.identifier] = tuple(value) if getattr(prop, "is_array", False) else value
    return state


def marker_arrays(track, fields=None) -> dict:
    """Marker fields of a track (default: all of _MARKER_FIELDS) as flat numpy arrays."""
    n = len(track.markers)
    arrays = {}
    for field, dtype, width in _MARKER_FIELDS:
        if fields is not None and field not in fields:
            continue
        a = np.zeros(n * width, dtype)
        track.markers.foreach_get(field, a)
        arrays[field] = a
    return arrays


def snapshot(clip, names) -> dict:
    """Everything needed to re-create these tracks exactly: marker arrays and all per-track state."""
    tracks = clip.tracking.tracks
    snap = {}
    for name in names:
        track = tracks.get(name)
        if track is not None:
            snap[name] = {"arrays": marker_arrays(track), "state": _track_state(track)}
    return snap


def _apply_state(track, state: dict) -> None:
    for key, value in state.items():
        try:
            setattr(track, key, value)
        except (AttributeError, TypeError, ValueError):  # a property this Blender version lacks
            pass


def restore(clip, snap: dict, keep_before: int | None = None) -> None:
    """Re-create snapshot tracks (which must not exist now); with keep_before, only markers at clip
    frames below it."""
    tracks = clip.tracking.tracks
    for name, entry in snap.items():
        arrays = entry["arrays"]
        frames = arrays["frame"]
        keep = np.ones(len(frames), bool) if keep_before is None else frames < keep_before
        if not keep.any():
            continue
        track = tracks.new(name=name, frame=int(frames[keep][0]))
        set_markers(track, {field: arrays[field].reshape(len(frames), width)[keep].ravel()
                            for field, _, width in _MARKER_FIELDS})
        _apply_state(track, entry["state"])


def set_markers(track, arrays: dict) -> None:
    """Make the track's markers exactly `arrays` (at least one marker), editing it in place."""
    wanted = arrays["frame"].astype(int)
    have = np.zeros(len(track.markers), np.int32)
    track.markers.foreach_get("frame", have)
    for f in np.setdiff1d(wanted, have):
        track.markers.insert_frame(int(f))
    for f in np.setdiff1d(have, wanted):
        track.markers.delete_frame(int(f))
    order = np.argsort(wanted, kind="stable")
    for field, _, width in _MARKER_FIELDS[1:]:
        values = arrays[field].reshape(len(wanted), width)[order]
        track.markers.foreach_set(field, values.ravel())


def _clip_editor_override(context, clip):
    """A context override with a Clip Editor showing `clip` (borrows an area when none shows it)."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "CLIP_EDITOR" and area.spaces.active.clip == clip:
                region = next(r for r in area.regions if r.type == "WINDOW")
                return context.temp_override(window=window, screen=window.screen, area=area, region=region,
                                             space_data=area.spaces.active), None
    window = context.window_manager.windows[0]
    area = window.screen.areas[0]
    previous = (area.type, area.ui_type)
    area.type = "CLIP_EDITOR"
    area.spaces.active.clip = clip
    region = next(r for r in area.regions if r.type == "WINDOW")
    override = context.temp_override(window=window, screen=window.screen, area=area, region=region,
                                     space_data=area.spaces.active)
    return override, (area, previous)


def delete_tracks(context, clip, names, tracking_object=None) -> None:
    """Delete these tracks (of the camera, or of `tracking_object`) with Blender's own operator.

    The Python API has no tracks.remove, and Blender's delete skips hidden tracks, so targets are
    shown first. Every other track keeps its selection and visibility.
    """
    import bpy

    tracking = clip.tracking
    obj = tracking.objects[0] if tracking_object is None else tracking_object  # objects[0]: the camera
    tracks = obj.tracks
    names = set(names)
    targets = [t for t in tracks if t.name in names]
    if not targets:
        return
    selection = {t.name: t.select for t in tracks}
    active_object = tracking.objects.active
    for t in tracks:
        t.select = t.name in names
        if t.name in names:
            t.hide = False
    tracking.objects.active = obj
    override, borrowed = _clip_editor_override(context, clip)
    try:
        with override:
            bpy.ops.clip.delete_track(confirm=False)
    finally:
        tracking.objects.active = active_object
        if borrowed is not None:
            area, (area_type, ui_type) = borrowed
            area.type = area_type
            area.ui_type = ui_type
        for t in tracks:
            t.select = selection.get(t.name, False)
    left = [t.name for t in tracks if t.name in names]
    if left:
        raise OmniTraxError(f"Blender did not delete the tracks {', '.join(left[:5])}; nothing was changed.")


def _swapped_arrays(mine: dict, theirs: dict, marker_frame: int) -> dict:
    """My markers before marker_frame, then theirs from it on."""
    keep_mine = mine["frame"] < marker_frame
    take_theirs = theirs["frame"] >= marker_frame
    out = {}
    for field, _, width in _MARKER_FIELDS:
        a = mine[field].reshape(len(mine["frame"]), width)[keep_mine]
        b = theirs[field].reshape(len(theirs["frame"]), width)[take_theirs]
        out[field] = np.concatenate([a, b]).ravel()
    return out


def swap_track_markers(context, clip, tracks, name_a: str, name_b: str, marker_frame: int, tracking_object=None):
    """Exchange markers of two tracks of one tracking object from marker_frame on, in place (names,
    colours, visibility and every other track setting stay). A track left without markers is deleted;
    a missing one is created from its partner's state."""
    a, b = tracks.get(name_a), tracks.get(name_b)
    empty = {field: np.zeros(0, dtype) for field, dtype, _ in _MARKER_FIELDS}
    arrays = {name_a: marker_arrays(a) if a is not None else empty,
              name_b: marker_arrays(b) if b is not None else empty}
    new = {name_a: _swapped_arrays(arrays[name_a], arrays[name_b], marker_frame),
           name_b: _swapped_arrays(arrays[name_b], arrays[name_a], marker_frame)}
    emptied = []
    for name, other in ((name_a, b), (name_b, a)):
        track = tracks.get(name)
        if not len(new[name]["frame"]):
            if track is not None:
                emptied.append(name)
            continue
        if track is None:
            track = tracks.new(name=name, frame=int(new[name]["frame"][0]))
            _apply_state(track, _track_state(other))
        set_markers(track, new[name])
    if emptied:
        delete_tracks(context, clip, emptied, tracking_object)


def swap_frame_lists(entry_a: dict, entry_b: dict, marker_frame: int, columns) -> tuple[dict, dict]:
    """Per-frame metadata lists (same keys as `columns`, indexed by entry['frames']) swapped from a frame on."""
    def split(entry):
        frames = list(entry.get("frames", []))
        rows = {f: {c: entry.get(c, [None] * len(frames))[i] for c in columns} for i, f in enumerate(frames)}
        return ({f: r for f, r in rows.items() if f < marker_frame},
                {f: r for f, r in rows.items() if f >= marker_frame})

    a_before, a_after = split(entry_a)
    b_before, b_after = split(entry_b)

    def join(before, after, like):
        rows = {**before, **after}
        keys = sorted(rows)
        return {**like, "frames": keys, **{c: [rows[k][c] for k in keys] for c in columns}}

    return join(a_before, b_after, entry_a), join(b_before, a_after, entry_b)
