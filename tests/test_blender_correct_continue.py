"""Correct-and-continue in real Blender, swept over the inputs users give it (issue 18).

Track, scrub, correct with Blender's tools, continue: from every frame of a range, with hidden, locked,
selected, renamed and user-made tracks, with both detectors. Nothing may be lost, no traceback text may
reach a report, and identical input must give identical names and files.
Each test runs one bpy process (tests/blender_harness.py) that loops over its cases and reports a summary.
"""
import pytest

from blender_harness import run_in_blender

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 40, 5, 17, 5

SETUP = '''
import numpy as np
from importlib import import_module
mod = install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
clip.frame_start = CLIP_START
scene = bpy.context.scene
scene.frame_start, scene.frame_end = CLIP_START, CLIP_START + clip.frame_duration - 1
scene.frame_current = CLIP_START
props = scene.omnitrax
props.detector = DETECTOR
props.polarity = "DARKER"
props.min_length = 2
props.use_scene_range = True
LAST = CLIP_START + clip.frame_duration - 1

def dump(clip):
    """{track name: [(scene frame, x, y, muted), ...]} of every camera marker, rounded."""
    out = {}
    for t in clip.tracking.tracks:
        out[t.name] = [(m.frame + clip.frame_start - 1, round(m.co[0], 6), round(m.co[1], 6), bool(m.mute))
                       for m in t.markers]
    return out

def state(clip):
    return {t.name: (t.hide, t.lock, t.select, tuple(round(c, 4) for c in t.color)) for t in clip.tracking.tracks}

def run(op, **kw):
    """(result or None, the ERROR report text or '') of an OmniTrax operator in a Clip Editor."""
    with clip_editor(clip):
        try:
            return sorted(getattr(bpy.ops.omnitrax, op)(**kw)), ""
        except RuntimeError as exc:
            return None, str(exc)

BAD_WORDS = ("Traceback", "failed (", "Error:", "Exception")
def clean(text):
    return not any(w in text for w in BAD_WORDS)

def enabled_at(clip, name, scene_frame):
    t = clip.tracking.tracks.get(name)
    m = t.markers.find_frame(scene_frame - clip.frame_start + 1, exact=True) if t else None
    return m is not None and not m.mute

def at(clip, name, scene_frame):
    t = clip.tracking.tracks[name]
    m = t.markers.find_frame(scene_frame - clip.frame_start + 1, exact=True)
    return np.array(m.co) * clip.size if m is not None else None
'''


@pytest.fixture(scope="module")
def clip_video(tmp_path_factory):
    from omnitrax.synthetic import render_clip

    video = tmp_path_factory.mktemp("continue") / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, polarity="dark_on_light")
    return video


def _script(body, zip_path, video, detector="BACKGROUND"):
    return (f"ZIP = {str(zip_path)!r}\nVIDEO = {str(video)!r}\nCLIP_START = {CLIP_START}\n"
            f"DETECTOR = {detector!r}\n" + SETUP + body)


