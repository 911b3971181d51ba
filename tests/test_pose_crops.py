"""ROI boxes, crops and the crop -> frame mapping (no network needed)."""
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.pose.crops import extract, roi_boxes, to_frame


def test_constant_rois_are_square_on_the_pixel_grid_and_centred():
    rois = roi_boxes([[10, 20], [10.4, 3.0]], mode="constant", size=5)
    assert rois.shape == (2, 4)
    np.testing.assert_array_equal(rois[:, 2], [5, 5])
    np.testing.assert_array_equal(rois[:, 3], [5, 5])
    # odd size: pixels 8..12 around x=10, i.e. edges at 7.5 and 12.5
    np.testing.assert_allclose(rois[0], [7.5, 17.5, 5, 5])
    assert np.all((rois[:, :2] + 0.5) % 1 == 0)  # edges on pixel edges
    # even size: the centre is as near as the grid allows (within half a pixel)
    even = roi_boxes([[10, 20]], size=4)[0]
    assert abs(even[0] + 2 - 10) <= 0.5 and abs(even[1] + 2 - 20) <= 0.5


def test_box_rois_grow_by_padding_take_the_longer_side_and_fall_back_to_size():
    xy = [[50, 50], [80, 40]]
    boxes = [[40, 45, 20, 10], [0, 0, 0, 0]]  # second box unknown
    rois = roi_boxes(xy, boxes, mode="box", size=33, padding=3)
    np.testing.assert_array_equal(rois[:, 2], [26, 33])
    np.testing.assert_array_equal(rois[:, 2], rois[:, 3])
    centre = rois[:, :2] + rois[:, 2:3] / 2
    assert np.all(np.abs(centre - np.array(xy)) <= 0.5)


def test_bad_parameters_raise_user_errors():
    with pytest.raises(OmniTraxError, match="ROI mode"):
        roi_boxes([[1, 1]], mode="circle")
    with pytest.raises(OmniTraxError, match="ROI size"):
        roi_boxes([[1, 1]], size=0)
    with pytest.raises(OmniTraxError, match="padding"):
        roi_boxes([[1, 1]], padding=-1)
    with pytest.raises(OmniTraxError, match="box"):
        roi_boxes([[1, 1]], mode="box")
    with pytest.raises(OmniTraxError, match="finite"):
        roi_boxes([[np.nan, 1]])
    with pytest.raises(OmniTraxError, match="Crop size"):
        extract(np.zeros((4, 4, 3), np.uint8), roi_boxes([[1, 1]], size=3), 0)


def test_same_size_crop_is_an_exact_copy_with_black_outside():
    rng = np.random.default_rng(0)
    frame = rng.integers(1, 256, (40, 60, 3), dtype=np.uint8)  # no zeros: black means "outside"
    rois = roi_boxes([[30, 20], [2, 1]], size=9)
    crops = extract(frame, rois, 9)
    assert crops.shape == (2, 9, 9, 3) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops[0], frame[16:25, 26:35])
    # the second ROI covers x -2..6, y -3..5: black where it leaves the frame
    np.testing.assert_array_equal(crops[1][3:, 2:], frame[0:6, 0:7])
    assert not crops[1][:3].any() and not crops[1][:, :2].any()
    gray = extract(frame[..., 0], rois, 9)
    assert gray.shape == (2, 9, 9)
    np.testing.assert_array_equal(gray[0], frame[16:25, 26:35, 0])


@pytest.mark.parametrize("roi_size,out_size", [(9, 9), (40, 20), (15, 60), (33, 32)])
def test_to_frame_inverts_the_crop_mapping(roi_size, out_size):
    """A bright spot at a known frame pixel is found at the mapped-back position in the crop."""
    frame = np.zeros((100, 120), np.uint8)
    spot = (37, 61)  # x, y in frame pixels
    frame[spot[1], spot[0]] = 255
    rois = roi_boxes([[40.3, 58.8]], size=roi_size)
    crop = extract(frame.astype(np.float32), rois, out_size)[0]
    # the spot's crop position, predicted from the inverse mapping ...
    k = out_size / roi_size
    expected_crop = [(spot[0] - rois[0, 0]) * k - 0.5, (spot[1] - rois[0, 1]) * k - 0.5]
    # ... matches the intensity-weighted centroid of what extract produced (bilinear spreading)
    ys, xs = np.nonzero(crop)
    w = crop[ys, xs]
    centroid = [np.sum(xs * w) / w.sum(), np.sum(ys * w) / w.sum()]
    np.testing.assert_allclose(centroid, expected_crop, atol=0.5 * max(k, 1))
    back = to_frame(np.array([[expected_crop + [0.9]]]), rois, out_size)
    np.testing.assert_allclose(back[0, 0], [spot[0], spot[1], 0.9], atol=1e-9)


def test_to_frame_known_values_and_shape_checks():
    rois = np.array([[-0.5, -0.5, 10, 10], [9.5, 19.5, 20, 20]])
    kp = np.array([[[0.0, 0.0, 1.0]], [[0.0, 9.0, 0.5]]])
    out = to_frame(kp, rois, 10)
    np.testing.assert_allclose(out[0, 0], [0, 0, 1])  # same scale, ROI at the origin
    np.testing.assert_allclose(out[1, 0], [9.5 + 0.5 * 2, 19.5 + 9.5 * 2, 0.5])
    assert kp[1, 0, 0] == 0.0  # input untouched
    with pytest.raises(ValueError):
        to_frame(kp, rois[:1], 10)
