"""Correct-and-continue swept over the inputs users give it (tests/test_blender_correct_continue.py).

Track, scrub, correct with Blender's tools, continue: from every frame of a range, with hidden, locked,
selected, renamed and user-made tracks, with both detectors."""
import csv
import hashlib

import bpy
import numpy as np

from blender_scenarios.bpy_helpers import addon_module, clip_editor, install

BAD_WORDS = ("Traceback", "failed (", "Error:", "Exception")


class Session:
    """The installed add-on, a clip starting at scene frame clip_start, and the helpers the scenarios share."""

    def __init__(self, zip_path, video, clip_start, detector="BACKGROUND"):
        self.mod = install(zip_path)
        self.clip = clip = bpy.data.movieclips.load(video)
        clip.frame_start = clip_start
        self.scene = scene = bpy.context.scene
        scene.frame_start, scene.frame_end = clip_start, clip_start + clip.frame_duration - 1
        scene.frame_current = clip_start
        self.props = props = scene.omnitrax
        props.detector = detector
        props.polarity = "DARKER"
        props.min_length = 2
        props.use_scene_range = True
        self.first = clip_start
        self.last = clip_start + clip.frame_duration - 1

    def dump(self):
        """{track name: [(scene frame, x, y, muted), ...]} of every camera marker, rounded."""
        clip = self.clip
        return {t.name: [(m.frame + clip.frame_start - 1, round(m.co[0], 6), round(m.co[1], 6), bool(m.mute))
                         for m in t.markers] for t in clip.tracking.tracks}

    def state(self):
        return {t.name: (t.hide, t.lock, t.select, tuple(round(c, 4) for c in t.color))
                for t in self.clip.tracking.tracks}

    def run(self, op, **kw):
        """(result or None, the ERROR report text or '') of an OmniTrax operator in a Clip Editor."""
        with clip_editor(self.clip):
            try:
                return sorted(getattr(bpy.ops.omnitrax, op)(**kw)), ""
            except RuntimeError as exc:
                return None, str(exc)

    def enabled_at(self, name, scene_frame):
        t = self.clip.tracking.tracks.get(name)
        m = t.markers.find_frame(scene_frame - self.clip.frame_start + 1, exact=True) if t else None
        return m is not None and not m.mute

    def at(self, name, scene_frame):
        t = self.clip.tracking.tracks[name]
        m = t.markers.find_frame(scene_frame - self.clip.frame_start + 1, exact=True)
        return np.array(m.co) * self.clip.size if m is not None else None


def clean(text):
    return not any(w in text for w in BAD_WORDS)