SWEEP = '''
# the uninterrupted run is the reference: continuing from any frame must follow the same animals
run("track", restart=True)
reference = {n: {m[0]: np.array(m[1:3]) * clip.size for m in ms if not m[3]} for n, ms in dump(clip).items()}
markers_mod = import_module(mod.__name__ + ".blender.markers")
markers_mod.delete_tracks(bpy.context, clip, [t.name for t in clip.tracking.tracks])

def reference_track(xy, k):
    for name, pos in reference.items():
        if k in pos and np.hypot(*(pos[k] - xy)) < 1.0:
            return name
    return None

cases = []
for k in range(CLIP_START + 1, LAST):
    case = {"k": k}
    variant = (k - CLIP_START) % 4  # 0 plain, 1 a renamed track, 2 a user-made track, 3 a hidden track
    props.use_scene_range = False
    props.frame_start, props.frame_end = CLIP_START, k
    case["first"], msg1 = run("track", restart=True)
    names = sorted(t.name for t in clip.tracking.tracks)
    if variant == 1 and names:
        clip.tracking.tracks[names[0]].name = "queen"
    if variant == 2:
        user = clip.tracking.tracks.new(name="my marker", frame=k - clip.frame_start + 1)
        user.markers[0].co = (0.02, 0.02)
    if variant == 3 and names:
        clip.tracking.tracks[names[-1]].hide = True
    before = dump(clip)
    seeded = [n for n in before if enabled_at(clip, n, k)]
    start_xy = {n: at(clip, n, k) for n in seeded}
    props.frame_end = LAST
    scene.frame_current = k
    case["second"], msg2 = run("track", restart=False)
    case["messages_clean"] = clean(msg1) and clean(msg2)
    after = dump(clip)
    case["lost"] = sorted(set(before) - set(after))
    case["changed_before"] = sorted(n for n in before
                                    if [m for m in after.get(n, []) if m[0] <= k] != [m for m in before[n] if m[0] <= k])
    case["seeded"] = len(seeded)
    soon = range(k + 1, min(k + 4, LAST + 1))
    def continued(n):
        return any(enabled_at(clip, n, f) for f in soon)
    animals = [n for n in seeded if n != "my marker"]
    ref = {n: reference_track(start_xy[n], k) for n in animals}
    case["unmatched_seeds"] = sorted(n for n in animals if ref[n] is None)
    # a seeded track goes on wherever the uninterrupted run saw its animal, at the same positions
    case["not_continued"] = sorted(n for n in animals if ref[n] and not continued(n)
                                   and any(f in reference[ref[n]] for f in soon))
    case["not_following"] = sorted(n for n in animals if ref[n] and any(
        enabled_at(clip, n, f) and f in reference[ref[n]] and np.hypot(*(at(clip, n, f) - reference[ref[n]][f])) > 1.0
        for f in soon))
    case["tracks_next"] = sum(continued(n) for n in after if n != "my marker")
    case["tracks_next_reference"] = sum(any(f in pos for f in soon) for pos in reference.values())
    case["hidden_kept"] = all(clip.tracking.tracks[n].hide for n in before
                              if variant == 3 and n == names[-1] and n in after)
    cases.append(case)
    # a clean slate for the next k
    for t in list(clip.tracking.tracks):
        t.hide = False
    markers_mod.delete_tracks(bpy.context, clip, [t.name for t in clip.tracking.tracks])
report(cases)
'''


@pytest.mark.parametrize("detector", ["BACKGROUND", "YOLO"])
def test_continue_from_every_frame_keeps_the_past_and_continues_every_identity(
        linux_zip, clip_video, tmp_path, detector):
    cases = run_in_blender(_script(SWEEP, linux_zip, clip_video, detector), tmp_path / "home", timeout=600)
    assert len(cases) == N_FRAMES - 2
    for c in cases:
        where = f"continue from scene frame {c['k']}: {c}"
        assert c["first"] == ["FINISHED"] and c["second"] == ["FINISHED"], where
        assert c["messages_clean"], where
        assert c["lost"] == [] and c["changed_before"] == [], where
        assert c["seeded"] >= N_ANIMALS - 1, where  # the first run found the animals
        assert c["unmatched_seeds"] == [] and c["not_continued"] == [] and c["not_following"] == [], where
        # no duplicate track for a seeded animal, and the animals are still tracked
        assert N_ANIMALS - 1 <= c["tracks_next"] <= c["tracks_next_reference"], where
        assert c["hidden_kept"], where


