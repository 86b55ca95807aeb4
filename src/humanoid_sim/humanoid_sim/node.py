"""ROS 2 node of the simulated robot: wiring between ``core.Simulation`` and the robot's topics.

Publishes what a real G1 offers (/joint_states, /imu/data, ankle wrenches, head RGB-D camera,
tactile skins) plus /clock, and ground truth on /sim/... for evaluation only. Accepts
humanoid_interfaces/JointCommand on /joint_command from several controllers.

Threads: the simulation loop runs in its own thread (stepping, reading sensors, publishing,
pacing or lockstep waiting); the executor thread runs command callbacks and services, which take
the same lock as the loop, so every change lands between two steps. The camera renders and
publishes in a third thread, from a DDS participant of its own (``camera_stream``).
"""

from __future__ import annotations

import collections
import sys
import threading
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import WrenchStamped
from humanoid_common.cdr import (
    CdrError,
    JointCommandData,
    JointStateWriter,
    StampedDoublesWriter,
    TactileFrameWriter,
    read_joint_command,
    write_time,
)
from humanoid_common.lifecycle import profiled, run_node
from humanoid_common.params import declare_parameters
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState

from humanoid_interfaces.msg import Detection3D, DetectionArray, JointCommand, TactileFrame
from humanoid_interfaces.srv import ApplyWrench, ResetSim, SetObjectMass
from humanoid_sim import ros_conversions as conv
from humanoid_sim.camera_stream import CameraStream
from humanoid_sim.core.command_mux import CommandDelayLine
from humanoid_sim.core.robot_description import load_robot_description
from humanoid_sim.core.scene import load_scene
from humanoid_sim.core.simulation import Simulation
from humanoid_sim.errors import CommandRejected, SimError
from humanoid_sim.params import PARAMETERS, ParameterError, SimParams, validate

# State streams are published reliable keep-last: best-effort subscribers connect as well, and
# lockstep controllers can ask for reliability so that no state goes unanswered.
STATE_QOS = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
# Images (camera_stream): reliable keep-last 2. Best-effort 1-2 MB samples lost ~80% of frames
# between processes here (measured: 2.5 of 15 Hz received); a reliable writer with a short
# keep-last history never blocks, and best-effort readers still match it.
IMAGE_QOS = QoSProfile(
    depth=2, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
REPUBLISH_S = 0.2  # lockstep: re-send the state this often until every source has answered
COMMAND_QOS = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)


