"""The synthetic ant clips (omnitrax.testclips.ants): deterministic, exact ground truth, realistic motion, readable
video files, hard cases."""
import hashlib

import cv2
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.io.ground_truth import CSV_COLUMNS, KEYS, GroundTruth
from omnitrax.testclips import render_clip, render_frames
from omnitrax.testclips.ants import PARTS
from omnitrax.video import VideoSource


@pytest.fixture(scope="module")
def long_clip():
    return list(render_frames(n_frames=250, seed=0))


def grey(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float64)


def test_same_seed_same_clip_and_prefix_independent_of_length():
    a = list(render_frames(n_frames=4, seed=7, n_animals=6))
    b = list(render_frames(n_frames=2, seed=7, n_animals=6))
    c = list(render_frames(n_frames=2, seed=8, n_animals=6))
    for (fa, ra), (fb, rb) in zip(a, b):
        assert np.array_equal(fa, fb)
        assert all(np.array_equal(ra[k], rb[k]) for k in KEYS)
    assert not np.array_equal(a[0][0], c[0][0])


def test_rows_have_every_key_and_plausible_sizes(long_clip):
    frame, rows = long_clip[0]
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert set(rows) == set(KEYS) and all(len(rows[k]) == 20 for k in KEYS)
    assert np.array_equal(rows["id"], np.arange(20))
    assert 25 <= rows["length"].min() and rows["length"].max() <= 40
    assert rows["length"].std() > 1.5  # sizes vary between animals


def _analytic_centroid(rows, i, step=1 / 16):
    """Area centroid of the union of the three ellipses, by a fine point grid (pixel centres at integers)."""
    x0, y0, w, h = rows["left"][i], rows["top"][i], rows["width"][i], rows["height"][i]
    xs, ys = np.meshgrid(np.arange(x0, x0 + w, step) + step / 2, np.arange(y0, y0 + h, step) + step / 2)
    inside = np.zeros(xs.shape, bool)
    c, s, length = np.cos(rows["angle"][i]), np.sin(rows["angle"][i]), rows["length"][i]
    for name, (_, a, b) in PARTS.items():
        dx, dy = xs - rows[f"{name}_x"][i], ys - rows[f"{name}_y"][i]
        u, v = dx * c + dy * s, -dx * s + dy * c
        inside |= (u / (a * length)) ** 2 + (v / (b * length)) ** 2 <= 1
    return xs[inside].mean(), ys[inside].mean(), inside


@pytest.mark.parametrize("seed", [3, 4])
def test_ground_truth_centroid_and_box_match_the_rendered_body(seed):
    (floor, _), = render_frames(n_frames=1, seed=seed, n_animals=0, noise=0, blur=0)
    (frame, rows), = render_frames(n_frames=1, seed=seed, n_animals=8, noise=0, blur=0)
    diff = np.abs(grey(frame) - grey(floor))
    checked = 0
    for i in range(8):
        others = np.delete(np.c_[rows["x"], rows["y"]], i, axis=0)
        if np.min(np.hypot(*(others - [rows["x"][i], rows["y"][i]]).T)) < 1.6 * rows["length"].max():
            continue  # not isolated
        ax, ay, _ = _analytic_centroid(rows, i)
        assert abs(ax - rows["x"][i]) < 0.1 and abs(ay - rows["y"][i]) < 0.1  # 4x4 supersampling
        # what a detector sees: the difference-weighted centroid of the thresholded, opened blob
        # (opening drops the thin, faint legs and antennae)
        half = int(rows["length"][i])
        cx, cy = int(rows["x"][i]), int(rows["y"][i])
        if not (half <= cx < 640 - half and half <= cy < 480 - half):
            continue  # window would leave the frame
        win = diff[cy - half:cy + half + 1, cx - half:cx + half + 1]
        yy, xx = np.mgrid[cy - half:cy + half + 1, cx - half:cx + half + 1]
        blob = cv2.morphologyEx((win > 0.3 * win.max()).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        w = win * blob
        error = np.hypot((w * xx).sum() / w.sum() - rows["x"][i], (w * yy).sum() / w.sum() - rows["y"][i])
        assert error < 0.5, error
        # the box holds every clearly-body pixel, and is tight (body pixels touch all four sides)
        body = win > 0.5 * win.max()
        bx, by = xx[body], yy[body]
        left, top = rows["left"][i], rows["top"][i]
        right, bottom = left + rows["width"][i], top + rows["height"][i]
        assert bx.min() >= left - 0.5 and bx.max() <= right + 0.5
        assert by.min() >= top - 0.5 and by.max() <= bottom + 0.5
        assert bx.min() < left + 1.5 and bx.max() > right - 1.5 and by.min() < top + 1.5 and by.max() > bottom - 1.5
        checked += 1
    assert checked >= 3


def test_animals_stay_inside_the_frame_and_move_like_ants(long_clip):
    gt = GroundTruth.from_rows(r for _, r in long_clip)
    assert gt.left.min() >= 0 and gt.top.min() >= 0
    assert (gt.left + gt.width).max() <= 640 and (gt.top + gt.height).max() <= 480
    xy = np.stack([np.c_[r["x"], r["y"]] for _, r in long_clip])  # (frames, animals, 2)
    speed = np.linalg.norm(np.diff(xy, axis=0), axis=2)
    assert speed.max() < 8  # no jumps
    assert (speed < 0.3).mean() > 0.03  # pauses happen
    assert (speed > 2.0).mean() > 0.3  # and runs
    heading = np.stack([r["angle"] for _, r in long_clip])
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading, axis=0))))
    assert np.median(turn) < 0.1  # headings vary smoothly
    assert np.ptp(np.unwrap(heading, axis=0), axis=0).max() > np.pi / 2  # but they do turn
    # crossings / near contacts: some pair comes closer than a body length
    d = np.linalg.norm(xy[:, :, None] - xy[:, None, :], axis=3)
    d[:, np.arange(20), np.arange(20)] = np.inf
    assert d.min() < 0.5 * gt.length.min()


