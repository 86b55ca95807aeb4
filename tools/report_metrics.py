"""Figures of merit of a fetch run, and the geometry behind them (kinematics, alignment).

Works on a :class:`report_data.Recording`; no plotting (``tools/demo_report.py`` draws). The
robot's kinematics (pinocchio, the URDF named in the robot description) place the vision
node's detections in the world frame and the stance soles on the floor.
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np
import report_data as rd

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROBOT_DESCRIPTION = ROOT / "config" / "robots" / "g1_dex3.yaml"


class Kinematics:
    """Forward kinematics of the robot's URDF (pinocchio, fixed base at the pelvis): the head
    camera's optical frame (humanoid_brain's camera chain) and the soles."""

    def __init__(self, description: pathlib.Path = ROBOT_DESCRIPTION) -> None:
        import pinocchio as pin
        import yaml

        from humanoid_brain.core.camera_chain import CameraChain

        self.chain = CameraChain.from_robot_description(description)
        self._pin, self.model = pin, self.chain.model
        self.data = self.model.createData()
        feet = yaml.safe_load(description.read_text())["feet"]
        self.soles = {
            side: (self.model.getFrameId(foot["link"]), np.array(foot["sole"], float))
            for side, foot in feet.items()
        }

    def sole_in_base(self, side: str, joints: dict[str, float]) -> np.ndarray:
        """Sole centre of foot ``side`` in the pelvis frame [m] at joint angles ``joints``."""
        q = self._pin.neutral(self.model)
        for name, value in joints.items():
            if self.model.existJointName(name):
                q[self.model.joints[self.model.getJointId(name)].idx_q] = value
        self._pin.framesForwardKinematics(self.model, self.data, q)
        frame, offset = self.soles[side]
        placement = self.data.oMf[frame]
        return placement.rotation @ offset + placement.translation


@functools.cache
def load_kinematics() -> tuple[Kinematics | None, str]:
    """The robot's kinematics (loaded once per process), or None and why not (no URDF)."""
    try:
        return Kinematics(), ""
    except Exception as error:  # noqa: BLE001 - any failure only removes a layer of a figure
        return None, f"no robot kinematics ({error})"


def footsteps(recording: rd.Recording, kinematics: Kinematics | None) -> tuple[list[dict], str]:
    """Footsteps in the odometry frame, from the gait's support phases.

    Planned: the planned ZMP at the middle of each single-support phase (a ZMP-preview /
    DCM planner keeps the ZMP reference on the stance foot then). Measured, when the joint
    angles were recorded: the stance sole by forward kinematics on the ground-truth pelvis
    pose, moved into the odometry frame by the start-of-run alignment.
    """
    gait = recording.gait
    steps = []
    align = rd.planar_alignment(recording)
    measured = kinematics is not None and recording.joints is not None
    measured = measured and recording.base_truth is not None and align is not None
    for side, start, end, middle in rd.single_support_phases(gait):
        name = "left" if side == rd.SUPPORT_LEFT else "right"
        step = {
            "side": name,
            "start_s": start,
            "end_s": end,
            "planned_xy": gait["zmp_planned"][middle, :2].tolist(),
        }
        if measured:
            t = float(gait["t"][middle])
            sole = kinematics.sole_in_base(name, rd.joint_positions_at(recording, t))
            world = rd.pose_at(recording.base_truth, t) @ np.append(sole, 1.0)
            odom_xy = rd.apply_planar(np.linalg.inv(align), world[None, :2])[0]
            step["measured_xy"] = odom_xy.tolist()
        steps.append(step)
    how = "footsteps: planned ZMP at mid single support"
    if measured:
        how += "\nx: stance sole by forward kinematics on the true pelvis pose"
    return steps, how


def detections_in_world(recording, kinematics) -> tuple[list[dict], str]:
    """The detections with their position in the simulator's world frame (``world`` key),
    through the camera chain (waist angles from /joint_states, else 0) and the ground-truth
    pelvis pose at the image's time. Detections that cannot be placed (no 3D estimate, an
    unknown frame) keep no ``world``; the second value says why."""
    truth, align = recording.base_truth, rd.planar_alignment(recording)
    placed, why, without_3d = [], "", 0
    for detection in recording.detections:
        frame, point = detection["frame"], np.append(detection["xyz"], 1.0)
        world = None
        if detection.get("covariance", 0.0) < 0.0:  # 2D only: the message says "unknown"
            without_3d += 1
        elif frame == "world":
            world = point
        elif frame == "odom" and align is not None:
            world = np.append(rd.apply_planar(align, point[None, :2])[0], point[2:])
        elif truth is not None and frame in ("pelvis", "base_link"):
            world = rd.pose_at(truth, detection["t"]) @ point
        elif truth is not None and kinematics is not None:
            joints = rd.joint_positions_at(recording, detection["t"])
            optical = kinematics.chain.optical_in_base(joints)
            world = rd.pose_at(truth, detection["t"]) @ optical @ point
            if recording.joints is None:
                why = "waist angles taken as 0 (no /joint_states recorded)"
        else:
            why = f"cannot place detections in frame {frame!r} (no ground-truth pose or URDF)"
        placed.append({**detection, **({"world": world[:3]} if world is not None else {})})
    if without_3d:
        why = "; ".join(filter(None, [why, f"{without_3d} without 3D (covariance -1)"]))
    return placed, why


