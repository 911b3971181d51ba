"""BackgroundDetector on synthetic ant clips: recall, precision, sub-pixel centres, masks, splitting, errors."""
import cv2
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from omnitrax.errors import OmniTraxError
from omnitrax.synthetic import render_frames
from omnitrax.tracking.background import BackgroundDetector
from omnitrax.tracking.masks import RegionMask

ANIMAL_AREA = 180  # median blob area of the synthetic ants (lengths 26-38 px), pixels


def clip(polarity, n_frames=200, seed=11, **kwargs):
    return list(render_frames(n_frames=n_frames, seed=seed, polarity=polarity, **kwargs))


@pytest.fixture(scope="module", params=[("dark_on_light", "darker"), ("light_on_dark", "lighter")])
def fitted(request):
    """(clip, detector fitted on 50 frames spread over the clip), as the pipeline fits it."""
    polarity, detector_polarity = request.param
    frames = clip(polarity)
    detector = BackgroundDetector(polarity=detector_polarity, animal_area=ANIMAL_AREA)
    detector.fit([f for f, _ in frames[::4]])
    return frames, detector


def match(detections, rows):
    """One-to-one matches within half a body length: (n_matched, centre errors, isolated-animal errors)."""
    gt = np.c_[rows["x"], rows["y"]]
    distance = np.linalg.norm(gt[:, None] - detections.xy[None], axis=2)
    gi, di = linear_sum_assignment(distance)
    good = distance[gi, di] < 0.5 * rows["length"][gi]
    spacing = np.linalg.norm(gt[:, None] - gt[None], axis=2)
    np.fill_diagonal(spacing, np.inf)
    isolated = spacing.min(axis=1) > 1.5 * rows["length"].max()
    errors = distance[gi, di][good]
    return good.sum(), errors, distance[gi, di][good & isolated[gi]]


def test_finds_the_animals_with_sub_pixel_centres(fitted):
    frames, detector = fitted
    matched = found = truth = 0
    errors, isolated = [], []
    for frame, rows in frames[:60]:
        detections = detector.detect(frame)
        m, e, i = match(detections, rows)
        matched, found, truth = matched + m, found + len(detections), truth + len(rows["x"])
        errors += list(e)
        isolated += list(i)
        assert ((detections.scores > 0) & (detections.scores <= 1)).all()
    recall, precision = matched / truth, matched / found
    print(f"{detector.description}: threshold {detector.threshold_used}, recall {recall:.3f}, precision "
          f"{precision:.3f}, median centre error {np.median(errors):.3f} px (isolated {np.median(isolated):.3f}, "
          f"95th percentile {np.percentile(isolated, 95):.3f})")
    assert recall >= 0.95 and precision >= 0.95
    assert np.median(isolated) < 0.5 and np.percentile(isolated, 95) < 1.0
    assert np.median(errors) < 0.5


def test_boxes_cover_the_animals(fitted):
    frames, detector = fitted
    frame, rows = frames[0]
    detections = detector.detect(frame)
    gt = np.c_[rows["x"], rows["y"]]
    nearest = np.argmin(np.linalg.norm(detections.xy[:, None] - gt[None], axis=2), axis=1)
    left, top = rows["left"][nearest], rows["top"][nearest]
    # thresholding loses the anti-aliased rim and opening the thinnest parts: boxes are at most a bit smaller
    inner = (np.abs(detections.boxes[:, 0] - left) < 3) & (np.abs(detections.boxes[:, 1] - top) < 3)
    assert inner.mean() > 0.8


def test_empty_frames_give_no_detections():
    frames = clip("dark_on_light", n_frames=20)
    empty = clip("dark_on_light", n_frames=20, n_animals=0)
    for fit_frames in ([f for f, _ in frames], [f for f, _ in empty]):
        detector = BackgroundDetector().fit(fit_frames)
        assert detector.threshold_used >= 12
        assert sum(len(detector.detect(f)) for f, _ in empty) == 0


def test_polarity_selects_darker_or_lighter_animals():
    frames = clip("light_on_dark", n_frames=60)
    fit = [f for f, _ in frames[::2]]
    frame, rows = frames[-1]
    assert len(BackgroundDetector(polarity="darker", threshold=40).fit(fit).detect(frame)) <= 2
    assert len(BackgroundDetector(polarity="lighter").fit(fit).detect(frame)) >= 15
    assert len(BackgroundDetector(polarity="either").fit(fit).detect(frame)) >= 15


