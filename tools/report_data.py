"""A fetch run's recording as numpy arrays, and the figures of merit computed from them.

Reads a rosbag2 directory (MCAP or sqlite3) with humanoid_bag's reader and deserializes the
messages with rosbags from the installed ``.msg`` definitions (humanoid_bag's typestore),
accepting trailing bytes after a message as rclpy's deserializer does (rclpy's
``serialize_message`` leaves some; rclpy's own deserializer is 30x slower here). No
plotting here (``tools/demo_report.py`` draws); no ROS graph either, so this runs anywhere the
workspace is sourced.

Times: every series is in seconds of simulated time since the recording's first message
(``header.stamp`` where the message has one, else the bag's receive time, which the recorder
takes from ``/clock``). High-rate streams are thinned by receive time *before* deserializing
(``MIN_PERIOD_S``); the tactile contacts are kept whole so that peak forces are exact.
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass, field

import numpy as np

TOPICS = {
    "/gait/status": "humanoid_interfaces/msg/GaitStatus",
    "/sim/base": "nav_msgs/msg/Odometry",
    "/odom": "nav_msgs/msg/Odometry",
    "/right_hand/tactile/contacts": "humanoid_interfaces/msg/ContactArray",
    "/vision/detections": "humanoid_interfaces/msg/DetectionArray",
    "/sim/objects": "humanoid_interfaces/msg/DetectionArray",
    "/brain/status": "std_msgs/msg/String",
    "/joint_states": "sensor_msgs/msg/JointState",
}
MIN_PERIOD_S = {
    "/gait/status": 0.004,
    "/sim/base": 0.01,
    "/odom": 0.01,
    "/sim/objects": 0.1,
    "/joint_states": 0.02,
}
# humanoid_interfaces/GaitStatus constants.
SUPPORT_LEFT, SUPPORT_RIGHT = 1, 2
STATE_DAMPING = 3
GAIT_POINTS = ("zmp_planned", "zmp_measured", "dcm_planned", "dcm_measured", "com")


@dataclass
class Recording:
    """What a report needs from a bag. A missing topic leaves its field None (or empty).

    Attributes:
        path: The bag.
        counts: Messages per topic in the bag (all of them, before thinning).
        notes: Why something could not be read (topic -> reason).
        gait: ``t``, ``state``, ``support``, ``step_count`` and (N, 3) ``GAIT_POINTS`` [m].
        base_truth, odom: ``t``, ``xyz`` (N, 3) [m], ``quat`` (N, 4) wxyz, ``yaw`` [rad].
        contacts: ``t``, ``pads`` (names), ``force`` (N, P) [N], ``in_contact`` (N, P).
        detections: One dict per detection: ``t``, ``frame``, ``class_name``, ``xyz``,
            ``score``, ``covariance`` (position variance [m^2]; -1: no 3D estimate).
        objects: Ground truth per object id: ``name`` (the id), ``class_name`` (the
            simulator's shape), ``t``, ``xyz`` (N, 3) [m].
        brain: ``(t, status dict)`` of every /brain/status message.
        joints: ``t``, ``names``, ``position`` (N, J) [rad].
    """

    path: pathlib.Path
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    gait: dict | None = None
    base_truth: dict | None = None
    odom: dict | None = None
    contacts: dict | None = None
    detections: list[dict] = field(default_factory=list)
    objects: dict[str, dict] | None = None
    brain: list[tuple[float, dict]] = field(default_factory=list)
    joints: dict | None = None


def _stamp(msg, fallback_s: float) -> float:
    stamp = msg.header.stamp
    value = stamp.sec + stamp.nanosec * 1e-9
    return value if value > 0.0 else fallback_s


def _xyz(point) -> list[float]:
    return [point.x, point.y, point.z]


def yaw_of(quat_wxyz: np.ndarray) -> np.ndarray:
    """Heading [rad] of quaternions (N, 4) wxyz."""
    w, x, y, z = quat_wxyz.T
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def rotation(quat_wxyz) -> np.ndarray:
    """3x3 rotation matrix of one quaternion wxyz (normalised here)."""
    w, x, y, z = np.asarray(quat_wxyz, float) / np.linalg.norm(quat_wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def read_recording(path: str | pathlib.Path) -> Recording:
    """Read the report's topics from a bag; topics it lacks are noted, never an error.

    Raises:
        humanoid_bag.storage.BagError: If ``path`` is not a readable bag at all.
    """
    from humanoid_bag.storage import BagReader
    from humanoid_bag.typesupport import DefinitionSource

    recording = Recording(pathlib.Path(path))
    raw: dict[str, list] = {}
    with BagReader(path) as bag:
        recording.counts = {name: topic.message_count for name, topic in bag.topics.items()}
        wanted = {}
        for topic, msgtype in TOPICS.items():
            found = bag.topics.get(topic)
            if found is None or found.message_count == 0:
                recording.notes[topic] = "not in the bag"
            elif found.msgtype != msgtype:
                recording.notes[topic] = f"type {found.msgtype}, expected {msgtype}"
            else:
                wanted[topic] = msgtype
        source = DefinitionSource()
        decoders = {topic: _decoder(source, msgtype) for topic, msgtype in wanted.items()}
        last: dict[str, int] = {}
        raw = {topic: [] for topic in wanted}
        for topic, time_ns, data in bag.messages(list(wanted), bag.start_ns, bag.end_ns + 1):
            period = MIN_PERIOD_S.get(topic)
            if period is not None and time_ns - last.get(topic, -(2**62)) < period * 1e9:
                continue
            last[topic] = time_ns
            raw[topic].append((time_ns * 1e-9, decoders[topic](data)))
    _convert(recording, raw)
    return recording


def _decoder(source, msgtype: str):
    """A function CDR bytes -> rosbags message of ``msgtype`` that ignores trailing bytes.

    Raises:
        humanoid_bag.typesupport.TypeSupportError: If the type is not installed.
    """
    source.ensure(msgtype)
    definition = source.store.get_msgdef(msgtype)

    def decode(data: bytes):
        if bytes(data[:2]) == b"\x00\x01":
            read = definition.deserialize_cdr_le
        elif bytes(data[:2]) == b"\x00\x00":
            read = definition.deserialize_cdr_be
        else:
            raise ValueError(f"{msgtype}: not a CDR message (encapsulation {bytes(data[:4])!r})")
        return read(data[4:], 0, definition.cls, source.store)[0]

    return decode


def _convert(recording: Recording, raw: dict[str, list]) -> None:
    """Fill the recording's arrays from deserialized messages, times relative to the first."""
    starts = [_first_time(topic, items) for topic, items in raw.items() if items]
    t0 = min(starts) if starts else 0.0
    if raw.get("/gait/status"):
        items = raw["/gait/status"]
        gait = {"t": np.array([_stamp(m, t) for t, m in items]) - t0}
        gait["state"] = np.array([m.state for _, m in items], int)
        gait["support"] = np.array([m.support for _, m in items], int)
        gait["step_count"] = np.array([m.step_count for _, m in items], int)
        for name in GAIT_POINTS:
            gait[name] = np.array([_xyz(getattr(m, name)) for _, m in items])
        recording.gait = gait
    for topic, attribute in (("/sim/base", "base_truth"), ("/odom", "odom")):
        if raw.get(topic):
            items = raw[topic]
            pose = [m.pose.pose for _, m in items]
            quat = np.array(
                [[p.orientation.w, p.orientation.x, p.orientation.y, p.orientation.z] for p in pose]
            )
            setattr(
                recording,
                attribute,
                {
                    "t": np.array([_stamp(m, t) for t, m in items]) - t0,
                    "xyz": np.array([_xyz(p.position) for p in pose]),
                    "quat": quat,
                    "yaw": yaw_of(quat),
                },
            )
    if raw.get("/right_hand/tactile/contacts"):
        recording.contacts = _contacts(raw["/right_hand/tactile/contacts"], t0)
    for t, msg in raw.get("/vision/detections", []):
        for detection in msg.detections:
            recording.detections.append(
                {
                    "t": _stamp(detection, _stamp(msg, t)) - t0,
                    "frame": (detection.header.frame_id or msg.header.frame_id).lstrip("/"),
                    "class_name": detection.box.class_name,
                    "xyz": np.array(_xyz(detection.pose.position)),
                    "score": float(detection.box.score),
                    "covariance": float(detection.position_covariance),
                }
            )
    if raw.get("/sim/objects"):
        objects: dict[str, dict] = {}
        for t, msg in raw["/sim/objects"]:
            for detection in msg.detections:
                name = detection.id or detection.box.class_name
                entry = objects.setdefault(
                    name, {"name": name, "class_name": detection.box.class_name, "t": [], "xyz": []}
                )
                entry["t"].append(_stamp(msg, t) - t0)
                entry["xyz"].append(_xyz(detection.pose.position))
        recording.objects = {
            key: {**entry, "t": np.array(entry["t"]), "xyz": np.array(entry["xyz"])}
            for key, entry in objects.items()
        }
    for t, msg in raw.get("/brain/status", []):
        try:
            status = json.loads(msg.data)
        except ValueError:
            recording.notes["/brain/status"] = "a status that is not JSON was ignored"
            continue
        time_s = status.get("time_s") if isinstance(status, dict) else None
        stamp = float(time_s) if isinstance(time_s, int | float) and time_s > 0 else t
        recording.brain.append((stamp - t0, status if isinstance(status, dict) else {}))
    if raw.get("/joint_states"):
        items = raw["/joint_states"]
        names = list(items[-1][1].name)
        rows = []
        for _, m in items:
            lookup = dict(zip(m.name, m.position, strict=False))
            rows.append([lookup.get(n, math.nan) for n in names])
        recording.joints = {
            "t": np.array([_stamp(m, t) for t, m in items]) - t0,
            "names": names,
            "position": np.array(rows),
        }


def _first_time(topic: str, items: list) -> float:
    t, msg = items[0]
    if topic == "/brain/status":
        return t
    return _stamp(msg, t) if hasattr(msg, "header") else t


def _contacts(items: list, t0: float) -> dict:
    pads: list[str] = []
    for _, msg in items:
        for contact in msg.contacts:
            if contact.pad not in pads:
                pads.append(contact.pad)
    index = {pad: i for i, pad in enumerate(pads)}
    force = np.zeros((len(items), len(pads)))
    touching = np.zeros((len(items), len(pads)), bool)
    for row, (_, msg) in enumerate(items):
        for contact in msg.contacts:
            force[row, index[contact.pad]] = contact.force_n
            touching[row, index[contact.pad]] = contact.in_contact
    times = np.array([_stamp(m, t) for t, m in items]) - t0
    return {"t": times, "pads": pads, "force": force, "in_contact": touching}


# ------------------------------------------------------------------------------ derived data
def truth_for(recording: Recording, class_name: str) -> list[dict]:
    """Ground-truth objects a detection of ``class_name`` may be: those whose id or shape is
    that name (the simulator names the cube ``cube``, its shape ``box``)."""
    objects = (recording.objects or {}).values()
    return [o for o in objects if class_name in (o["name"], o["class_name"])]


def phases(recording: Recording) -> list[dict]:
    """The brain's states as intervals ``{state, start_s, end_s}`` (consecutive statuses of one
    state merged; the last interval ends at the last status)."""
    intervals: list[dict] = []
    for t, status in recording.brain:
        state = status.get("state", "?")
        if intervals and intervals[-1]["state"] == state:
            intervals[-1]["end_s"] = t
        else:
            if intervals:
                intervals[-1]["end_s"] = t
            intervals.append({"state": state, "start_s": t, "end_s": t})
    return intervals


def planar_alignment(recording: Recording) -> np.ndarray | None:
    """``T_world_odom`` (3x3, planar): the rigid motion putting the first odometry pose on the
    ground-truth pose of the same instant. None without both streams."""
    odom, truth = recording.odom, recording.base_truth
    if odom is None or truth is None:
        return None
    t = max(odom["t"][0], truth["t"][0])
    i, j = np.searchsorted(odom["t"], t), np.searchsorted(truth["t"], t)
    i, j = min(i, len(odom["t"]) - 1), min(j, len(truth["t"]) - 1)
    return _se2(*truth["xyz"][j, :2], truth["yaw"][j]) @ np.linalg.inv(
        _se2(*odom["xyz"][i, :2], odom["yaw"][i])
    )


def _se2(x: float, y: float, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, x], [s, c, y], [0.0, 0.0, 1.0]])


