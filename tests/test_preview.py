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
