"""State estimation from what a real robot has: IMU, joint encoders and foot force sensors.

- Base orientation and angular velocity: the IMU's (its orientation filter output and gyro),
  moved from the IMU frame to the pelvis through the fixed mounting.
- Contact: per foot, the normal force with hysteresis.
- Base position (leg odometry): a foot in contact is anchored where it touched down; the base is
  where the leg kinematics put it from the anchors, averaged with the normal forces as weights.
- Base velocity: the IMU acceleration (gravity removed, world frame) integrated and pulled
  towards the kinematic velocity of the contact legs (a stance foot does not move:
  ``v_base = -(omega x r_foot + J_joints dq)``) by a complementary filter; during flight the
  IMU alone carries it.
- CoM, CoM velocity and DCM from the model at the estimated base state; measured ZMP from the
  ankle force/torque sensors.
The estimator never sees simulator ground truth; benches compare its output with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pinocchio as pin

from biped_gait.core.lipm import STANDARD_GRAVITY
from biped_gait.core.robot_model import BipedModel
from biped_gait.errors import BipedGaitError


@dataclass
class SensorReadings:
    """One set of measurements (controller joint order).

    Attributes:
        q: Joint positions [rad].
        dq: Joint velocities [rad/s].
        imu_orientation: IMU orientation in the world, quaternion (w, x, y, z).
        imu_angular_velocity: Gyro, IMU frame [rad/s].
        imu_linear_acceleration: Specific force, IMU frame [m/s^2].
        foot_force: Side -> ground force on the foot in the ankle frame [N].
        foot_torque: Side -> ground torque on the foot at the ankle [N*m].
    """

    q: np.ndarray
    dq: np.ndarray
    imu_orientation: np.ndarray
    imu_angular_velocity: np.ndarray
    imu_linear_acceleration: np.ndarray
    foot_force: dict
    foot_torque: dict


@dataclass
class EstimatedState:
    """Estimated robot state in the odometry frame."""

    base_position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    base_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    base_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    base_angular_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    com: np.ndarray = field(default_factory=lambda: np.zeros(3))
    com_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    zmp: np.ndarray = field(default_factory=lambda: np.zeros(2))
    contact: dict = field(default_factory=dict)
    normal_force: dict = field(default_factory=dict)
    soles: dict = field(default_factory=dict)  # side -> pin.SE3 in odom
    q: np.ndarray | None = None


@dataclass(frozen=True)
class EstimatorSettings:
    """Estimator constants.

    Attributes:
        contact_on: Normal force above which a foot is in contact [N].
        contact_off: Normal force below which it leaves contact [N].
        velocity_time_constant: Pull of the IMU-integrated velocity towards the leg
            kinematics [s].
        sensor_height: Height of the ankle F/T sensor above the sole [m].
    """

    contact_on: float = 60.0
    contact_off: float = 30.0
    velocity_time_constant: float = 0.03
    sensor_height: float = 0.035

    def __post_init__(self):
        if not (0 < self.contact_off < self.contact_on):
            raise BipedGaitError(
                f"contact thresholds: need 0 < contact_off ({self.contact_off} N) < "
                f"contact_on ({self.contact_on} N)"
            )
        if not self.velocity_time_constant > 0:
            raise BipedGaitError(
                f"velocity_time_constant {self.velocity_time_constant} s: expected > 0"
            )


def quaternion_to_matrix(wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z) (normalised here)."""
    w, x, y, z = (float(v) for v in wxyz)
    quaternion = pin.Quaternion(w, x, y, z)
    quaternion.normalize()
    return quaternion.toRotationMatrix()


def measured_cop(force, torque, sensor_height: float) -> np.ndarray:
    """Centre of pressure in the sensor frame, on the sole plane ``sensor_height`` below it.

    From ``torque = (p - s) x force`` with p on the sole plane (Kajita et al., "Introduction
    to Humanoid Robotics", eq. 3.26).

    Returns:
        (x, y) [m] in the sensor frame; (0, 0) when the foot carries nothing.
    """
    fz = force[2]
    if fz <= 1e-6:
        return np.zeros(2)
    px = (-torque[1] - force[0] * sensor_height) / fz
    py = (torque[0] - force[1] * sensor_height) / fz
    return np.array([px, py])


