"""Tracking inside real Blender: the installed add-on's operators on a synthetic clip with known truth.

Each scenario runs in its own bpy process (tests/blender_harness.py). The clip starts at scene frame 5
so every frame conversion (scene <-> clip <-> video) is exercised.
"""
import csv

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from blender_harness import run_in_blender

N_FRAMES, N_ANIMALS, SEED, CLIP_START = 150, 6, 17, 5  # seed 17: animals stay > 50 px apart

SETUP = '''
import numpy as np
mod = install(ZIP)
clip = bpy.data.movieclips.load(VIDEO)
clip.frame_start = CLIP_START
scene = bpy.context.scene
scene.frame_start, scene.frame_end = CLIP_START, CLIP_START + clip.frame_duration - 1
scene.frame_current = CLIP_START
props = scene.omnitrax
props.detector = "BACKGROUND"
props.polarity = "DARKER"
props.min_length = 5
props.use_scene_range = True

def dump(clip):
    """{track name: [[scene frame, x px, y px, muted], ...]} of every marker."""
    out = {}
    w, h = clip.size
    for t in clip.tracking.tracks:
        out[t.name] = [[m.frame + clip.frame_start - 1, m.co[0] * w - 0.5, (1 - m.co[1]) * h - 0.5, m.mute]
                       for m in t.markers]
    return out

def track(**kw):
    with clip_editor(clip):
        try:
            return sorted(bpy.ops.omnitrax.track(**kw))
        except RuntimeError as exc:
            return str(exc)
'''


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory):
    from omnitrax.synthetic import render_clip

    folder = tmp_path_factory.mktemp("clip")
    video = folder / "ants.avi"
    truth = render_clip(video, n_frames=N_FRAMES, seed=SEED, n_animals=N_ANIMALS, polarity="dark_on_light")
    return video, truth


def _script(body, zip_path, video):
    return (f"ZIP = {str(zip_path)!r}\nVIDEO = {str(video)!r}\nCLIP_START = {CLIP_START}\n" + SETUP + body)


def _isolated(truth, frame, animal_id, factor=1.2):
    """True if no other animal is within factor x body length of this one in this frame."""
    here = truth.frame == frame
    x, y, ids, length = truth.x[here], truth.y[here], truth.id[here], truth.length[here]
    i = int(np.flatnonzero(ids == animal_id)[0])
    d = np.hypot(x - x[i], y - y[i])
    d[i] = np.inf
    return d.min() > factor * length[i]


def _match_tracks_to_animals(markers, truth):
    """Assign each Blender track to the ground-truth animal it is nearest to on average."""
    names = sorted(markers)
    ids = sorted(set(truth.id.tolist()))
    cost = np.full((len(names), len(ids)), 1e6)
    for i, name in enumerate(names):
        for j, aid in enumerate(ids):
            d = []
            for scene_frame, x, y, muted in markers[name]:
                if muted:
                    continue
                sel = (truth.frame == scene_frame - CLIP_START) & (truth.id == aid)
                if sel.any():
                    d.append(np.hypot(truth.x[sel][0] - x, truth.y[sel][0] - y))
            if d:
                cost[i, j] = np.median(d)
    rows, cols = linear_sum_assignment(cost)
    return {names[r]: ids[c] for r, c in zip(rows, cols)}, cost[rows, cols]