def continue_from_every_frame(zip_path, video, clip_start, detector):
    """For every k inside the range: track up to k, (rename / add a user track / hide a track), continue
    from k; compare with the uninterrupted run. Returns one summary per k."""
    s = Session(zip_path, video, clip_start, detector)
    clip, props, scene, LAST = s.clip, s.props, s.scene, s.last
    # the uninterrupted run is the reference: continuing from any frame must follow the same animals
    s.run("track", restart=True)
    reference = {n: {m[0]: np.array(m[1:3]) * clip.size for m in ms if not m[3]} for n, ms in s.dump().items()}
    markers_mod = addon_module(s.mod, "blender.markers")
    markers_mod.delete_tracks(bpy.context, clip, [t.name for t in clip.tracking.tracks])

    def reference_track(xy, k):
        for name, pos in reference.items():
            if k in pos and np.hypot(*(pos[k] - xy)) < 1.0:
                return name
        return None

    cases = []
    for k in range(clip_start + 1, LAST):
        case = {"k": k}
        variant = (k - clip_start) % 4  # 0 plain, 1 a renamed track, 2 a user-made track, 3 a hidden track
        props.use_scene_range = False
        props.frame_start, props.frame_end = clip_start, k
        case["first"], msg1 = s.run("track", restart=True)
        names = sorted(t.name for t in clip.tracking.tracks)
        if variant == 1 and names:
            clip.tracking.tracks[names[0]].name = "queen"
        if variant == 2:
            user = clip.tracking.tracks.new(name="my marker", frame=k - clip.frame_start + 1)
            user.markers[0].co = (0.02, 0.02)
        if variant == 3 and names:
            clip.tracking.tracks[names[-1]].hide = True
        before = s.dump()
        seeded = [n for n in before if s.enabled_at(n, k)]
        start_xy = {n: s.at(n, k) for n in seeded}
        props.frame_end = LAST
        scene.frame_current = k
        case["second"], msg2 = s.run("track", restart=False)
        case["messages_clean"] = clean(msg1) and clean(msg2)
        after = s.dump()
        case["lost"] = sorted(set(before) - set(after))
        case["changed_before"] = sorted(n for n in before if [m for m in after.get(n, []) if m[0] <= k]
                                        != [m for m in before[n] if m[0] <= k])
        case["seeded"] = len(seeded)
        soon = range(k + 1, min(k + 4, LAST + 1))

        def continued(n):
            return any(s.enabled_at(n, f) for f in soon)

        animals = [n for n in seeded if n != "my marker"]
        ref = {n: reference_track(start_xy[n], k) for n in animals}
        case["unmatched_seeds"] = sorted(n for n in animals if ref[n] is None)
        # a seeded track goes on wherever the uninterrupted run saw its animal, at the same positions
        case["not_continued"] = sorted(n for n in animals if ref[n] and not continued(n)
                                       and any(f in reference[ref[n]] for f in soon))
        case["not_following"] = sorted(n for n in animals if ref[n] and any(
            s.enabled_at(n, f) and f in reference[ref[n]]
            and np.hypot(*(s.at(n, f) - reference[ref[n]][f])) > 1.0 for f in soon))
        case["tracks_next"] = sum(continued(n) for n in after if n != "my marker")
        case["tracks_next_reference"] = sum(any(f in pos for f in soon) for pos in reference.values())
        case["hidden_kept"] = all(clip.tracking.tracks[n].hide for n in before
                                  if variant == 3 and n == names[-1] and n in after)
        cases.append(case)
        # a clean slate for the next k
        for t in list(clip.tracking.tracks):
            t.hide = False
        markers_mod.delete_tracks(bpy.context, clip, [t.name for t in clip.tracking.tracks])
    return cases