@pytest.mark.parametrize("polarity,sign", [("dark_on_light", -1), ("light_on_dark", 1)])
def test_polarities(polarity, sign):
    (frame, rows), = render_frames(n_frames=1, seed=5, n_animals=10, polarity=polarity)
    g = grey(frame)
    on_animals = g[np.round(rows["thorax_y"]).astype(int), np.round(rows["thorax_x"]).astype(int)]
    assert sign * (on_animals.mean() - np.median(g)) > 80


def test_render_clip_writes_a_readable_video_and_csv_round_trips(tmp_path):
    gt = render_clip(tmp_path / "clip.avi", n_frames=12, seed=2, n_animals=5)
    with VideoSource(tmp_path / "clip.avi") as video:
        frames = [frame for _, frame in video.frames()]
    assert len(frames) == 12 and frames[0].shape == (480, 640, 3)
    reference = [f for f, _ in render_frames(n_frames=12, seed=2, n_animals=5)]
    assert np.abs(frames[5].astype(int) - reference[5]).mean() < 4  # MJPG is lossy, but this is the clip
    assert len(gt) == 60 and np.array_equal(gt.frame, np.repeat(np.arange(12), 5))
    path = gt.to_csv(tmp_path / "gt.csv")
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    back = GroundTruth.from_csv(path)
    for key in CSV_COLUMNS:
        assert np.allclose(getattr(back, key), getattr(gt, key), atol=5e-4)
    tracks = back.to_tracks()
    order = np.lexsort((gt.frame, gt.id))  # Tracks keeps its rows by track, then frame
    assert np.array_equal(tracks.track, gt.id[order]) and np.array_equal(tracks.frame, gt.frame[order])
    assert np.allclose(tracks.x, gt.x[order], atol=5e-4) and not tracks.predicted.any()
    rows = back.at_frame(3)
    assert np.array_equal(rows["id"], np.arange(5)) and np.allclose(rows["x"], gt.x[gt.frame == 3], atol=5e-4)


def test_render_clip_mpeg4(tmp_path):
    render_clip(tmp_path / "clip.mp4", n_frames=5, seed=1, n_animals=3, fourcc="mp4v")
    capture = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    assert capture.read()[0] and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    capture.release()


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(OmniTraxError, match="polarity"):
        next(render_frames(polarity="purple"))
    with pytest.raises(OmniTraxError, match="does not exist"):
        render_clip(tmp_path / "missing" / "clip.avi", n_frames=1)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(OmniTraxError, match="ground-truth"):
        GroundTruth.from_csv(tmp_path / "bad.csv")


# -------------------------------------------------------------------------------------------- hard cases

