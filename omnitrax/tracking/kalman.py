"""A constant-velocity Kalman filter for many tracks at once, in plain numpy.

State per track: (x, y, vx, vy) in pixels and pixels per frame (origin top-left); one predict step is
one video frame. Measurements are centre positions (x, y) in pixels. The matrices are the textbook
ones, so a per-track `filterpy.kalman.KalmanFilter` with F, H, Q, R and P0 from this class gives the
same numbers (the tests check this):

    F = [[1,0,1,0],[0,1,0,1],[0,0,1,0],[0,0,0,1]]   H = [[1,0,0,0],[0,1,0,0]]
    Q = process_noise * G G^T with G = (1/2, 1/2, 1, 1) per axis (discrete white-noise acceleration)
    R = measurement_noise * I2
    P0 = diag(measurement_noise, measurement_noise, velocity_variance, velocity_variance)

The update uses the Joseph form P = (I-KH) P (I-KH)^T + K R K^T, which keeps P symmetric.
"""
from __future__ import annotations

import numpy as np

F = np.array([[1.0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]])
H = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0]])


def white_noise_acceleration(q: float) -> np.ndarray:
    """Process noise for one frame: acceleration of variance q (px^2/frame^4), per axis."""
    block = np.array([[0.25, 0.5], [0.5, 1.0]]) * q
    Q = np.zeros((4, 4))
    for axis in (0, 1):
        idx = np.ix_([axis, axis + 2], [axis, axis + 2])
        Q[idx] = block
    return Q


class ConstantVelocityKalman:
    """N independent constant-velocity filters stored as arrays x (N, 4) and P (N, 4, 4)."""

    def __init__(self, process_noise: float = 1.0, measurement_noise: float = 1.0,
                 velocity_variance: float = 100.0):
        self.F = F.copy()
        self.H = H.copy()
        self.Q = white_noise_acceleration(process_noise)
        self.R = np.eye(2) * measurement_noise
        self.P0 = np.diag([measurement_noise, measurement_noise, velocity_variance, velocity_variance])
        self.x = np.zeros((0, 4))
        self.P = np.zeros((0, 4, 4))

    def __len__(self) -> int:
        return len(self.x)

    @property
    def positions(self) -> np.ndarray:
        """(N, 2) current centre estimates in pixels."""
        return self.x[:, :2]

    @property
    def velocities(self) -> np.ndarray:
        """(N, 2) current velocity estimates in pixels per frame."""
        return self.x[:, 2:]

    def add(self, xy, velocities=None, velocity_variance=None) -> np.ndarray:
        """Start filters at positions xy (M, 2) (velocities (M, 2), default 0); returns their indices.

        velocity_variance (M,): each filter's initial velocity variance instead of P0's (e.g. scaled
        to the animal's size)."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        v = np.zeros_like(xy) if velocities is None else np.asarray(velocities, np.float64).reshape(-1, 2)
        start = len(self.x)
        self.x = np.concatenate([self.x, np.hstack([xy, v])])
        P = np.broadcast_to(self.P0, (len(xy), 4, 4))
        if velocity_variance is not None:
            P = P.copy()
            P[:, 2, 2] = P[:, 3, 3] = np.asarray(velocity_variance, np.float64).reshape(-1)
        self.P = np.concatenate([self.P, P])
        return np.arange(start, start + len(xy))

    def keep(self, mask) -> None:
        """Drop the filters where mask is False (indices of the rest shift down, order kept)."""
        self.x = self.x[mask]
        self.P = self.P[mask]

    def predict(self, steps: int = 1) -> None:
        """Advance every filter by `steps` frames."""
        for _ in range(int(steps)):
            self.x = self.x @ self.F.T
            self.P = self.F @ self.P @ self.F.T + self.Q

    def update(self, indices, measurements) -> None:
        """Correct the filters `indices` with measured positions (M, 2) in pixels."""
        idx = np.asarray(indices, np.intp).reshape(-1)
        if not len(idx):
            return
        z = np.asarray(measurements, np.float64).reshape(-1, 2)
        P = self.P[idx]
        PHT = P[:, :, :2]  # P H^T
        S = P[:, :2, :2] + self.R
        det = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] * S[:, 1, 0]
        S_inv = np.empty_like(S)
        S_inv[:, 0, 0] = S[:, 1, 1] / det
        S_inv[:, 1, 1] = S[:, 0, 0] / det
        S_inv[:, 0, 1] = -S[:, 0, 1] / det
        S_inv[:, 1, 0] = -S[:, 1, 0] / det
        K = PHT @ S_inv  # (M, 4, 2)
        residual = z - self.x[idx, :2]
        self.x[idx] = self.x[idx] + (K @ residual[:, :, None])[:, :, 0]
        I_KH = np.broadcast_to(np.eye(4), P.shape).copy()
        I_KH[:, :, :2] -= K
        self.P[idx] = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ self.R @ K.transpose(0, 2, 1)
