"""ROS Image topics (registered as ``topic``): the simulator's head camera or a RealSense driver.

Options (defaults in brackets): ``color_topic`` [/camera/color/image_raw], ``depth_topic``
[/camera/depth/image_raw; empty: colour only], ``info_topic`` [/camera/color/camera_info;
empty: the node's camera_info_file], ``reliable`` [false: sensor-data QoS, best effort
keep-last; true: reliable keep-last], ``sync_tolerance_s`` [0.01: a depth image belongs to the
colour image whose stamp is this close] and ``depth_wait_s`` [0.1: how long a colour image
waits for its depth before it is processed without].

Depth must be aligned to colour (the simulator's is; for a RealSense, enable its
``align_depth`` and use ``/camera/aligned_depth_to_color/image_raw``). 32FC1 depth is in
metres, 16UC1 in millimetres (REP 118).
"""

from __future__ import annotations

import collections
import threading
import time

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from vision_node import ros_conversions as conv
from vision_node.errors import InputError, SourceError
from vision_node.pipeline import Frame
from vision_node.sources.base import FrameSource, Packet


class TopicSource(FrameSource):
    """Colour, aligned depth and camera_info from ROS topics."""

    allowed_options = frozenset(
        {"color_topic", "depth_topic", "info_topic", "reliable", "sync_tolerance_s", "depth_wait_s"}
    )

    def __init__(self, options, context):
        super().__init__(options, context)
        if context.node is None:
            raise SourceError("topic source needs a ROS node")
        self.color_topic = str(self.options.get("color_topic", "/camera/color/image_raw"))
        self.depth_topic = str(self.options.get("depth_topic", "/camera/depth/image_raw"))
        self.info_topic = str(self.options.get("info_topic", "/camera/color/camera_info"))
        self.tolerance_ns = int(float(self.options.get("sync_tolerance_s", 0.01)) * 1e9)
        self.depth_wait_ns = int(float(self.options.get("depth_wait_s", 0.1)) * 1e9)
        if not self.color_topic:
            raise SourceError("topic source option color_topic must not be empty")
        self._lock = threading.Lock()
        self._depths: collections.deque = collections.deque(maxlen=6)
        self._pending: tuple[Image, int] | None = None
        self._info: CameraInfo | None = None
        self._info_cache: tuple[object, object] | None = None
        self._subscriptions = []
        self._timer = None
        self.counters = {"colour": 0, "depth": 0, "camera_info": 0, "without_depth": 0}

    def start(self) -> None:
        node = self.context.node
        if self.options.get("reliable", False):
            qos = QoSProfile(
                depth=2, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE
            )
        else:
            qos = qos_profile_sensor_data
        self._subscriptions.append(
            node.create_subscription(Image, self.color_topic, self._on_colour, qos)
        )
        if self.depth_topic:
            self._subscriptions.append(
                node.create_subscription(Image, self.depth_topic, self._on_depth, qos)
            )
        if self.info_topic:
            self._subscriptions.append(
                node.create_subscription(CameraInfo, self.info_topic, self._on_info, qos)
            )
        if self.depth_topic:
            self._timer = node.create_timer(0.02, self._flush_stale)

    def stop(self) -> None:
        """Unsubscribe (a camera driver that draws or sends only for subscribers then stops);
        ``start`` subscribes again."""
        node = self.context.node
        for subscription in self._subscriptions:
            node.destroy_subscription(subscription)
        self._subscriptions.clear()
        if self._timer is not None:
            node.destroy_timer(self._timer)
            self._timer = None
        with self._lock:
            self._pending = None
            self._depths.clear()

    # ------------------------------------------------------------------------ callbacks
    def _on_info(self, msg: CameraInfo) -> None:
        self._info = msg
        self.count("camera_info")

    def _on_colour(self, msg: Image) -> None:
        now = time.monotonic_ns()
        self.count("colour")
        if not self.depth_topic:
            self._push(msg, None, now)
            return
        stamp = conv.stamp_to_ns(msg.header.stamp)
        with self._lock:
            depth = self._take_depth(stamp)
            previous, self._pending = self._pending, None
            if depth is None:
                self._pending = (msg, now)
        if previous is not None:
            self.count("without_depth")
            self._push(previous[0], None, previous[1])
        if depth is not None:
            self._push(msg, depth, now)

    def _on_depth(self, msg: Image) -> None:
        self.count("depth")
        stamp = conv.stamp_to_ns(msg.header.stamp)
        with self._lock:
            pending = self._pending
            if (
                pending is not None
                and abs(conv.stamp_to_ns(pending[0].header.stamp) - stamp) <= self.tolerance_ns
            ):
                self._pending = None
            else:
                pending = None
                self._depths.append(msg)
        if pending is not None:
            self._push(pending[0], msg, pending[1])

    def _take_depth(self, stamp: int) -> Image | None:
        for index, depth in enumerate(self._depths):
            if abs(conv.stamp_to_ns(depth.header.stamp) - stamp) <= self.tolerance_ns:
                del self._depths[index]
                return depth
        return None

    def _flush_stale(self) -> None:
        now = time.monotonic_ns()
        with self._lock:
            pending = self._pending
            if pending is None or now - pending[1] < self.depth_wait_ns:
                return
            self._pending = None
        self.count("without_depth")
        self._push(pending[0], None, pending[1])

    def _push(self, colour: Image, depth: Image | None, received_ns: int) -> None:
        info = self._info
        self.context.sink(Packet(received_ns, lambda: self._decode(colour, depth, info)))

    # --------------------------------------------------------------------------- decode
    def _intrinsics(self, info: CameraInfo | None, warnings: list[str]):
        if info is None:
            if self.context.intrinsics is None and self.info_topic:
                warnings.append(f"no camera_info received on {self.info_topic}: 3D skipped")
            return self.context.intrinsics
        if self._info_cache is not None and self._info_cache[0] is info:
            return self._info_cache[1]
        try:
            intrinsics = conv.intrinsics_from_camera_info(info)
        except InputError as error:
            warnings.append(f"{self.info_topic}: {error}")
            return self.context.intrinsics
        self._info_cache = (info, intrinsics)
        return intrinsics

    def _decode(self, colour: Image, depth: Image | None, info: CameraInfo | None) -> Frame:
        rgb = conv.colour_image(colour)
        warnings: list[str] = []
        depth_array, scale = None, 1.0
        if depth is not None:
            try:
                depth_array, scale = conv.depth_image(depth)
            except InputError as error:
                warnings.append(f"{self.depth_topic}: {error}")
        elif self.depth_topic:
            warnings.append(f"no depth image on {self.depth_topic} matched this frame")
        return Frame(
            rgb,
            depth_array,
            self._intrinsics(info, warnings),
            conv.stamp_to_ns(colour.header.stamp),
            colour.header.frame_id or self.context.frame_id,
            scale,
            warnings,
        )

    def describe(self) -> str:
        qos = "reliable" if self.options.get("reliable", False) else "sensor-data"
        return (
            f"topics {self.color_topic}, {self.depth_topic or '(no depth)'}, "
            f"{self.info_topic or '(camera_info_file)'} ({qos} QoS)"
        )