def test_mask_excludes_detections(fitted):
    frames, detector = fitted
    frame, rows = frames[0]
    mask = RegionMask(include=[[(0, 0), (640, 0), (640, 480), (0, 480)]],
                      exclude=[[(0, 0), (320, 0), (320, 480), (0, 480)]])
    masked = BackgroundDetector(polarity=detector.polarity, mask=mask, animal_area=ANIMAL_AREA)
    masked.fit([f for f, _ in frames[::4]])
    all_found, kept = detector.detect(frame), masked.detect(frame)
    assert (kept.xy[:, 0] > 320 - 1).all()
    right = (all_found.xy[:, 0] > 330).sum()
    assert right - 1 <= len(kept) <= right + 2 and len(kept) < len(all_found) - 3


def two_overlapping_animals():
    """A floor, and the same frame with one ant plus a copy of it shifted along its body (they overlap)."""
    (floor, _), = render_frames(n_frames=1, seed=21, n_animals=0, noise=0, blur=0)
    (single, rows), = render_frames(n_frames=1, seed=21, n_animals=1, noise=0, blur=0)
    darkening = floor.astype(np.int16) - single
    c, s, length = np.cos(rows["angle"][0]), np.sin(rows["angle"][0]), rows["length"][0]
    shift = np.round(length * (0.5 * np.array([c, s]) + 0.15 * np.array([-s, c]))).astype(int)  # half a body
    moved = np.roll(darkening, (shift[1], shift[0]), axis=(0, 1))
    both = np.clip(floor.astype(np.int16) - np.maximum(darkening, moved), 0, 255).astype(np.uint8)
    centres = np.array([[rows["x"][0], rows["y"][0]], [rows["x"][0] + shift[0], rows["y"][0] + shift[1]]])
    return floor, single, both, centres, rows["length"][0]


def test_merged_blob_is_split_into_animals():
    floor, single, both, centres, length = two_overlapping_animals()
    plain = BackgroundDetector(threshold=60).fit([floor])
    assert len(plain.detect(both)) == 1  # the two overlapping ants make one blob
    assert len(plain.detect(single)) == 1
    grey = lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.int16)  # noqa: E731
    one_area = np.count_nonzero(grey(floor) - grey(single) > plain.threshold_used)  # blob area of one ant
    splitter = BackgroundDetector(threshold=60, animal_area=one_area).fit([floor])
    found = splitter.detect(both)
    assert len(found) == 2
    distance = np.linalg.norm(found.xy[:, None] - centres[None], axis=2)
    gi, di = linear_sum_assignment(distance)
    assert distance[gi, di].max() < 0.2 * length
    assert len(splitter.detect(single)) == 1  # a lone animal is not split


def test_errors():
    detector = BackgroundDetector()
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(OmniTraxError, match="fit"):
        detector.detect(frame)
    detector.fit([frame, frame])
    with pytest.raises(OmniTraxError, match="differs from the background"):
        detector.detect(np.zeros((64, 48, 3), np.uint8))
    with pytest.raises(OmniTraxError, match="at least one frame"):
        BackgroundDetector().fit([])
    with pytest.raises(OmniTraxError, match="Polarity"):
        BackgroundDetector(polarity="dark")
    with pytest.raises(OmniTraxError, match="Threshold"):
        BackgroundDetector(threshold=300)
    assert BackgroundDetector(polarity="lighter").description == "background subtraction (lighter animals), CPU"


@pytest.mark.parametrize("polarity,expected", [("dark_on_light", "darker"), ("light_on_dark", "lighter")])
def test_auto_polarity_is_decided_from_the_video_and_finds_what_the_right_choice_finds(polarity, expected):
    frames = clip(polarity, n_frames=60, seed=7)
    auto = BackgroundDetector(polarity="auto", animal_area=ANIMAL_AREA).fit([f for f, _ in frames[::2]])
    assert auto.chosen == expected
    assert f"auto: animals are {expected} than the floor" in auto.description
    right = BackgroundDetector(polarity=expected, animal_area=ANIMAL_AREA).fit([f for f, _ in frames[::2]])
    for frame, _ in frames[:5]:
        assert len(auto.detect(frame)) == len(right.detect(frame)) > 0


def test_auto_polarity_is_the_default_of_every_entry_point():
    from omnitrax import settings as schema
    from omnitrax.tracking.settings import TrackingSettings

    assert schema.BY_NAME["polarity"].default == "auto" == TrackingSettings().polarity
