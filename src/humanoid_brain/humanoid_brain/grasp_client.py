"""The brain's side of the hand's Grasp action: send grasp and release goals, collect outcomes.

Callbacks only record what happened; the control loop collects it with :meth:`take_report`
once per step. A goal that was cancelled or superseded no longer reports (its late result would
otherwise be taken for the next goal's). All calls happen in the node's executor thread.
"""

from __future__ import annotations

from typing import NamedTuple

from action_msgs.msg import GoalStatus

STATUS_NAMES = {
    GoalStatus.STATUS_SUCCEEDED: "succeeded",
    GoalStatus.STATUS_ABORTED: "aborted",
    GoalStatus.STATUS_CANCELED: "canceled",
}


class GraspReport(NamedTuple):
    """What the hand reported since the last report.

    Attributes:
        phase: Latest feedback phase of the current grasp goal ("" if none).
        result: (success, reason) if the current grasp goal ended.
        release_result: (success, reason) if the current release goal ended.
    """

    phase: str
    result: tuple[bool, str] | None
    release_result: tuple[bool, str] | None


class GraspClient:
    """Grasp and release goals on one ``rclpy.action.ActionClient``."""

    def __init__(self, client, action_type, name: str) -> None:
        self.client = client
        self.action_type = action_type
        self.name = name
        self.phase = ""
        self.goals_sent = 0
        self.releases_sent = 0
        self._grasp_token = 0
        self._release_token = 0
        self._grasp_handle = None
        self._result: tuple[bool, str] | None = None
        self._release_result: tuple[bool, str] | None = None

    def take_report(self) -> GraspReport:
        """The outcomes since the previous call (each result is reported once)."""
        report = GraspReport(self.phase, self._result, self._release_result)
        self._result = self._release_result = None
        return report

    def fail_now(self, reason: str) -> None:
        """Report the current grasp as failed without sending anything."""
        self._result = (False, reason)

    # ----------------------------------------------------------------- grasping
    def send_grasp(
        self,
        hand: str,
        grasp_type: str,
        target_force_n: float,
        max_force_n: float,
        frame_id: str,
        stamp,
        position,
        quaternion_wxyz,
        size,
        lift_height_m: float,
        object_class: str = "",
    ) -> None:
        """Send a grasp goal for an object at ``position`` [m] in ``frame_id``; with
        ``grasp_type`` "", the hand picks its grasp for ``object_class``."""
        self._grasp_token += 1
        token = self._grasp_token
        self.phase, self._grasp_handle = "", None
        if not self.client.server_is_ready():
            self._result = (False, f"grasp action {self.name} is not available")
            return
        goal = self.action_type.Goal()
        goal.hand, goal.grasp_type, goal.object_class = hand, grasp_type, object_class
        goal.target_force_n, goal.max_force_n = float(target_force_n), float(max_force_n)
        goal.object_pose.header.frame_id, goal.object_pose.header.stamp = frame_id, stamp
        point = goal.object_pose.pose.position
        point.x, point.y, point.z = (float(v) for v in position)
        orientation = goal.object_pose.pose.orientation
        orientation.w, orientation.x, orientation.y, orientation.z = (
            float(v) for v in quaternion_wxyz
        )
        goal.object_size.x, goal.object_size.y, goal.object_size.z = (float(v) for v in size)
        goal.lift_height_m, goal.release = float(lift_height_m), False
        self.goals_sent += 1
        future = self.client.send_goal_async(
            goal, feedback_callback=lambda feedback, token=token: self._on_feedback(token, feedback)
        )
        future.add_done_callback(lambda f, token=token: self._on_accepted(token, f, release=False))

    def cancel(self) -> None:
        """Cancel the current grasp goal; its outcome is no longer reported."""
        handle, self._grasp_handle = self._grasp_handle, None
        self._grasp_token += 1
        self.phase = ""
        if handle is not None:
            handle.cancel_goal_async()

    def _on_feedback(self, token: int, feedback) -> None:
        if token == self._grasp_token:
            self.phase = feedback.feedback.phase

    # ---------------------------------------------------------------- releasing
    def send_release(self, hand: str, stamp) -> None:
        """Send a release goal (open the hand and retract)."""
        self._release_token += 1
        token = self._release_token
        if not self.client.server_is_ready():
            self._release_result = (False, f"grasp action {self.name} is not available")
            return
        goal = self.action_type.Goal()
        goal.hand, goal.release = hand, True
        goal.object_pose.header.stamp = stamp
        goal.object_pose.pose.orientation.w = 1.0
        self.releases_sent += 1
        future = self.client.send_goal_async(goal)
        future.add_done_callback(lambda f, token=token: self._on_accepted(token, f, release=True))

    # ------------------------------------------------------------------ results
    def _current(self, token: int, release: bool) -> bool:
        return token == (self._release_token if release else self._grasp_token)

    def _report(self, release: bool, outcome: tuple[bool, str]) -> None:
        if release:
            self._release_result = outcome
        else:
            self._result = outcome

    def _on_accepted(self, token: int, future, release: bool) -> None:
        if not self._current(token, release):
            handle = future.result()
            if handle is not None and handle.accepted and not release:
                handle.cancel_goal_async()  # superseded while being sent
            return
        handle = future.result()
        if handle is None or not handle.accepted:
            self._report(release, (False, "goal rejected by the hand controller"))
            return
        if not release:
            self._grasp_handle = handle
        handle.get_result_async().add_done_callback(
            lambda f, token=token: self._on_result(token, f, release)
        )

    def _on_result(self, token: int, future, release: bool) -> None:
        if not self._current(token, release):
            return
        response = future.result()
        result = response.result
        status = STATUS_NAMES.get(response.status, f"status {response.status}")
        success = bool(result.success) and response.status == GoalStatus.STATUS_SUCCEEDED
        reason = result.reason or status
        if not release:
            self._grasp_handle = None
        self._report(release, (success, reason if success else f"{status}: {reason}"))
