"""Clip Editor overlay (omnitrax/blender/overlay.py): geometry from real markers, layers, registration.

The geometry is checked against positions computed here by hand (pixel box -> normalised marker co ->
region pixels of a Clip Editor view with zoom and pan), not with the module's own helpers. Blender
runs in background mode (no GPU), so drawing itself cannot run; the tests check that it is not tried.
"""
import numpy as np
import pytest

from blender_harness import run_in_blender

W, H, N_FRAMES, CLIP_START = 320, 240, 12, 5
REGION, ZOOM, PAN = (800, 600), 1.5, (10.0, -20.0)  # pan in frame pixels, as SpaceClip xof / yof
# name: (video frame -> (x px, y px, box w px, box h px, muted)), hidden
TRACKS = {
    "ant_a": ({3: (100.0, 50.0, 20.0, 10.0, False), 4: (110.0, 52.0, 20.0, 10.0, False)}, False),
    "ant_b": ({3: (200.0, 180.0, 30.0, 30.0, True)}, False),  # predicted (muted) at frame 3
    "ant_c": ({6: (60.0, 60.0, 16.0, 16.0, False)}, False),  # no marker at frame 3
    "ant_hidden": ({3: (40.0, 40.0, 10.0, 10.0, False)}, True),
}
VIDEO_FRAME = 3

SETUP = '''
mod = install(ZIP)
import importlib
overlay = importlib.import_module(mod.__name__ + ".blender.overlay")  # the installed copy
clip = bpy.data.movieclips.load(VIDEO)
clip.frame_start = CLIP_START
scene = bpy.context.scene
W, H = clip.size
for name, (frames, hidden) in TRACKS.items():
    track = None
    for video_frame, (x, y, bw, bh, muted) in frames.items():
        marker_frame = video_frame + 1  # frame_offset 0: clip frame 1 is video frame 0
        co = ((x + 0.5) / W, 1 - (y + 0.5) / H)
        if track is None:
            track = clip.tracking.tracks.new(name=name, frame=marker_frame)
            track.markers.find_frame(marker_frame, exact=True).co = co
        else:
            track.markers.insert_frame(marker_frame, co=co)
        m = track.markers.find_frame(marker_frame, exact=True)
        hw, hh = bw / 2 / W, bh / 2 / H
        m.pattern_corners = ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))
        m.mute = muted
    track.hide = hidden
    track.select = name == "ant_a"
    track.color = {"ant_a": (1, 0, 0), "ant_b": (0, 0, 1)}.get(name, (0, 1, 0))
    track.use_custom_color = True
'''


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    from omnitrax.synthetic import render_clip

    video = tmp_path_factory.mktemp("overlay_clip") / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=3, n_animals=3, width=W, height=H)
    return video


def _script(body, zip_path, video):
    return (f"ZIP = {str(zip_path)!r}\nVIDEO = {str(video)!r}\nCLIP_START = {CLIP_START}\n"
            f"TRACKS = {TRACKS!r}\n" + SETUP + body)


def _region_px(x, y):
    """Hand-made oracle: top-left pixel (x, y) -> region pixels of the Clip Editor view used here
    (frame centred in the region, scaled by ZOOM, panned by PAN; region origin bottom-left)."""
    u, v = (x + 0.5) / W, 1 - (y + 0.5) / H
    left = (REGION[0] - ZOOM * W) / 2 - ZOOM * PAN[0]
    bottom = (REGION[1] - ZOOM * H) / 2 - ZOOM * PAN[1]
    return left + u * ZOOM * W, bottom + v * ZOOM * H


