"""ROS 2 node of the brain: runs the fetch task (core/fetch_task.py) against the robot's topics.

Wiring only: parameters, message conversion, service and action calls. Every decision (when to
walk, where to stand, when to grasp, retry or abort) is the core's.

Inputs: ``/vision/target`` (geometry_msgs/PoseStamped in the odometry, base or head-camera
optical frame), ``/odom`` (nav_msgs/Odometry), ``/gait/status`` (GaitStatus),
``/joint_states`` (waist angles, for the camera's pose), the hand's tactile contacts.
Outputs: ``/cmd_vel`` (geometry_msgs/Twist), ``/brain/status`` (std_msgs/String holding one
JSON object, transient-local: a late subscriber gets the latest), ``/diagnostics``.
Calls: ``/gait/walk``, ``/gait/stop`` (std_srvs/Trigger), the Grasp action of the hand.
Serves: ``/brain/start``, ``/brain/abort`` (std_srvs/Trigger).
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, Twist
from humanoid_common.cdr import CdrError, CdrReader, leading_stamp_ns, read_contact_array
from humanoid_common.lifecycle import run_node
from humanoid_common.messages import joint_state_from_raw, odometry_from_raw
from humanoid_common.params import declare_parameters
from humanoid_common.polled import PolledSubscriptions
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from humanoid_brain.core import geometry
from humanoid_brain.core.camera_chain import CameraChain
from humanoid_brain.core.fetch_task import FetchTask, TaskInputs
from humanoid_brain.core.history import StampedHistory
from humanoid_brain.errors import HumanoidBrainError
from humanoid_brain.grasp_client import GraspClient
from humanoid_brain.params import PARAMETERS, validate
from humanoid_interfaces.msg import ContactArray, GaitStatus

SENSOR_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
# The streams taken in batches (humanoid_common.polled): the keep-last depth covers 0.2 s of
# joint states at the G1's 500 Hz between two polls (20 Hz).
POLLED_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
STATUS_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
#: Odometry and joint states kept to place detections at their image's instant [ns].
HISTORY_NS = 1_000_000_000
#: Farthest sample from an image's stamp that still counts as its instant [ns].
HISTORY_TOLERANCE_NS = 50_000_000
GAIT_STATES = {
    GaitStatus.STATE_IDLE: "IDLE",
    GaitStatus.STATE_STAND: "STAND",
    GaitStatus.STATE_WALK: "WALK",
    GaitStatus.STATE_DAMPING: "DAMPING",
}


class BrainNode(Node):
    """The fetch-the-object coordinator."""

    def __init__(self, node_name: str = "humanoid_brain") -> None:
        super().__init__(node_name)
        self.params = self._declare()
        self.camera = CameraChain.from_robot_description(self.params.robot_description)
        self.task = FetchTask(self.params.task)
        self.pub_cmd = self.create_publisher(Twist, "/cmd_vel", COMMAND_QOS)
        self.pub_status = self.create_publisher(String, "/brain/status", STATUS_QOS)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(PoseStamped, "/vision/target", self._on_target, SENSOR_QOS)
        # Odometry (100 Hz), the gait's status (50 Hz), joint states and contacts (the robot's
        # control rate, 500 Hz on the G1) are read at the task's 20 Hz and when a target
        # arrives: they wait in DDS and are taken in batches (humanoid_common.polled), not
        # dispatched one by one. The newest is kept serialized and decoded only when used
        # (decoding each joint state cost this node most of a core); the odometry and joint
        # states of the last second are kept to place detections.
        self._polled = PolledSubscriptions(self)
        polled = self._polled.create_subscription
        polled(Odometry, "/odom", self._on_odom, POLLED_QOS, raw=True)
        polled(GaitStatus, "/gait/status", self._on_gait, POLLED_QOS, raw=True)
        polled(JointState, "/joint_states", self._on_joints, POLLED_QOS, raw=True)
        if self.params.contacts_topic:
            polled(
                ContactArray, self.params.contacts_topic, self._on_contacts, POLLED_QOS, raw=True
            )
        self.gait_clients = {
            "walk": self.create_client(Trigger, "/gait/walk"),
            "stop": self.create_client(Trigger, "/gait/stop"),
        }
        self.vision_client = None
        if self.params.vision_enable_service:
            self.vision_client = self.create_client(SetBool, self.params.vision_enable_service)
        from humanoid_interfaces.action import Grasp

        client = ActionClient(self, Grasp, self.params.grasp_action)
        self.grasp = GraspClient(client, Grasp, self.params.grasp_action)
        self.create_service(Trigger, "/brain/start", self._on_start)
        self.create_service(Trigger, "/brain/abort", self._on_abort)
        self.create_timer(1.0 / self.params.control_rate_hz, self._control)
        self.create_timer(1.0 / self.params.status_rate_hz, self._publish_status)
        self.create_timer(1.0, self._publish_diagnostics)
        # Odometry comes at the gait's rate (100 Hz); the task reads it at its own 20 Hz: keep
        # the serialized message, decode the newest when read (humanoid_common.cdr).
        # Detections are placed with the odometry and waist angles of their image's instant:
        # the last second of both is kept, serialized (StampedHistory).
        self._odom_raw: bytes | None = None
        self._odom_read: tuple[bytes | None, tuple] = (None, (None, None, 0.0, 0.0))
        self._odom_history: StampedHistory[bytes] = StampedHistory(HISTORY_NS)
        self._joints_history: StampedHistory[bytes] = StampedHistory(HISTORY_NS)
        self._gait_state: str | None = None
        self._joints_raw: bytes | None = None
        self._contacts_raw: bytes | None = None
        self._abort_requested = False
        self._last_t: float | None = None
        self._last = None  # the latest TaskOutputs
        self._counters = {
            "targets": 0,
            "targets_unknown_frame": 0,
            "targets_without_odom": 0,
            "targets_placed_at_arrival": 0,
            "gait_calls_failed": 0,
            "vision_pauses": 0,
            "vision_calls_failed": 0,
        }
        self._tasks_started = 0
        if self.params.autostart:
            self.task.start()
            self._tasks_started = 1
        self.get_logger().info(
            f"fetch task ready: grasp action {self.params.grasp_action}, "
            f"{'started' if self.params.autostart else 'waiting for /brain/start'}"
        )

    def _declare(self):
        values = declare_parameters(self, PARAMETERS)
        return validate(values)

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # ------------------------------------------------------------------ inputs
    def _on_odom(self, raw: bytes) -> None:
        self._odom_raw = raw
        _remember(self._odom_history, raw)

    def _odometry(self, raw: bytes | None = None) -> tuple:
        """(odom_T_base 4x4, planar pose, speed [m/s], turn rate [rad/s]) of the newest
        odometry (or of ``raw``); (None, None, 0, 0) before the first."""
        if raw is None:
            raw = self._odom_raw
        if raw is self._odom_read[0]:
            return self._odom_read[1]
        if raw is None:
            return (None, None, 0.0, 0.0)
        v = odometry_from_raw(raw)[3]
        position, (x, y, z, w) = v[0:3], v[3:7]
        linear_x, linear_y, turn = v[43], v[44], v[48]
        odom_T = geometry.transform(tuple(position), (w, x, y, z))
        values = (odom_T, geometry.planar(odom_T), math.hypot(linear_x, linear_y), float(turn))
        if raw is self._odom_raw:
            self._odom_read = (raw, values)
        return values

    @property
    def _odom_T(self) -> np.ndarray | None:
        return self._odometry()[0]

    @property
    def _odom_pose(self) -> geometry.Pose2D | None:
        return self._odometry()[1]

    @property
    def _speed(self) -> float:
        return self._odometry()[2]

    @property
    def _turn(self) -> float:
        return self._odometry()[3]

    def _on_gait(self, raw: bytes) -> None:
        try:
            reader = CdrReader(raw)
            reader.header()
            state = reader.u8()  # GaitStatus: header, then state
        except CdrError:  # not plain little-endian CDR: let rclpy read it
            state = deserialize_message(raw, GaitStatus).state
        self._gait_state = GAIT_STATES.get(state, str(state))

    def _on_joints(self, raw: bytes) -> None:
        self._joints_raw = raw
        _remember(self._joints_history, raw)

    def _on_contacts(self, raw: bytes) -> None:
        self._contacts_raw = raw

    def _waist(self, raw: bytes | None) -> dict[str, float]:
        """The camera chain's joint angles in a serialized joint state (None: empty)."""
        if raw is None:
            return {}
        state = joint_state_from_raw(raw)
        names, positions = state.name, state.position
        return {
            name: float(position)
            for name, position in zip(names, positions, strict=False)
            if name in self.camera.joints
        }

    @property
    def _in_contact(self) -> int | None:
        """Pads in contact in the newest contact message (None before the first)."""
        if self._contacts_raw is None:
            return None
        try:
            contacts = read_contact_array(self._contacts_raw)[3]
        except CdrError:  # not plain little-endian CDR: let rclpy read it
            contacts = deserialize_message(self._contacts_raw, ContactArray).contacts
        return sum(1 for contact in contacts if contact.in_contact)

    def _on_target(self, msg: PoseStamped) -> None:
        self._polled.poll()  # the odometry and joint states up to now
        p = msg.pose.position
        point = np.array([p.x, p.y, p.z])
        stamp_ns = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        frame = msg.header.frame_id.lstrip("/")
        if frame == self.params.odom_frame:
            position = point
        elif frame == self.params.base_frame or frame in self.params.camera_frames:
            # The robot's pose and waist at the image's instant; the newest if the history
            # does not cover it (a stamp from another clock, a gap in the odometry).
            odom_raw = self._odom_history.nearest(stamp_ns, HISTORY_TOLERANCE_NS)
            joints_raw = self._joints_history.nearest(stamp_ns, HISTORY_TOLERANCE_NS)
            if odom_raw is None:
                self._counters["targets_placed_at_arrival"] += 1
            odom_T = self._odometry(odom_raw)[0]
            if odom_T is None:
                self._counters["targets_without_odom"] += 1
                return
            if frame != self.params.base_frame:
                waist = self._waist(joints_raw if joints_raw is not None else self._joints_raw)
                point = geometry.apply(self.camera.optical_in_base(waist), point)
            position = geometry.apply(odom_T, point)
        else:
            self._counters["targets_unknown_frame"] += 1
            self.get_logger().warning(
                f"ignoring a target in frame {frame!r}: expected {self.params.odom_frame}, "
                f"{self.params.base_frame} or {list(self.params.camera_frames)}",
                throttle_duration_sec=2.0,
            )
            return
        try:
            # Measured at the image's instant (a stamp from the future or older than the
            # history, i.e. from another clock, counts as now).
            now, stamp = self._now_s(), stamp_ns * 1e-9
            measured = stamp if 0.0 <= now - stamp <= HISTORY_NS * 1e-9 else now
            self.task.observe_target(position, measured, now)
        except HumanoidBrainError as error:
            self.get_logger().warning(f"ignoring a target: {error}", throttle_duration_sec=2.0)
            return
        self._counters["targets"] += 1

    # ---------------------------------------------------------------- services
    def _on_start(self, request, response):
        if self.task.start():
            self._abort_requested = False
            self._last_t = None
            self._tasks_started += 1
            response.success = True
            response.message = f"fetch task {self._tasks_started} started"
            self._publish_status()
        else:
            response.success = False
            response.message = f"a task is running (state {self.task.state.value})"
        return response

    def _on_abort(self, request, response):
        state = self.task.state
        if state is None or not self.task.active or state.value in ("DONE", "ABORTED"):
            response.success = False
            response.message = f"no task running (state {state.value if state else 'IDLE'})"
        else:
            self._abort_requested = True
            response.success, response.message = True, f"aborting in {state.value}"
        return response

    # ------------------------------------------------------------------ control
    def _control(self) -> None:
        self._polled.poll()
        t = self._now_s()
        dt = t - self._last_t if self._last_t is not None else 1.0 / self.params.control_rate_hz
        if dt <= 0.0:
            return  # the (simulated) clock did not advance
        self._last_t = t
        grasp_report = self.grasp.take_report()
        outcomes = (("grasp", grasp_report.result), ("release", grasp_report.release_result))
        for what, outcome in outcomes:
            if outcome is not None and not outcome[0]:
                self.get_logger().warning(f"{what} goal failed: {outcome[1]}")
        inputs = TaskInputs(
            robot=self._odom_pose,
            speed_mps=self._speed,
            turn_rps=self._turn,
            gait_state=self._gait_state,
            grasp_phase=grasp_report.phase,
            grasp_result=grasp_report.result,
            release_result=grasp_report.release_result,
            in_contact=self._in_contact,
            abort_requested=self._abort_requested,
        )
        try:
            out = self.task.step(inputs, t, dt)
        except HumanoidBrainError as error:  # the clock jumped back (simulator reset)
            self.get_logger().error(f"task stopped: {error}")
            self.task.active = False
            self._safe_stop()
            return
        self._abort_requested = False
        self._last = out
        self._act(out)
        if out.changed:
            log = self.get_logger().warning if out.state.value == "ABORTED" else None
            text = f"{out.state.value}: {out.reason}"
            if log is not None:
                log(text)
            else:
                self.get_logger().info(text)
            self._publish_status()

    def _act(self, out) -> None:
        if out.cmd_vel is not None:
            self._publish_cmd(out.cmd_vel)
        if out.gait_request:
            self._call_gait(out.gait_request)
        if out.cancel_grasp:
            self.grasp.cancel()
        if out.send_grasp:
            self._send_grasp(out.object_odom)
        if out.send_release:
            self.grasp.send_release(self.params.hand, self.get_clock().now().to_msg())
        if out.vision_request is not None:
            self._call_vision(out.vision_request)

    def _call_vision(self, enable: bool) -> None:
        """Pause or resume the vision node; without it (not running, or not configured) vision
        simply keeps running, which costs CPU, not correctness."""
        if self.vision_client is None:
            return
        if not self.vision_client.service_is_ready():
            self._counters["vision_calls_failed"] += 1
            return
        if not enable:
            self._counters["vision_pauses"] += 1
        future = self.vision_client.call_async(SetBool.Request(data=enable))

        def done(result_future, enable=enable) -> None:
            response = result_future.result()
            if response is None or not response.success:
                self._counters["vision_calls_failed"] += 1
                message = response.message if response is not None else "no response"
                self.get_logger().warning(f"vision {'resume' if enable else 'pause'}: {message}")

        future.add_done_callback(done)

    def _safe_stop(self) -> None:
        if self.task.vision_paused:
            self.task.vision_paused = False
            self._call_vision(True)
        self._publish_cmd((0.0, 0.0, 0.0))
        self._call_gait("stop")
        self.grasp.cancel()
        self.grasp.send_release(self.params.hand, self.get_clock().now().to_msg())

    def _publish_cmd(self, command) -> None:
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.angular.z = (float(v) for v in command)
        self.pub_cmd.publish(msg)

    def _call_gait(self, which: str) -> None:
        client = self.gait_clients[which]
        if not client.service_is_ready():
            self._counters["gait_calls_failed"] += 1
            self.get_logger().warning(f"gait service /gait/{which} is not available")
            return
        future = client.call_async(Trigger.Request())

        def done(result_future, which=which) -> None:
            response = result_future.result()
            if response is None or not response.success:
                self._counters["gait_calls_failed"] += 1
                message = response.message if response is not None else "no response"
                self.get_logger().warning(
                    f"/gait/{which} refused: {message}", throttle_duration_sec=2.0
                )
                if which == "walk":
                    self.task.walk_refused(self._now_s())

        future.add_done_callback(done)

    def _send_grasp(self, object_odom) -> None:
        if object_odom is None or self._odom_T is None:
            self.grasp.fail_now("no object position or odometry for the grasp goal")
            return
        base_from_odom = geometry.invert(self._odom_T)
        position = geometry.apply(base_from_odom, object_odom)
        quaternion = geometry.matrix_to_quaternion(base_from_odom[:3, :3])
        self.grasp.send_grasp(
            hand=self.params.hand,
            grasp_type=self.params.grasp_type,
            target_force_n=self.params.target_force_n,
            max_force_n=self.params.max_force_n,
            frame_id=self.params.base_frame,
            stamp=self.get_clock().now().to_msg(),
            position=position,
            quaternion_wxyz=quaternion,
            size=self.params.object_size_m,
            lift_height_m=self.params.lift_height_m,
            object_class=self.params.object_class,
        )

    def destroy_node(self) -> None:
        self._polled.destroy()
        super().destroy_node()

    # ------------------------------------------------------------------- status
    def status(self) -> dict:
        """The task's state as published on /brain/status."""
        self._polled.poll()
        out, state = self._last, self.task.state
        robot = self._odom_pose
        return {
            "task": self._tasks_started,
            "state": state.value if state is not None else "IDLE",
            "active": bool(self.task.active and state is not None),
            "failures": self.task.fsm.failures,
            "reason": self.task.last_reason,
            "time_s": round(self._now_s(), 3),
            "target_odom": _rounded(out.object_odom) if out is not None else None,
            "standoff": _rounded(out.goal) if out is not None else None,
            "distance_m": None if out is None or math.isnan(out.distance_m) else out.distance_m,
            "robot": _rounded(robot),
            "gait_state": self._gait_state,
            "grasp_phase": self.grasp.phase,
            "grasp_goals": self.grasp.goals_sent,
            "release_goals": self.grasp.releases_sent,
        }

    def _publish_status(self) -> None:
        self.pub_status.publish(String(data=json.dumps(self.status())))

    def _publish_diagnostics(self) -> None:
        status = self.status()
        level = DiagnosticStatus.WARN if status["state"] == "ABORTED" else DiagnosticStatus.OK
        values = {**{k: status[k] for k in ("state", "failures", "reason")}, **self._counters}
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status.append(
            DiagnosticStatus(
                level=level,
                name="humanoid_brain: fetch task",
                hardware_id=self.get_fully_qualified_name(),
                message=f"{status['state']}: {status['reason']}",
                values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
            )
        )
        self.pub_diagnostics.publish(array)


def _remember(history: StampedHistory, raw: bytes) -> None:
    try:
        history.add(leading_stamp_ns(raw), raw)
    except CdrError:  # too short to hold a stamp: the reader of the newest reports it
        pass


def _rounded(values) -> list[float] | None:
    return None if values is None else [round(float(v), 3) for v in values]


def main(args=None) -> int:
    """Run the brain until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    return run_node("humanoid_brain", BrainNode, refuse=(HumanoidBrainError,), args=args)


if __name__ == "__main__":
    sys.exit(main())