def test_track_restart_makes_one_accurate_track_per_animal_then_exports_identically(
        linux_zip, synthetic_clip, tmp_path):
    video, truth = synthetic_clip
    out1, out2, out3 = tmp_path / "export1", tmp_path / "export2", tmp_path / "export3"
    blend = tmp_path / "tracked.blend"
    body = f'''
result = {{"status": track(restart=True)}}
result["markers"] = dump(clip)
result["owned"] = list(clip.get("omnitrax_owned_tracks", []))
props.export_dir = {str(out1)!r}
with clip_editor(clip):
    bpy.ops.omnitrax.export_tracks()
props.export_dir = {str(out3)!r}
with clip_editor(clip):
    bpy.ops.omnitrax.export_tracks(preview=True, legacy=True)
bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})
bpy.ops.wm.open_mainfile(filepath={str(blend)!r})
clip = bpy.data.movieclips[0]
bpy.context.scene.omnitrax.export_dir = {str(out2)!r}
with clip_editor(clip):
    bpy.ops.omnitrax.export_tracks()
result["markers_after_reload"] = dump(clip)
report(result)
'''
    result = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert result["status"] == ["FINISHED"]
    markers = result["markers"]
    assert len(markers) == N_ANIMALS, sorted(markers)
    assert sorted(markers) == sorted(result["owned"])
    assert all(name.startswith("track_") for name in markers)
    assignment, median_error = _match_tracks_to_animals(markers, truth)
    assert len(set(assignment.values())) == N_ANIMALS
    assert median_error.max() < 1.0, median_error
    # every detected marker of an isolated animal lies within 1 px of the truth at that scene frame
    errors = []
    for name, aid in assignment.items():
        for scene_frame, x, y, muted in markers[name]:
            f = scene_frame - CLIP_START
            if muted or not _isolated(truth, f, aid):
                continue
            sel = (truth.frame == f) & (truth.id == aid)
            errors.append(np.hypot(truth.x[sel][0] - x, truth.y[sel][0] - y))
    errors = np.array(errors)
    assert len(errors) > N_FRAMES * N_ANIMALS // 2
    assert np.percentile(errors, 99) < 1.0 and errors.max() < 1.5, (np.percentile(errors, 99), errors.max())
    # markers cover the clip: first and last scene frames carry a detected marker for each animal
    for name in markers:
        detected = [m[0] for m in markers[name] if not m[3]]
        assert min(detected) <= CLIP_START + 1 and max(detected) >= CLIP_START + N_FRAMES - 2, name

    # the export matches the markers exactly, and save/reload/export gives identical files
    assert result["markers_after_reload"] == markers
    from omnitrax.video import VideoSource

    assert sorted(p.name for p in out3.iterdir()) == ["ants_legacy", "ants_preview.mp4", "ants_summary.csv",
                                                      "ants_tracks.csv"]
    assert len(list((out3 / "ants_legacy").iterdir())) == N_ANIMALS
    with VideoSource(out3 / "ants_preview.mp4") as preview:
        assert preview.frame_count == N_FRAMES
    files1 = sorted(p.name for p in out1.iterdir())
    assert files1 == ["ants_summary.csv", "ants_tracks.csv"]
    for name in files1:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    with open(out1 / "ants_tracks.csv") as f:
        reader = csv.reader(f)
        assert next(reader) == ["track", "frame", "x", "y", "width", "height", "confidence", "class", "predicted"]
        rows = list(reader)
    exported = {(f"track_{r[0]}", int(r[1])): (float(r[2]), float(r[3]), r[8] == "1") for r in rows}
    expected = {}
    for name, ms in markers.items():
        enabled = [m for m in ms if not m[3]]
        first, last = enabled[0][0], enabled[-1][0]
        for scene_frame, x, y, muted in ms:
            if first <= scene_frame <= last:
                expected[(name, scene_frame - CLIP_START)] = (x, y, bool(muted))
    assert exported.keys() == expected.keys()
    for key, (x, y, predicted) in expected.items():
        ex, ey, ep = exported[key]
        assert abs(ex - x) < 1e-3 and abs(ey - y) < 1e-3 and ep == predicted, (key, exported[key], expected[key])


