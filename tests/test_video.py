"""VideoSource on real files: counts, fps, sequential vs random reads, the prefetch thread, user errors."""
import struct
import threading

import cv2
import numpy as np
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.testclips import render_clip
from omnitrax.video import VideoSource, usable_fps

SMALL = dict(n_animals=3, width=160, height=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    render_clip(path, n_frames=30, seed=1, fps=30.0, **SMALL)
    return path


def test_properties(clip):
    with VideoSource(clip) as video:
        assert (video.frame_count, video.width, video.height) == (30, 160, 120)
        assert video.fps == pytest.approx(30.0)
        assert video.path == clip


def test_sequential_frames_equal_random_reads(clip):
    with VideoSource(clip) as video:
        sequential = list(video.frames())
        assert [i for i, _ in sequential] == list(range(30))
        for index in (29, 0, 17, 18, 3, 8, 20):
            assert np.array_equal(video.read(index), sequential[index][1])
        part = list(video.frames(10, 14))
        assert [i for i, _ in part] == [10, 11, 12, 13]
        assert all(np.array_equal(f, sequential[i][1]) for i, f in part)
        assert frame_is_bgr(part[0][1])


def frame_is_bgr(frame):
    return frame.dtype == np.uint8 and frame.shape == (120, 160, 3)


def test_prefetch_thread_ends_when_the_consumer_stops_early(clip):
    before = threading.active_count()
    with VideoSource(clip) as video:
        for index, _ in video.frames():
            if index == 2:
                break
        assert threading.active_count() == before
        iterator = video.frames()
        next(iterator)
        assert threading.active_count() == before + 1  # the decoder runs ahead
        iterator.close()
        assert threading.active_count() == before


def test_sample_frames(clip):
    with VideoSource(clip) as video:
        frames = video.sample_frames(5)
        assert len(frames) == 5 and all(frame_is_bgr(f) for f in frames)
        assert np.array_equal(frames[0], video.read(0)) and np.array_equal(frames[-1], video.read(29))
        assert len(video.sample_frames(100)) == 30


def test_frame_count_when_the_container_over_reports(clip, tmp_path):
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[:int(len(data) * 0.6)])
    assert cv2.VideoCapture(str(truncated)).get(cv2.CAP_PROP_FRAME_COUNT) == 30  # the header's claim
    with VideoSource(truncated) as video:
        assert 5 < video.frame_count < 30
        video.read(video.frame_count - 1)
        assert sum(1 for _ in video.frames()) == video.frame_count


def test_frame_count_when_the_container_under_reports(clip, tmp_path):
    data = bytearray(clip.read_bytes())
    for tag, offset in ((b"avih", 16), (b"strh", 32)):  # dwTotalFrames, dwLength
        at = data.find(tag) + 8 + offset
        data[at:at + 4] = struct.pack("<I", 5)
    patched = tmp_path / "patched.avi"
    patched.write_bytes(bytes(data))
    assert cv2.VideoCapture(str(patched)).get(cv2.CAP_PROP_FRAME_COUNT) == 5
    with VideoSource(patched) as video:
        assert video.frame_count == 30


def test_read_out_of_range(clip):
    with VideoSource(clip) as video:
        for bad in (-1, 30):
            with pytest.raises(OmniTraxError, match="outside"):
                video.read(bad)
        with pytest.raises(OmniTraxError, match="empty or outside"):
            video.frames(40)


def test_missing_file(tmp_path):
    with pytest.raises(OmniTraxError, match="not found"):
        VideoSource(tmp_path / "nope.avi")


def test_text_file_is_not_a_video(tmp_path):
    fake = tmp_path / "notes.avi"
    fake.write_text("these are my notes, not a video\n" * 20)
    with pytest.raises(OmniTraxError, match="not a video OpenCV can read; convert it"):
        VideoSource(fake)


def test_video_without_frames(tmp_path):
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 64))
    writer.release()
    with pytest.raises(OmniTraxError, match="no frames"):
        VideoSource(empty)


def test_one_frame_video(tmp_path):
    one = tmp_path / "one.avi"
    render_clip(one, n_frames=1, **SMALL)
    with pytest.raises(OmniTraxError, match="has only 1 frame; tracking needs at least 2"):
        VideoSource(one)
    with VideoSource(one, min_frames=1) as video:
        assert video.frame_count == 1


def test_fps_fallback():
    assert usable_fps(29.97) == 29.97
    for nonsense in (0.0, float("nan"), float("inf"), -5.0, 90000.0):
        assert usable_fps(nonsense) == 25.0
