"""ROS 2 node of the vision chain: frames in, detections with 3D pose out.

Wiring only: parameters, the source and the detector chosen by name through their registries,
the pipeline (:mod:`vision_node.pipeline`) and message conversion. The source delivers packets
into a bounded queue that drops the oldest frame when full (a camera faster than the node never
builds a backlog); one processing thread decodes, detects, localises and publishes.

Outputs, all stamped with the image's stamp and frame: ``/vision/detections``
(humanoid_interfaces/DetectionArray), ``/vision/target`` (geometry_msgs/PoseStamped of the
best detection of ``target_class``), ``/vision/markers`` (MarkerArray, while subscribed),
``/vision/annotated`` (Image, built only while someone subscribes) and ``/diagnostics``.

``~/enable`` (std_srvs/SetBool) pauses and resumes the node: paused, its source is stopped (a
topic source unsubscribes, so a camera driver that draws only for subscribers, like the
simulator's, stops drawing; a device is released) and nothing is published but /diagnostics,
which says so. The brain pauses vision while the hand grasps, lifts and holds.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from humanoid_common.lifecycle import run_node
from humanoid_common.params import declare_parameters
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from humanoid_interfaces.msg import DetectionArray
from vision_node import ros_conversions as conv
from vision_node.annotate import annotate, marker_array
from vision_node.core.detections import select_target
from vision_node.detectors.registry import load_detector
from vision_node.errors import InputError, VisionNodeError
from vision_node.frame_queue import FrameQueue
from vision_node.params import PARAMETERS, validate
from vision_node.pipeline import VisionPipeline
from vision_node.sources.base import SourceContext
from vision_node.sources.registry import load_source

OUTPUT_QOS = QoSProfile(
    depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE
)
STAGES = ("decode", "detect", "inference", "localize", "publish", "total", "latency")
WINDOW = 300


class VisionNode(Node):
    """Detects and localises objects in a camera's frames."""

    def __init__(self, node_name: str = "vision_node"):
        super().__init__(node_name)
        values = declare_parameters(self, PARAMETERS)
        self.params = params = validate(values)
        detector_class = load_detector(params.detector)
        self.detector = detector_class(params.detector_config, params.detector_options)
        self.pipeline = VisionPipeline(self.detector, params.localizer)
        self.queue = FrameQueue(params.queue_depth)
        context = SourceContext(
            sink=self.queue.put,
            node=self,
            intrinsics=params.camera_info,
            frame_id=params.frame_id,
            now_ns=lambda: self.get_clock().now().nanoseconds,
            logger=self.get_logger(),
        )
        self.source = load_source(params.source)(params.source_options, context)
        self.pub_detections = self.create_publisher(
            DetectionArray, "/vision/detections", OUTPUT_QOS
        )
        self.pub_target = self.create_publisher(PoseStamped, "/vision/target", OUTPUT_QOS)
        self.pub_markers = self.create_publisher(MarkerArray, "/vision/markers", OUTPUT_QOS)
        self.pub_annotated = self.create_publisher(
            Image, "/vision/annotated", qos_profile_sensor_data
        )
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0 / params.diagnostics_rate_hz, self._publish_diagnostics)
        self._annotated_period_ns = (
            int(1e9 / params.annotated_rate_hz) if params.annotated_rate_hz > 0 else 0
        )
        self._last_annotated_ns = 0
        self._lock = threading.Lock()
        self._times = {stage: np.zeros(WINDOW) for stage in STAGES}
        self._time_count = 0
        self._counters = {
            "processed": 0,
            "bad_input": 0,
            "errors": 0,
            "unlocalised": 0,
            "detections": 0,
            "targets": 0,
            "annotated": 0,
        }
        self._warnings: list[str] = []
        self._last_error = ""
        self._last_frame_ns = time.monotonic_ns()
        self._diag_previous = (time.monotonic_ns(), 0)
        self._running = True
        self._enabled = True
        self._source_lock = threading.Lock()  # pause / resume against start / stop
        self._counters["pauses"] = 0
        self.create_service(SetBool, "~/enable", self._on_enable)
        self._thread = threading.Thread(target=self._run, name="vision", daemon=True)
        self.get_logger().info(
            f"source: {self.source.describe()}; detector: {self.detector.describe()}; "
            f"target class '{params.target_class}'"
        )

    # ----------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.source.start()
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)
        with self._source_lock:
            if self._enabled:
                self.source.stop()

    def _on_enable(self, request, response):
        """``~/enable``: false stops the source and drops waiting frames, true starts it."""
        with self._source_lock:
            if bool(request.data) == self._enabled:
                response.success = True
                response.message = "already " + ("enabled" if self._enabled else "paused")
                return response
            try:
                if request.data:
                    self.source.start()
                else:
                    self.source.stop()
                    self.queue.clear()
            except Exception as error:  # noqa: BLE001 - report; the node keeps its state
                response.success = False
                response.message = f"{'start' if request.data else 'stop'} failed: {error}"
                self.get_logger().error(f"~/enable {request.data}: {response.message}")
                return response
            self._enabled = bool(request.data)
            with self._lock:
                self._last_frame_ns = time.monotonic_ns()  # the stale clock restarts
                if not self._enabled:
                    self._counters["pauses"] += 1
        response.success = True
        response.message = "enabled" if self._enabled else "paused"
        self.get_logger().info(f"vision {response.message}")
        return response

    # ---------------------------------------------------------------------- processing
    def _run(self) -> None:
        while self._running and rclpy.ok():
            packet = self.queue.get(0.1)
            if packet is None:
                continue
            try:
                self._process(packet)
            except InputError as error:
                self._bad_input(str(error))
            except Exception as error:  # noqa: BLE001 - one bad frame must not stop the node
                if not (self._running and rclpy.ok()):
                    return  # shutting down under a publish
                with self._lock:
                    self._counters["errors"] += 1
                self._last_error = f"{type(error).__name__}: {error}"
                self.get_logger().error(
                    f"frame failed: {self._last_error}", throttle_duration_sec=1.0
                )

    def _bad_input(self, message: str) -> None:
        with self._lock:
            self._counters["bad_input"] += 1
        self._last_error = message
        self.get_logger().warning(f"frame skipped: {message}", throttle_duration_sec=1.0)

    def _process(self, packet) -> None:
        start = time.perf_counter()
        frame = packet.decode()
        decoded = time.perf_counter()
        result = self.pipeline.process(frame)
        processed = time.perf_counter()
        header = Header(stamp=conv.ns_to_stamp(frame.stamp_ns), frame_id=frame.frame_id)
        self.pub_detections.publish(conv.detection_array(result.detections, header))
        target = select_target(result.detections, self.params.target_class)
        if target is not None:
            self.pub_target.publish(conv.target_pose(target, header))
        if self.pub_markers.get_subscription_count() > 0:
            self.pub_markers.publish(
                marker_array(
                    result.detections,
                    header,
                    self.detector.marker_shape,
                    self.params.marker_lifetime_s,
                )
            )
        now_ns = time.monotonic_ns()
        if (
            self._annotated_period_ns
            and now_ns - self._last_annotated_ns >= self._annotated_period_ns
            and self.pub_annotated.get_subscription_count() > 0
        ):
            self._last_annotated_ns = now_ns
            self.pub_annotated.publish(
                conv.image_message(annotate(frame.rgb, result.detections), header)
            )
            with self._lock:
                self._counters["annotated"] += 1
        published = time.perf_counter()
        with self._lock:
            slot = self._time_count % WINDOW
            for stage, value in (
                ("decode", decoded - start),
                ("detect", result.detect_s),
                ("inference", result.inference_s),
                ("localize", result.localize_s),
                ("publish", published - processed),
                ("total", published - start),
                ("latency", (time.monotonic_ns() - packet.received_ns) * 1e-9),
            ):
                self._times[stage][slot] = value
            self._time_count += 1
            self._counters["processed"] += 1
            self._counters["detections"] += len(result.detections)
            self._counters["unlocalised"] += result.unlocalised
            self._counters["targets"] += target is not None
            self._warnings = result.warnings
            self._last_frame_ns = time.monotonic_ns()
        if result.warnings:
            self.get_logger().warning("; ".join(result.warnings), throttle_duration_sec=5.0)

    # --------------------------------------------------------------------- diagnostics
    def timing_summary(self) -> dict[str, float]:
        """Median per stage over the last frames [ms] (and p99 of the total)."""
        with self._lock:
            count = min(self._time_count, WINDOW)
            times = {k: v[:count].copy() for k, v in self._times.items()}
        if not count:
            return {}
        summary = {f"{k}_ms_median": 1e3 * float(np.median(v)) for k, v in times.items()}
        summary["total_ms_p99"] = 1e3 * float(np.percentile(times["total"], 99))
        summary["latency_ms_p99"] = 1e3 * float(np.percentile(times["latency"], 99))
        return summary

    def _publish_diagnostics(self) -> None:
        now = time.monotonic_ns()
        with self._lock:
            counters = dict(self._counters)
            warnings = list(self._warnings)
            age_s = (now - self._last_frame_ns) * 1e-9
        previous = self._diag_previous
        rate = (counters["processed"] - previous[1]) / max((now - previous[0]) * 1e-9, 1e-9)
        self._diag_previous = (now, counters["processed"])
        status = DiagnosticStatus()
        status.name = f"{self.get_fully_qualified_name()}: vision"
        status.hardware_id = self.params.source
        level, message = DiagnosticStatus.OK, "processing"
        if warnings:
            level, message = DiagnosticStatus.WARN, "; ".join(warnings)[:200]
        if not self._enabled:
            level, message = DiagnosticStatus.OK, "paused (~/enable)"
        elif age_s > self.params.stale_timeout_s:
            level = DiagnosticStatus.ERROR
            message = f"stale: no frame processed for {age_s:.1f} s (source '{self.params.source}')"
            if self._last_error:
                message += f"; last error: {self._last_error}"[:200]
        status.level, status.message = level, message
        values = {
            "enabled": str(self._enabled).lower(),
            "rate_hz": f"{rate:.1f}",
            "frames_received": str(self.queue.received),
            "frames_dropped_stale": str(self.queue.dropped),
            "queue_high_water": str(self.queue.high_water),
            **{k: str(v) for k, v in counters.items()},
            "last_error": self._last_error,
            "detector": self.detector.describe(),
        }
        values.update({k: f"{v:.3f}" for k, v in self.timing_summary().items()})
        values.update({f"source_{k}": f"{v:g}" for k, v in self.source.stats().items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.status = [status]
        self.pub_diagnostics.publish(msg)


def main(args=None) -> int:
    """Run the vision node until SIGINT or SIGTERM (exit 0); exit 2 if it refuses to start."""
    # Camera images cross processes over shared memory with Fast DDS's large-data transports
    # (ENVIRONMENT.md: p99 25 ms -> 4 ms for 640x480); set before the participant exists.
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    return run_node("vision_node", VisionNode, refuse=(VisionNodeError,), args=args)


if __name__ == "__main__":
    sys.exit(main())