def test_continue_from_a_corrected_frame_keeps_the_past_and_follows_the_correction(
        linux_zip, synthetic_clip, tmp_path):
    video, truth = synthetic_clip
    k = 30  # scene frame offset of the correction inside the clip
    body = f'''
result = {{"first": track(restart=True)}}
before = dump(clip)
names = sorted(before)
# the user renames one track (any name must work as a seed) and swaps two identities at frame k
a, b = names[0], names[1]
clip.tracking.tracks[b].name = "Track.001"
b = "Track.001"
kf = CLIP_START + {k}
marker_frame = kf - clip.frame_start + 1
ma = clip.tracking.tracks[a].markers.find_frame(marker_frame, exact=True)
mb = clip.tracking.tracks[b].markers.find_frame(marker_frame, exact=True)
ma.co, mb.co = tuple(mb.co), tuple(ma.co)
ma.mute = mb.mute = False
corrected = dump(clip)
scene.frame_current = kf
result["second"] = track(restart=False)
result.update(before=before, corrected=corrected, after=dump(clip), a=a, b=b, kf=kf,
              renamed_from=names[1])
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["first"] == ["FINISHED"] and r["second"] == ["FINISHED"]
    corrected, after, kf = r["corrected"], r["after"], r["kf"]
    assert sorted(after) == sorted(corrected)  # no new track appeared, none was lost
    for name in corrected:
        past_before = [m for m in corrected[name] if m[0] <= kf]
        past_after = [m for m in after[name] if m[0] <= kf]
        assert len(past_after) == len(past_before), name  # untouched up to and at k
        assert np.allclose(np.array(past_after, float), np.array(past_before, float), atol=1e-4), name
    # after k, track a follows the animal b followed before the correction, and vice versa
    old = {n: {m[0]: m[1:3] for m in ms if not m[3]} for n, ms in r["before"].items()}
    new = {n: {m[0]: m[1:3] for m in ms if not m[3]} for n, ms in after.items()}
    pairs = ((r["a"], r["renamed_from"]), (r["b"], r["a"]))
    for new_name, old_name in pairs:
        later = [f for f in range(kf + 1, kf + 15) if f in new[new_name] and f in old[old_name]]
        assert len(later) >= 10, (new_name, later)
        d = [np.hypot(*(np.subtract(new[new_name][f], old[old_name][f]))) for f in later]
        assert max(d) < 1.0, (new_name, old_name, d)


def test_failed_run_changes_nothing_and_a_stopped_run_is_consistent(linux_zip, synthetic_clip, tmp_path):
    video, _ = synthetic_clip
    body = '''
result = {"first": track(restart=True)}
before = dump(clip)
props.detector = "YOLO"
props.model_path = "/no/such/model.onnx"
result["bad_model"] = track(restart=True)
result["unchanged_after_error"] = dump(clip) == before
# a stop after a few frames (what Esc does in the modal loop): the job writes what it has
props.detector = "BACKGROUND"
props.model_path = ""
from importlib import import_module
job_module = import_module(mod.__name__ + ".blender.tracking_job")
with clip_editor(clip):
    job = job_module.BlenderTrackingJob(bpy.context, clip, restart=True)
    while job.progress is None or job.progress.done < 12:
        job.step(0.0)
    job.write_results()
    job.close()
result["stopped_done"] = job.progress.done
result["stopped"] = dump(clip)
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["first"] == ["FINISHED"]
    assert "model" in r["bad_model"] and "no/such/model.onnx" in r["bad_model"], r["bad_model"]
    assert "Traceback" not in r["bad_model"]
    assert r["unchanged_after_error"]
    last_scene_frame = CLIP_START + r["stopped_done"] - 1
    stopped = r["stopped"]
    assert stopped, "a stopped run keeps the tracks found so far"
    for name, ms in stopped.items():
        enabled = [m[0] for m in ms if not m[3]]
        assert enabled and max(enabled) <= last_scene_frame, (name, enabled[-3:])
        frames = [m[0] for m in ms]
        assert frames == sorted(frames) and max(frames) <= last_scene_frame + 1


