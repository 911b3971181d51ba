"""Clip Editor overlay (omnitrax/blender/overlay.py): geometry from real markers, layers, registration.

The geometry is checked against positions computed here by hand (pixel box -> normalised marker co ->
region pixels of a Clip Editor view with zoom and pan), not with the module's own helpers. Blender
runs in background mode (no GPU), so drawing itself cannot run; the tests check that it is not tried.
"""
import numpy as np
import pytest

from blender_harness import run_scenario

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


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    from omnitrax.testclips import render_clip

    video = tmp_path_factory.mktemp("overlay_clip") / "ants.avi"
    render_clip(video, n_frames=N_FRAMES, seed=3, n_animals=3, width=W, height=H)
    return video


def _region_px(x, y):
    """Hand-made oracle: top-left pixel (x, y) -> region pixels of the Clip Editor view used here
    (frame centred in the region, scaled by ZOOM, panned by PAN; region origin bottom-left)."""
    u, v = (x + 0.5) / W, 1 - (y + 0.5) / H
    left = (REGION[0] - ZOOM * W) / 2 - ZOOM * PAN[0]
    bottom = (REGION[1] - ZOOM * H) / 2 - ZOOM * PAN[1]
    return left + u * ZOOM * W, bottom + v * ZOOM * H


def _scenario(function, linux_zip, video, tmp_path_factory, **params):
    return run_scenario("overlay", function, tmp_path_factory.mktemp("home_" + function), zip_path=str(linux_zip),
                        video=str(video), clip_start=CLIP_START, tracks=TRACKS, video_frame=VIDEO_FRAME, **params)


# --- boxes and labels at the current frame ---------------------------------------------------------------

@pytest.fixture(scope="module")
def geometry(linux_zip, small_clip, tmp_path_factory):
    """The overlay at the scene frame showing video frame VIDEO_FRAME (the clip starts at scene frame 5)."""
    return _scenario("geometry_at_frame", linux_zip, small_clip, tmp_path_factory, region=list(REGION), zoom=ZOOM,
                     pan=list(PAN))


def _box(r, name):
    """What the overlay drew for one track, next to its box corners computed by hand."""
    labels = {text: (x, y, rgba) for text, x, y, rgba in r["labels"]}
    lines = np.array(r["lines"]).reshape(-1, 2, 2)
    colors = np.array(r["colors"]).reshape(-1, 2, 4)
    x, y, bw, bh, muted = TRACKS[name][0][VIDEO_FRAME]
    # box corners in region pixels (top-left pixel box -> y flips: top edge has the larger y)
    x0, y1 = _region_px(x - bw / 2, y - bh / 2)
    x1, y0 = _region_px(x + bw / 2, y + bh / 2)
    lx, ly, rgba = labels[name]
    # this track's line pieces
    mine = np.all(np.isclose(colors[:, 0, :], rgba, atol=1e-5), axis=1)
    pts = lines[mine].reshape(-1, 2)
    on_box = ((np.isclose(pts[:, 0], x0, atol=1e-3) | np.isclose(pts[:, 0], x1, atol=1e-3))
              & (pts[:, 1] > y0 - 1e-3) & (pts[:, 1] < y1 + 1e-3)) | \
             ((np.isclose(pts[:, 1], y0, atol=1e-3) | np.isclose(pts[:, 1], y1, atol=1e-3))
              & (pts[:, 0] > x0 - 1e-3) & (pts[:, 0] < x1 + 1e-3))
    on_outset = ((np.isclose(pts[:, 0], x0 - 2, atol=1e-3) | np.isclose(pts[:, 0], x1 + 2, atol=1e-3))
                 | (np.isclose(pts[:, 1], y0 - 2, atol=1e-3) | np.isclose(pts[:, 1], y1 + 2, atol=1e-3)))
    return dict(x0=x0, x1=x1, y0=y0, y1=y1, lx=lx, ly=ly, rgba=rgba, mine=mine, pts=pts, lines=lines[mine],
                on_box=on_box, on_outset=on_outset)


def test_overlay_uses_the_clip_frame_start_and_size(geometry):
    assert geometry["frame_start"] == CLIP_START and geometry["size"] == [W, H]


def test_only_visible_tracks_with_a_marker_at_the_frame_are_drawn(geometry):
    # tracks without a marker at the frame and hidden tracks are left out; muted and selection flagged
    assert geometry["markers"] == [["ant_a", False, True], ["ant_b", True, False]]


