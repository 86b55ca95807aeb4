"""tools/demo_report.py on synthetic recordings of a fetch run (real rosbag2 MCAP files).

The bag is written with humanoid_bag's BagWriter (definitions and type hashes from the installed
``.msg`` files, messages serialized by rclpy): 20 s of sim time in which the robot walks 0.6 m
(gait status, ground truth and drifting odometry), the vision node reports objects in the
pelvis frame and the camera's optical frame, the right hand squeezes and holds, and the brain
goes WAIT_TARGET -> ... -> DONE. The report must draw every figure and compute its summary
from the data; with topics missing it must skip those figures with a note and draw the rest.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import Point
from nav_msgs.msg import Odometry
from rclpy.serialization import serialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from humanoid_bag.core.qos import QosProfile
from humanoid_bag.storage import BagWriter
from humanoid_bag.typesupport import DefinitionSource
from humanoid_interfaces.msg import (
    Contact,
    ContactArray,
    Detection3D,
    DetectionArray,
    GaitStatus,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import demo_report  # noqa: E402
import report_metrics  # noqa: E402

NS = 1_000_000_000
START_NS = 1000 * NS  # the sim clock when recording started
SECONDS = 20.0
PADS = ("thumb_tip", "thumb_mid", "index_tip", "index_mid", "middle_tip", "palm")
PEAK = (14.21, "index_tip")  # time [s] and pad of the largest force, 5.0 N more than elsewhere
OBJECTS = {"cube": (0.42, -0.12, 0.705), "sphere": (0.48, 0.22, 0.71)}
PHASES = (
    (0.0, "WAIT_TARGET"),
    (2.0, "APPROACH"),
    (10.0, "SETTLE"),
    (11.0, "GRASP"),
    (13.0, "LIFT"),
    (14.0, "HOLD"),
    (17.0, "DONE"),
)
LEG_POSTURE = {"hip_pitch_joint": -0.28, "knee_joint": 0.5, "ankle_pitch_joint": -0.22}


def walked_x(t: float) -> float:
    """Ground-truth pelvis x [m]: 0.075 m/s between 2 s and 10 s."""
    return 0.075 * min(max(t - 2.0, 0.0), 8.0)


def pad_forces(t: float) -> list[float]:
    """Forces [N] per pad: ramp up from 11 s, hold, one peak on PEAK's pad."""
    level = 0.0 if t < 11.0 else min((t - 11.0) / 2.0, 1.0) * (3.0 if t < 17.5 else 2.0)
    forces = [level * (1.0 + 0.1 * k) for k in range(len(PADS))]
    if abs(t - PEAK[0]) < 1e-6:
        forces[PADS.index(PEAK[1])] += 5.0
    return forces


