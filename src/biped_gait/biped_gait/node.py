"""ROS 2 node of the walking controller: wiring between ``core.WalkingController`` and topics.

One control step runs per robot state: when /joint_states, /imu/data and both foot wrenches of
the same stamp have arrived (or the next joint state comes while one of them is missing, which
the stale check then catches). The joint command carries that stamp, so the simulator's lockstep
mode can wait for it. Inputs older than ``stale_timeout_s`` -> safe hold (the last command,
frozen) and a diagnostics error. Bad inputs are rejected with a reason and counted; the node
keeps running.
"""

from __future__ import annotations

import sys
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist, WrenchStamped
from humanoid_common.cdr import CdrError, JointStateData, leading_stamp_ns
from humanoid_common.lifecycle import run_node
from humanoid_common.messages import joint_state_from_raw
from humanoid_common.params import declare_parameters
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger

from biped_gait import conversions as conv
from biped_gait.core.config import load_robot_facts
from biped_gait.core.controller import WalkingController
from biped_gait.core.estimator import SensorReadings
from biped_gait.errors import BipedGaitError
from biped_gait.params import PARAMETERS, NodeParams, validate
from humanoid_interfaces.msg import GaitStatus, JointCommand

STATE_QOS = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
COMMAND_QOS = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
SOURCE = "biped_gait"
INPUTS = ("imu", "left", "right")


