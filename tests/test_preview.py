"""The preview video: the clip with tracks and skeletons drawn, frame for frame."""
import cv2
import numpy as np

from omnitrax.io.preview import track_colour_bgr, write_preview
from omnitrax.pose.poses import Poses
from omnitrax.tracking.tracks import Tracks
from omnitrax.video import VideoSource


def test_preview_draws_boxes_and_skeletons_on_every_frame(tmp_path):
    video = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"FFV1"), 25, (160, 120))
    for _ in range(6):
        writer.write(np.full((120, 160, 3), 128, np.uint8))
    writer.release()
    tracks = Tracks(track=[3] * 6, frame=range(6), x=[40.0 + 5 * f for f in range(6)], y=60.0, width=20.0,
                    height=10.0)
    poses = Poses(track=[3, 3], frame=[2, 2], joint=[0, 1], x=[100.0, 130.0], y=[20.0, 20.0], likelihood=[0.9, 0.9],
                  joint_names=["head", "tail"], skeleton=[("head", "tail")])
    out = write_preview(video, tmp_path / "preview.mp4", tracks=tracks, poses=poses)
    with VideoSource(out, min_frames=1) as preview:
        assert preview.frame_count == 6 and (preview.width, preview.height) == (160, 120)
        frame2 = preview.read(2).astype(int)
    colour = np.array(track_colour_bgr(3))
    # the box's left edge at x = 50 - 10 = 40 (frame 2), and the bone between the two keypoints
    assert np.abs(frame2[60, 40] - colour).max() < 60
    assert np.abs(frame2[20, 115] - colour).max() < 60
    assert np.abs(frame2[100, 100] - 128).max() < 10  # elsewhere the clip is untouched


def _grey_video(path, frames=12, size=(200, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, size)
    for _ in range(frames):
        writer.write(np.full((size[1], size[0], 3), 128, np.uint8))
    writer.release()
    return path


def test_one_cropped_video_per_animal_follows_it_for_the_frames_it_is_tracked(tmp_path):
    from omnitrax.io.preview import PreviewVideos

    video = _grey_video(tmp_path / "grey.avi")
    # track 1 over all 12 frames moving right, track 2 only in frames 4..9
    frames = list(range(12)) + list(range(4, 10))
    tracks = Tracks(track=[1] * 12 + [2] * 6, frame=frames, x=[30.0 + 8 * f for f in range(12)] + [150.0] * 6,
                    y=60.0, width=16.0, height=16.0)
    poses = Poses(track=[1, 1], frame=[5, 5], joint=[0, 1], x=[66.0, 74.0], y=[60.0, 60.0], likelihood=[0.9, 0.9],
                  joint_names=["head", "tail"], skeleton=[("head", "tail")])
    job = PreviewVideos(video, None, tracks=tracks, poses=poses, names={1: "ant_a", 2: "ant_b"},
                        per_track=tmp_path / "animals", crop=48)
    progress = list(job.steps())
    assert progress[-1] == (12, 12)
    assert sorted(p.name for p in job.written) == ["ant_a.mp4", "ant_b.mp4"]
    with VideoSource(tmp_path / "animals" / "ant_a.mp4", min_frames=1) as a, \
            VideoSource(tmp_path / "animals" / "ant_b.mp4", min_frames=1) as b:
        assert (a.frame_count, a.width, a.height) == (12, 48, 48)
        assert b.frame_count == 6
        crop = a.read(5).astype(int)
    colour = np.array(track_colour_bgr(1))
    # the crop follows the animal (centre x = 70 at frame 5; its ROI starts at pixel 47, 37): the keypoint drawn
    # at (66, 60) lies at crop pixel (19, 23), in the track's colour; the crop's corner is the grey floor
    near = crop[22:25, 18:21].reshape(-1, 3)
    assert np.abs(near - colour).max(axis=1).min() < 60
    assert np.abs(crop[2, 2] - 128).max() < 12


def test_stopping_leaves_valid_videos_up_to_that_frame(tmp_path):
    from omnitrax.io.preview import PreviewVideos

    video = _grey_video(tmp_path / "grey.avi", frames=20)
    tracks = Tracks(track=[0] * 20, frame=range(20), x=50.0, y=60.0, width=10.0, height=10.0)
    job = PreviewVideos(video, tmp_path / "p.mp4", tracks=tracks)
    steps = job.steps()
    for _ in range(7):
        next(steps)
    steps.close()  # what Esc does
    with VideoSource(tmp_path / "p.mp4", min_frames=1) as partial:
        assert partial.frame_count == 7