class SimNode(Node):
    """The simulated robot as a ROS 2 node."""

    def __init__(self, node_name: str = "humanoid_sim", ros_args=None):
        super().__init__(node_name)
        self.params = self._declare_parameters()
        robot = load_robot_description(self.params.robot_description)
        scene = load_scene(self.params.scene)
        self.sim = Simulation(
            robot,
            scene,
            self.params.seed,
            self.params.timestep,
            self.params.control_period,
            fixed_base=self.params.fixed_base,
            noslip_iterations=self.params.noslip_iterations,
        )
        self.sim.mux.max_kp, self.sim.mux.max_kd = self.params.max_kp, self.params.max_kd
        self.sim.first_order_hold = self.params.first_order_hold
        if not self.params.hold_stand_on_start:
            self._go_limp()
        self.robot = robot
        self._object_specs = {o.name: o for o in scene.objects}
        self._cv = threading.Condition()
        self._running = True
        self._answered_ns: dict[str, int] = {}
        # Pipelined lockstep (lockstep_command_delay_steps > 0): the lockstep sources'
        # commands wait here for the step their stamp names; the recent state stamps say which.
        lockstep = self.params.mode == "lockstep" and bool(self.params.lockstep_sources)
        self._delay = self.params.lockstep_command_delay_steps if lockstep else 0
        delayed = self.params.lockstep_delayed_sources or self.params.lockstep_sources
        self._delayed_sources = frozenset(delayed if self._delay else ())
        self._delay_line = CommandDelayLine()
        self._stamps: collections.deque[int] = collections.deque(maxlen=self._delay + 1)
        self._steps = 0
        self._counts = {"state": 0, "tactile": 0, "camera": 0, "ground_truth": 0}
        self._lockstep_timeouts = 0
        self._resends = 0
        self._answer_s = 0.0  # moving average of the lockstep answer time (wall) [s]
        # Where each period's wall time goes (reported on /diagnostics, reset there): reading
        # the sensors, publishing the state, waiting for the lockstep's answers, stepping; and
        # per source, the time from the state's publication to its answer.
        self._timing = dict.fromkeys(("read", "publish", "wait", "step"), 0.0)
        self._timed_periods = 0
        # Monotonic time of the last states' publication by stamp [ns] (a pipelined lockstep's
        # answers come after the next state's publication).
        self._published_at: dict[int, float] = {}
        self._answer_time: dict[str, list[float]] = {}  # source -> [sum of latencies, count]
        self._camera_error = ""
        self._diag_last = (time.monotonic(), 0.0, dict(self._counts))
        self._every = {
            name: self._divisor(rate)
            for name, rate in (
                ("clock", self.params.clock_rate_hz or self.params.control_rate_hz),
                ("tactile", self.params.tactile_rate_hz),
                ("camera", self.params.camera_rate_hz),
                ("ground_truth", self.params.ground_truth_rate_hz),
            )
        }
        self._make_publishers()
        self.camera_stream = None
        if self._every["camera"]:
            self.camera_stream = CameraStream(
                self._make_camera,
                robot.camera,
                f"{node_name}_camera",
                self.get_namespace(),
                IMAGE_QOS,
                ros_args,
            )
        self.create_subscription(
            JointCommand, "/joint_command", self._on_command, COMMAND_QOS, raw=True
        )
        self.create_service(ResetSim, "/sim/reset", self._on_reset)
        self.create_service(ApplyWrench, "/sim/apply_wrench", self._on_apply_wrench)
        self.create_service(SetObjectMass, "/sim/set_object_mass", self._on_set_mass)
        self.create_timer(1.0 / self.params.diagnostics_rate_hz, self._publish_diagnostics)
        self._thread = threading.Thread(target=self._run, name="sim_loop", daemon=True)
        self.get_logger().info(
            f"simulating {robot.name} ({len(self.sim.joint_names)} joints) in "
            f"{self.params.mode} mode, seed {self.params.seed}, "
            f"{self.params.control_rate_hz:.0f} Hz state, camera {self.params.camera_rate_hz} Hz"
        )

    # ------------------------------------------------------------------------- set-up
    def _declare_parameters(self) -> SimParams:
        values = declare_parameters(self, PARAMETERS)
        return validate(values)

    def _divisor(self, rate_hz: float) -> int:
        if rate_hz <= 0:
            return 0
        return max(1, int(round(self.params.control_rate_hz / rate_hz)))

    def _go_limp(self) -> None:
        count = len(self.sim.joint_names)
        self.sim.command(
            name=self.sim.joint_names,
            position=np.zeros(count),
            kp=np.zeros(count),
            kd=np.zeros(count),
        )

    def _make_publishers(self) -> None:
        self.pub_clock = self.create_publisher(Clock, "/clock", STATE_QOS)
        self.pub_joints = self.create_publisher(JointState, "/joint_states", STATE_QOS)
        self.pub_imu = self.create_publisher(Imu, "/imu/data", STATE_QOS)
        self.pub_wrench = {
            side: self.create_publisher(WrenchStamped, f"/{side}_foot/wrench", STATE_QOS)
            for side in self.robot.feet
        }
        self.pub_tactile = {
            skin.name: self.create_publisher(
                TactileFrame, f"/{skin.name}/tactile/sim_pressure", STATE_QOS
            )
            for skin in self.robot.skins
        }
        # Skin frames are written straight to CDR (humanoid_common.cdr) and published as bytes:
        # building six nested TactilePad messages cost ~1 ms per frame.
        self._skin_base = {skin.name: skin.base_link for skin in self.robot.skins}
        self._skin_writers = {
            name: TactileFrameWriter(
                self._skin_base[name],
                name,
                [conv.pad_layout(layout) for layout in layouts],
                shear=True,
            )
            for name, layouts in self.sim.tactile.layouts.items()
        }
        self.pub_base_truth = self.create_publisher(Odometry, "/sim/base", STATE_QOS)
        self.pub_objects_truth = self.create_publisher(DetectionArray, "/sim/objects", STATE_QOS)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # The state messages are written straight to CDR from templates (humanoid_common.cdr):
        # building them as rclpy messages cost ~1 ms per state.
        self._joint_writer = JointStateWriter(self.sim.joint_names)
        self._imu_writer = StampedDoublesWriter(self.robot.imu_frame_id, 37)
        self._imu_values = np.zeros(37)  # orientation, angular velocity, acceleration (+ cov.)
        self._wrench_writers = {
            side: StampedDoublesWriter(self.robot.feet[side][0], 6) for side in self.robot.feet
        }

    # --------------------------------------------------------------------------- loop
    def start(self) -> None:
        """Start the simulation thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the simulation thread and wait for it."""
        with self._cv:
            self._running = False
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        with profiled("humanoid_sim_loop"):
            self._loop()

    def _make_camera(self):
        from humanoid_sim.core.camera import RgbdCamera

        return RgbdCamera(self.sim.model, self.sim.built.camera_id, self.robot.camera)

    def destroy_node(self) -> None:
        if self.camera_stream is not None:
            self.camera_stream.close()
        super().destroy_node()

    def _loop(self) -> None:
        camera = self.camera_stream
        if camera is not None and not camera.start():
            self._camera_error = camera.error
            self.get_logger().error(f"camera disabled: {camera.error}")
            camera = None
        wall_start = time.monotonic()
        sim_start = self.sim.time
        # Lockstep waits for its sources and is paced only when capped; paced mode always is.
        lockstep = self.params.mode == "lockstep"
        speed = (
            self.params.lockstep_max_real_time_factor if lockstep else self.params.real_time_factor
        )
        try:
            while rclpy.ok() and self._running:
                camera_due = (
                    camera is not None
                    and self._steps % self._every["camera"] == 0
                    and camera.wanted()
                )
                if camera_due:
                    camera.wait_idle()
                t_read = time.monotonic()
                with self._cv:
                    now_ns = int(round(self.sim.time * 1e9))
                    outputs = self._read_outputs()
                    if camera_due:
                        camera.capture(self.sim.model, self.sim.data, divmod(now_ns, 10**9))
                        self._counts["camera"] += 1
                t_publish = time.monotonic()
                published = self._published_at
                published[now_ns] = t_publish
                if len(published) > self._delay + 2:
                    del published[next(iter(published))]
                self._publish(now_ns, outputs)
                self._steps += 1
                t_wait = time.monotonic()
                if lockstep:
                    due_ns = now_ns  # the state whose answers act from this step
                    if self._delay:
                        with self._cv:
                            self._stamps.append(now_ns)
                            due_ns = self._stamps[0]
                    self._wait_for_sources(due_ns, now_ns, outputs)
                t_after = time.monotonic()
                if self._running:  # not on shutdown, when the wait ends unanswered
                    self._publish_after(now_ns, outputs)
                t_step = time.monotonic()
                if speed > 0.0:
                    target = wall_start + (self.sim.time + self.sim.control_period - sim_start) / (
                        speed
                    )
                    delay = target - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -0.5:  # far behind (e.g. a slow camera): don't try to catch up
                        wall_start -= delay
                with self._cv:
                    if not self._running:
                        break
                    if self.sim.time < sim_start:  # reset happened
                        wall_start, sim_start = time.monotonic(), self.sim.time
                    elif self._delay:
                        for targets in self._delay_line.release(due_ns):
                            self.sim.apply(targets)
                    t_stepping = time.monotonic()
                    self.sim.step()
                    timing = self._timing
                    timing["read"] += t_publish - t_read
                    timing["publish"] += t_wait - t_publish + t_step - t_after
                    timing["wait"] += t_after - t_wait
                    timing["step"] += time.monotonic() - t_stepping
                    self._timed_periods += 1
        except Exception as error:  # noqa: BLE001 - report, then let the node shut down
            if rclpy.ok() and self._running:
                self.get_logger().fatal(f"simulation loop failed: {error!r}")
                raise
            # Shutting down: the context went away under a publish; nothing to report.

    def _wait_for_sources(self, due_ns: int, now_ns: int, outputs: dict) -> None:
        """Block until every lockstep source answered the state just published (``now_ns``),
        or, for a source with ``lockstep_command_delay_steps``, the one that many periods
        before it (``due_ns``; its answer arrived while the physics stepped, or arrives now).

        The state is published again every ``REPUBLISH_S`` until a source has answered once
        (a state published before discovery completes is lost), and every
        ``lockstep_resend_s`` after that: a reliable sample dropped under load (a full
        shared-memory queue) is otherwise only repaired at the writer's next heartbeat, seconds
        later, since in lockstep no later sample reveals the gap; and a lost command is only
        repaired by asking again. The controllers answer a repeated stamp with the command they
        computed for it. Until a source has answered once it is waited for without a time
        limit (it may still be starting); after that ``lockstep_timeout_s`` bounds the wait and
        a timeout is counted and reported.
        """
        sources = self.params.lockstep_sources
        if not sources:
            return
        started = time.monotonic()
        deadline = started + self.params.lockstep_timeout_s
        resend_s = max(self.params.lockstep_resend_s, 4.0 * self._answer_s)
        next_republish = started + (REPUBLISH_S if self._answer_s == 0.0 else resend_s)
        with self._cv:
            while self._running:
                missing = [
                    s
                    for s in sources
                    if self._answered_ns.get(s, -1)
                    < (due_ns if s in self._delayed_sources else now_ns)
                ]
                if not missing:
                    took = time.monotonic() - started
                    self._answer_s = (
                        took
                        if self._answer_s == 0.0
                        else (0.95 * self._answer_s + 0.05 * min(took, resend_s))
                    )
                    return
                now = time.monotonic()
                never_answered = any(s not in self._answered_ns for s in missing)
                if now >= deadline and not never_answered:
                    self._lockstep_timeouts += 1
                    self.get_logger().warn(
                        f"lockstep: no command from {missing} for t={now_ns / 1e9:.3f} s within "
                        f"{self.params.lockstep_timeout_s} s; stepping anyway",
                        throttle_duration_sec=5.0,
                    )
                    return
                if now >= next_republish:
                    next_republish = now + (REPUBLISH_S if never_answered else resend_s)
                    self._resends += 1
                    self._cv.release()
                    try:
                        self._publish(now_ns, outputs, repeat=True)
                        # A controller may wait for simulated time before its first answer.
                        self.pub_clock.publish(write_time(now_ns))
                    finally:
                        self._cv.acquire()
                    continue
                wake = next_republish if never_answered else min(next_republish, deadline)
                self._cv.wait(max(0.0, wake - now))

    def _read_outputs(self) -> dict:
        sim = self.sim
        step = self._steps
        q, dq, tau = sim.joint_state()
        outputs = {
            "clock": step % self._every["clock"] == 0,
            "joints": (q, dq, tau),
            "imu": sim.imu(),
            "wrench": {side: sim.foot_wrench(side) for side in self.robot.feet},
        }
        if self._every["tactile"] and step % self._every["tactile"] == 0:
            # One sequence number per state, also when the state is sent again.
            outputs["tactile"] = (self._counts["tactile"], sim.tactile_readings())
            self._counts["tactile"] += 1
        if self._every["ground_truth"] and step % self._every["ground_truth"] == 0:
            outputs["base"] = sim.base_state()
            outputs["objects"] = sim.object_states()
        return outputs

    # ------------------------------------------------------------------------ publish
    def _publish(self, now_ns: int, out: dict, repeat: bool = False) -> None:
        """Publish what the controllers answer: the skins (the hands' longest path: skin ->
        tactile driver -> grasp controller), the joints, the IMU and the foot wrenches;
        ``repeat``: the same state again for lockstep."""
        if "tactile" in out:
            self._publish_tactile(now_ns, *out["tactile"])
        q, dq, tau = out["joints"]
        self.pub_joints.publish(self._joint_writer.write(now_ns, q, dq, tau))
        imu = out["imu"]
        values = self._imu_values
        w, x, y, z = imu.orientation
        values[0:4] = x, y, z, w
        values[13:16] = imu.angular_velocity
        values[25:28] = imu.linear_acceleration
        self.pub_imu.publish(self._imu_writer.write(now_ns, values))
        for side, wrench in out["wrench"].items():
            raw = self._wrench_writers[side].write(now_ns, (*wrench.force, *wrench.torque))
            self.pub_wrench[side].publish(raw)
        if not repeat:
            self._counts["state"] += 1

    def _publish_after(self, now_ns: int, out: dict) -> None:
        """Publish what no controller waits for: /clock (every node on simulated time wakes up
        for it) and the ground truth. In lockstep this comes after the answers, so that those
        wake-ups do not take the CPU from the controllers computing them."""
        if out["clock"]:
            self.pub_clock.publish(write_time(now_ns))
        if "base" in out:
            self._publish_truth(conv.stamp(now_ns), out["base"], out["objects"])

    def _publish_tactile(self, stamp_ns: int, sequence: int, readings) -> None:
        for skin, pads in readings.items():
            raw = self._skin_writers[skin].write(
                stamp_ns,
                sequence,
                [reading.pressure_kpa for reading in pads],
                [reading.shear_x_kpa for reading in pads],
                [reading.shear_y_kpa for reading in pads],
            )
            self.pub_tactile[skin].publish(raw)

    def _publish_truth(self, stamp, base, objects) -> None:
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = "world"
        odom.child_frame_id = self.robot.base_link
        conv.set_pose(odom.pose.pose, base.position, base.orientation)
        v, w = base.linear_velocity, base.angular_velocity
        odom.twist.twist.linear.x, odom.twist.twist.linear.y, odom.twist.twist.linear.z = map(
            float, v
        )
        odom.twist.twist.angular.x, odom.twist.twist.angular.y = float(w[0]), float(w[1])
        odom.twist.twist.angular.z = float(w[2])
        self.pub_base_truth.publish(odom)
        array_msg = DetectionArray()
        array_msg.header.stamp = stamp
        array_msg.header.frame_id = "world"
        for name, state in objects.items():
            det = Detection3D()
            det.header = array_msg.header
            det.id = name
            det.box.class_name = self._object_specs[name].shape
            det.box.score = 1.0
            conv.set_pose(det.pose, state.position, state.orientation)
            det.size.x, det.size.y, det.size.z = self._object_specs[name].extents
            det.position_covariance = 0.0
            array_msg.detections.append(det)
        self.pub_objects_truth.publish(array_msg)
        self._counts["ground_truth"] += 1

    # ----------------------------------------------------------------------- inputs
    def _on_command(self, raw: bytes) -> None:
        """A JointCommand, taken serialized and read with humanoid_common.cdr (rclpy's
        conversion to a message object cost more than validating and applying it)."""
        try:
            msg = read_joint_command(raw)
        except CdrError:
            full = deserialize_message(raw, JointCommand)
            fields = ("position", "velocity", "effort", "kp", "kd")
            msg = JointCommandData(
                conv.stamp_to_ns(full.header.stamp),
                full.source,
                tuple(full.name),
                *(conv.as_numpy(getattr(full, field)) for field in fields),
            )
        with self._cv:
            try:
                command = {
                    "name": msg.name,
                    "position": msg.position,
                    "velocity": msg.velocity,
                    "effort": msg.effort,
                    "kp": msg.kp,
                    "kd": msg.kd,
                }
                if msg.source in self._delayed_sources:
                    self._delay_line.hold(msg.stamp_ns, self.sim.check_command(**command))
                else:
                    self.sim.command(**command)
            except CommandRejected as error:
                self.get_logger().warn(
                    f"rejected joint command from {msg.source or 'unnamed source'!r}: {error}",
                    throttle_duration_sec=1.0,
                )
                return
            if msg.source:
                answered = msg.stamp_ns
                published = self._published_at.get(answered)
                if published is not None:
                    latency = self._answer_time.setdefault(msg.source, [0.0, 0])
                    latency[0] += time.monotonic() - published
                    latency[1] += 1
                self._answered_ns[msg.source] = max(answered, self._answered_ns.get(msg.source, -1))
            self._cv.notify_all()

    def _on_reset(self, request, response):
        with self._cv:
            try:
                self.sim.reset(None if request.seed < 0 else request.seed)
                if not self.params.hold_stand_on_start:
                    self._go_limp()
                self._answered_ns.clear()
                self._delay_line.clear()
                self._stamps.clear()
                response.success, response.message = True, f"reset with seed {self.sim.seed}"
            except SimError as error:
                response.success, response.message = False, str(error)
        return response

    def _on_apply_wrench(self, request, response):
        f, t = request.force, request.torque
        with self._cv:
            try:
                self.sim.apply_wrench(
                    request.body, [f.x, f.y, f.z], [t.x, t.y, t.z], request.duration_s
                )
                response.success, response.message = True, f"pushing {request.body}"
            except SimError as error:
                response.success, response.message = False, str(error)
        return response

    def _on_set_mass(self, request, response):
        with self._cv:
            try:
                self.sim.set_object_mass(request.object, request.mass_kg)
                response.success = True
                response.message = f"{request.object} now {request.mass_kg} kg"
            except SimError as error:
                response.success, response.message = False, str(error)
        return response

    # ------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        wall_now = time.monotonic()
        with self._cv:
            sim_now = self.sim.time
            mux = self.sim.mux
            accepted, rejected, reason = mux.accepted, mux.rejected, mux.last_rejection
            fallen = self.sim.has_fallen()
            held = len(self._delay_line)
            timing, periods = self._timing, self._timed_periods
            answers = self._answer_time
            self._timing = dict.fromkeys(timing, 0.0)
            self._timed_periods = 0
            self._answer_time = {}
        wall_then, sim_then, counts_then = self._diag_last
        elapsed = max(wall_now - wall_then, 1e-9)
        self._diag_last = (wall_now, sim_now, dict(self._counts))
        status = DiagnosticStatus()
        status.name = f"{self.get_name()}: simulation"
        status.hardware_id = self.robot.name
        level, message = DiagnosticStatus.OK, "running"
        if rejected:
            level, message = DiagnosticStatus.WARN, f"{rejected} joint commands rejected: {reason}"
        if self._lockstep_timeouts:
            level = DiagnosticStatus.WARN
            message = f"{self._lockstep_timeouts} lockstep timeouts; " + message
        if self._camera_error:
            level, message = DiagnosticStatus.ERROR, f"camera disabled: {self._camera_error}"
        if fallen:
            level, message = DiagnosticStatus.WARN, "robot has fallen"
        status.level, status.message = level, message
        values = {
            "sim_time_s": f"{sim_now:.3f}",
            "real_time_factor": f"{(sim_now - sim_then) / elapsed:.3f}",
            "mode": self.params.mode,
            "commands_accepted": str(accepted),
            "commands_rejected": str(rejected),
            "last_rejection": reason,
            "lockstep_timeouts": str(self._lockstep_timeouts),
            "lockstep_resends": str(self._resends),
            "command_delay_steps": str(self._delay),
            "commands_held": str(held),
            "robot_fallen": str(fallen).lower(),
            "camera_frames": str(self._counts["camera"]),
        }
        for name, count in self._counts.items():
            values[f"{name}_rate_hz"] = f"{(count - counts_then[name]) / elapsed:.1f}"
        # Wall time per period [ms] by stage, and each lockstep source's answer latency: which
        # stage or controller limits the speed.
        for stage, seconds in timing.items():
            values[f"period_{stage}_ms"] = f"{1e3 * seconds / max(periods, 1):.3f}"
        for source, (total, count) in sorted(answers.items()):
            values[f"answer_ms.{source}"] = f"{1e3 * total / max(count, 1):.3f}"
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array_msg = DiagnosticArray()
        array_msg.header.stamp = self.get_clock().now().to_msg()
        array_msg.status = [status]
        self.pub_diagnostics.publish(array_msg)


def main(args=None) -> int:
    """Run the simulator until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    return run_node(
        "humanoid_sim",
        lambda: SimNode(ros_args=args),
        refuse=(ParameterError, SimError),
        args=args,
    )


if __name__ == "__main__":
    sys.exit(main())