def user_states_through_every_operator(zip_path, video, clip_start, export):
    """Hidden, locked, coloured, renamed and user-made tracks through Track From Start, Continue, Swap and
    Export."""
    s = Session(zip_path, video, clip_start)
    clip, props, scene = s.clip, s.props, s.scene
    result = {}
    result["first"], _ = s.run("track", restart=True)
    names = sorted(t.name for t in clip.tracking.tracks)
    result["names_first"] = names
    tracks = clip.tracking.tracks
    # the user hides one track, locks another, colours a third, makes one of their own, renames one
    tracks[names[0]].hide = True
    tracks[names[1]].lock = True
    tracks[names[2]].color = (0.1, 0.2, 0.3)
    user = tracks.new(name="track_0_mine", frame=3)
    user.markers.insert_frame(4, co=(0.5, 0.5))
    own_before = s.dump()["track_0_mine"]
    result["restart"], msg = s.run("track", restart=True)
    result["restart_clean"] = clean(msg)
    result["names_restart"] = sorted(t.name for t in clip.tracking.tracks)
    result["user_track_kept"] = s.dump().get("track_0_mine") == own_before

    # continue with a hidden, a locked and a renamed track at the current frame
    tracks = clip.tracking.tracks
    owned = [n for n in names if n in tracks]
    tracks[owned[0]].hide = True
    tracks[owned[1]].lock = True
    tracks[owned[2]].name = "Worker A"
    kf = clip_start + 8
    scene.frame_current = kf
    st_before = s.state()
    before = s.dump()
    result["continue"], msg = s.run("track", restart=False)
    result["continue_clean"] = clean(msg)
    after = s.dump()
    result["continue_lost"] = sorted(set(before) - set(after))
    result["continue_changed_past"] = sorted(n for n in before if [m for m in after[n] if m[0] <= kf]
                                             != [m for m in before[n] if m[0] <= kf])
    st_after = s.state()
    result["continue_state_kept"] = {n: st_after.get(n) == st_before[n] for n in (owned[0], owned[1], "Worker A")}
    result["hidden_continued"] = s.enabled_at(owned[0], kf + 3)
    result["renamed_continued"] = s.enabled_at("Worker A", kf + 3)

    # swap: two visible selected tracks and one hidden selected one
    for t in tracks:
        t.select = False
    tracks[owned[0]].select = True  # hidden
    tracks[owned[3]].select = True
    tracks[owned[4]].select = True
    count = len(tracks)
    a3, a4 = s.dump()[owned[3]], s.dump()[owned[4]]
    hidden_before = s.dump()[owned[0]]
    result["swap"], msg = s.run("swap_tracks")
    result["swap_clean"] = clean(msg)
    result["swap_count_kept"] = len(clip.tracking.tracks) == count
    d = s.dump()
    result["hidden_untouched"] = d[owned[0]] == hidden_before and clip.tracking.tracks[owned[0]].hide
    result["swapped_after"] = ([m for m in d[owned[3]] if m[0] >= kf] == [m for m in a4 if m[0] >= kf]
                               and [m for m in d[owned[4]] if m[0] >= kf] == [m for m in a3 if m[0] >= kf])
    result["swap_kept_past"] = ([m for m in d[owned[3]] if m[0] < kf] == [m for m in a3 if m[0] < kf])
    # with one visible selected track (the other hidden) the swap is not offered
    tracks[owned[4]].select = False
    with clip_editor(clip):
        result["swap_poll_one_visible"] = bpy.ops.omnitrax.swap_tracks.poll()

    # export: hidden tracks are exported; 'selected only' means the visible selected ones
    props.export_dir = export
    result["export"], msg = s.run("export_tracks")
    result["export_clean"] = clean(msg)
    with open(export + "/ants_tracks.csv") as f:
        rows = list(csv.DictReader(f))
    result["exported_tracks"] = len({r["track"] for r in rows})
    result["track_count"] = len(clip.tracking.tracks)
    result["export_sel"], msg = s.run("export_tracks", selected_only=True)
    with open(export + "/ants_tracks.csv") as f:
        rows = list(csv.DictReader(f))
    result["exported_selected"] = len({r["track"] for r in rows})
    return result


def track_from_start_three_times(zip_path, video, clip_start, export_dir):
    """Track From Start three times (with a user's own track named track_1), exporting after each."""
    s = Session(zip_path, video, clip_start)
    clip, props = s.clip, s.props
    result = {"names": [], "csv": [], "status": []}
    user = clip.tracking.tracks.new(name="track_1", frame=2)  # a user's own track that happens to be named track_1
    user.markers.insert_frame(3, co=(0.3, 0.3))
    own_before = s.dump()["track_1"]
    for i in range(3):
        status, msg = s.run("track", restart=True)
        result["status"].append(status)
        result["names"].append(sorted(t.name for t in clip.tracking.tracks))
        props.export_dir = export_dir + f"/run{i}"
        s.run("export_tracks")
        with open(props.export_dir + "/ants_tracks.csv", "rb") as f:
            result["csv"].append(hashlib.sha256(f.read()).hexdigest())
    result["user_kept"] = s.dump()["track_1"] == own_before
    result["owned"] = sorted(clip.get("omnitrax_owned_tracks", []))
    return result