def test_each_drawn_track_gets_a_label(geometry):
    assert sorted(text for text, *_ in geometry["labels"]) == ["ant_a", "ant_b"]


@pytest.mark.parametrize("name", ["ant_a", "ant_b"])
def test_label_sits_just_right_of_and_above_the_box(geometry, name):
    b = _box(geometry, name)
    assert b["lx"] == pytest.approx(b["x1"] + 4.0, abs=1e-3) and b["ly"] == pytest.approx(b["y1"] + 3.0, abs=1e-3)


@pytest.mark.parametrize("name", ["ant_a", "ant_b"])
def test_box_lines_lie_on_the_marker_box_and_reach_its_corners(geometry, name):
    # every end point lies on its box outline (or the 2 px outset box), and the four corners are reached
    b = _box(geometry, name)
    pts = b["pts"]
    assert len(pts) >= 8
    assert np.all(b["on_box"] | b["on_outset"]), name
    for corner in ((b["x0"], b["y0"]), (b["x1"], b["y0"]), (b["x1"], b["y1"]), (b["x0"], b["y1"])):
        assert np.min(np.hypot(*(pts - corner).T)) < 1e-3, (name, corner)


def test_selected_box_is_solid_and_opaque_with_an_outset_box(geometry):
    b = _box(geometry, "ant_a")
    assert b["mine"].sum() == 8 and b["rgba"][3] == 1.0 and b["on_outset"].any()


def test_muted_box_is_dim_and_dashed(geometry):
    # muted: dimmer and dashed (many short pieces whose lengths are at most one dash)
    b = _box(geometry, "ant_b")
    assert b["rgba"][3] < 0.5 and b["mine"].sum() > 8 and not b["on_outset"].any()
    piece = np.hypot(*(b["lines"][:, 1] - b["lines"][:, 0]).T)
    assert piece.max() <= 5.0 + 1e-3
    # dashes cover just over half the perimeter (5 px dash, 4 px gap)
    perimeter = 2 * ((b["x1"] - b["x0"]) + (b["y1"] - b["y0"]))
    assert 0.5 * perimeter < piece.sum() < 0.65 * perimeter


def test_one_frame_later_only_the_moving_track_is_drawn_where_it_moved(geometry):
    assert [label[0] for label in geometry["next_labels"]] == ["ant_a"]
    x, y, bw, bh, _ = TRACKS["ant_a"][0][VIDEO_FRAME + 1]
    rx, ry = _region_px(x + bw / 2, y - bh / 2)
    assert geometry["next_labels"][0][1] == pytest.approx(rx + 4.0, abs=1e-3)
    assert geometry["next_labels"][0][2] == pytest.approx(ry + 3.0, abs=1e-3)


# --- registration, layers, no drawing in background mode -------------------------------------------------

@pytest.fixture(scope="module")
def registered(linux_zip, small_clip, tmp_path_factory):
    return _scenario("register_layers_in_background", linux_zip, small_clip, tmp_path_factory)


def test_blender_runs_in_background_mode(registered):
    assert registered["background"] is True


def test_register_twice_replaces_the_draw_handler(registered):
    r = registered
    assert r["distinct"] and r["first_alive_after_second_register"] is False and r["second_alive"] is True


def test_the_enabled_addon_has_the_tracks_and_pose_layers(registered):
    assert registered["layers"] == ["tracks", "pose"]  # the enabled add-on's skeleton layer is there too


def test_layers_are_ordered(registered):
    assert registered["layers_with_pose"] == ["tracks", "broken", "pose", "skeleton"]


def test_collect_gathers_every_layers_shapes(registered):
    # tracks layer: 2 boxes at video frame 3 (4 segments each) + the selected one's outset box;
    # skeleton layer: 1 segment and 1 point; the broken layer adds nothing and raises nothing
    r = registered
    assert r["collected_segments"] == 4 + 4 + 4 + 1
    assert r["collected_points"] == [[0.5, 0.5]]
    assert r["collected_labels"] == ["ant_a", "ant_b"]


def test_a_broken_layer_is_reported_once(registered):
    assert len(registered["reported"]) == 1 and "boom" in registered["reported"][0]


def test_nothing_is_drawn_in_background_mode(registered):
    r = registered
    assert r["draw_in_background"] == "background" and r["draws"] == 0
    assert r["transform_of_undrawn_region"] is None and r["frame_geometry"] is True


def test_unregister_removes_the_handler_and_the_pose_layer(registered):
    r = registered
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