@pytest.mark.parametrize("looks", ["alike", "distinct"])
def test_mixed_polarity_puts_dark_and_light_animals_on_a_grey_floor(looks):
    (frame, rows), = render_frames(n_frames=1, seed=5, n_animals=10, polarity="mixed", looks=looks)
    g = grey(frame)
    floor = np.median(g)
    assert 80 < floor < 120  # mid-grey
    on_animals = g[np.round(rows["thorax_y"]).astype(int), np.round(rows["thorax_x"]).astype(int)] - floor
    assert (on_animals[0::2] < -40).all() and (on_animals[1::2] > 40).all()  # even ids darker, odd lighter
    # the lighter ones differ more from the floor (black and white mice on a darkish grey floor)
    assert np.median(on_animals[1::2]) > 1.4 * np.median(-on_animals[0::2])


SMALL = dict(width=320, height=240, noise=0)


def test_defaults_render_the_same_bytes_as_before_the_hard_cases():
    # digest of the frames as rendered before still/resting/specks/flicker/uneven_light existed
    digest = hashlib.sha256()
    for frame, _ in render_frames(n_frames=5, seed=3, n_animals=4, width=160, height=120):
        digest.update(frame.tobytes())
    assert digest.hexdigest() == "327aa67a29c4f85326c23761e608561172361ea8435ca706697e67b1bed1f8c6"


def _positions(clip):
    return np.stack([np.c_[r["x"], r["y"]] for _, r in clip])  # (frames, animals, 2)


def test_still_animals_never_move_and_start_apart():
    clip = list(render_frames(n_frames=30, seed=2, n_animals=5, still=2, **SMALL))
    xy, angle = _positions(clip), np.stack([r["angle"] for _, r in clip])
    assert (xy[:, :2] == xy[0, :2]).all() and (angle[:, :2] == angle[0, :2]).all()
    assert (np.linalg.norm(np.diff(xy[:, 2:], axis=0), axis=2) > 0.5).mean() > 0.9  # the others walk
    rows = clip[0][1]
    distance = np.linalg.norm(xy[0, :, None] - xy[0, None], axis=2) + np.diag(np.full(5, np.inf))
    assert distance[:2].min() > rows["length"].max()  # no overlap at the start
    # with noise=0 a still animal's pixels stay the same, wherever no walker comes near
    checked = 0
    for i in range(2):
        half = int(rows["length"][i])
        cx, cy = np.round(xy[0, i]).astype(int)
        window = (slice(max(cy - half, 0), cy + half + 1), slice(max(cx - half, 0), cx + half + 1))
        for frame, r in clip[1:]:
            if np.hypot(r["x"][2:] - cx, r["y"][2:] - cy).min() > 2.5 * rows["length"].max():
                assert np.array_equal(frame[window], clip[0][0][window])
                checked += 1
    assert checked >= 20


def test_resting_animals_rest_through_the_middle_of_the_clip():
    clip = list(render_frames(n_frames=40, seed=1, n_animals=4, resting=2, rest_fraction=0.8, **SMALL))
    xy, angle = _positions(clip), np.stack([r["angle"] for _, r in clip])
    rests = (np.diff(xy, axis=0) == 0).all(axis=2) & (np.diff(angle, axis=0) == 0)  # (steps, animals)
    # round(0.8 * 40) = 32 identical frames 4..35 (31 still steps), walking 4 frames before and after
    assert rests[4:35, :2].all() and not rests[:4, :2].any() and not rests[35:, :2].any()
    assert np.linalg.norm(xy[4, :2] - xy[0, :2], axis=1).min() > 3
    assert np.linalg.norm(xy[39, :2] - xy[35, :2], axis=1).min() > 3
    assert not rests[:, 2:].any()  # the others walk on
    # a still animal comes first: ids 0..still-1 are still, the next `resting` ones rest
    both = list(render_frames(n_frames=40, seed=1, n_animals=4, still=1, resting=1, **SMALL))
    xy = _positions(both)
    assert (xy[:, 0] == xy[0, 0]).all()
    assert (xy[4:36, 1] == xy[4, 1]).all() and (xy[:5, 1] != xy[4, 1]).any(axis=1).sum() == 4