def test_boxes_and_labels_sit_on_the_markers_of_the_current_frame(linux_zip, small_clip, tmp_path):
    body = f'''
scene_frame = {VIDEO_FRAME} + CLIP_START  # shows video frame {VIDEO_FRAME} (clip starts at scene frame 5)
frames = importlib.import_module(mod.__name__ + ".blender.coords").ClipFrames.of(clip)
transform = overlay.ViewTransform.centred({REGION}, (W, H), zoom={ZOOM}, pan={PAN})
markers = overlay.tracks_at_frame(clip, scene_frame)
geometry = overlay.overlay_lines(markers, transform)
next_frame = overlay.overlay_lines(overlay.tracks_at_frame(clip, scene_frame + 1), transform)
report({{"frame_start": frames.frame_start, "size": [W, H],
         "markers": [[m.name, m.muted, m.selected] for m in markers],
         "lines": geometry.lines.tolist(), "colors": geometry.line_colors.tolist(),
         "labels": geometry.labels, "next_labels": next_frame.labels,
         "transform": [transform.scale_x, transform.scale_y, transform.offset_x, transform.offset_y]}})
'''
    r = run_in_blender(_script(body, linux_zip, small_clip), tmp_path / "home")
    assert r["frame_start"] == CLIP_START and r["size"] == [W, H]
    # tracks without a marker at the frame and hidden tracks are left out; muted and selection flagged
    assert r["markers"] == [["ant_a", False, True], ["ant_b", True, False]]
    labels = {text: (x, y, rgba) for text, x, y, rgba in r["labels"]}
    assert sorted(labels) == ["ant_a", "ant_b"]
    lines = np.array(r["lines"]).reshape(-1, 2, 2)
    colors = np.array(r["colors"]).reshape(-1, 2, 4)

    for name in ("ant_a", "ant_b"):
        x, y, bw, bh, muted = TRACKS[name][0][VIDEO_FRAME]
        # box corners in region pixels (top-left pixel box -> y flips: top edge has the larger y)
        x0, y1 = _region_px(x - bw / 2, y - bh / 2)
        x1, y0 = _region_px(x + bw / 2, y + bh / 2)
        # label anchored just right of / above the box's top-right corner
        lx, ly, rgba = labels[name]
        assert lx == pytest.approx(x1 + 4.0, abs=1e-3) and ly == pytest.approx(y1 + 3.0, abs=1e-3)
        # this track's line pieces: every end point lies on its box outline (or the 2 px outset box)
        mine = np.all(np.isclose(colors[:, 0, :], rgba, atol=1e-5), axis=1)
        pts = lines[mine].reshape(-1, 2)
        assert len(pts) >= 8
        on_box = ((np.isclose(pts[:, 0], x0, atol=1e-3) | np.isclose(pts[:, 0], x1, atol=1e-3))
                  & (pts[:, 1] > y0 - 1e-3) & (pts[:, 1] < y1 + 1e-3)) | \
                 ((np.isclose(pts[:, 1], y0, atol=1e-3) | np.isclose(pts[:, 1], y1, atol=1e-3))
                  & (pts[:, 0] > x0 - 1e-3) & (pts[:, 0] < x1 + 1e-3))
        on_outset = ((np.isclose(pts[:, 0], x0 - 2, atol=1e-3) | np.isclose(pts[:, 0], x1 + 2, atol=1e-3))
                     | (np.isclose(pts[:, 1], y0 - 2, atol=1e-3) | np.isclose(pts[:, 1], y1 + 2, atol=1e-3)))
        assert np.all(on_box | on_outset), name
        # the four corners are reached
        for corner in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            assert np.min(np.hypot(*(pts - corner).T)) < 1e-3, (name, corner)
        if name == "ant_a":  # selected: solid, opaque, and a second box 2 px outside
            assert mine.sum() == 8 and rgba[3] == 1.0 and on_outset.any()
        else:  # muted: dimmer and dashed (many short pieces whose lengths are at most one dash)
            assert rgba[3] < 0.5 and mine.sum() > 8 and not on_outset.any()
            piece = np.hypot(*(lines[mine][:, 1] - lines[mine][:, 0]).T)
            assert piece.max() <= 5.0 + 1e-3
            # dashes cover just over half the perimeter (5 px dash, 4 px gap)
            perimeter = 2 * ((x1 - x0) + (y1 - y0))
            assert 0.5 * perimeter < piece.sum() < 0.65 * perimeter

    # one frame later only ant_a has a marker, and it moved with it
    assert [label[0] for label in r["next_labels"]] == ["ant_a"]
    x, y, bw, bh, _ = TRACKS["ant_a"][0][VIDEO_FRAME + 1]
    rx, ry = _region_px(x + bw / 2, y - bh / 2)
    assert r["next_labels"][0][1] == pytest.approx(rx + 4.0, abs=1e-3)
    assert r["next_labels"][0][2] == pytest.approx(ry + 3.0, abs=1e-3)


