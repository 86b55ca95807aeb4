"""vision_node as a ROS 2 node: real processes, real DDS, real onnxruntime, rendered frames.

The node is started from the ``vision`` stack of launch/stack.yaml (as vision.launch.py starts
it) with each source: ROS topics fed by this test (and bad input among the frames), a video
file, an OpenCV capture of that file (no camera device exists here), an image folder with depth,
and the simulator's own head camera. It must refuse to start, naming the file, on a missing or
corrupt model.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import SetBool

from harness.processes import NodeGroup, NodeProcess, executable_exists
from harness.ros import TestNode, reliable_qos, sensor_qos
from harness.wiring import REPOSITORY_ROOT, node_specs
from humanoid_interfaces.msg import DetectionArray
from vision_node.synthetic.scene_generator import SceneGenerator

ROBOT = REPOSITORY_ROOT / "config" / "robots" / "g1_dex3.yaml"
SCENE = REPOSITORY_ROOT / "config" / "scenes" / "table_objects.yaml"
CAMERA_INFO_FILE = "config/cameras/head_camera_640x480.yaml"
STARTUP_S = 60.0
STAMPS = itertools.count(100)


def vision_spec(source: str = "topic", use_sim_time: str = "false", **overrides):
    spec = node_specs("vision", {"camera_source": source, "use_sim_time": use_sim_time})[0]
    if not executable_exists(spec):
        pytest.skip("vision_node is not built (colcon build)")
    return dataclasses.replace(spec, overrides={**spec.overrides, **overrides})


@pytest.fixture(scope="module")
def frames():
    """Rendered frames with at least two required objects each (seed unseen by training)."""
    chosen = []
    with SceneGenerator(ROBOT, SCENE, seed=93, with_hands=False) as generator:
        for index in range(40):
            frame = generator.render(index)
            if sum(t.required for t in frame.objects) >= 2:
                chosen.append(frame)
            if len(chosen) == 3:
                return chosen
    raise AssertionError("no rendered frame with two required objects")


def image_msg(array: np.ndarray, encoding: str, stamp: int) -> Image:
    msg = Image()
    msg.header.stamp.sec = stamp
    msg.header.frame_id = "head_camera_optical"
    msg.height, msg.width = array.shape[:2]
    msg.encoding = encoding
    msg.step = array.strides[0]
    msg.data = array.tobytes()
    return msg


def camera_info_msg(stamp: int) -> CameraInfo:
    info = CameraInfo(width=640, height=480)
    info.header.stamp.sec = stamp
    info.header.frame_id = "head_camera_optical"
    info.k = [606.0, 0.0, 320.0, 0.0, 606.0, 240.0, 0.0, 0.0, 1.0]
    return info


def diagnostics(message: DiagnosticArray) -> dict[str, str]:
    return {kv.key: kv.value for kv in message.status[0].values}


def vision_status(node: TestNode, predicate, timeout: float = 15.0) -> DiagnosticArray:
    return node.wait_for_message(
        "/diagnostics",
        DiagnosticArray,
        timeout,
        reliable_qos(20),
        lambda m: m.status and "vision" in m.status[0].name and predicate(diagnostics(m), m),
    )


#: The issue's 3D range is 0.4-1.2 m; nearer than this, only detection is checked (a cylinder
#: 0.21 m from the camera came out 2.3 cm off with one sample per pixel, 0.4 cm multisampled).
NEAREST_3D_M = 0.3


def check_localised(msg: DetectionArray, frame, tolerance_m: float = 0.02) -> None:
    """Every required object is detected with its class, and its centre within the tolerance
    from ``NEAREST_3D_M`` on."""
    for truth in (t for t in frame.objects if t.required):
        near = [
            d
            for d in msg.detections
            if d.box.class_name == truth.class_name and d.position_covariance > 0
        ]
        assert near, f"{truth.class_name} not found: {msg.detections}"
        if np.linalg.norm(truth.position) < NEAREST_3D_M:
            continue
        errors = [
            np.linalg.norm(
                [d.pose.position.x, d.pose.position.y, d.pose.position.z] - truth.position
            )
            for d in near
        ]
        assert min(errors) < tolerance_m, (truth.class_name, errors)


def has_3d(msg: DetectionArray) -> bool:
    """The frame was localised (its depth and camera_info reached the node)."""
    return any(d.position_covariance > 0 for d in msg.detections)


def localises(msg: DetectionArray, frame) -> bool:
    try:
        check_localised(msg, frame)
    except AssertionError:
        return False
    return True


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


class Camera:
    """Publishes rendered frames on the simulator's camera topics, as a camera driver would."""

    def __init__(self, node: TestNode):
        qos = reliable_qos(2)
        self.colour = node.publisher("/camera/color/image_raw", Image, qos, 1, STARTUP_S)
        self.depth = node.publisher("/camera/depth/image_raw", Image, qos, 1, STARTUP_S)
        self.info = node.publisher("/camera/color/camera_info", CameraInfo, qos)
        self.node = node

    def send(self, rgb, depth, info=True, colour_encoding="rgb8") -> int:
        stamp = next(STAMPS)
        if info:
            self.info.publish(camera_info_msg(stamp))
        self.colour.publish(image_msg(rgb, colour_encoding, stamp))
        if depth is not None:
            self.depth.publish(image_msg(depth, "32FC1", stamp))
        return stamp

    def detections_for(
        self, collector, rgb, depth, info=True, timeout=15.0, usable=lambda m: True
    ) -> DetectionArray:
        """Send one frame (again every second, in case the first is lost) until its detections
        arrive; with ``usable``, until detections of one of the sent frames satisfy it (the
        sensor-data QoS may lose a frame's depth image on a loaded machine, and the node then
        rightly publishes that frame in 2D only)."""
        deadline = time.monotonic() + timeout
        sent: set[int] = set()
        while True:
            sent.add(self.send(rgb, depth, info))
            try:
                return collector.wait_until(lambda m: m.header.stamp.sec in sent and usable(m), 1.0)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


