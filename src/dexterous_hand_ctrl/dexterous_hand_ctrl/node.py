"""ROS 2 node of one hand's grasp controller: joint states and tactile contacts in, joint
commands out, a Grasp action server, /diagnostics.

Wiring only: parameters (``params.py``), message conversion (``conversions.py``) and the core
``GraspController``. A control step runs when the joint state and the tactile contacts of the
same stamp are both in (normally triggered by the contacts, which the tactile driver derives
from the same instant), or ``sync_wait_s`` after a joint state if no matching contacts come
(the controller then sees them age and stops with "stale tactile" when a goal is active). Every
joint state is answered with a command stamped like it, so the simulator's lockstep can wait
for this node (source = the hand's name).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pinocchio as pin
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from humanoid_common.cdr import CdrError, leading_stamp_ns, restamp
from humanoid_common.lifecycle import run_node
from humanoid_common.messages import joint_state_from_raw
from humanoid_common.params import declare_parameters
from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import JointState

from dexterous_hand_ctrl import conversions as conv
from dexterous_hand_ctrl.core.goal import GoalRejected, make_goal, quaternion_to_rotation
from dexterous_hand_ctrl.core.grasp_controller import GraspController, JointInput, Phase
from dexterous_hand_ctrl.core.hand_description import load_hand_description
from dexterous_hand_ctrl.errors import DexterousHandCtrlError
from dexterous_hand_ctrl.params import PARAMETERS, validate
from humanoid_interfaces.action import Grasp
from humanoid_interfaces.msg import ContactArray, JointCommand, TactileFrame

RELIABLE = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
# Control inputs: only the newest sample matters; a backlog would only add latency.
LATEST = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
BEST_EFFORT = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST
)
WINDOW = 2000
#: Longest wait (wall) for a state's contacts while the simulated clock stands still [s].
LOCKSTEP_SYNC_WAIT_S = 1.0
# Optical frame (z forward, x right, y down) in a camera link (x forward, y left, z up).
OPTICAL_IN_LINK = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


class HandControllerNode(Node):
    """One hand's grasp controller."""

    def __init__(self, node_name: str = "hand_controller"):
        super().__init__(node_name)
        values = declare_parameters(self, PARAMETERS)
        self.params = params = validate(values)
        self.hand = load_hand_description(params.robot_description, params.hand)
        self.controller = GraspController(self.hand, params.controller)
        self._camera = self._camera_frame(params.robot_description)
        arm_joints = self.hand.arm.joints if self.hand.arm else ()
        self._builder = conv.CommandBuilder(
            params.source, self.controller.model.joint_names, arm_joints
        )
        self.pub_command = self.create_publisher(JointCommand, params.command_topic, RELIABLE)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # Joint states (43 names at 100-500 Hz) are taken serialized and read with
        # humanoid_common.cdr, whose layout cache skips the names after the first.
        self.create_subscription(
            JointState, params.joint_states_topic, self._on_joints, LATEST, raw=True
        )
        # Contacts are taken serialized and decoded only for a step that uses them (a
        # ContactArray costs ~1 ms to turn into Python objects; idle steps are decimated).
        self.create_subscription(
            ContactArray, params.contacts_topic, self._on_contacts, LATEST, raw=True
        )
        # Frames are only monitored (rate, age): taken serialized, never deserialized.
        if params.frames_topic:
            self.create_subscription(
                TactileFrame, params.frames_topic, self._on_frame, BEST_EFFORT, raw=True
            )
        self._odometry = None  # serialized Odometry, read when a goal needs it
        if params.odometry_topic:
            self.create_subscription(
                Odometry, params.odometry_topic, self._on_odometry, RELIABLE, raw=True
            )
        self._server = ActionServer(
            self,
            Grasp,
            "grasp",
            execute_callback=self._execute,
            goal_callback=lambda _request: GoalResponse.ACCEPT,
            cancel_callback=lambda _handle: CancelResponse.ACCEPT,
        )
        # Wall-clock timers: in lockstep, sim time stands still until this node answers.
        wall = Clock(clock_type=ClockType.STEADY_TIME)
        # One-shot: armed when a joint state starts waiting for its contacts (a periodic timer
        # cost ~0.2 ms per tick in the EventsExecutor, 200 times a second).
        self._watchdog = None
        if params.sync_wait_s > 0.0:
            self._watchdog = self.create_timer(
                params.sync_wait_s, self._on_watchdog, clock=wall, autostart=False
            )
        self.create_timer(1.0 / params.diagnostics_rate_hz, self._publish_diagnostics, clock=wall)
        self._names: tuple[str, ...] = ()
        self._pending = None  # (stamp_ns, JointInput, wall time it started waiting)
        self._contacts = None  # (stamp_ns, serialized ContactArray)
        self._idle_stepped_ns = -(2**62)  # stamp of the last controller step while idle
        self._contacts_used_ns = -1
        self._answered_ns = -1
        self._active = None  # (goal_handle, Future)
        self._last_feedback = 0.0
        self._counts = {
            "steps": 0,
            "idle_answers": 0,
            "repeats": 0,
            "frames": 0,
            "contacts": 0,
            "rejected_goals": 0,
        }
        self._last_rejection = ""
        self._last_grasp = ""  # grasp type of the last accepted goal (chosen by class or named)
        self._latency = np.zeros(WINDOW)
        self._latency_count = 0
        self._frame_stamp = None
        self._last_output = None
        self._last_command: bytes | None = None  # serialized JointCommand
        self._diag_previous = (time.monotonic(), 0)
        self.get_logger().info(
            f"hand {params.hand}: {len(self.controller.model.joint_names)} hand joints, "
            f"{len(arm_joints)} arm joints, grasps {sorted(self.hand.grasps)}, source "
            f"'{params.source}'"
        )

    @staticmethod
    def _camera_frame(path):
        """(optical frame id, camera link) from the robot description, if it has a camera."""
        with open(path, encoding="utf-8") as stream:
            camera = (yaml.safe_load(stream) or {}).get("camera") or {}
        return (camera.get("frame_id"), camera.get("link")) if camera.get("link") else None

    # ------------------------------------------------------------------------------ inputs
    def _on_joints(self, raw: bytes) -> None:
        try:
            msg = joint_state_from_raw(raw)
        except CdrError as error:
            self.get_logger().warning(f"rejected joint state: {error}", throttle_duration_sec=1.0)
            return
        self._names = msg.name
        stamp_ns = msg.stamp_ns
        if stamp_ns <= self._answered_ns:
            # The simulator's lockstep asks again (our command was lost): answer with the
            # command computed for that stamp; never step a state twice.
            if (
                stamp_ns == self._answered_ns
                and self._last_command is not None
                and leading_stamp_ns(self._last_command) == stamp_ns
            ):
                self.pub_command.publish(self._last_command)
                self._counts["repeats"] += 1
            return
        if self._answer_idle(stamp_ns):
            return
        joints = JointInput(stamp_ns * 1e-9, self._names, msg.position)
        # A newer state replaces one still waiting for its contacts, but not its wait: with
        # the tactile stream gone, states arriving faster than sync_wait_s must still be
        # stepped (and the controller then sees the contacts age).
        waiting_since = self._pending[2] if self._pending is not None else time.monotonic()
        if self._pending is None and self._watchdog is not None:
            self._watchdog.reset()
        self._pending = (stamp_ns, joints, waiting_since)
        if self._contacts is not None and self._contacts[0] >= stamp_ns:
            self._step(time.monotonic())
        elif self._contacts is None and self.params.sync_wait_s == 0.0:
            self._step(time.monotonic())

    def _answer_idle(self, stamp_ns: int) -> bool:
        """While idle, step the controller only every ``idle_step_period_s`` (sim time) and
        answer the states in between with the held command, restamped: holding a posture needs
        no 100-500 Hz control, and this is most of an idle hand's CPU."""
        period_ns = int(self.params.idle_step_period_s * 1e9)
        output = self._last_output
        if (
            period_ns <= 0
            or self._active is not None
            or output is None
            or output.phase is not Phase.IDLE
            or stamp_ns - self._idle_stepped_ns >= period_ns
            or stamp_ns < self._idle_stepped_ns  # the clock went back (a reset)
        ):
            return False
        self._pending = None
        self._answered_ns = stamp_ns
        self._counts["idle_answers"] += 1
        if (
            self.params.command_when_idle
            and self.params.idle_command_every_state
            and self._last_command is not None
        ):
            self._last_command = restamp(self._last_command, stamp_ns)
            self.pub_command.publish(self._last_command)
        return True

    def _on_contacts(self, raw: bytes) -> None:
        received = time.monotonic()
        self._counts["contacts"] += 1
        self._contacts = (leading_stamp_ns(raw), raw)
        if self._pending is not None and self._contacts[0] >= self._pending[0]:
            self._step(received)

    def _on_frame(self, raw: bytes) -> None:
        self._counts["frames"] += 1
        self._frame_stamp = leading_stamp_ns(raw) * 1e-9

    def _on_odometry(self, raw: bytes) -> None:
        self._odometry = raw

    def _on_watchdog(self) -> None:
        """Step a joint state whose contacts did not come within ``sync_wait_s``."""
        self._watchdog.cancel()
        if self._pending is None:
            return
        waited = time.monotonic() - self._pending[2]
        limit = self.params.sync_wait_s
        if self.get_clock().now().nanoseconds <= self._pending[0]:
            # Time stands still until this state is answered (the simulator's lockstep): the
            # contacts of its instant are on their way, and waiting for them costs no
            # simulated time, only wall time on a loaded machine. Wait longer, but not forever
            # (a dead tactile driver must still end in a "stale tactile" stop).
            limit = max(limit, LOCKSTEP_SYNC_WAIT_S)
        if waited >= limit * 0.999:
            self._step(time.monotonic())
        else:
            self._watchdog.reset()

    # -------------------------------------------------------------------------------- step
    def _now(self) -> float:
        stamps = [self.get_clock().now().nanoseconds * 1e-9]
        if self._pending is not None:
            stamps.append(self._pending[0] * 1e-9)
        if self._contacts is not None:
            stamps.append(self._contacts[0] * 1e-9)
        return max(stamps)

    def _step(self, received: float) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending[0] <= self._answered_ns:
            return
        if self._watchdog is not None:
            self._watchdog.cancel()
        tactile = None
        if self._contacts is not None and self._contacts[0] != self._contacts_used_ns:
            tactile = conv.snapshot_from_serialized(self._contacts[1], ContactArray)
            self._contacts_used_ns = self._contacts[0]
        now = self._now()
        if self._active is not None and self._active[0].is_cancel_requested:
            self._complete(self.controller.cancel(now))
        output = self.controller.step(now, pending[1], tactile)
        self._answered_ns = pending[0]
        if output is None:
            return
        if output.phase is Phase.IDLE and self._active is None:
            self._idle_stepped_ns = pending[0]
        self._last_output = output
        if output.outcome is not None:
            self._complete(output.outcome)
        if self.params.command_when_idle or output.phase is not Phase.IDLE:
            self._last_command = self._builder.build(output, pending[0])
            self.pub_command.publish(self._last_command)
        self._latency[self._latency_count % WINDOW] = time.monotonic() - received
        self._latency_count += 1
        self._counts["steps"] += 1
        if self._active is not None and now - self._last_feedback >= 1.0 / (
            self.params.feedback_rate_hz
        ):
            self._last_feedback = now
            self._active[0].publish_feedback(self._feedback(output))

    def _feedback(self, output) -> Grasp.Feedback:
        feedback = Grasp.Feedback()
        feedback.phase = output.phase.value
        feedback.finger_names = list(output.finger_force_n)
        feedback.finger_force_n = [float(v) for v in output.finger_force_n.values()]
        feedback.target_force_n = float(output.target_force_n)
        feedback.slip_events = int(output.slip_events)
        return feedback

    def _complete(self, outcome) -> None:
        if outcome is not None and self._active is not None:
            _, future = self._active
            self._active = None
            if not future.done():
                future.set_result(outcome)

    # ------------------------------------------------------------------------------ action
    async def _execute(self, goal_handle):
        result = Grasp.Result()
        try:
            goal = self._make_goal(goal_handle.request)
            self.controller.start(goal, self._now())
            if not goal.release:
                self._last_grasp = goal.grasp_type
                self.get_logger().info(
                    f"grasp goal accepted: {goal.grasp_type} for "
                    f"{goal_handle.request.object_class or 'an object of unknown class'}"
                )
        except Exception as error:  # noqa: BLE001 - a bad goal must never stop the node
            if not isinstance(error, DexterousHandCtrlError):
                error = GoalRejected(f"internal error: {error!r}")
            self._counts["rejected_goals"] += 1
            self._last_rejection = str(error)
            self.get_logger().warning(f"goal rejected: {error}")
            goal_handle.abort()
            result.success, result.reason = False, f"rejected: {error}"
            return result
        future = Future()
        self._active = (goal_handle, future)
        outcome = await future
        result.success = bool(outcome.success)
        result.reason = outcome.reason
        result.achieved_force_n = float(outcome.achieved_force_n)
        result.finger_force_n = [float(v) for v in outcome.finger_force_n.values()]
        if outcome.canceled:
            goal_handle.canceled()
        elif outcome.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return result

    def _make_goal(self, request):
        side = self.params.hand.split("_")[0]
        if request.hand and request.hand not in (side, self.params.hand):
            raise GoalRejected(
                f"hand {request.hand!r}: this controller drives {side!r} ({self.params.hand})"
            )
        if request.release:
            return make_goal(self.hand, "", 0.0, 0.0, (0, 0, 0), (1, 0, 0, 0), (0, 0, 0), 0, True)
        pose = request.object_pose.pose
        position = np.array([pose.position.x, pose.position.y, pose.position.z])
        quat = np.array(
            [pose.orientation.w, pose.orientation.x, pose.orientation.y, pose.orientation.z]
        )
        size = request.object_size

        def goal_at(position, quat):
            return make_goal(
                self.hand,
                request.grasp_type,
                request.target_force_n,
                request.max_force_n,
                position,
                quat,
                (size.x, size.y, size.z),
                request.lift_height_m,
                False,
                self.params.default_object_extent_m,
                object_class=request.object_class,
            )

        goal_at(position, quat)  # every field checked before the frame is resolved
        return goal_at(*self._to_base(request.object_pose.header.frame_id, position, quat))

    def _to_base(self, frame: str, position: np.ndarray, quat: np.ndarray):
        """A pose in ``frame`` expressed in the hand's base frame (position, quat wxyz)."""
        base = self.hand.base_link
        arm = self.controller.arm
        if not frame or frame == base:
            return position, quat
        try:
            odometry = None
            if self._odometry is not None:
                odometry = conv.odometry_pose_from_raw(self._odometry)
        except CdrError as error:
            raise GoalRejected(f"odometry unreadable: {error}") from error
        if self._camera is not None and frame == self._camera[0] and arm is not None:
            link = arm.frame_pose(self._camera[1])
            transform = link * pin.SE3(OPTICAL_IN_LINK, np.zeros(3))
        elif arm is not None and arm.has_frame(frame):
            transform = arm.frame_pose(frame)
        elif odometry is not None and frame == odometry[0]:
            _, position_odom, q = odometry
            base_in_frame = pin.SE3(quaternion_to_rotation(*q), position_odom)
            transform = base_in_frame.inverse()
        else:
            known = [base, "robot links"]
            if self._camera:
                known.append(self._camera[0])
            if odometry is not None:
                known.append(odometry[0])
            raise GoalRejected(f"object pose frame {frame!r} is unknown: expected one of {known}")
        pose = transform * pin.SE3(quaternion_to_rotation(*quat), position)
        w, x, y, z = pin.Quaternion(pose.rotation).coeffs()[[3, 0, 1, 2]]
        return pose.translation.copy(), np.array([w, x, y, z])

    # ------------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        now_wall = time.monotonic()
        previous_wall, previous_steps = self._diag_previous
        steps = self._counts["steps"]
        rate = (steps - previous_steps) / max(now_wall - previous_wall, 1e-9)
        self._diag_previous = (now_wall, steps)
        c = self.controller
        status = DiagnosticStatus()
        status.name = f"{self.get_fully_qualified_name()}: grasp controller {self.params.hand}"
        status.hardware_id = self.params.hand
        level, message = DiagnosticStatus.OK, f"phase {c.phase.value}"
        if not c.initialized:
            level, message = DiagnosticStatus.WARN, "waiting for joint states"
        if c.last_fault:
            level, message = DiagnosticStatus.WARN, f"last fault: {c.last_fault}"
        if self._last_rejection and level == DiagnosticStatus.OK:
            message += f"; last rejected goal: {self._last_rejection}"
        status.level, status.message = level, message
        count = min(self._latency_count, WINDOW)
        values = {
            "phase": c.phase.value,
            "goal_active": str(c.goal_active).lower(),
            "last_fault": c.last_fault,
            "rejected_goals": str(self._counts["rejected_goals"]),
            "last_rejection": self._last_rejection,
            "last_grasp": self._last_grasp,
            "control_rate_hz": f"{rate:.1f}",
            "steps": str(steps),
            "idle_answers": str(self._counts["idle_answers"]),
            "contacts_received": str(self._counts["contacts"]),
        }
        if self.params.frames_topic:
            values["frames_received"] = str(self._counts["frames"])
        if self._frame_stamp is not None:
            values["last_frame_stamp_s"] = f"{self._frame_stamp:.3f}"
        if count:
            latency = self._latency[:count]
            values["latency_median_ms"] = f"{np.median(latency) * 1e3:.3f}"
            values["latency_p99_ms"] = f"{np.percentile(latency, 99) * 1e3:.3f}"
        output = self._last_output
        if output is not None:
            values["target_force_n"] = f"{output.target_force_n:.2f}"
            values["slip_events"] = str(output.slip_events)
            for finger, force in output.finger_force_n.items():
                values[f"force_{finger}_n"] = f"{force:.2f}"
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array_msg = DiagnosticArray()
        array_msg.header.stamp = self.get_clock().now().to_msg()
        array_msg.status = [status]
        self.pub_diagnostics.publish(array_msg)


def main(args=None) -> int:
    """Run the controller until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    return run_node(
        "hand_controller", HandControllerNode, refuse=(DexterousHandCtrlError,), args=args
    )


if __name__ == "__main__":
    sys.exit(main())