def swap_markers_and_keypoints(zip_path, video, clip_start):
    """Two written tracks with keypoints, confidences and classes, all selected, swapped from video frame 5."""
    s = Session(zip_path, video, clip_start)
    clip, scene, mod = s.clip, s.scene, s.mod
    tracks_mod = addon_module(mod, "tracking.tracks")
    markers = addon_module(mod, "blender.markers")
    pose_markers = addon_module(mod, "blender.pose_markers")
    poses_mod = addon_module(mod, "pose.poses")
    coords = addon_module(mod, "blender.coords")
    frames = coords.ClipFrames.of(clip)
    n = 12
    f = np.arange(n)
    T = tracks_mod.Tracks(track=np.repeat([0, 1], n), frame=np.tile(f, 2),
                          x=np.r_[100 + f, 300 + f].astype(float), y=np.r_[100 + 0 * f, 200 + 0 * f].astype(float),
                          width=20, height=20, confidence=np.r_[0.5 + f / 100, 0.9 - f / 100],
                          cls=np.r_[np.full(n, 1), np.full(n, 2)])
    markers.write_tracks(clip, T, frames)
    P = poses_mod.Poses(track=np.repeat([0, 0, 1, 1], n), frame=np.tile(f, 4),
                        joint=np.tile(np.repeat([0, 1], n), 2),
                        x=np.r_[100 + f, 105 + f, 300 + f, 305 + f].astype(float),
                        y=np.r_[[100.0] * n * 2, [200.0] * n * 2],
                        likelihood=np.r_[[0.9] * n, [0.8] * n, [0.3] * n, [0.2] * n], joint_names=["head", "tail"],
                        skeleton=[("head", "tail")])
    pose_markers.write_poses(clip, P, frames, {0: "track_0", 1: "track_1"}, pcutoff=0.5)
    for t in clip.tracking.tracks:
        t.select = True
    swap_scene = int(frames.scene_from_video(5))
    scene.frame_current = swap_scene
    status, msg = s.run("swap_tracks")
    got, names = markers.read_tracks(clip, frames)
    poses, pnames = pose_markers.read_poses(clip, frames, {v: k for k, v in names.items()})

    def rows(table, tid, cols):
        sel = table.track == tid
        return [[round(float(getattr(table, c)[i]), 3) for c in cols] for i in np.flatnonzero(sel)]

    return {"status": status, "msg": msg, "names": names,
            "tracks": {int(t): rows(got, t, ("frame", "x", "y", "confidence", "cls")) for t in got.ids()},
            "poses": {int(t): rows(poses, t, ("frame", "joint", "x", "y", "likelihood")) for t in poses.ids()},
            "muted": {t.name: [bool(m.mute) for m in t.markers] for t in pose_markers.pose_object(clip).tracks}}


def confusing_cases(zip_path, video, clip_start, not_video):
    """Continue at the last frame and outside the range, a mask of an open line, a clip that is no video."""
    s = Session(zip_path, video, clip_start)
    props, scene = s.props, s.scene
    result = {}
    result["first"], _ = s.run("track", restart=True)
    scene.frame_current = s.last
    result["at_last"] = s.run("track", restart=False)
    scene.frame_current = s.last + 5
    result["outside"] = s.run("track", restart=False)
    scene.frame_current = clip_start
    # a mask made of an open two-point line covers nothing: say so instead of finding 0 animals
    mask = bpy.data.masks.new("line")
    layer = mask.layers.new()
    spline = layer.splines.new()
    spline.points.add(1)
    spline.points[0].co, spline.points[1].co = (0.1, 0.1), (0.9, 0.9)
    spline.use_cyclic = False
    props.mask = mask
    before = s.dump()
    result["open_mask"] = s.run("track", restart=True)
    result["open_mask_unchanged"] = s.dump() == before
    props.mask = None
    # a file that is not a video
    bad = bpy.data.movieclips.load(not_video)
    with clip_editor(bad):
        try:
            result["not_video"] = (sorted(bpy.ops.omnitrax.track(restart=True)), "")
        except RuntimeError as exc:
            result["not_video"] = (None, str(exc))
    return result