def detection_errors(placed: list[dict], truth: list[dict]) -> np.ndarray:
    """Distance [m] of each placed estimate to the nearest same-class object at its time."""
    errors = []
    for detection in placed:
        candidates = [
            np.linalg.norm(
                detection["world"]
                - [np.interp(detection["t"], o["t"], o["xyz"][:, k]) for k in range(3)]
            )
            for o in truth
            if len(o["t"])
        ]
        if candidates:
            errors.append(min(candidates))
    return np.array(errors)


def odometry_error(recording) -> np.ndarray:
    """Planar position error [m] of the aligned odometry at each odometry sample."""
    truth, odom = recording.base_truth, recording.odom
    aligned = rd.apply_planar(rd.planar_alignment(recording), odom["xyz"][:, :2])
    true_xy = np.column_stack(
        [np.interp(odom["t"], truth["t"], truth["xyz"][:, k]) for k in range(2)]
    )
    return np.linalg.norm(aligned - true_xy, axis=1)


def summarize(recording: rd.Recording, kinematics=None) -> dict:
    """Figures of merit of the run, computed from the recording."""
    summary: dict = {"topics": {t: recording.counts.get(t, 0) for t in rd.TOPICS}}
    intervals = rd.phases(recording)
    if recording.brain:
        final = recording.brain[-1][1]
        started = next(
            (t for t, s in recording.brain if s.get("state") not in ("IDLE", None)),
            recording.brain[0][0],
        )
        summary["brain"] = {
            "final_state": final.get("state"),
            "success": final.get("state") == "DONE",
            "reason": final.get("reason"),
            "failures": final.get("failures"),
            "task_time_s": round(recording.brain[-1][0] - started, 3),
            "phases": [
                {
                    "state": i["state"],
                    "start_s": round(i["start_s"], 3),
                    "duration_s": round(i["end_s"] - i["start_s"], 3),
                }
                for i in intervals
            ],
        }
    gait = recording.gait
    if gait is not None:
        zmp = np.linalg.norm(gait["zmp_planned"][:, :2] - gait["zmp_measured"][:, :2], axis=1)
        dcm = np.linalg.norm(gait["dcm_planned"][:, :2] - gait["dcm_measured"][:, :2], axis=1)
        summary["gait"] = {
            "steps": int(gait["step_count"].max()),
            "single_supports": len(rd.single_support_phases(gait)),
            "zmp_error_rms_m": round(float(np.sqrt(np.mean(zmp**2))), 4),
            "dcm_error_rms_m": round(float(np.sqrt(np.mean(dcm**2))), 4),
            "fell": bool(np.any(gait["state"] == rd.STATE_DAMPING)),
        }
    contacts = recording.contacts
    if contacts is not None:
        total = contacts["force"].sum(axis=1)
        peak = contacts["force"].max(axis=0)
        summary["grasp"] = {
            "peak_total_force_n": round(float(total.max()), 4),
            "peak_pad_force_n": {
                p: round(float(f), 4) for p, f in zip(contacts["pads"], peak, strict=True)
            },
            "pads_in_contact_max": int(contacts["in_contact"].sum(axis=1).max()),
        }
        hold = [i for i in intervals if i["state"] == "HOLD"]
        if hold:
            mask = (contacts["t"] >= hold[-1]["start_s"]) & (contacts["t"] <= hold[-1]["end_s"])
            if mask.any():
                summary["grasp"]["mean_hold_force_n"] = round(float(total[mask].mean()), 4)
    if recording.detections:
        placed, why = detections_in_world(recording, kinematics)
        vision = {"note": why} if why else {}
        for name in sorted({d["class_name"] for d in placed}):
            mine = [d for d in placed if d["class_name"] == name and "world" in d]
            truth = rd.truth_for(recording, name)
            errors = detection_errors(mine, truth)
            vision[name or "(no class)"] = {
                "detections": sum(1 for d in placed if d["class_name"] == name),
                "placed_in_world": len(mine),
                "median_error_m": round(float(np.median(errors)), 4) if errors.size else None,
            }
        summary["vision"] = vision
    if rd.planar_alignment(recording) is not None:
        error = odometry_error(recording)
        truth = recording.base_truth["xyz"][:, :2]
        summary["odometry"] = {
            "final_error_m": round(float(error[-1]), 4),
            "max_error_m": round(float(error.max()), 4),
            "true_path_length_m": round(
                float(np.linalg.norm(np.diff(truth, axis=0), axis=1).sum()), 4
            ),
        }
    return summary
