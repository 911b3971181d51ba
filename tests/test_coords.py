"""Frame and coordinate conversions between Blender and the core (pure functions, no Blender)."""
import numpy as np
import pytest

from omnitrax.blender.coords import ClipFrames, box_size_to_marker, marker_to_pixels, pixels_to_marker
from omnitrax.blender.masks import bezier_outline, mask_to_frame


@pytest.mark.parametrize("start,offset", [(1, 0), (101, 0), (1, 7), (-5, 3)])
def test_frame_maps_are_consistent(start, offset):
    f = ClipFrames(start, offset)
    video = np.arange(0, 50)
    scene = f.scene_from_video(video)
    marker = f.marker_from_video(video)
    assert np.array_equal(f.video_from_scene(scene), video)
    assert np.array_equal(f.video_from_marker(marker), video)
    assert np.array_equal(f.marker_from_scene(scene), marker)
    # Blender shows video frame `frame_offset` at the clip's first scene frame
    assert f.video_from_scene(start) == offset
    # and markers of the clip's first frame are at clip frame 1
    assert f.marker_from_scene(start) == 1


def test_pixel_marker_round_trip_and_orientation():
    w, h = 640, 480
    xy = np.array([[0.0, 0.0], [639.0, 479.0], [320.25, 100.5]])
    co = pixels_to_marker(xy, w, h)
    # top-left pixel centre is near (0, 1) in Blender's bottom-left normalised space
    assert co[0, 0] == pytest.approx(0.5 / w) and co[0, 1] == pytest.approx(1 - 0.5 / h)
    assert co[1, 0] == pytest.approx(1 - 0.5 / w) and co[1, 1] == pytest.approx(0.5 / h)
    assert np.allclose(marker_to_pixels(co, w, h), xy)
    assert np.allclose(box_size_to_marker([[64, 48]], w, h), [[0.1, 0.1]])


def test_mask_space_is_square_on_wide_and_tall_frames():
    # mask space squeezes the long axis' partner around 0.5: the frame's top edge of a 2:1 frame is 0.75
    assert np.allclose(mask_to_frame([[0.5, 0.75]], 200, 100), [[0.5, 1.0]])
    assert np.allclose(mask_to_frame([[0.25, 0.5]], 100, 200), [[0.0, 0.5]])
    assert np.allclose(mask_to_frame([[0.3, 0.7]], 100, 100), [[0.3, 0.7]])


def test_bezier_outline_follows_a_circle():
    # four points with handles approximating a unit circle (k = 0.5523)
    k = 0.5523
    pts = [((1, 0), (1, k), (1, -k)), ((0, 1), (-k, 1), (k, 1)),
           ((-1, 0), (-1, -k), (-1, k)), ((0, -1), (k, -1), (-k, -1))]
    outline = bezier_outline(pts, cyclic=True, samples=16)
    assert len(outline) == 64
    radius = np.hypot(outline[:, 0], outline[:, 1])
    assert np.allclose(radius, 1.0, atol=0.002)
