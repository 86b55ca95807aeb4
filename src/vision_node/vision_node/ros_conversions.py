"""Conversions between ROS messages and the pipeline's numpy types (no node logic).

Images are checked before use: a supported encoding, positive size, a row step at least the
row's bytes, and as many bytes as ``step * height``; anything else raises :class:`InputError`
naming what was wrong, and the node skips the frame and counts it.
"""

from __future__ import annotations

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from humanoid_interfaces.msg import Detection3D, DetectionArray
from vision_node.core.detections import Detection
from vision_node.core.projection import CameraIntrinsics
from vision_node.errors import InputError, VisionNodeError

# encoding -> (dtype, channels, conversion to RGB or None)
COLOUR_ENCODINGS = {
    "rgb8": (np.uint8, 3, None),
    "bgr8": (np.uint8, 3, cv2.COLOR_BGR2RGB),
    "rgba8": (np.uint8, 4, cv2.COLOR_RGBA2RGB),
    "bgra8": (np.uint8, 4, cv2.COLOR_BGRA2RGB),
    "mono8": (np.uint8, 1, cv2.COLOR_GRAY2RGB),
}
# encoding -> (dtype, metres per unit); REP 118: 16UC1 depth is in millimetres.
DEPTH_ENCODINGS = {
    "32FC1": (np.float32, 1.0),
    "16UC1": (np.uint16, 0.001),
    "mono16": (np.uint16, 0.001),
}


def stamp_to_ns(value: Time) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time."""
    return int(value.sec) * 1_000_000_000 + int(value.nanosec)


def ns_to_stamp(nanoseconds: int) -> Time:
    """A builtin_interfaces/Time from integer nanoseconds."""
    nanoseconds = max(int(nanoseconds), 0)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _pixels(msg: Image, dtype, channels: int, what: str) -> np.ndarray:
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InputError(f"{what} image is {width}x{height} px: expected a positive size")
    item = np.dtype(dtype).itemsize
    row_bytes = width * channels * item
    if step < row_bytes:
        raise InputError(
            f"{what} image step {step} bytes < {width} px x {channels} x {item} bytes "
            f"({msg.encoding}): expected step >= {row_bytes}"
        )
    data = msg.data
    if len(data) < step * height:
        raise InputError(
            f"{what} image has {len(data)} bytes: expected step {step} x height {height} = "
            f"{step * height}"
        )
    buffer = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)
    pixels = buffer[:, :row_bytes].view(
        np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    )
    pixels = (
        pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)
    )
    return pixels.astype(dtype, copy=False) if msg.is_bigendian else pixels


def colour_image(msg: Image) -> np.ndarray:
    """An RGB uint8 (rows, cols, 3) array of a colour Image.

    Raises:
        InputError: Unsupported encoding, or a size, step or data length that does not fit.
    """
    if msg.encoding not in COLOUR_ENCODINGS:
        raise InputError(
            f"colour image encoding {msg.encoding!r}: expected one of {sorted(COLOUR_ENCODINGS)}"
        )
    dtype, channels, conversion = COLOUR_ENCODINGS[msg.encoding]
    pixels = _pixels(msg, dtype, channels, "colour")
    if conversion is None:
        return pixels
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)
    return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)


def depth_image(msg: Image) -> tuple[np.ndarray, float]:
    """A depth Image as (array, metres per unit).

    Raises:
        InputError: Unsupported encoding, or a size, step or data length that does not fit.
    """
    if msg.encoding not in DEPTH_ENCODINGS:
        raise InputError(
            f"depth image encoding {msg.encoding!r}: expected one of {sorted(DEPTH_ENCODINGS)}"
        )
    dtype, scale = DEPTH_ENCODINGS[msg.encoding]
    return _pixels(msg, dtype, 1, "depth"), scale


def intrinsics_from_camera_info(msg: CameraInfo) -> CameraIntrinsics:
    """Pinhole intrinsics from a CameraInfo's K.

    Distortion is ignored: colour images from the simulator and from RealSense drivers are
    rectified (their D is zero or describes an already-applied model).

    Raises:
        InputError: If K is all zeros (an uncalibrated camera) or the size or K is invalid.
    """
    k = np.asarray(msg.k, dtype=float)
    if k.shape != (9,) or not np.any(k):
        raise InputError("camera_info K is all zeros: the camera is not calibrated")
    try:
        return CameraIntrinsics.from_camera_info_dict(
            {
                "image_width": int(msg.width),
                "image_height": int(msg.height),
                "camera_matrix": {"rows": 3, "cols": 3, "data": k.tolist()},
            },
            ignore_distortion=True,
        )
    except VisionNodeError as error:
        raise InputError(f"camera_info: {error}") from error


def image_message(rgb: np.ndarray, header: Header) -> Image:
    """An rgb8 Image of an RGB uint8 array."""
    msg = Image()
    msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1]) * 3
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def _fill_detection(msg: Detection3D, detection: Detection, header: Header) -> None:
    msg.header = header
    msg.id = detection.object_id
    box = msg.box
    box.class_name, box.class_id = detection.class_name, int(detection.class_id)
    box.score = float(detection.score)
    box.center_x, box.center_y = float(detection.box.center_x), float(detection.box.center_y)
    box.width, box.height = float(detection.box.width), float(detection.box.height)
    if detection.position is not None:
        p = msg.pose.position
        p.x, p.y, p.z = (float(v) for v in detection.position)
        q = msg.pose.orientation
        q.x, q.y, q.z, q.w = (float(v) for v in detection.orientation)
    else:
        msg.pose.orientation.w = 1.0
    if detection.size is not None:
        msg.size.x, msg.size.y, msg.size.z = (float(v) for v in detection.size)
    msg.position_covariance = float(detection.position_variance)


def detection_array(detections: list[Detection], header: Header) -> DetectionArray:
    """All detections of one image. Unlocalised ones have pose zero and covariance -1."""
    msg = DetectionArray()
    msg.header = header
    for detection in detections:
        item = Detection3D()
        _fill_detection(item, detection, header)
        msg.detections.append(item)
    return msg


def target_pose(detection: Detection, header: Header) -> PoseStamped:
    """The selected target's pose in the image's frame."""
    msg = PoseStamped()
    msg.header = header
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (
        float(v) for v in detection.position
    )
    q = msg.pose.orientation
    q.x, q.y, q.z, q.w = (float(v) for v in detection.orientation)
    return msg