class GaitNode(Node):
    """The walking controller as a ROS 2 node."""

    def __init__(self, node_name: str = "biped_gait"):
        super().__init__(node_name)
        self.params: NodeParams = self._declare_parameters()
        facts = load_robot_facts(self.params.robot_description)
        self.controller = WalkingController(facts, self.params.gait, self.params.command_arms)
        self.joint_names = self.controller.joint_names
        self._period_ns = int(round(self.params.gait.dt * 1e9))
        self._stale_ns = int(round(self.params.stale_timeout_s * 1e9))
        self._joints: tuple[int, np.ndarray, np.ndarray] | None = None
        self._inputs: dict[str, tuple] = {}
        self._last_stepped_ns = -1
        self._last_time: float | None = None
        self._name_cache: tuple[list, np.ndarray] | None = None
        self._stale: list[str] = []
        self._counts = {
            "steps": 0,
            "holds": 0,
            "repeats": 0,
            "joint_states_rejected": 0,
            "cmd_vel_rejected": 0,
        }
        self._last_command: bytes | None = None  # serialized JointCommand
        self._command_writer = conv.CommandWriter(SOURCE)
        self._odometry_writer = conv.OdometryWriter(self.params.odom_frame, self.params.base_frame)
        self._status_writer = conv.GaitStatusWriter(self.params.odom_frame)
        self._period_seen_s = 0.0  # the joint states' period when it disagrees with the rate
        self._reasons = {"joint_states": "", "cmd_vel": ""}
        self._step_times: deque[float] = deque(maxlen=500)
        self._status_every = max(1, round(1.0 / (self.params.status_rate_hz * self.params.gait.dt)))
        self._odom_every = max(1, round(1.0 / (self.params.odom_rate_hz * self.params.gait.dt)))
        self._last_arrival = time.monotonic()
        self.pub_command = self.create_publisher(JointCommand, "/joint_command", COMMAND_QOS)
        self.pub_odom = self.create_publisher(Odometry, "/odom", 10)
        self.pub_status = self.create_publisher(GaitStatus, "/gait/status", 10)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # The state streams are taken serialized (read in conversions with humanoid_common.cdr).
        self.create_subscription(JointState, "/joint_states", self._on_joints, STATE_QOS, raw=True)
        self.create_subscription(Imu, "/imu/data", self._on_imu, STATE_QOS, raw=True)
        for side in ("left", "right"):
            self.create_subscription(
                WrenchStamped,
                f"/{side}_foot/wrench",
                lambda raw, side=side: self._on_wrench(side, raw),
                STATE_QOS,
                raw=True,
            )
        self.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10)
        self.create_service(Trigger, "/gait/stand", self._service(self._request_stand))
        self.create_service(Trigger, "/gait/walk", self._service(self.controller.request_walk))
        self.create_service(Trigger, "/gait/stop", self._service(self.controller.request_stop))
        # Wall-clock timers: with use_sim_time and a lockstep simulator waiting on this node,
        # simulated time stands still while idle.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(
            1.0 / self.params.diagnostics_rate_hz, self._publish_diagnostics, clock=steady
        )
        self.create_timer(0.2, self._idle_status, clock=steady)
        if self.params.auto_stand:
            self.controller.request_stand()
        self.get_logger().info(
            f"walking controller for {len(self.joint_names)} joints "
            f"({'with' if self.params.command_arms else 'without'} arms), state idle: "
            "call /gait/stand"
        )

    # ------------------------------------------------------------------------- set-up
    def _declare_parameters(self) -> NodeParams:
        values = declare_parameters(self, PARAMETERS)
        return validate(values)

    def _request_stand(self) -> tuple[bool, str]:
        idle = self.controller.state == "idle"
        accepted, reason = self.controller.request_stand()
        if accepted and idle and self._joints is not None:
            # Idle sends no commands, so a lockstep simulator is still waiting on the last
            # state: answer it now rather than at the next one.
            self._step(self._joints[0])
        return accepted, reason

    def _service(self, request):
        def handle(_request, response):
            response.success, response.message = request()
            self.get_logger().info(f"{response.message}")
            return response

        return handle

    # ------------------------------------------------------------------------- inputs
    def _on_joints(self, raw: bytes) -> None:
        self._last_arrival = time.monotonic()
        try:
            msg = joint_state_from_raw(raw)
            q, dq = self._joint_arrays(msg)
        except (BipedGaitError, CdrError) as error:
            self._counts["joint_states_rejected"] += 1
            self._reasons["joint_states"] = str(error)
            self.get_logger().warning(f"rejected /joint_states: {error}", throttle_duration_sec=1.0)
            return
        stamp = msg.stamp_ns
        if stamp <= self._last_stepped_ns:
            # The simulator's lockstep asks again (our command or one of its inputs was lost):
            # answer with the command computed for that stamp; never step a state twice.
            if (
                stamp == self._last_stepped_ns
                and self._last_command is not None
                and leading_stamp_ns(self._last_command) == stamp
            ):
                self.pub_command.publish(self._last_command)
                self._counts["repeats"] += 1
            return
        previous = self._joints
        if previous is not None and self._last_stepped_ns < previous[0] < stamp:
            # The last state never completed (an input is missing): run it now; the stale check
            # decides what it may do.
            self._step(previous[0])
        self._joints = (stamp, q, dq)
        self._try_step()

    def _joint_arrays(self, msg: JointStateData) -> tuple[np.ndarray, np.ndarray]:
        names = msg.name
        count = len(names)
        if len(msg.position) != count or len(msg.velocity) != count:
            raise BipedGaitError(
                f"{count} names but {len(msg.position)} positions and "
                f"{len(msg.velocity)} velocities"
            )
        cache = self._name_cache
        if cache is None or cache[0] != names:
            lookup = {name: i for i, name in enumerate(names)}
            missing = [j for j in self.joint_names if j not in lookup]
            if missing:
                raise BipedGaitError(f"missing joints {missing[:4]} ({len(missing)} in all)")
            cache = (tuple(names), np.array([lookup[j] for j in self.joint_names]))
            self._name_cache = cache
        position = np.asarray(msg.position, dtype=float)[cache[1]]
        velocity = np.asarray(msg.velocity, dtype=float)[cache[1]]
        if not (np.all(np.isfinite(position)) and np.all(np.isfinite(velocity))):
            raise BipedGaitError("non-finite joint positions or velocities")
        return position, velocity

    def _on_imu(self, raw: bytes) -> None:
        try:
            self._inputs["imu"] = conv.imu_from_raw(raw)
        except CdrError as error:
            self.get_logger().warning(f"rejected /imu/data: {error}", throttle_duration_sec=1.0)
            return
        self._try_step()

    def _on_wrench(self, side: str, raw: bytes) -> None:
        try:
            self._inputs[side] = conv.wrench_from_raw(raw)
        except CdrError as error:
            self.get_logger().warning(
                f"rejected /{side}_foot/wrench: {error}", throttle_duration_sec=1.0
            )
            return
        self._try_step()

    def _on_cmd_vel(self, msg: Twist) -> None:
        now = self._now()
        result = self.controller.commands.set_target(
            [msg.linear.x, msg.linear.y, msg.angular.z], now
        )
        if not result.accepted:
            self._counts["cmd_vel_rejected"] += 1
            self._reasons["cmd_vel"] = result.message
            self.get_logger().warning(f"/cmd_vel rejected: {result.message}")
        elif result.message:
            self._reasons["cmd_vel"] = result.message
            self.get_logger().warning(f"/cmd_vel {result.message}", throttle_duration_sec=1.0)

    def _now(self) -> float:
        if self._joints is not None:
            return self._joints[0] * 1e-9
        return self.get_clock().now().nanoseconds * 1e-9

    # -------------------------------------------------------------------------- step
    def _try_step(self) -> None:
        joints = self._joints
        if joints is None or joints[0] <= self._last_stepped_ns:
            return
        stamp = joints[0]
        if all(name in self._inputs and self._inputs[name][0] == stamp for name in INPUTS):
            self._step(stamp)

    def _step(self, stamp: int) -> None:
        started = time.perf_counter()
        self._last_stepped_ns = stamp
        _, q, dq = self._joints
        self._stale = [
            name
            for name in INPUTS
            if name not in self._inputs or stamp - self._inputs[name][0] > self._stale_ns
        ]
        now = stamp * 1e-9
        dt = self.params.gait.dt
        if self._last_time is not None and 0 < now - self._last_time < 5 * dt:
            dt = now - self._last_time
        if self._last_time is not None and 0 < now - self._last_time < 0.1:
            period = now - self._last_time  # a steady mismatch means control_rate_hz is wrong
            mismatch = abs(period - self.params.gait.dt) > 0.25 * self.params.gait.dt
            self._period_seen_s = period if mismatch else 0.0
        self._last_time = now
        if self._stale:
            command = self.controller.hold()
            self._counts["holds"] += 1
        else:
            imu, left, right = (self._inputs[name] for name in INPUTS)
            readings = SensorReadings(
                q,
                dq,
                imu[1],
                imu[2],
                imu[3],
                {"left": left[1], "right": right[1]},
                {"left": left[2], "right": right[2]},
            )
            command = self.controller.step(readings, now, dt)
        self._counts["steps"] += 1
        if command is not None:
            self._last_command = self._command_writer.write(command, stamp)
            self.pub_command.publish(self._last_command)
        if self._counts["steps"] % self._status_every == 0:
            self.pub_status.publish(self._status_writer.write(self.controller.report, stamp))
        if self._counts["steps"] % self._odom_every == 0 and self.controller.state != "idle":
            self.pub_odom.publish(
                self._odometry_writer.write(self.controller.estimator.state, stamp)
            )
        self._step_times.append(time.perf_counter() - started)

    def _idle_status(self) -> None:
        """While idle no state is processed in lockstep: report the state anyway."""
        if self.controller.state == "idle":
            stamp = self._joints[0] if self._joints is not None else 0
            self.pub_status.publish(self._status_writer.write(self.controller.report, stamp))

    # ---------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        status = DiagnosticStatus()
        status.name = f"{self.get_name()}: walking controller"
        status.hardware_id = "biped_gait"
        report = self.controller.report
        level, message = DiagnosticStatus.OK, f"{report.state}: {report.message}"
        silent = time.monotonic() - self._last_arrival
        if self._counts["joint_states_rejected"] or self._counts["cmd_vel_rejected"]:
            level = DiagnosticStatus.WARN
            message = (
                f"rejected inputs: joint_states {self._counts['joint_states_rejected']} "
                f"({self._reasons['joint_states']}), cmd_vel {self._counts['cmd_vel_rejected']} "
                f"({self._reasons['cmd_vel']})"
            )
        if report.state == "damping":
            level, message = DiagnosticStatus.ERROR, f"damping: {report.message}"
        if self._stale:
            level = DiagnosticStatus.ERROR
            message = f"stale inputs {self._stale}: safe hold"
        elif silent > max(self.params.stale_timeout_s, 0.5):
            level = DiagnosticStatus.ERROR
            message = f"no /joint_states for {silent:.2f} s"
        elif self._period_seen_s and level == DiagnosticStatus.OK:
            level = DiagnosticStatus.WARN
            message = (
                f"joint states every {1e3 * self._period_seen_s:.1f} ms, but control_rate_hz "
                f"{1.0 / self.params.gait.dt:.0f} Hz: set it to the joint states' rate"
            )
        times = np.array(self._step_times) if self._step_times else np.zeros(1)
        values = {
            "state": report.state,
            "support": report.support,
            "step_count": str(report.step_count),
            "control_steps": str(self._counts["steps"]),
            "safe_holds": str(self._counts["holds"]),
            "stale_inputs": ",".join(self._stale),
            "joint_states_rejected": str(self._counts["joint_states_rejected"]),
            "last_joint_states_rejection": self._reasons["joint_states"],
            "cmd_vel_rejected": str(self._counts["cmd_vel_rejected"]),
            "last_cmd_vel_issue": self._reasons["cmd_vel"],
            "step_time_median_ms": f"{1e3 * float(np.median(times)):.3f}",
            "step_time_p99_ms": f"{1e3 * float(np.percentile(times, 99)):.3f}",
        }
        status.level, status.message = level, message
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [status]
        self.pub_diagnostics.publish(array)


def main(args=None) -> int:
    """Run the gait node until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    return run_node("gait_node", GaitNode, refuse=(BipedGaitError,), args=args)


if __name__ == "__main__":
    sys.exit(main())
