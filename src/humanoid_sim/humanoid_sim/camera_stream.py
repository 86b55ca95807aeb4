"""The head camera's RGB-D stream: rendered in a thread of its own, published from a DDS
participant of its own.

Why a participant of its own: published from the simulator's participant, the 1-2 MB image
samples delayed the small reliable state samples that share its Fast DDS transport resources
(shared-memory segment and ports); in lockstep, 30 % of the camera frames were followed by a
0.2-3 s stall, until a resend got the state through (whole chain: real-time factor 0.16 with,
0.48 without). A second rclpy context is a second participant, with its own resources.

Why a thread: rasterising 640x480 with llvmpipe takes 15-45 ms. The simulation loop only
captures the scene (``RgbdCamera.capture``, ~1 ms, CPU) at the frame's instant and steps on
while this thread draws and publishes it; MuJoCo releases the GIL while it renders. The next
capture waits until the previous frame is out, so no frame is dropped: a slow renderer slows
the simulation, as before, instead of the camera rate.

Why only while subscribed: a frame costs ~16 ms of CPU to draw and ~2 ms to publish, a quarter
of a core at 15 Hz on a CPU rasteriser. With nobody subscribed to colour, depth or their
camera_info (the vision node pauses its source while the hand works, see humanoid_brain), the
frame is neither captured nor drawn; frames resume, on the same instants, with a subscriber.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence

import rclpy
from humanoid_common.lifecycle import profiled
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, Image

from humanoid_sim.core.robot_description import CameraSpec
from humanoid_sim.errors import SimError


def without_node_name(arguments: Sequence[str]) -> list[str]:
    """``arguments`` without node-name remappings (``[-r|--remap] __node:=x``, ``__name:=x``):
    the camera's node keeps its own name while taking every other ROS argument (namespace,
    topic remappings, log level)."""
    kept: list[str] = []
    for argument in arguments:
        if argument.startswith(("__node:=", "__name:=")):
            if kept and kept[-1] in ("-r", "--remap"):
                kept.pop()
            continue
        kept.append(argument)
    return kept


class CameraStream:
    """Renders captured scenes and publishes colour, depth and their camera_info.

    Args:
        make_camera: Builds the ``RgbdCamera`` (called in the stream's thread, which owns the
            GL context); raises ``SimError`` if there is no OpenGL.
        spec: The camera's resolution and intrinsics.
        node_name: Name of the publishing node (in its own context).
        namespace: Its namespace (the simulator's).
        qos: Image and camera_info QoS.
        ros_args: The process's ROS arguments (remappings apply to the camera topics too);
            None: ``sys.argv``.
    """

    def __init__(
        self,
        make_camera: Callable[[], object],
        spec: CameraSpec,
        node_name: str,
        namespace: str,
        qos: QoSProfile,
        ros_args: Sequence[str] | None = None,
    ):
        self.spec = spec
        self._make_camera = make_camera
        self.context = rclpy.Context()
        rclpy.init(
            args=without_node_name(sys.argv if ros_args is None else ros_args),
            context=self.context,
            signal_handler_options=SignalHandlerOptions.NO,
        )
        self.node = Node(
            node_name, namespace=namespace, context=self.context, start_parameter_services=False
        )
        self.pub_color = self.node.create_publisher(Image, "/camera/color/image_raw", qos)
        self.pub_depth = self.node.create_publisher(Image, "/camera/depth/image_raw", qos)
        self.pub_color_info = self.node.create_publisher(
            CameraInfo, "/camera/color/camera_info", qos
        )
        self.pub_depth_info = self.node.create_publisher(
            CameraInfo, "/camera/depth/camera_info", qos
        )
        self.camera = None
        self.error = ""  # why there is no camera, once ``start`` returned
        self.published = 0
        self._cv = threading.Condition()
        self._job: tuple[int, int] | None = None  # (sec, nanosec) of the captured frame
        self._running = True
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim_camera", daemon=True)

    # ------------------------------------------------------------------ simulation thread
    def start(self, timeout_s: float = 30.0) -> bool:
        """Start the thread and wait for its GL context; False (and ``error``) if none."""
        self._thread.start()
        if not self._ready.wait(timeout_s):
            self.error = f"no OpenGL context within {timeout_s:.0f} s"
        return self.camera is not None and not self.error

    def wanted(self) -> bool:
        """Someone subscribes to an image or camera_info topic (else a frame is not drawn)."""
        return any(
            publisher.get_subscription_count() > 0
            for publisher in (
                self.pub_color,
                self.pub_depth,
                self.pub_color_info,
                self.pub_depth_info,
            )
        )

    def wait_idle(self) -> None:
        """Block until the previous frame is published (call before ``capture``)."""
        with self._cv:
            while self._job is not None and self._running:
                self._cv.wait(0.5)

    def capture(self, model, data, stamp: tuple[int, int]) -> None:
        """Take the scene at this instant (``data`` must not change during the call) and hand
        it to the thread, which publishes it with ``stamp``. Call ``wait_idle`` first."""
        self.camera.capture(model, data)
        with self._cv:
            self._job = stamp
            self._cv.notify_all()

    def close(self) -> None:
        """Stop the thread, release the GL context and the participant. Idempotent."""
        with self._cv:
            self._running = False
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        if self.context.ok():
            self.node.destroy_node()
            self.context.try_shutdown()

    # ---------------------------------------------------------------------- its thread
    def _run(self) -> None:
        try:
            self.camera = self._make_camera()
        except SimError as error:
            self.error = str(error)
            self._ready.set()
            return
        self._ready.set()
        try:
            with profiled("humanoid_sim_camera"):
                self._serve()
        finally:
            self.camera.close()

    def _serve(self) -> None:
        while True:
            with self._cv:
                while self._job is None and self._running:
                    self._cv.wait()
                if not self._running:
                    return
                stamp = self._job
            rgb, depth = self.camera.draw()
            try:
                self._publish(stamp, rgb, depth)
            except Exception:  # the context went away under a publish: shutting down
                if self._running and self.context.ok():
                    raise
                return
            with self._cv:
                self._job = None
                self.published += 1
                self._cv.notify_all()

    def _publish(self, stamp: tuple[int, int], rgb, depth) -> None:
        cam = self.spec
        info = CameraInfo()
        info.header.stamp.sec, info.header.stamp.nanosec = stamp
        info.header.frame_id = cam.frame_id
        info.width, info.height = cam.width, cam.height
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.k = [cam.fx, 0.0, cam.cx, 0.0, cam.fy, cam.cy, 0.0, 0.0, 1.0]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = [cam.fx, 0.0, cam.cx, 0.0, 0.0, cam.fy, cam.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
        for image, encoding, step, publisher, info_publisher in (
            (rgb, "rgb8", cam.width * 3, self.pub_color, self.pub_color_info),
            (depth, "32FC1", cam.width * 4, self.pub_depth, self.pub_depth_info),
        ):
            msg = Image()
            msg.header = info.header
            msg.height, msg.width = cam.height, cam.width
            msg.encoding = encoding
            msg.is_bigendian = 0
            msg.step = step
            msg.data = image.tobytes()
            publisher.publish(msg)
            info_publisher.publish(info)