class StateEstimator:
    """Leg odometry fused with the IMU.

    Args:
        robot: The model.
        settings: Constants.
    """

    def __init__(self, robot: BipedModel, settings: EstimatorSettings = EstimatorSettings()):
        self.robot = robot
        self.settings = settings
        self.model = robot.model
        self.data = self.model.createData()
        self.sides = tuple(robot.sole_frames)
        self.state = EstimatedState()
        self._anchors: dict = {}
        self._initialised = False
        self._imu_rotation_in_base = robot.imu_in_base.rotation
        self._velocity = np.zeros(self.model.nv)  # the kinematics pass's (zero base translation)

    def reset(self, readings: SensorReadings, base_xy=(0.0, 0.0)) -> None:
        """Start the odometry with the base at ``base_xy`` and the lowest sole on z = 0."""
        rotation = self._base_rotation(readings)
        q = self.robot.configuration(np.zeros(3), rotation, readings.q)
        pin.framesForwardKinematics(self.model, self.data, q)
        lowest = min(self.data.oMf[self.robot.sole_frames[s]].translation[2] for s in self.sides)
        self.state = EstimatedState()
        self.state.base_position = np.array([base_xy[0], base_xy[1], -lowest])
        self.state.base_rotation = rotation
        self._anchors = {}
        self._initialised = True

    def _base_rotation(self, readings: SensorReadings) -> np.ndarray:
        return quaternion_to_matrix(readings.imu_orientation) @ self._imu_rotation_in_base.T

    def update(self, readings: SensorReadings, dt: float) -> EstimatedState:
        """Fold in one set of measurements.

        Args:
            readings: The measurements.
            dt: Time since the previous update [s].

        Returns:
            The estimate (the same object, updated).
        """
        if not self._initialised:
            self.reset(readings)
        st, cfg, model, data = self.state, self.settings, self.model, self.data
        rotation = self._base_rotation(readings)
        omega_local = self._imu_rotation_in_base @ readings.imu_angular_velocity
        omega = rotation @ omega_local
        q = self.robot.configuration(st.base_position, rotation, readings.q)
        # One kinematics pass with the base translation at rest: a point's velocity is then
        # relative to the base, so a planted foot's gives minus the base velocity.
        v = self._velocity
        v[3:6] = omega_local
        v[6:] = readings.dq
        pin.forwardKinematics(model, data, q, v)
        pin.updateFramePlacements(model, data)
        # Contacts with hysteresis on the normal force.
        total, kin_position, kin_velocity = 0.0, np.zeros(3), np.zeros(3)
        for side in self.sides:
            fz = float(readings.foot_force[side][2])
            st.normal_force[side] = fz
            now = fz > cfg.contact_on or (st.contact.get(side, False) and fz > cfg.contact_off)
            st.contact[side] = now
            if not now:
                self._anchors.pop(side, None)
                continue
            frame = self.robot.sole_frames[side]
            offset = data.oMf[frame].translation - st.base_position
            anchor = self._anchors.get(side)
            if anchor is None:
                anchor = self._anchors[side] = st.base_position + offset
            total += fz
            kin_position += fz * (anchor - offset)
            velocity = pin.getFrameVelocity(model, data, frame, pin.LOCAL_WORLD_ALIGNED)
            kin_velocity -= fz * velocity.linear
        acceleration = rotation @ self._imu_rotation_in_base @ readings.imu_linear_acceleration
        acceleration[2] -= STANDARD_GRAVITY
        st.base_velocity = st.base_velocity + acceleration * dt
        shift = -st.base_position
        if total > 0:
            gain = min(dt / cfg.velocity_time_constant, 1.0)
            st.base_velocity += gain * (kin_velocity / total - st.base_velocity)
            st.base_position = kin_position / total
        else:
            st.base_position = st.base_position + st.base_velocity * dt
        shift += st.base_position
        st.base_rotation = rotation
        st.base_angular_velocity = omega
        q[:3] = st.base_position
        st.q = q
        # CoM and soles from the same pass, moved with the base; the base velocity adds to the
        # CoM's.
        pin.centerOfMass(model, data, pin.KinematicLevel.VELOCITY, False)
        st.com = data.com[0] + shift
        st.com_velocity = data.vcom[0] + st.base_velocity
        st.soles = {}
        for side in self.sides:
            sole = data.oMf[self.robot.sole_frames[side]].copy()
            sole.translation = sole.translation + shift
            st.soles[side] = sole
        st.zmp = self._zmp(readings, shift)
        return st

    def _zmp(self, readings: SensorReadings, shift: np.ndarray) -> np.ndarray:
        """Measured ZMP in the odom frame from both ankle sensors (force-weighted CoPs)."""
        total, zmp = 0.0, np.zeros(2)
        for side in self.sides:
            force = readings.foot_force[side]
            if force[2] < self.settings.contact_off / 2:
                continue
            cop = measured_cop(force, readings.foot_torque[side], self.settings.sensor_height)
            ankle = self.data.oMf[self.robot.foot_frames[side]]
            point = ankle.act(np.array([cop[0], cop[1], -self.settings.sensor_height]))
            zmp += force[2] * (point[:2] + shift[:2])
            total += force[2]
        if total <= 0:
            return self.state.zmp
        return zmp / total
