"""Poses table and the DeepLabCut CSV / .h5 writers (no network needed)."""
import numpy as np
import pandas as pd
import pytest

from omnitrax.errors import OmniTraxError
from omnitrax.pose.export import write_dlc_csv, write_dlc_h5, write_dlc_single
from omnitrax.pose.poses import Poses

JOINTS = ["head", "tail"]


def _poses():
    """Track 7 at frames 0 and 2, track 3 at frame 2 only (joint 'tail' missing), unsorted input."""
    rows = [  # track, frame, joint, x, y, likelihood
        (7, 2, 1, 12.5, 20.25, 0.5), (7, 0, 0, 1.0, 2.0, 0.9), (7, 0, 1, 3.0, 4.0, 0.8),
        (3, 2, 0, 100.125, 50.0, 0.25), (7, 2, 0, 10.0, 20.0, 0.75),
    ]
    t, f, j, x, y, p = map(np.array, zip(*rows))
    return Poses(track=t, frame=f, joint=j, x=x, y=y, likelihood=p, joint_names=JOINTS,
                 skeleton=[["head", "tail"]])


def test_poses_table_sorting_access_and_concat():
    poses = _poses()
    assert poses.ids() == [3, 7]
    np.testing.assert_array_equal(poses.track, [3, 7, 7, 7, 7])
    np.testing.assert_array_equal(poses.frames(), [0, 2])
    assert poses.skeleton == [("head", "tail")]
    kp = poses.keypoints(7, 2)
    np.testing.assert_allclose(kp, [[10.0, 20.0, 0.75], [12.5, 20.25, 0.5]])
    assert np.isnan(poses.keypoints(3, 2)[1]).all()
    assert len(poses.for_track(7)) == 4 and len(poses.at_frame(0)) == 2
    array, frames, ids = poses.to_array()
    assert array.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(array[1, 0, 0], [100.125, 50.0, 0.25])
    assert np.isnan(array[0, 0]).all()
    reordered, _, ids = poses.to_array(ids=[7, 3], frames=[2])
    np.testing.assert_allclose(reordered[0, 1, 0], [100.125, 50.0, 0.25])
    both = Poses.concat([poses.for_track(3), None, poses.for_track(7)])
    np.testing.assert_array_equal(both.x, poses.x)
    with pytest.raises(ValueError):
        Poses.concat([poses, Poses.empty(["other"])])
    with pytest.raises(ValueError):
        Poses(track=[1], frame=[0], joint=[2], x=[0], y=[0], likelihood=[1], joint_names=JOINTS)


def test_dlc_csv_header_rows_are_exact_and_reload_with_the_same_numbers(tmp_path):
    path = write_dlc_csv(tmp_path / "out" / "clip_poses.csv", _poses(), scorer="OmniTrax")
    lines = path.read_text().splitlines()
    assert lines[0] == "scorer," + ",".join(["OmniTrax"] * 12)
    assert lines[1] == "individuals," + ",".join(["track_3"] * 6 + ["track_7"] * 6)
    assert lines[2] == "bodyparts," + ",".join((["head"] * 3 + ["tail"] * 3) * 2)
    assert lines[3] == "coords," + ",".join(["x", "y", "likelihood"] * 4)
    assert len(lines) == 4 + 3  # frames 0, 1 (all missing) and 2
    df = pd.read_csv(path, header=[0, 1, 2, 3], index_col=0)
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert list(df.index) == [0, 1, 2]
    assert df[("OmniTrax", "track_7", "tail", "y")].loc[2] == 20.25
    assert df[("OmniTrax", "track_3", "head", "x")].loc[2] == 100.125
    assert df.loc[1].isna().all()
    assert np.isnan(df[("OmniTrax", "track_3", "tail", "likelihood")].loc[2])
    # every number matches the table
    array, frames, ids = _poses().to_array(frames=[0, 1, 2])
    np.testing.assert_allclose(df.to_numpy(), array.reshape(3, -1), equal_nan=True)


def test_dlc_h5_round_trip_and_names(tmp_path):
    pytest.importorskip("tables")
    path = write_dlc_h5(tmp_path / "clip.h5", _poses(), scorer="me", names={3: "queen"}, frames=range(4))
    df = pd.read_hdf(path, key="df_with_missing")
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert list(df.columns.unique("individuals")) == ["queen", "track_7"]
    assert list(df.index) == [0, 1, 2, 3]
    csv = pd.read_csv(write_dlc_csv(tmp_path / "clip.csv", _poses(), "me", {3: "queen"}, range(4)),
                      header=[0, 1, 2, 3], index_col=0)
    pd.testing.assert_frame_equal(df, csv, check_dtype=False)
    assert df[("me", "queen", "head", "x")].loc[2] == 100.125


def test_single_animal_csvs_and_name_errors(tmp_path):
    paths = write_dlc_single(tmp_path / "single", _poses(), names={7: "ant:7"})
    assert sorted(p.name for p in paths) == ["ant_7.csv", "track_3.csv"]
    df = pd.read_csv(tmp_path / "single" / "ant_7.csv", header=[0, 1, 2], index_col=0)
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
    assert df[("OmniTrax", "tail", "x")].loc[2] == 12.5
    with pytest.raises(OmniTraxError, match="same individual name"):
        write_dlc_csv(tmp_path / "x.csv", _poses(), names={3: "a", 7: "a"})
    with pytest.raises(OmniTraxError, match="distinct names"):
        write_dlc_single(tmp_path / "y", _poses(), names={3: "a?", 7: "a*"})
    with pytest.raises(OmniTraxError, match="joint names"):
        write_dlc_csv(tmp_path / "z.csv", Poses.empty())