def test_topic_source_end_to_end_with_bad_input(frames, node_logs: Path) -> None:
    spec = vision_spec("topic", diagnostics_rate_hz=5.0, target_class="")
    with TestNode("vision_topic_test") as node, NodeGroup([spec], node_logs) as group:
        detections = node.collect("/vision/detections", DetectionArray, reliable_qos(50))
        targets = node.collect("/vision/target", PoseStamped, reliable_qos(50))
        camera = Camera(node)
        frame = frames[0]
        # No camera_info yet: 2D detections only, and the reason on /diagnostics.
        flat = camera.detections_for(detections, frame.rgb, frame.depth, info=False, timeout=40.0)
        assert flat.detections and all(d.position_covariance == -1.0 for d in flat.detections)
        vision_status(node, lambda v, m: "no camera_info received" in m.status[0].message)
        # With camera_info: 3D, stamped with the image's stamp and frame.
        for frame in frames:
            msg = camera.detections_for(detections, frame.rgb, frame.depth, usable=has_3d)
            assert msg.header.frame_id == "head_camera_optical"
            check_localised(msg, frame)
            assert all(d.header.stamp == msg.header.stamp for d in msg.detections)
        target = targets.wait_until(lambda m: m.header.stamp == msg.header.stamp, 5.0)
        best = max(msg.detections, key=lambda d: d.box.score)
        assert target.pose.position.z == pytest.approx(best.pose.position.z)
        # The annotated image is made only while someone subscribes.
        status = vision_status(node, lambda v, m: int(v["processed"]) >= 4)
        assert diagnostics(status)["annotated"] == "0"
        annotated = node.collect("/vision/annotated", Image, sensor_qos(5))
        annotated.wait_for_publishers()
        # Until the node's publisher has matched this subscription it makes no picture: send
        # frames until one comes back (no fixed sleep).
        # Any picture of a frame sent from here on will do: on a loaded machine the newest frame's
        # picture may still be on its way when the next frame is sent.
        deadline = time.monotonic() + 40.0  # best-effort 1 MB pictures: many lost under load
        first = None
        while True:
            stamp = camera.send(frame.rgb, frame.depth)
            first = stamp if first is None else first
            try:
                picture = annotated.wait_until(lambda m, s=first: m.header.stamp.sec >= s, 1.0)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
        assert (picture.width, picture.height, picture.encoding) == (640, 480, "rgb8")
        annotated.close()
        # Bad input: wrong encoding, truncated data, depth of NaN / zeros / wrong size.
        before = int(diagnostics(vision_status(node, lambda v, m: True))["bad_input"])
        camera.send(frame.rgb, frame.depth, colour_encoding="yuv422")
        truncated = image_msg(frame.rgb, "rgb8", next(STAMPS))
        truncated.data = truncated.data[:1000]
        camera.colour.publish(truncated)
        vision_status(node, lambda v, m: int(v["bad_input"]) >= before + 2)
        for depth in (
            np.full((480, 640), np.nan, np.float32),
            np.zeros((480, 640), np.float32),
            np.ones((240, 320), np.float32),
        ):
            msg = camera.detections_for(detections, frame.rgb, depth)
            assert msg.detections and all(d.position_covariance == -1 for d in msg.detections)
        # ... and the next good frame is localised again: the node kept running.
        check_localised(
            camera.detections_for(detections, frame.rgb, frame.depth, usable=has_3d), frame
        )
        # Paused through ~/enable: the source unsubscribes (a camera that draws only for
        # subscribers, like the simulator's, stops) and /diagnostics says so; resumed, it
        # subscribes and detects again.
        enable = "/vision_node/enable"
        paused = node.call_service(SetBool, enable, SetBool.Request(data=False), 10.0)
        assert paused.success and paused.message == "paused", paused.message
        wait_for(lambda: camera.colour.get_subscription_count() == 0, "the source unsubscribed")
        status = vision_status(node, lambda v, m: v["enabled"] == "false")
        assert (
            status.status[0].level == DiagnosticStatus.OK and "paused" in status.status[0].message
        )
        resumed = node.call_service(SetBool, enable, SetBool.Request(data=True), 10.0)
        assert resumed.success and resumed.message == "enabled", resumed.message
        wait_for(lambda: camera.colour.get_subscription_count() == 1, "the source subscribed")
        check_localised(
            camera.detections_for(detections, frame.rgb, frame.depth, usable=has_3d), frame
        )
        vision_status(node, lambda v, m: v["enabled"] == "true" and v["pauses"] == "1")
        group.assert_running()