USER_STATES = '''
result = {}
result["first"], _ = run("track", restart=True)
names = sorted(t.name for t in clip.tracking.tracks)
result["names_first"] = names
tracks = clip.tracking.tracks
# the user hides one track, locks another, colours a third, makes one of their own, renames one
tracks[names[0]].hide = True
tracks[names[1]].lock = True
tracks[names[2]].color = (0.1, 0.2, 0.3)
user = tracks.new(name="track_0_mine", frame=3)
user.markers.insert_frame(4, co=(0.5, 0.5))
own_before = dump(clip)["track_0_mine"]
result["restart"], msg = run("track", restart=True)
result["restart_clean"] = clean(msg)
result["names_restart"] = sorted(t.name for t in clip.tracking.tracks)
result["user_track_kept"] = dump(clip).get("track_0_mine") == own_before

# continue with a hidden, a locked and a renamed track at the current frame
tracks = clip.tracking.tracks
owned = [n for n in names if n in tracks]
tracks[owned[0]].hide = True
tracks[owned[1]].lock = True
tracks[owned[2]].name = "Worker A"
kf = CLIP_START + 8
scene.frame_current = kf
st_before = state(clip)
before = dump(clip)
result["continue"], msg = run("track", restart=False)
result["continue_clean"] = clean(msg)
after = dump(clip)
result["continue_lost"] = sorted(set(before) - set(after))
result["continue_changed_past"] = sorted(n for n in before
                                         if [m for m in after[n] if m[0] <= kf] != [m for m in before[n] if m[0] <= kf])
st_after = state(clip)
result["continue_state_kept"] = {n: st_after.get(n) == st_before[n] for n in (owned[0], owned[1], "Worker A")}
result["hidden_continued"] = enabled_at(clip, owned[0], kf + 3)
result["renamed_continued"] = enabled_at(clip, "Worker A", kf + 3)

# swap: two visible selected tracks and one hidden selected one
for t in tracks:
    t.select = False
tracks[owned[0]].select = True  # hidden
tracks[owned[3]].select = True
tracks[owned[4]].select = True
count = len(tracks)
a3, a4 = dump(clip)[owned[3]], dump(clip)[owned[4]]
hidden_before = dump(clip)[owned[0]]
result["swap"], msg = run("swap_tracks")
result["swap_clean"] = clean(msg)
result["swap_count_kept"] = len(clip.tracking.tracks) == count
d = dump(clip)
result["hidden_untouched"] = d[owned[0]] == hidden_before and clip.tracking.tracks[owned[0]].hide
result["swapped_after"] = ([m for m in d[owned[3]] if m[0] >= kf] == [m for m in a4 if m[0] >= kf]
                           and [m for m in d[owned[4]] if m[0] >= kf] == [m for m in a3 if m[0] >= kf])
result["swap_kept_past"] = ([m for m in d[owned[3]] if m[0] < kf] == [m for m in a3 if m[0] < kf])
# with one visible selected track (the other hidden) the swap is not offered
tracks[owned[4]].select = False
with clip_editor(clip):
    result["swap_poll_one_visible"] = bpy.ops.omnitrax.swap_tracks.poll()

# export: hidden tracks are exported; 'selected only' means the visible selected ones
props.export_dir = EXPORT
result["export"], msg = run("export_tracks")
result["export_clean"] = clean(msg)
import csv
rows = list(csv.DictReader(open(EXPORT + "/ants_tracks.csv")))
result["exported_tracks"] = len({r["track"] for r in rows})
result["track_count"] = len(clip.tracking.tracks)
result["export_sel"], msg = run("export_tracks", selected_only=True)
rows = list(csv.DictReader(open(EXPORT + "/ants_tracks.csv")))
result["exported_selected"] = len({r["track"] for r in rows})
report(result)
'''


def test_hidden_locked_selected_renamed_and_user_tracks_survive_every_operator(linux_zip, clip_video, tmp_path):
    script = f"EXPORT = {str(tmp_path / 'export')!r}\n" + _script(USER_STATES, linux_zip, clip_video)
    r = run_in_blender(script, tmp_path / "home")
    assert r["first"] == ["FINISHED"] and len(r["names_first"]) == N_ANIMALS
    # Track From Start with a hidden/locked track: every OmniTrax track replaced, nothing else touched
    assert r["restart"] == ["FINISHED"] and r["restart_clean"], r
    assert r["names_restart"] == sorted(r["names_first"] + ["track_0_mine"]), r["names_restart"]
    assert r["user_track_kept"]
    # Continue with hidden, locked and renamed tracks at the frame
    assert r["continue"] == ["FINISHED"] and r["continue_clean"], r
    assert r["continue_lost"] == [] and r["continue_changed_past"] == [], r
    assert all(r["continue_state_kept"].values()), r["continue_state_kept"]
    assert r["hidden_continued"] and r["renamed_continued"]
    # Swap: the two visible selected tracks, never the hidden one, nothing deleted
    assert r["swap"] == ["FINISHED"] and r["swap_clean"]
    assert r["swap_count_kept"] and r["hidden_untouched"] and r["swapped_after"] and r["swap_kept_past"], r
    assert r["swap_poll_one_visible"] is False
    # Export: all tracks (hidden included), selected = visible selected
    assert r["export"] == ["FINISHED"] and r["export_clean"]
    assert r["exported_tracks"] == r["track_count"]
    assert r["export_sel"] == ["FINISHED"] and r["exported_selected"] == 1


