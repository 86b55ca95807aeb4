"""Joint command multiplexer: validates commands keyed by joint name and holds per-joint targets.

Several controllers command disjoint joint sets; each joint keeps the last target it was given
(joints with no fresh command hold). A command with unknown joints, non-finite values, negative
gains or mismatched array lengths is rejected as a whole: no joint of it is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from humanoid_sim.errors import CommandRejected


@dataclass(frozen=True)
class JointTargets:
    """A validated joint command: joint indices and their targets (one value per index)."""

    index: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    kp: np.ndarray
    kd: np.ndarray


class JointCommandMux:
    """Per-joint targets of the PD + feed-forward law, fed by validated commands.

    Args:
        joint_names: The actuated joints, in actuator order.
        max_kp: Largest accepted position gain [N*m/rad].
        max_kd: Largest accepted velocity gain [N*m*s/rad].
    """

    def __init__(self, joint_names, max_kp: float = 2000.0, max_kd: float = 100.0):
        self.joint_names = tuple(joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        count = len(self.joint_names)
        self.position = np.zeros(count)
        self.velocity = np.zeros(count)
        self.effort = np.zeros(count)
        self.kp = np.zeros(count)
        self.kd = np.zeros(count)
        self.last_update = np.full(count, -np.inf)
        self.max_kp = max_kp
        self.max_kd = max_kd
        self._indices: dict[tuple, np.ndarray] = {}  # joint name list -> indices (checked)
        self.accepted = 0
        self.rejected = 0
        self.last_rejection = ""

    def validate(self, name, position, velocity=(), effort=(), kp=(), kd=()) -> JointTargets:
        """Check a command and convert it to joint indices.

        Args:
            name: Joint names.
            position: Target positions [rad], one per name.
            velocity: Target velocities [rad/s], one per name or empty (zeros).
            effort: Feed-forward efforts [N*m], one per name or empty (zeros).
            kp: Position gains, one per name or empty (keep each joint's current gain).
            kd: Velocity gains, one per name or empty (keep each joint's current gain).

        Returns:
            The validated targets.

        Raises:
            CommandRejected: With the reason; nothing of the command may be applied.
        """
        key = tuple(name)
        index = self._indices.get(key)
        if index is None:
            index = self._check_names(list(key))
            if len(self._indices) < 64:  # a few sources, each with its fixed joint list
                self._indices[key] = index
        names, count = key, len(key)
        arrays = {}
        for field, values, optional in (
            ("position", position, False),
            ("velocity", velocity, True),
            ("effort", effort, True),
            ("kp", kp, True),
            ("kd", kd, True),
        ):
            array = np.asarray(values, dtype=float).reshape(-1)
            if array.size == 0 and optional:
                array = (
                    getattr(self, field)[index].copy() if field in ("kp", "kd") else np.zeros(count)
                )
            elif array.size != count:
                raise CommandRejected(
                    f"'{field}' has {array.size} values for {count} joint names"
                    + (" (or 0 to default)" if optional else "")
                )
            arrays[field] = array
        if not np.isfinite(np.concatenate(list(arrays.values()))).all():
            for field, array in arrays.items():
                finite = np.isfinite(array)
                if not finite.all():
                    bad = names[int(np.flatnonzero(~finite)[0])]
                    raise CommandRejected(f"non-finite '{field}' for joint {bad!r}")
        if arrays["kp"].min() < 0 or arrays["kp"].max() > self.max_kp:
            raise CommandRejected(f"kp must be in [0, {self.max_kp}]")
        if arrays["kd"].min() < 0 or arrays["kd"].max() > self.max_kd:
            raise CommandRejected(f"kd must be in [0, {self.max_kd}]")
        return JointTargets(index=index, **arrays)

    def _check_names(self, names: list) -> np.ndarray:
        count = len(names)
        if count == 0:
            raise CommandRejected("empty command: no joint names")
        if len(set(names)) != count:
            duplicates = sorted({n for n in names if names.count(n) > 1})
            raise CommandRejected(f"duplicate joint names {duplicates}")
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise CommandRejected(f"unknown joints {unknown[:5]}")
        return np.array([self._index[n] for n in names])

    def apply(self, targets: JointTargets, now: float) -> None:
        """Store validated targets.

        Args:
            targets: From :meth:`validate`.
            now: Current time [s] (for freshness).
        """
        i = targets.index
        self.position[i] = targets.position
        self.velocity[i] = targets.velocity
        self.effort[i] = targets.effort
        self.kp[i] = targets.kp
        self.kd[i] = targets.kd
        self.last_update[i] = now
        self.accepted += 1

    def check(self, **command) -> JointTargets:
        """Validate a command, counting a rejection (see :meth:`validate`).

        Raises:
            CommandRejected: The command was rejected (and counted).
        """
        try:
            return self.validate(**command)
        except CommandRejected as error:
            self.rejected += 1
            self.last_rejection = str(error)
            raise

    def submit(self, now: float, **command) -> JointTargets:
        """Validate and apply a command, counting rejections.

        Raises:
            CommandRejected: The command was rejected (and counted); nothing was applied.
        """
        targets = self.check(**command)
        self.apply(targets, now)
        return targets

    def actuator_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs of the affine-bias actuators: (ctrl, -kp, -kd).

        With gain 1 and bias ``[0, -kp, -kd]`` the actuator force is
        ``ctrl - kp q - kd dq`` = ``effort + kp (q_ref - q) + kd (dq_ref - dq)``.
        """
        ctrl = self.effort + self.kp * self.position + self.kd * self.velocity
        return ctrl, -self.kp, -self.kd


class CommandDelayLine:
    """Validated commands held until the step that applies them (pipelined lockstep).

    A command answering the state stamped ``t`` is released once the simulation is about to
    step from a state stamped later than ``t`` by the delay: with a delay of one control period
    the physics of step ``k`` runs while the controllers compute their answers to state ``k``,
    and those answers act from step ``k + 1`` on. Whatever the order in which commands arrive,
    each is applied at the step its stamp names, so a run stays deterministic.
    """

    def __init__(self) -> None:
        self._held: list[tuple[int, int, JointTargets]] = []  # (stamp, arrival, targets)
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, stamp_ns: int, targets: JointTargets) -> None:
        """Keep ``targets``, answering the state stamped ``stamp_ns``, for later."""
        self._arrivals += 1
        self._held.append((stamp_ns, self._arrivals, targets))

    def release(self, up_to_ns: int) -> list[JointTargets]:
        """The held commands stamped at or before ``up_to_ns``, oldest stamp first (commands
        with the same stamp in their order of arrival); they are no longer held."""
        due = [item for item in self._held if item[0] <= up_to_ns]
        if not due:
            return []
        self._held = [item for item in self._held if item[0] > up_to_ns]
        due.sort(key=lambda item: (item[0], item[1]))
        return [targets for _, _, targets in due]

    def clear(self) -> None:
        """Drop every held command (a reset)."""
        self._held.clear()
