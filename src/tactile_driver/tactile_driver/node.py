"""ROS 2 node of the tactile driver: a backend's raw frames in, calibrated skin data out.

Wiring only: parameters, the backend chosen by name through the registry, the processing
pipeline of ``core`` and message conversion. An IO thread reads frames from the backend and
publishes; the executor serves ``~/tare`` and the diagnostics timer.

Outputs (relative names, so a namespace such as ``/right_hand`` keeps skins apart):
``tactile/frames`` (TactileFrame, kPa), ``tactile/contacts`` (ContactArray, one per pad, slip
events included), ``tactile/wire`` (TactileRaw, the frame's wire bytes), ``tactile/mosaic``
(Image, only while someone subscribes) and ``/diagnostics``.
"""

from __future__ import annotations

import copy
import sys
import threading
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from humanoid_common.lifecycle import profiled, run_node
from humanoid_common.params import declare_parameters
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from humanoid_interfaces.msg import ContactArray, TactileFrame, TactilePad, TactileRaw
from tactile_driver.backends.base import BackendContext, PadShape
from tactile_driver.backends.registry import load_backend
from tactile_driver.core.calibration_file import default_skin_calibration, load_skin_calibration
from tactile_driver.core.pad_geometry import load_skin_geometry
from tactile_driver.core.pipeline import ProcessorParams, SkinProcessor
from tactile_driver.core.protocol import encode_frame
from tactile_driver.errors import TactileDriverError
from tactile_driver.mosaic import MosaicRenderer
from tactile_driver.params import PARAMETERS, validate
from tactile_driver.skin_messages import SkinMessages

QOS = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
LATENCY_WINDOW = 2000


