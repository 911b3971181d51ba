"""The batched constant-velocity Kalman filter agrees with filterpy's KalmanFilter, track by track."""
import numpy as np
import pytest
from filterpy.kalman import KalmanFilter

from omnitrax.tracking.kalman import ConstantVelocityKalman, white_noise_acceleration


def _reference(kf: ConstantVelocityKalman, xy0) -> KalmanFilter:
    ref = KalmanFilter(dim_x=4, dim_z=2)
    ref.F, ref.H, ref.Q, ref.R = kf.F.copy(), kf.H.copy(), kf.Q.copy(), kf.R.copy()
    ref.P = kf.P0.copy()
    ref.x = np.array([[xy0[0]], [xy0[1]], [0.0], [0.0]])
    return ref


@pytest.mark.parametrize("q, r", [(1.0, 1.0), (0.2, 4.0), (5.0, 0.5)])
def test_batched_filter_matches_filterpy(q, r):
    rng = np.random.default_rng(7)
    n_tracks, n_steps = 12, 40
    kf = ConstantVelocityKalman(process_noise=q, measurement_noise=r, velocity_variance=50.0)
    start = rng.uniform(0, 500, (n_tracks, 2))
    kf.add(start)
    refs = [_reference(kf, p) for p in start]
    truth = start.copy()
    velocity = rng.normal(0, 3, (n_tracks, 2))
    for _ in range(n_steps):
        velocity += rng.normal(0, 0.5, velocity.shape)
        truth += velocity
        seen = rng.random(n_tracks) > 0.3  # about 30 % missed measurements
        z = truth + rng.normal(0, np.sqrt(r), truth.shape)
        kf.predict()
        kf.update(np.flatnonzero(seen), z[seen])
        for i, ref in enumerate(refs):
            ref.predict()
            ref.update(z[i].reshape(2, 1) if seen[i] else None)
    for i, ref in enumerate(refs):
        np.testing.assert_allclose(kf.x[i], ref.x.ravel(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(kf.P[i], ref.P, rtol=0, atol=1e-9)


def test_multi_step_predict_equals_repeated_predict_and_keep_drops_rows():
    kf = ConstantVelocityKalman()
    kf.add([[0.0, 0.0], [10.0, 10.0]], velocities=[[1.0, 2.0], [0.0, -1.0]])
    kf.predict(3)
    np.testing.assert_allclose(kf.positions, [[3.0, 6.0], [10.0, 7.0]])
    kf.keep(np.array([False, True]))
    assert len(kf) == 1
    np.testing.assert_allclose(kf.velocities, [[0.0, -1.0]])


def test_process_noise_is_discrete_white_noise_acceleration():
    from filterpy.common import Q_discrete_white_noise

    q = white_noise_acceleration(2.5)
    per_axis = Q_discrete_white_noise(dim=2, dt=1.0, var=2.5)  # order (pos, vel)
    np.testing.assert_allclose(q[np.ix_([0, 2], [0, 2])], per_axis)
    np.testing.assert_allclose(q[np.ix_([1, 3], [1, 3])], per_axis)
    assert q[0, 1] == q[0, 3] == 0.0
