"""Push recovery by stepping: capture-point step adjustment (position and timing) of the swing
in progress, and re-anchoring of the pattern after each touchdown.

Pratt, Carff, Drakunov, Goswami, "Capture point: a step toward humanoid push recovery",
Humanoids 2006; step timing adaptation as in Khadiv et al., "Walking control based on step
timing adaptation", IEEE T-RO 2020 (here a simple rule: a swing that cannot go where the
capture point asks, because the stance foot is in the way, lands early).
"""

from __future__ import annotations

import math

import numpy as np

from biped_gait.core.config import GaitConfig
from biped_gait.core.estimator import EstimatedState
from biped_gait.core.footsteps import LEFT, RIGHT, Pose2
from biped_gait.core.outputs import DOUBLE, flat_pose
from biped_gait.core.pattern import WalkingPattern
from biped_gait.core.stabilizer import Stabilizer


class StepRecovery:
    """Step adjustment and touchdown handling.

    Args:
        stabilizer: Gives the step adjustment for a DCM error.
        config: Thresholds (``stabilizer.*``, ``anchor_tolerance``).
    """

    def __init__(self, stabilizer: Stabilizer, config: GaitConfig):
        self.stabilizer = stabilizer
        self.config = config
        self._nominal_step = None
        self._nominal_target: Pose2 | None = None
        self._touchdown_count = -1

    def adjust_step(self, pattern: WalkingPattern, dcm, dcm_reference) -> None:
        """Move (and if blocked, hurry) the swing in progress for the DCM error."""
        step = pattern.step
        if step is None or pattern.swing is None:
            self._nominal_target = None
            return
        if self._nominal_target is None or self._nominal_step is not step:
            self._nominal_step = step
            self._nominal_target = step.footstep.target
        remaining = pattern.swing.duration - pattern.swing.elapsed
        shift = self.stabilizer.step_adjustment(dcm, dcm_reference, remaining)
        if shift[0] == 0.0 and shift[1] == 0.0:
            return
        nominal = self._nominal_target
        wanted = Pose2(nominal.x + shift[0], nominal.y + shift[1], nominal.yaw)
        footstep = step.footstep
        target = pattern.planner.keep_apart(footstep.side, wanted, footstep.stance)
        pattern.retarget(target)
        # The swing foot cannot cross the stance foot: when the push is towards the stance
        # side, land sooner so that the other foot can step out.
        blocked = math.hypot(wanted.x - target.x, wanted.y - target.y)
        settings = self.config.stabilizer
        if blocked > settings.step_adjust_threshold:
            pattern.shorten_swing(settings.min_swing_remaining)

    def after_touchdown(
        self, pattern: WalkingPattern, estimate: EstimatedState, sample, dcm, dcm_reference
    ) -> None:
        """Once both feet are down after a step: take their measured poses as planned ones and,
        after a disturbance, restart the pattern from the measured CoM state."""
        count = pattern.step_count
        if sample.support != DOUBLE or self._touchdown_count == count:
            return
        if not (estimate.contact.get(LEFT, False) and estimate.contact.get(RIGHT, False)):
            return
        self._touchdown_count = count
        for side in (LEFT, RIGHT):
            measured = flat_pose(estimate.soles[side])
            planned = pattern.feet[side]
            if math.hypot(measured.x - planned.x, measured.y - planned.y) < (
                self.config.anchor_tolerance
            ):
                pattern.anchor_foot(side, measured)
        error = float(np.linalg.norm(np.asarray(dcm) - np.asarray(dcm_reference)))
        if pattern.walking and count > 0 and error > self.config.stabilizer.replan_threshold:
            pattern.preview.reset(estimate.com[:2], estimate.com_velocity[:2])