class TactileDriverNode(Node):
    """One skin (one board): frames in, pressures, contacts and slip out."""

    def __init__(self, node_name: str = "tactile_driver"):
        super().__init__(node_name)
        self.params = self._declare()
        geometry = load_skin_geometry(self.params.robot_description, self.params.skin)
        calibration = (
            load_skin_calibration(self.params.calibration, geometry)
            if self.params.calibration
            else default_skin_calibration(geometry)
        )
        self.geometry = geometry
        self.processor = SkinProcessor(geometry, calibration, self.processing)
        context = BackendContext(
            skin=self.params.skin,
            board_id=self.params.board_id,
            pads=tuple(PadShape(p.name, p.rows, p.cols) for p in geometry.pads),
            node=self,
            logger=self.get_logger(),
        )
        self.backend = load_backend(self.params.backend)(self.params.backend_options, context)
        self.pub_frames = self.create_publisher(TactileFrame, "tactile/frames", QOS)
        self.pub_contacts = self.create_publisher(ContactArray, "tactile/contacts", QOS)
        self.pub_wire = self.create_publisher(TactileRaw, "tactile/wire", QOS)
        self.pub_mosaic = self.create_publisher(Image, "tactile/mosaic", 5)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_service(Trigger, "~/tare", self._on_tare)
        self.create_timer(1.0 / self.params.diagnostics_rate_hz, self._publish_diagnostics)
        self._mosaic = MosaicRenderer(geometry)
        self._mosaic_period_ns = (
            int(1e9 / self.params.mosaic_rate_hz) if self.params.mosaic_rate_hz > 0 else 0
        )
        self._last_mosaic_ns = 0
        self._pad_templates = [self._pad_template(p) for p in geometry.pads]
        self._messages = self._skin_messages([False] * len(geometry.pads))
        self._lock = threading.Lock()
        self._counters = {"frames_out": 0, "wrong_layout": 0, "slip_events": 0}
        self._last_output = None  # the newest SkinOutput, for taxel health on /diagnostics
        self._diag_previous = (time.monotonic_ns(), 0)
        self._latency_ns = np.zeros(LATENCY_WINDOW, dtype=np.int64)
        self._latency_count = 0
        self._last_frame_ns = time.monotonic_ns()
        self._last_error = ""
        self._running = True
        self._thread = threading.Thread(target=self._run, name="tactile_io", daemon=True)
        self.get_logger().info(
            f"skin {self.params.skin}: {len(geometry.pads)} pads, "
            f"{sum(p.rows * p.cols for p in geometry.pads)} taxels, backend "
            f"'{self.params.backend}' {self.params.backend_options}"
        )

    # ------------------------------------------------------------------------- set-up
    def _declare(self):
        values = declare_parameters(self, PARAMETERS)
        params = validate(values)
        flat = {}
        for name, default in ProcessorParams().to_flat().items():
            descriptor = ParameterDescriptor(description="processing, see core/processor_params.py")
            flat[name] = self.declare_parameter(name, default, descriptor).value
        self.processing = ProcessorParams.from_flat(flat)
        return params

    def _skin_messages(self, shear: list[bool]) -> SkinMessages:
        """Output messages for a shear layout; says once if the fast serialized path is off."""
        templates = [copy.deepcopy(t) for t in self._pad_templates]
        messages = SkinMessages(self.params.skin, self.geometry.base_link, templates, shear)
        if not messages.fast:
            self.get_logger().warning(
                f"publishing message objects (slower): pre-serialized path unavailable: "
                f"{messages.fast_error}"
            )
        return messages

    def _pad_template(self, pad) -> TactilePad:
        msg = TactilePad()
        msg.name, msg.frame_id = pad.name, pad.link
        msg.rows, msg.cols = pad.rows, pad.cols
        msg.pitch_x, msg.pitch_y = float(pad.pitch_x), float(pad.pitch_y)
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = map(float, pad.origin_link)
        quat = _quaternion_wxyz(pad.rotation_link_pad)
        msg.pose.orientation.w, msg.pose.orientation.x = float(quat[0]), float(quat[1])
        msg.pose.orientation.y, msg.pose.orientation.z = float(quat[2]), float(quat[3])
        return msg

    # ---------------------------------------------------------------------------- IO
    def start(self) -> None:
        self.backend.start()
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)
        self.backend.stop()

    def _run(self) -> None:
        with profiled("tactile_driver_loop"):
            self._loop()

    def _loop(self) -> None:
        while self._running and rclpy.ok():
            try:
                frames = self.backend.read(self.params.read_timeout_s)
            except Exception as error:  # noqa: BLE001 - a backend bug must not kill the driver
                self._last_error = f"backend read failed: {error!r}"
                self.get_logger().error(self._last_error, throttle_duration_sec=1.0)
                time.sleep(self.params.read_timeout_s)
                continue
            for frame in frames:
                try:
                    self._handle(frame)
                except TactileDriverError as error:
                    with self._lock:
                        self._counters["wrong_layout"] += 1
                    self._last_error = str(error)
                    self.get_logger().warn(f"dropped frame: {error}", throttle_duration_sec=1.0)
                except Exception:  # noqa: BLE001
                    if not (self._running and rclpy.ok()):
                        return  # shutting down under a publish
                    raise

    def _handle(self, frame) -> None:
        now_ns = time.monotonic_ns()
        if frame.stamp_ns:
            stamp_ns = frame.stamp_ns
        else:
            # The measurement happened when its bytes arrived: map monotonic to the ROS clock.
            age = now_ns - (frame.receive_time_ns or now_ns)
            stamp_ns = self.get_clock().now().nanoseconds - age
        t = stamp_ns * 1e-9
        output = self.processor.process(frame, t)
        messages = self._messages
        shear = [pad.shear_kpa is not None for pad in output.pads]
        if shear != messages.shear:
            messages = self._messages = self._skin_messages(shear)
        if messages.fast:
            frame_bytes, contact_bytes = messages.patch(output, stamp_ns, frame.sequence)
            self.pub_frames.publish(frame_bytes)
            self.pub_contacts.publish(contact_bytes)
        else:
            messages.fill(output, stamp_ns, frame.sequence)
            self.pub_frames.publish(messages.frame)
            self.pub_contacts.publish(messages.contacts)
        slips = sum(int(pad.slip) for pad in output.pads)
        base = self.geometry.base_link
        out_ns = time.monotonic_ns()
        if self.params.publish_wire:
            wire = TactileRaw()
            wire.header.stamp, wire.header.frame_id = _time(stamp_ns), base
            wire.skin_id, wire.board_id = self.params.skin, frame.board_id & 0xFF
            wire.sequence = frame.sequence & 0xFFFFFFFF
            wire.data = encode_frame(frame)
            self.pub_wire.publish(wire)
        if self._mosaic_period_ns and out_ns - self._last_mosaic_ns >= self._mosaic_period_ns:
            if self.pub_mosaic.get_subscription_count() > 0:
                self._last_mosaic_ns = out_ns
                self.pub_mosaic.publish(self._mosaic.image(output, _time(stamp_ns), base))
        with self._lock:
            self._counters["frames_out"] += 1
            self._counters["slip_events"] += slips
            self._last_output = output
            if frame.receive_time_ns:
                self._latency_ns[self._latency_count % LATENCY_WINDOW] = (
                    out_ns - frame.receive_time_ns
                )
                self._latency_count += 1
            self._last_frame_ns = out_ns

    # ---------------------------------------------------------------------- services
    def _on_tare(self, request, response):
        self.processor.tare()
        response.success = True
        response.message = (
            f"taring {self.params.skin} over the next {self.processing.tare_frames} frames; "
            "keep the skin unloaded"
        )
        return response

    # ------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        now = time.monotonic_ns()
        with self._lock:
            counters = dict(self._counters)
            count = min(self._latency_count, LATENCY_WINDOW)
            latencies = self._latency_ns[:count].copy()
            age_s = (now - self._last_frame_ns) * 1e-9
            last_output = self._last_output
        dead_taxels = (
            sum(int(np.count_nonzero(p.status)) for p in last_output.pads) if last_output else 0
        )
        backend = self.backend.stats()
        previous = self._diag_previous
        rate = (counters["frames_out"] - previous[1]) / max((now - previous[0]) * 1e-9, 1e-9)
        self._diag_previous = (now, counters["frames_out"])
        status = DiagnosticStatus()
        status.name = f"{self.get_fully_qualified_name()}: tactile skin {self.params.skin}"
        status.hardware_id = f"{self.params.skin} board {self.params.board_id}"
        level, message = DiagnosticStatus.OK, "streaming"
        errors = sum(int(backend.get(k, 0)) for k in ("crc_errors", "bad_headers", "wrong_layout"))
        if errors or counters["wrong_layout"] or backend.get("dropped_frames", 0):
            level, message = DiagnosticStatus.WARN, "bad or dropped frames (see counters)"
        if dead_taxels:
            level = DiagnosticStatus.WARN
            message = f"{dead_taxels} dead or stuck taxels masked"
        if age_s > self.params.stale_timeout_s:
            level = DiagnosticStatus.ERROR
            message = f"stale: no frame for {age_s:.2f} s (backend '{self.params.backend}')"
        if backend.get("connected", 1.0) == 0.0:
            level, message = DiagnosticStatus.ERROR, "device disconnected; reconnecting"
        status.level, status.message = level, message
        values = {
            "rate_hz": f"{rate:.1f}",
            "frames_out": str(counters["frames_out"]),
            "wrong_layout_dropped": str(counters["wrong_layout"]),
            "slip_events": str(counters["slip_events"]),
            "dead_taxels": str(dead_taxels),
            "taring": str(self.processor.taring).lower(),
            "last_error": self._last_error,
        }
        if latencies.size:
            values["latency_median_ms"] = f"{np.median(latencies) * 1e-6:.3f}"
            values["latency_p99_ms"] = f"{np.percentile(latencies, 99) * 1e-6:.3f}"
        values.update({f"backend_{k}": f"{v:g}" for k, v in backend.items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        self.pub_diagnostics.publish(msg)


def _time(nanoseconds: int):
    from builtin_interfaces.msg import Time

    nanoseconds = max(int(nanoseconds), 0)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _quaternion_wxyz(rotation: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a rotation matrix (Shepperd's method)."""
    m = np.asarray(rotation, dtype=float)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = np.zeros(4)
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    q = np.asarray(q, dtype=float)
    return q / np.linalg.norm(q)


def main(args=None) -> int:
    """Run the driver until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    return run_node("tactile_driver", TactileDriverNode, refuse=(TactileDriverError,), args=args)


if __name__ == "__main__":
    sys.exit(main())