RERUN = '''
import hashlib
result = {"names": [], "csv": [], "status": []}
user = clip.tracking.tracks.new(name="track_1", frame=2)  # a user's own track that happens to be named track_1
user.markers.insert_frame(3, co=(0.3, 0.3))
own_before = dump(clip)["track_1"]
for i in range(3):
    status, msg = run("track", restart=True)
    result["status"].append(status)
    result["names"].append(sorted(t.name for t in clip.tracking.tracks))
    props.export_dir = EXPORT_DIR + f"/run{i}"
    run("export_tracks")
    result["csv"].append(hashlib.sha256(open(props.export_dir + "/ants_tracks.csv", "rb").read()).hexdigest())
result["user_kept"] = dump(clip)["track_1"] == own_before
result["owned"] = sorted(clip.get("omnitrax_owned_tracks", []))
report(result)
'''


def test_track_from_start_again_gives_the_same_names_and_the_same_csv(linux_zip, clip_video, tmp_path):
    script = f"EXPORT_DIR = {str(tmp_path)!r}\n" + _script(RERUN, linux_zip, clip_video)
    r = run_in_blender(script, tmp_path / "home")
    assert r["status"] == [["FINISHED"]] * 3
    assert r["names"][0] == r["names"][1] == r["names"][2]
    assert r["csv"][0] == r["csv"][1] == r["csv"][2]
    assert r["user_kept"] and "track_1" not in r["owned"]
    expected = ["track_0"] + [f"track_{i}" for i in range(2, N_ANIMALS + 1)]  # track_1 is the user's
    assert sorted(r["owned"]) == sorted(expected), r["owned"]


SWAP_ALL = '''
tracks_mod = import_module(mod.__name__ + ".tracking.tracks")
markers = import_module(mod.__name__ + ".blender.markers")
pose_markers = import_module(mod.__name__ + ".blender.pose_markers")
poses_mod = import_module(mod.__name__ + ".pose.poses")
coords = import_module(mod.__name__ + ".blender.coords")
frames = coords.ClipFrames.of(clip)
n = 12
f = np.arange(n)
T = tracks_mod.Tracks(track=np.repeat([0, 1], n), frame=np.tile(f, 2),
                      x=np.r_[100 + f, 300 + f].astype(float), y=np.r_[100 + 0 * f, 200 + 0 * f].astype(float),
                      width=20, height=20, confidence=np.r_[0.5 + f / 100, 0.9 - f / 100],
                      cls=np.r_[np.full(n, 1), np.full(n, 2)])
markers.write_tracks(clip, T, frames)
P = poses_mod.Poses(track=np.repeat([0, 0, 1, 1], n), frame=np.tile(f, 4), joint=np.tile(np.repeat([0, 1], n), 2),
                    x=np.r_[100 + f, 105 + f, 300 + f, 305 + f].astype(float), y=np.r_[[100.0] * n * 2, [200.0] * n * 2],
                    likelihood=np.r_[[0.9] * n, [0.8] * n, [0.3] * n, [0.2] * n], joint_names=["head", "tail"],
                    skeleton=[("head", "tail")])
pose_markers.write_poses(clip, P, frames, {0: "track_0", 1: "track_1"}, pcutoff=0.5)
tracks = clip.tracking.tracks
for t in tracks:
    t.select = True
swap_scene = int(frames.scene_from_video(5))
scene.frame_current = swap_scene
status, msg = run("swap_tracks")
got, names = markers.read_tracks(clip, frames)
poses, pnames = pose_markers.read_poses(clip, frames, {v: k for k, v in names.items()})
def rows(table, tid, cols):
    sel = table.track == tid
    return [[round(float(getattr(table, c)[i]), 3) for c in cols] for i in np.flatnonzero(sel)]
report({"status": status, "msg": msg, "names": names,
        "tracks": {int(t): rows(got, t, ("frame", "x", "y", "confidence", "cls")) for t in got.ids()},
        "poses": {int(t): rows(poses, t, ("frame", "joint", "x", "y", "likelihood")) for t in poses.ids()},
        "muted": {t.name: [bool(m.mute) for m in t.markers] for t in pose_markers.pose_object(clip).tracks}})
'''