def _blobs(mask):
    """Areas and box sizes (width, height) of the 8-connected blobs of a boolean image."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    return stats[1:, cv2.CC_STAT_AREA], stats[1:, cv2.CC_STAT_WIDTH:cv2.CC_STAT_HEIGHT + 1]


@pytest.mark.parametrize("polarity,sign", [("dark_on_light", -1), ("light_on_dark", 1)])
def test_specks_are_small_static_blobs_towards_the_animals_side_and_not_in_the_truth(polarity, sign):
    kwargs = dict(n_frames=3, seed=4, n_animals=6, polarity=polarity, **SMALL)
    plain, specked = list(render_frames(**kwargs)), list(render_frames(specks=30, **kwargs))
    for (a, rows_a), (b, rows_b) in zip(plain, specked):
        assert all(np.array_equal(rows_a[k], rows_b[k]) for k in KEYS)
        difference = grey(b) - grey(a)
        areas, boxes = _blobs(np.abs(difference) > 2)
        assert 24 <= len(areas) <= 30  # a few specks touch
        assert areas.max() < 100 and boxes.max() <= 18  # far smaller than an ant (about 180 px)
        assert (sign * difference).min() >= 0 and (sign * difference).max() > 60


def test_flicker_makes_that_fraction_of_the_specks_change_from_frame_to_frame():
    # no animals and no noise: without flicker the frames are all alike
    kwargs = dict(n_frames=20, seed=4, n_animals=0, specks=30, **SMALL)
    for flicker, flickering in ((0.0, 0), (0.5, 15)):
        frames = np.stack([grey(frame) for frame, _ in render_frames(flicker=flicker, **kwargs)])
        areas, boxes = _blobs(np.ptp(frames, axis=0) > 2)
        assert len(areas) == flickering and (boxes <= 18).all()


def test_uneven_light_darkens_one_corner_and_keeps_the_truth():
    kwargs = dict(n_frames=2, seed=4, n_animals=6, **SMALL)
    (even, rows_even), _ = render_frames(**kwargs)
    corners = [(slice(0, 24), slice(0, 24)), (slice(0, 24), slice(-24, None)),
               (slice(-24, None), slice(-24, None)), (slice(-24, None), slice(0, 24))]  # clockwise
    for strength, darkest_gain in ((0.5, 0.7), (1.0, 0.4)):
        (uneven, rows), _ = render_frames(uneven_light=strength, **kwargs)
        assert all(np.array_equal(rows[k], rows_even[k]) for k in KEYS)
        means = np.array([grey(uneven)[c].mean() for c in corners])
        gains = means / [grey(even)[c].mean() for c in corners]
        dark = int(np.argmin(means))
        assert means[dark] < 0.75 * means[(dark + 2) % 4]  # the opposite corner is clearly brighter
        assert darkest_gain < gains[dark] < darkest_gain + 0.1 and gains[(dark + 2) % 4] > 0.95


def test_hard_cases_together_stay_deterministic_and_pass_through_render_clip(tmp_path):
    kwargs = dict(seed=6, n_animals=5, width=160, height=120, still=1, specks=12, flicker=0.5, uneven_light=0.7)
    a, b = list(render_frames(n_frames=6, **kwargs)), list(render_frames(n_frames=3, **kwargs))
    for (fa, ra), (fb, rb) in zip(a, b):  # without resting animals the prefix does not depend on n_frames
        assert np.array_equal(fa, fb) and all(np.array_equal(ra[k], rb[k]) for k in KEYS)
    gt = render_clip(tmp_path / "hard.avi", n_frames=6, resting=2, **kwargs)
    assert len(gt) == 30 and np.array_equal(gt.id, np.tile(np.arange(5), 6))  # one row per animal and frame


@pytest.mark.parametrize("kwargs,message", [
    (dict(still=-1), "still must be a whole number >= 0, got -1"),
    (dict(resting=-2), "resting must be a whole number >= 0"),
    (dict(specks=-1), "specks must be a whole number >= 0"),
    (dict(still=1.5), "still must be a whole number"),
    (dict(n_animals=3, still=2, resting=2), r"still \+ resting = 2 \+ 2 exceeds n_animals = 3"),
    (dict(resting=1, rest_fraction=0.0), r"rest_fraction must be between 0 and 1 \(exclusive\), got 0.0"),
    (dict(rest_fraction=1.0), "rest_fraction must be between 0 and 1"),
    (dict(specks=5, flicker=1.5), "flicker must be between 0 and 1, got 1.5"),
    (dict(flicker=-0.1), "flicker must be between 0 and 1"),
    (dict(uneven_light=2), "uneven_light must be between 0 and 1, got 2"),
    (dict(uneven_light=float("nan")), "uneven_light must be between 0 and 1, got nan"),
])
def test_bad_hard_case_arguments_are_user_errors(kwargs, message):
    with pytest.raises(OmniTraxError, match=message) as error:
        next(render_frames(n_frames=2, width=160, height=120, **{"n_animals": 4, **kwargs}))
    assert "\n" not in str(error.value)
