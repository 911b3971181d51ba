"""RegionMask: include/exclude polygons, concave outlines, rasters that agree with contains()."""
import cv2
import numpy as np
import pytest

from omnitrax.detection.detections import Detections
from omnitrax.detection.masks import RegionMask
from omnitrax.errors import OmniTraxError

ARENA = [(10, 10), (90, 10), (90, 70), (10, 70)]  # 80 x 60 rectangle
HOLE = [(40, 30), (60, 30), (60, 50), (40, 50)]
# a concave "U": two arms joined at the bottom
U_SHAPE = [(0, 0), (30, 0), (30, 60), (70, 60), (70, 0), (100, 0), (100, 100), (0, 100)]


def test_include_and_exclude():
    mask = RegionMask(include=[ARENA], exclude=[HOLE])
    inside = mask.contains([(20, 20), (50, 40), (5, 5), (89.5, 69.5), (95, 40), (39.5, 40)])
    assert inside.tolist() == [True, False, False, True, False, True]
    assert not mask.is_empty


def test_no_include_means_everywhere_but_the_exclusions():
    mask = RegionMask(exclude=[HOLE])
    assert mask.contains([(0, 0), (50, 40), (1000, -5)]).tolist() == [True, False, True]
    assert RegionMask().is_empty and RegionMask().contains([(3, 4)]).tolist() == [True]


def test_concave_polygon():
    mask = RegionMask(include=[U_SHAPE])
    # in the notch between the arms (outside), in each arm, in the base
    assert mask.contains([(50, 30), (15, 30), (85, 30), (50, 80)]).tolist() == [False, True, True, True]


def test_several_include_polygons_overlapping():
    mask = RegionMask(include=[ARENA, [(50, 20), (120, 20), (120, 60), (50, 60)]])
    assert mask.contains([(70, 40), (110, 40), (130, 40)]).tolist() == [True, True, False]
    image = mask.raster(140, 80)
    assert image[40, 70] == 255 and image[40, 110] == 255 and image[40, 130] == 0  # no hole in the overlap


def test_filter_keeps_detections_whose_centre_is_inside():
    detections = Detections(xy=[(20, 20), (50, 40), (95, 40)], boxes=[(15, 15, 10, 10), (45, 35, 10, 10),
                                                                     (90, 35, 10, 10)], scores=[0.9, 0.8, 0.7])
    kept = RegionMask(include=[ARENA], exclude=[HOLE]).filter(detections)
    assert len(kept) == 1 and kept.xy.tolist() == [[20.0, 20.0]] and kept.scores.tolist() == [0.9]
    assert len(RegionMask(include=[ARENA]).filter(Detections.empty())) == 0


def test_raster_agrees_with_contains():
    mask = RegionMask(include=[U_SHAPE, [(110.3, 5.7), (150.2, 20.1), (120.8, 90.4)]],
                      exclude=[[(5, 70), (25, 70), (15, 90)]])
    image = mask.raster(160, 110)
    assert image.shape == (110, 160) and image.dtype == np.uint8 and set(np.unique(image)) == {0, 255}
    ys, xs = np.mgrid[0:110, 0:160]
    expected = mask.contains(np.c_[xs.ravel(), ys.ravel()]).reshape(110, 160)
    disagree = (image == 255) != expected
    e = expected.astype(np.uint8)
    outline = cv2.dilate(e, np.ones((3, 3), np.uint8)) != cv2.erode(e, np.ones((3, 3), np.uint8))
    assert not (disagree & ~outline).any()  # only pixels on the outlines may differ
    assert disagree.sum() < 0.5 * outline.sum()
    assert image[30, 50] == 0 and image[30, 15] == 255 and image[80, 15] == 0 and image[50, 125] == 255
    assert RegionMask().raster(4, 3).tolist() == [[255] * 4] * 3


def test_bad_polygons_are_user_errors():
    with pytest.raises(OmniTraxError, match="at least 3"):
        RegionMask(include=[[(0, 0), (1, 1)]])
    with pytest.raises(OmniTraxError, match="Exclude polygon 1"):
        RegionMask(exclude=[HOLE, [(0, 0, 0), (1, 1, 1), (2, 2, 2)]])
    with pytest.raises(OmniTraxError, match="not numbers"):
        RegionMask(include=[[(0, 0), (np.nan, 1), (2, 2)]])
    with pytest.raises(OmniTraxError, match="positive size"):
        RegionMask(include=[ARENA]).raster(0, 10)