def run_to_exit(spec, logs: Path, timeout: float = STARTUP_S) -> tuple[int, str]:
    process = NodeProcess(spec, logs).start()
    deadline = time.monotonic() + timeout
    while process.is_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.is_running():
        process.stop()
        raise AssertionError(f"node did not refuse to start:\n{process.output_tail()}")
    return process.returncode, process.output()


def test_refuses_to_start_on_missing_or_corrupt_model(tmp_path: Path, node_logs: Path) -> None:
    missing = tmp_path / "no_such_model.onnx"
    code, output = run_to_exit(vision_spec(model=str(missing)), node_logs)
    assert code == 2 and f"refusing to start: model file {missing} does not exist" in output
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07not an onnx model" * 64)
    code, output = run_to_exit(vision_spec(model=str(corrupt)), node_logs)
    assert code == 2 and f"model file {corrupt} cannot be loaded by onnxruntime" in output
    code, output = run_to_exit(vision_spec(score_threshold=1.5), node_logs)
    assert code == 2 and "refusing to start: parameter 'score_threshold'" in output


def write_recordings(frames, folder: Path) -> tuple[Path, Path, Path]:
    """The frames as an MJPG video, and as PNG colour + 16-bit millimetre depth folders."""
    video = folder / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    colour, depth = folder / "colour", folder / "depth"
    colour.mkdir()
    depth.mkdir()
    for index, frame in enumerate(frames):
        bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
        writer.write(bgr)
        cv2.imwrite(str(colour / f"{index:04d}.png"), bgr)
        millimetres = np.nan_to_num(frame.depth * 1000.0, nan=0.0).astype(np.uint16)
        cv2.imwrite(str(depth / f"{index:04d}.png"), millimetres)
    writer.release()
    return video, colour, depth


@pytest.mark.parametrize("source", ["video", "camera", "images"])
def test_playback_and_capture_sources(source, frames, tmp_path: Path, node_logs: Path) -> None:
    video, colour, depth = write_recordings(frames, tmp_path)
    options = {
        "video": f"{{video: {{path: {video}, rate_hz: 10.0}}}}",
        # No camera device exists here: OpenCV's capture reads the file through the same path.
        "camera": f"{{camera: {{device: {video}, api: any}}}}",
        "images": f"{{images: {{path: {colour}, depth_path: {depth}, rate_hz: 10.0}}}}",
    }[source]
    spec = vision_spec(source, source_options=options, camera_info_file=CAMERA_INFO_FILE)
    with TestNode(f"vision_{source}_test") as node, NodeGroup([spec], node_logs):
        received = node.collect("/vision/detections", DetectionArray, reliable_qos(50))
        messages = received.wait_for(2 * len(frames) + 1, STARTUP_S)
        assert all(m.header.frame_id == "camera_color_optical_frame" for m in messages)
        stamps = [m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in messages]
        assert stamps == sorted(stamps) and stamps[0] > 1e9  # wall-clock stamps, in order
        classes = {d.box.class_name for m in messages for d in m.detections}
        assert classes & {t.class_name for f in frames for t in f.objects if t.required}
        if source == "images":  # aligned depth (millimetres): 3D for every file's objects
            for frame in frames:
                assert any(localises(message, frame) for message in messages)
        else:  # no depth: 2D only
            assert all(d.position_covariance == -1 for m in messages for d in m.detections)


def test_with_the_simulator(node_logs: Path) -> None:
    """sim + vision stacks: the objects' mutual distances match the simulator's ground truth."""
    sim = node_specs("simulator", {"sim_mode": "paced"})[0]
    vision = vision_spec("topic", use_sim_time="true")
    with TestNode("vision_sim_test") as node, NodeGroup([sim, vision], node_logs):
        truth_msg = node.wait_for_message(
            "/sim/objects", DetectionArray, STARTUP_S, reliable_qos(5)
        )
        truth = {d.id or d.box.class_name: d.pose.position for d in truth_msg.detections}
        found = node.wait_for_message(
            "/vision/detections",
            DetectionArray,
            STARTUP_S,
            reliable_qos(10),
            lambda m: (
                len({d.box.class_name for d in m.detections if d.position_covariance > 0}) == 3
            ),
        )
        seen = {d.box.class_name: d.pose.position for d in found.detections}
        assert sorted(seen) == ["cube", "cylinder", "sphere"]
        assert found.header.frame_id == "d435_color_optical_frame"
        assert found.header.stamp.sec < 1000  # simulated time, not the wall clock

        def distance(a, b) -> float:
            return float(np.linalg.norm([a.x - b.x, a.y - b.y, a.z - b.z]))

        for first, second in itertools.combinations(sorted(seen), 2):
            expected = distance(truth[first], truth[second])
            assert distance(seen[first], seen[second]) == pytest.approx(expected, abs=0.02)