def stamp_of(t: float):
    from builtin_interfaces.msg import Time

    ns = START_NS + round(t * NS)
    return Time(sec=ns // NS, nanosec=ns % NS)


def gait_status(t: float) -> GaitStatus:
    msg = GaitStatus()
    msg.header.stamp, msg.header.frame_id = stamp_of(t), "odom"
    walking = 2.0 <= t < 10.0
    msg.state = GaitStatus.STATE_WALK if walking else GaitStatus.STATE_STAND
    step, within = divmod(t - 2.0, 0.5) if walking else (0.0, 0.0)
    side = GaitStatus.SUPPORT_LEFT if int(step) % 2 == 0 else GaitStatus.SUPPORT_RIGHT
    msg.support = side if walking and within >= 0.1 else GaitStatus.SUPPORT_DOUBLE
    msg.step_count = int(step) + (1 if walking and within >= 0.4 else 0) if walking else 0
    if t >= 10.0:
        msg.step_count = 16
    x = walked_x(t)
    foot_y = 0.1 if side == GaitStatus.SUPPORT_LEFT else -0.1
    msg.com = Point(x=x, y=0.02 * math.sin(2 * math.pi * t), z=0.7)
    msg.zmp_planned = Point(x=x + 0.02, y=foot_y if walking else 0.0)
    msg.zmp_measured = Point(x=x + 0.025, y=(foot_y if walking else 0.0) * 0.9)
    msg.dcm_planned = Point(x=x + 0.03, y=0.5 * msg.zmp_planned.y)
    msg.dcm_measured = Point(x=x + 0.031, y=0.45 * msg.zmp_planned.y)
    return msg


def odometry(t: float, frame: str, scale: float) -> Odometry:
    msg = Odometry()
    msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp_of(t), frame, "pelvis"
    msg.pose.pose.position.x, msg.pose.pose.position.z = scale * walked_x(t), 0.75
    msg.pose.pose.orientation.w = 1.0
    return msg


def contacts(t: float) -> ContactArray:
    msg = ContactArray()
    msg.header.stamp, msg.skin_id = stamp_of(t), "right_hand"
    for pad, force in zip(PADS, pad_forces(t), strict=True):
        msg.contacts.append(Contact(pad=pad, force_n=force, in_contact=force > 0.5))
    msg.contacts[0].header.stamp = msg.header.stamp
    return msg


def detections(t: float, optical_in_base: np.ndarray) -> DetectionArray:
    """The cube in the pelvis frame and the sphere in the optical frame, 1 cm off in x, and a
    cube seen without depth (2D only: position unknown, covariance -1)."""
    msg = DetectionArray()
    msg.header.stamp = stamp_of(t)
    world_from_base = np.eye(4)
    world_from_base[:3, 3] = (walked_x(t), 0.0, 0.75)
    for name, frame in (("cube", "pelvis"), ("sphere", "d435_color_optical_frame")):
        to_frame = np.linalg.inv(world_from_base)
        if frame != "pelvis":
            to_frame = np.linalg.inv(optical_in_base) @ to_frame
        point = to_frame @ np.array([OBJECTS[name][0] + 0.01, *OBJECTS[name][1:], 1.0])
        detection = Detection3D()
        detection.header.stamp, detection.header.frame_id = msg.header.stamp, frame
        detection.box.class_name, detection.box.score = name, 0.9
        detection.pose.position.x, detection.pose.position.y, detection.pose.position.z = (
            float(v) for v in point[:3]
        )
        msg.detections.append(detection)
    flat = Detection3D(position_covariance=-1.0)
    flat.header = msg.detections[0].header
    flat.box.class_name, flat.box.score = "cube", 0.5
    msg.detections.append(flat)
    return msg


def objects(t: float) -> DetectionArray:
    msg = DetectionArray()
    msg.header.stamp, msg.header.frame_id = stamp_of(t), "world"
    for name, (x, y, z) in OBJECTS.items():
        detection = Detection3D(id=name)
        detection.box.class_name = "box" if name == "cube" else name  # the simulator's shape
        detection.pose.position.x, detection.pose.position.y, detection.pose.position.z = x, y, z
        msg.detections.append(detection)
    return msg


def brain_status(t: float) -> String:
    state = [name for start, name in PHASES if t >= start][-1]
    reason = "held" if state == "DONE" else ""
    status = {
        "task": 1,
        "state": state,
        "active": state != "DONE",
        "failures": 0,
        "reason": reason,
        "time_s": (START_NS / NS) + t,
    }
    return String(data=json.dumps(status))


def joint_states(t: float) -> JointState:
    msg = JointState()
    msg.header.stamp = stamp_of(t)
    for side in ("left", "right"):
        for joint, angle in LEG_POSTURE.items():
            msg.name.append(f"{side}_{joint}")
            msg.position.append(angle)
    return msg


STREAMS = {
    # topic: (type, rate [Hz], builder)
    "/gait/status": ("humanoid_interfaces/msg/GaitStatus", 25.0, gait_status),
    "/sim/base": ("nav_msgs/msg/Odometry", 25.0, lambda t: odometry(t, "world", 1.0)),
    "/odom": ("nav_msgs/msg/Odometry", 25.0, lambda t: odometry(t, "odom", 0.95)),
    "/right_hand/tactile/contacts": ("humanoid_interfaces/msg/ContactArray", 25.0, contacts),
    "/vision/detections": ("humanoid_interfaces/msg/DetectionArray", 5.0, None),
    "/sim/objects": ("humanoid_interfaces/msg/DetectionArray", 5.0, objects),
    "/brain/status": ("std_msgs/msg/String", 5.0, brain_status),
    "/joint_states": ("sensor_msgs/msg/JointState", 5.0, joint_states),
}


def write_fetch_bag(path: Path, topics=tuple(STREAMS)) -> dict[str, list]:
    """Write the synthetic run with ``topics``; return each topic's messages."""
    from humanoid_brain.core.camera_chain import CameraChain

    optical = CameraChain.from_robot_description(report_metrics.ROBOT_DESCRIPTION).optical_in_base()
    definitions = DefinitionSource()
    writer = BagWriter(path, "mcap")
    events, written = [], {topic: [] for topic in topics}
    for topic in topics:
        msgtype, rate, build = STREAMS[topic]
        text, type_hash = definitions.definition(msgtype)
        topic_id = writer.add_topic(topic, msgtype, text, type_hash, [QosProfile()])
        times = [i / rate for i in range(int(SECONDS * rate))]
        if topic == "/right_hand/tactile/contacts":
            times = sorted([*times, PEAK[0]])
        build = build or (lambda t: detections(t, optical))
        events += [(t, topic_id, topic, build) for t in times]
    for t, topic_id, topic, build in sorted(events, key=lambda e: e[:2]):
        message = build(t)
        written[topic].append(message)
        writer.write(topic_id, START_NS + round(t * NS), serialize_message(message))
    writer.close()
    return written


def image_is_drawn(path: Path) -> bool:
    """A real figure: a PNG of some size with many distinct colours."""
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    return path.stat().st_size > 20_000 and len(colours) > 50


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("full")
    written = write_fetch_bag(directory / "bag")
    recording = demo_report.rd.read_recording(directory / "bag")
    report = directory / "report"
    summary = demo_report.make_report(directory / "bag", report, {"rtf": 0.9}, recording)
    return report, summary, written, recording


def test_every_figure_is_drawn(full_report):
    report, summary, _, _ = full_report
    assert summary["skipped"] == {}
    assert sorted(summary["figures"]) == sorted(demo_report.FIGURES)
    for name in demo_report.FIGURES:
        assert image_is_drawn(report / name), name
    on_disk = json.loads((report / "summary.json").read_text())
    assert on_disk["figures"] == summary["figures"]
    assert on_disk["run"] == {"rtf": 0.9}


def test_summary_comes_from_the_data(full_report):
    _, summary, written, _ = full_report
    totals = [sum(c.force_n for c in m.contacts) for m in written["/right_hand/tactile/contacts"]]
    assert summary["grasp"]["peak_total_force_n"] == pytest.approx(max(totals), abs=1e-4)
    assert max(totals) == pytest.approx(sum(pad_forces(PEAK[0])))
    peak_pad = summary["grasp"]["peak_pad_force_n"]
    assert max(peak_pad, key=peak_pad.get) == PEAK[1]
    assert summary["grasp"]["mean_hold_force_n"] == pytest.approx(sum(pad_forces(15.0)), rel=0.05)
    steps = max(m.step_count for m in written["/gait/status"])
    assert summary["gait"]["steps"] == steps == 16
    assert summary["gait"]["fell"] is False
    assert summary["gait"]["zmp_error_rms_m"] == pytest.approx(math.hypot(0.005, 0.01), rel=0.3)
    brain = summary["brain"]
    assert brain["final_state"] == "DONE" and brain["success"] is True
    assert [p["state"] for p in brain["phases"]] == [name for _, name in PHASES]
    assert brain["phases"][1]["duration_s"] == pytest.approx(8.0, abs=0.3)
    # Odometry under-reads the walk by 5 %: 0.6 m walked, 3 cm drift at the end.
    assert summary["odometry"]["final_error_m"] == pytest.approx(0.03, abs=0.002)
    assert summary["odometry"]["true_path_length_m"] == pytest.approx(0.6, abs=0.01)


def test_detections_are_placed_in_the_world(full_report):
    """Both frames (pelvis, and the optical frame through the camera chain) land 1 cm from the
    truth: the estimates were written 1 cm off in x. Detections without 3D are not placed."""
    _, summary, _, _ = full_report
    images = int(SECONDS * STREAMS["/vision/detections"][1])
    for name in OBJECTS:
        assert summary["vision"][name]["placed_in_world"] == images
        assert summary["vision"][name]["median_error_m"] == pytest.approx(0.01, abs=1e-3)
    # The 2D-only cubes are counted, not placed (at the origin of the optical frame they would
    # be far off); the simulator's cube (shape "box") is matched by its id.
    assert summary["vision"]["cube"]["detections"] == 2 * images
    assert f"{images} without 3D" in summary["vision"]["note"]


def test_footsteps_from_support_phases(full_report):
    """16 single supports alternate left/right; the planned footstep is the stance ZMP and the
    measured one (FK on the stand posture) lies within a sole's length of it."""
    recording = full_report[3]
    kinematics, note = report_metrics.load_kinematics()
    assert kinematics is not None, note
    steps, how = report_metrics.footsteps(recording, kinematics)
    assert len(steps) == 16 and "forward kinematics" in how
    assert [s["side"] for s in steps[:4]] == ["left", "right", "left", "right"]
    for step in steps:
        assert step["planned_xy"][1] == pytest.approx(0.1 if step["side"] == "left" else -0.1)
        distance = np.hypot(*np.subtract(step["measured_xy"], step["planned_xy"]))
        assert distance < 0.1, step


def test_missing_topics_skip_their_figures(tmp_path):
    write_fetch_bag(tmp_path / "bag", topics=("/right_hand/tactile/contacts", "/brain/status"))
    summary = demo_report.make_report(tmp_path / "bag", tmp_path / "report")
    assert summary["figures"] == ["grasp_forces.png"]
    assert set(summary["skipped"]) == {"gait.png", "detections.png", "odometry.png"}
    assert all("failed" not in why for why in summary["skipped"].values()), summary["skipped"]
    assert summary["notes"]["/gait/status"] == "not in the bag"
    assert "gait" not in summary and summary["brain"]["success"] is True
    assert image_is_drawn(tmp_path / "report" / "grasp_forces.png")
    assert not (tmp_path / "report" / "gait.png").exists()


def test_cli_on_a_bag_without_report_topics_and_on_a_missing_bag(tmp_path, capsys):
    write_fetch_bag(tmp_path / "bag", topics=("/joint_states",))
    assert demo_report.main([str(tmp_path / "bag"), str(tmp_path / "report")]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["figures"] == [] and len(summary["skipped"]) == 4
    assert "skipped gait.png: no /gait/status" in capsys.readouterr().out
    assert demo_report.main([str(tmp_path / "nothing"), str(tmp_path / "report2")]) == 2
    assert "does not exist" in capsys.readouterr().err