def test_register_once_layers_and_no_drawing_in_background(linux_zip, small_clip, tmp_path):
    body = '''
r = {"background": bpy.app.background}
ClipEditor = bpy.types.SpaceClipEditor

def alive(handle):
    """A handle is registered iff removing it works; re-add is not needed after this probe."""
    try:
        ClipEditor.draw_handler_remove(handle, "WINDOW")
        return True
    except ValueError:
        return False

overlay.register()
h1 = overlay.handler_handle()
overlay.register()  # a second register (add-on reload) replaces, never duplicates
h2 = overlay.handler_handle()
r["distinct"] = h1 is not h2
r["first_alive_after_second_register"] = alive(h1)
r["second_alive"] = alive(h2)  # probing removes it: register again
overlay.register()
h3 = overlay.handler_handle()
r["layers"] = overlay.layer_names()

# a second layer (as the pose feature will add) and one that fails
def skeleton(context, clip, scene_frame):
    return overlay.Shapes(segments=[[[0.25, 0.25], [0.75, 0.75]]], segment_colors=[[1, 1, 1, 1]],
                          points=[[0.5, 0.5]], point_colors=[[1, 0, 0, 1]])
def broken(context, clip, scene_frame):
    raise RuntimeError("boom")
overlay.register_layer("skeleton", skeleton, order=10)
overlay.register_layer("broken", broken, order=5)
r["layers_with_pose"] = overlay.layer_names()
scene.omnitrax.show_overlay = True
with clip_editor(clip):
    shapes = overlay.collect(bpy.context, clip, 3 + CLIP_START)
    shapes_again = overlay.collect(bpy.context, clip, 3 + CLIP_START)  # broken layer: skipped again
    r["collected_segments"] = len(shapes.segments)
    r["collected_points"] = shapes.points.tolist()
    r["collected_labels"] = [label.text for label in shapes.labels]
    r["draw_in_background"] = overlay.draw_callback()
    region = bpy.context.region
    r["transform_of_undrawn_region"] = overlay.ViewTransform.from_region(region)
    r["frame_geometry"] = overlay.frame_geometry(bpy.context) is None
r["reported"] = sorted(overlay._state().reported)
r["draws"] = overlay._state().draws
overlay.unregister_layer("skeleton")
overlay.unregister_layer("broken")

overlay.unregister()
r["handle_after_unregister"] = overlay.handler_handle()
r["third_alive_after_unregister"] = alive(h3)
r["layers_after_unregister"] = overlay.layer_names()
overlay.unregister()  # harmless twice
report(r)
'''
    r = run_in_blender(_script(body, linux_zip, small_clip), tmp_path / "home")
    assert r["background"] is True
    assert r["distinct"] and r["first_alive_after_second_register"] is False and r["second_alive"] is True
    assert r["layers"] == ["tracks", "pose"]  # the enabled add-on's skeleton layer is there too
    assert r["layers_with_pose"] == ["tracks", "broken", "pose", "skeleton"]
    # tracks layer: 2 boxes at video frame 3 (4 segments each) + the selected one's outset box;
    # skeleton layer: 1 segment and 1 point; the broken layer adds nothing and raises nothing
    assert r["collected_segments"] == 4 + 4 + 4 + 1
    assert r["collected_points"] == [[0.5, 0.5]]
    assert r["collected_labels"] == ["ant_a", "ant_b"]
    assert len(r["reported"]) == 1 and "boom" in r["reported"][0]
    assert r["draw_in_background"] == "background" and r["draws"] == 0
    assert r["transform_of_undrawn_region"] is None and r["frame_geometry"] is True
    assert r["handle_after_unregister"] is None and r["third_alive_after_unregister"] is False
    assert r["layers_after_unregister"] == ["pose"]  # the add-on's own pose layer leaves with the add-on


def test_dashes_and_view_transform_without_blender():
    from omnitrax.blender.overlay import Shapes, ViewTransform, to_region

    t = ViewTransform.centred(REGION, (W, H), zoom=ZOOM, pan=PAN)
    assert t.apply([[0.0, 0.0]])[0] == pytest.approx(_region_px(-0.5, H - 0.5))
    assert t.apply([[1.0, 1.0]])[0] == pytest.approx(_region_px(W - 0.5, -0.5))
    # a 90 px horizontal dashed segment -> 10 dashes of 5 px starting every 9 px, on the segment
    seg = [[[0.1, 0.5], [0.1 + 90 / (ZOOM * W), 0.5]]]
    g = to_region(Shapes(segments=seg, segment_colors=[[1, 0, 0, 0.5]], dashed=[True]), t)
    pieces = g.lines.reshape(-1, 2, 2)
    assert len(pieces) == 10
    start = t.apply([[0.1, 0.5]])[0]
    np.testing.assert_allclose(pieces[:, 0, 0] - start[0], np.arange(10) * 9.0, atol=1e-3)
    np.testing.assert_allclose(pieces[:, 1, 0] - pieces[:, 0, 0], 5.0, atol=1e-3)
    np.testing.assert_allclose(pieces[:, :, 1], start[1], atol=1e-3)
    assert g.line_colors.shape == (20, 4) and np.all(g.line_colors[:, 3] == 0.5)