def test_mask_with_curved_exclusion_removes_the_animals_inside(linux_zip, synthetic_clip, tmp_path):
    video, truth = synthetic_clip
    # a circle of radius 60 px, drawn with four Bezier points, around where an animal is mid-clip
    mid = (truth.frame == N_FRAMES // 2) & (truth.id == 0)
    cx, cy, radius = float(truth.x[mid][0]), float(truth.y[mid][0]), 60.0
    body = f"cx, cy, radius = {cx}, {cy}, {radius}\n" + '''
w, h = clip.size
mask = bpy.data.masks.new(name="arena")
layer = mask.layers.new(name="hole")
layer.blend = "MERGE_SUBTRACT"
spline = layer.splines.new()
spline.use_cyclic = True
spline.points.add(4 - len(spline.points))
k = 0.5523
def to_mask(px, py):
    # pixels (top-left) -> mask space (square, bottom-left; y squeezed around 0.5 on wide frames)
    u, v = px / w, 1 - py / h
    return (u, (v - 0.5) * h / w + 0.5)
for point, (dx, dy, hx, hy) in zip(spline.points, [(1, 0, 0, -1), (0, -1, -1, 0), (-1, 0, 0, 1), (0, 1, 1, 0)]):
    point.co = to_mask(cx + radius * dx, cy + radius * dy)
    point.handle_left = to_mask(cx + radius * (dx - k * hx), cy + radius * (dy - k * hy))
    point.handle_right = to_mask(cx + radius * (dx + k * hx), cy + radius * (dy + k * hy))
props.mask = mask
result = {"status": track(restart=True), "markers": dump(clip), "size": [w, h]}
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["status"] == ["FINISHED"]
    inside = 0
    for ms in r["markers"].values():
        for scene_frame, x, y, muted in ms:
            if not muted:
                inside += np.hypot(x - cx, y - cy) < radius - 1.0
    assert inside == 0
    # ... although animals did walk there, also near the circle's diagonals (outside the 4-point polygon)
    d = np.hypot(truth.x - cx, truth.y - cy)
    assert (d < radius - 5).sum() > 20
    diagonal = np.abs(np.abs(truth.x - cx) - np.abs(truth.y - cy)) < 20
    assert ((d > 0.75 * radius) & (d < radius - 3) & diagonal).sum() > 3
    # animals outside the circle are still tracked
    outside = d > radius + 20
    detected = sum(1 for ms in r["markers"].values() for m in ms if not m[3])
    assert detected >= 0.8 * outside.sum()


def test_swap_identities_from_a_frame_and_undo_restores_each_step(linux_zip, synthetic_clip, tmp_path):
    video, _ = synthetic_clip
    # Operators called from Python push no undo step (Blender leaves that to the caller); a click in the
    # UI pushes one after every operator registered with UNDO, as these undo_push calls do here.
    body = '''
bpy.ops.ed.undo_push(message="clip loaded")
result = {"status": track(restart=True)}
result["undo_flags"] = [sorted(getattr(bpy.types, n).bl_options) for n in ("OMNITRAX_OT_track", "OMNITRAX_OT_swap_tracks")]
bpy.ops.ed.undo_push(message="Track Animals")
tracked = dump(clip)
a, b = sorted(tracked)[:2]
for t in clip.tracking.tracks:
    t.select = t.name in (a, b)
scene.frame_current = CLIP_START + 40
with clip_editor(clip):
    result["swap"] = sorted(bpy.ops.omnitrax.swap_tracks())
swapped = dump(clip)
bpy.ops.ed.undo_push(message="Swap Identities")
bpy.ops.ed.undo()
clip = bpy.data.movieclips[0]
after_first_undo = dump(clip)
bpy.ops.ed.undo()
clip = bpy.data.movieclips[0]
result.update(tracked=tracked, swapped=swapped, after_first_undo=after_first_undo, after_second_undo=dump(clip),
              a=a, b=b, k=CLIP_START + 40)
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["status"] == ["FINISHED"] and r["swap"] == ["FINISHED"]
    assert all("UNDO" in flags for flags in r["undo_flags"])
    tracked, swapped, a, b, k = r["tracked"], r["swapped"], r["a"], r["b"], r["k"]
    for name, other in ((a, b), (b, a)):
        assert [m for m in swapped[name] if m[0] < k] == [m for m in tracked[name] if m[0] < k]
        assert [m for m in swapped[name] if m[0] >= k] == [m for m in tracked[other] if m[0] >= k]
    assert r["after_first_undo"] == tracked  # Ctrl-Z undoes the swap ...
    assert r["after_second_undo"] == {}  # ... and then the whole tracking run


def test_markers_sit_on_the_animals_in_the_image_blender_shows(linux_zip, synthetic_clip, tmp_path):
    """With frame_start and frame_offset both set, render what Blender shows at some scene frames (the
    compositor's Movie Clip node), find which video frame that is, and check the markers there."""
    import cv2

    from omnitrax.video import VideoSource

    video, truth = synthetic_clip
    offset, scene_frames = 3, [CLIP_START, CLIP_START + 40, CLIP_START + N_FRAMES - 4]
    body = f'''
clip.frame_offset = {offset}
scene.frame_end = CLIP_START + clip.frame_duration - 1 - {offset}
result = {{"status": track(restart=True), "markers": dump(clip), "duration": clip.frame_duration}}
scene.render.resolution_x, scene.render.resolution_y = clip.size
scene.render.resolution_percentage = 100
scene.view_settings.view_transform = "Standard"
tree = bpy.data.node_groups.new("show clip", "CompositorNodeTree")
scene.compositing_node_group = tree
node = tree.nodes.new("CompositorNodeMovieClip")
node.clip = clip
tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
tree.links.new(node.outputs["Image"], tree.nodes.new("NodeGroupOutput").inputs[0])
scene.render.use_compositing = True
scene.render.image_settings.file_format = "PNG"
for f in {scene_frames}:
    scene.frame_set(f)
    scene.render.filepath = {str(tmp_path)!r} + f"/shown_{{f}}.png"
    bpy.ops.render.render(write_still=True)
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["status"] == ["FINISHED"]
    with VideoSource(video) as source:
        frames = [cv2.cvtColor(source.read(i), cv2.COLOR_BGR2GRAY).astype(float) for i in range(N_FRAMES)]

    def correlation(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    markers = r["markers"]
    assignment, _ = _match_tracks_to_animals(
        {n: [[m[0] + offset, *m[1:]] for m in ms] for n, ms in markers.items()}, truth)
    checked = 0
    for f in scene_frames:
        shown = cv2.cvtColor(cv2.imread(str(tmp_path / f"shown_{f}.png")), cv2.COLOR_BGR2GRAY).astype(float)
        scores = [correlation(shown, frame) for frame in frames]
        video_index = int(np.argmax(scores))
        assert video_index == f - CLIP_START + offset, (f, video_index)
        assert scores[video_index] > max(np.delete(scores, video_index)) + 0.02
        for name, aid in assignment.items():
            here = [m for m in markers[name] if m[0] == f and not m[3]]
            sel = (truth.frame == video_index) & (truth.id == aid)
            if here and _isolated(truth, video_index, aid):
                assert np.hypot(here[0][1] - truth.x[sel][0], here[0][2] - truth.y[sel][0]) < 1.0, (f, name)
                checked += 1
    assert checked >= 2 * N_ANIMALS


def test_modal_loop_shows_markers_live_and_esc_keeps_what_was_tracked(linux_zip, synthetic_clip, tmp_path):
    """The operator's modal() driven tick by tick as Blender's event loop would (timer events, then Esc);
    bpy without a window manager loop cannot deliver the events itself."""
    video, _ = synthetic_clip
    body = '''
import types
from importlib import import_module
operators = import_module(mod.__name__ + ".blender.operators.tracking")
job_module = import_module(mod.__name__ + ".blender.tracking_job")
job_module.LIVE_WRITE_INTERVAL = 0.0  # refresh the markers on every tick
Op = operators.OMNITRAX_OT_track
result = {"statuses": [], "live_tracks": []}
with clip_editor(clip):
    ctx = bpy.context
    reports = []
    op = types.SimpleNamespace(_job=job_module.BlenderTrackingJob(ctx, clip, True), _timer=None, _stopped=False,
                               report=lambda kind, text: reports.append((sorted(kind), text)))
    for name in ("_finish", "_fail", "_cleanup"):
        setattr(op, name, types.MethodType(getattr(Op, name), op))
    step = op._job.step
    op._job.step = lambda budget: step(0.0)  # one frame per tick, however fast this machine is
    ctx.window_manager.progress_begin(0, op._job.run.total)
    timer, esc, mouse = (types.SimpleNamespace(type=t) for t in ("TIMER", "ESC", "MOUSEMOVE"))
    result["mouse"] = sorted(Op.modal(op, ctx, mouse))
    for _ in range(6):  # min_length is 5: tracks show once they have 5 detections
        result["statuses"].append(sorted(Op.modal(op, ctx, timer)))
        result["live_tracks"].append(len(clip.tracking.tracks))
    result["done_before_esc"] = op._job.progress.done
    result["total"] = op._job.run.total
    result["esc"] = sorted(Op.modal(op, ctx, esc))
result["reports"] = reports
result["markers"] = dump(clip)
report(result)
'''
    r = run_in_blender(_script(body, linux_zip, video), tmp_path / "home")
    assert r["mouse"] == ["PASS_THROUGH"]  # the UI stays usable while tracking
    assert r["statuses"] == [["RUNNING_MODAL"]] * 6
    assert r["live_tracks"][3] == 0 and r["live_tracks"][5] == N_ANIMALS  # markers appear while it runs
    done = r["done_before_esc"]
    assert done == 6 and r["total"] == N_FRAMES
    assert r["esc"] == ["FINISHED"]
    assert r["reports"][-1][0] == ["WARNING"] and "stopped" in r["reports"][-1][1]
    last = CLIP_START + done - 1
    for name, ms in r["markers"].items():
        detected = [m[0] for m in ms if not m[3]]
        assert detected and max(detected) <= last, name  # nothing beyond the frames tracked