def test_swap_moves_markers_keypoints_confidences_and_classes_from_the_frame_on(linux_zip, clip_video, tmp_path):
    r = run_in_blender(_script(SWAP_ALL, linux_zip, clip_video), tmp_path / "home")
    assert r["status"] == ["FINISHED"], r["msg"]
    ids = {name: int(tid) for tid, name in r["names"].items()}
    a, b = r["tracks"][str(ids["track_0"])], r["tracks"][str(ids["track_1"])]
    for frame, x, y, conf, cls in a:
        if frame < 5:
            assert (x, y, cls) == (100 + frame, 100, 1) and conf == pytest.approx(0.5 + frame / 100)
        else:  # animal 1 from the swap frame on: its position, confidence and class
            assert (x, y, cls) == (300 + frame, 200, 2) and conf == pytest.approx(0.9 - frame / 100)
    for frame, x, y, conf, cls in b:
        expect = (300 + frame, 200, 2) if frame < 5 else (100 + frame, 100, 1)
        assert (x, y, cls) == expect
    pa, pb = r["poses"][str(ids["track_0"])], r["poses"][str(ids["track_1"])]
    assert len(pa) == len(pb) == 24
    for frame, joint, x, y, like in pa:
        if frame < 5:
            assert (x, like) == (100 + 5 * joint + frame, pytest.approx(0.9 - 0.1 * joint))
        else:
            assert (x, y, like) == (300 + 5 * joint + frame, 200, pytest.approx(0.3 - 0.1 * joint))
    for frame, joint, x, y, like in pb:
        expect_x = 300 + 5 * joint + frame if frame < 5 else 100 + 5 * joint + frame
        assert x == expect_x
    # keypoints below the cut-off stay disabled with their animal
    assert r["muted"]["track_0.head"] == [False] * 5 + [True] * 7
    assert r["muted"]["track_1.head"] == [True] * 5 + [False] * 7


MESSAGES = '''
result = {}
result["first"], _ = run("track", restart=True)
scene.frame_current = LAST
result["at_last"] = run("track", restart=False)
scene.frame_current = LAST + 5
result["outside"] = run("track", restart=False)
scene.frame_current = CLIP_START
# a mask made of an open two-point line covers nothing: say so instead of finding 0 animals
mask = bpy.data.masks.new("line")
layer = mask.layers.new()
spline = layer.splines.new()
spline.points.add(1)
spline.points[0].co, spline.points[1].co = (0.1, 0.1), (0.9, 0.9)
spline.use_cyclic = False
props.mask = mask
before = dump(clip)
result["open_mask"] = run("track", restart=True)
result["open_mask_unchanged"] = dump(clip) == before
props.mask = None
# a file that is not a video
bad = bpy.data.movieclips.load(NOT_VIDEO)
with clip_editor(bad):
    try:
        result["not_video"] = (sorted(bpy.ops.omnitrax.track(restart=True)), "")
    except RuntimeError as exc:
        result["not_video"] = (None, str(exc))
report(result)
'''


def test_confusing_cases_get_messages_that_say_what_to_do(linux_zip, clip_video, tmp_path):
    not_video = tmp_path / "notes.avi"
    not_video.write_bytes(b"this is not a video\n" * 100)
    script = f"NOT_VIDEO = {str(not_video)!r}\n" + _script(MESSAGES, linux_zip, clip_video)
    r = run_in_blender(script, tmp_path / "home")
    assert r["first"] == ["FINISHED"]
    for key, words in (("at_last", "is the last frame of the range"), ("outside", "outside the frame range"),
                       ("open_mask", "has no closed shape"), ("not_video", "cannot read the clip")):
        status, msg = r[key]
        assert status is None and words in msg, (key, msg)
        assert "Traceback" not in msg and "failed (" not in msg and "scene frames 1-0" not in msg, (key, msg)
    assert r["open_mask_unchanged"]