def apply_planar(transform: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Points (N, 2) moved by a 3x3 planar transform."""
    return xy @ transform[:2, :2].T + transform[:2, 2]


def pose_at(series: dict, t: float) -> np.ndarray:
    """4x4 pose of a ``base_truth``/``odom`` series at ``t`` (position interpolated,
    orientation of the nearest sample)."""
    times = series["t"]
    position = [np.interp(t, times, series["xyz"][:, k]) for k in range(3)]
    nearest = int(np.clip(np.searchsorted(times, t), 0, len(times) - 1))
    matrix = np.eye(4)
    matrix[:3, :3] = rotation(series["quat"][nearest])
    matrix[:3, 3] = position
    return matrix


def joint_positions_at(recording: Recording, t: float) -> dict[str, float]:
    """Joint angles [rad] of the /joint_states sample nearest ``t`` ({} without them)."""
    joints = recording.joints
    if joints is None:
        return {}
    row = int(np.clip(np.searchsorted(joints["t"], t), 0, len(joints["t"]) - 1))
    values = joints["position"][row]
    return {n: float(v) for n, v in zip(joints["names"], values, strict=True) if np.isfinite(v)}


def single_support_phases(gait: dict) -> list[tuple[int, float, float, int]]:
    """``(side, start_s, end_s, index at the middle)`` of every left/right single support."""
    found = []
    support, times = gait["support"], gait["t"]
    start = 0
    for i in range(1, len(support) + 1):
        if i == len(support) or support[i] != support[start]:
            if support[start] in (SUPPORT_LEFT, SUPPORT_RIGHT):
                found.append(
                    (int(support[start]), times[start], times[i - 1], (start + i - 1) // 2)
                )
            start = i
    return found
