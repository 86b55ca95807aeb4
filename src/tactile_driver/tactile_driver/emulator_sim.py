"""Emulator readings from the simulator's skin: the sim drives the same serial path as hardware.

``tactile_emulator --pattern sim`` subscribes to the simulator's ideal taxel pressures
(``/<skin>/tactile/sim_pressure``, humanoid_interfaces/TactileFrame [kPa]) and, at each of the
board's sampling instants, writes the newest one as raw counts into the pty, with the same
signal model as the synthetic patterns (``counts = offset + counts_per_kpa * kPa + noise``; shear
``counts_per_kpa * kPa`` with ``--shear``). The board samples at its own rate, like a real board
sampling a physical skin: at 1 kHz from a 500 Hz simulator every reading is sent twice.

Until the first simulator frame arrives the skin reads unloaded. A frame whose pads do not match
the skin (count or size) is ignored and counted, never written.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from tactile_driver.backends.sim_backend import pressures_to_counts, shear_to_counts


class SimTopicSource:
    """A :data:`tactile_driver.emulator.Source` fed by the simulator's skin topic.

    Args:
        skin: Skin name (``right_hand``); the default topic is ``/<skin>/tactile/sim_pressure``.
        pad_shapes: (rows, cols) per pad, in board order.
        offset: Unloaded reading [counts].
        counts_per_kpa: Sensitivity [counts/kPa].
        noise_counts: Standard deviation of the reading noise [counts].
        shear: Also send shear samples.
        topic: Source topic, overriding the default.
    """

    def __init__(
        self,
        skin: str,
        pad_shapes: Sequence[tuple[int, int]],
        offset: float,
        counts_per_kpa: float,
        noise_counts: float,
        shear: bool,
        topic: str = "",
    ):
        self.topic = topic or f"/{skin}/tactile/sim_pressure"
        self.shapes = [(int(r), int(c)) for r, c in pad_shapes]
        self.offset, self.counts_per_kpa = float(offset), float(counts_per_kpa)
        self.noise_counts, self.shear = float(noise_counts), bool(shear)
        sizes = [r * c for r, c in self.shapes]
        self._pressure = [np.zeros(n) for n in sizes]
        self._shear = [np.zeros((2, n)) for n in sizes]
        self._lock = threading.Lock()
        self.counters = {"sim_frames": 0, "sim_wrong_layout": 0}
        self._context = self._node = self._executor = self._thread = None
        self._skin = skin

    # ----------------------------------------------------------------------- ROS side
    def start(self) -> None:
        """Create the subscriber node (own rclpy context) and spin it in a thread."""
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        from humanoid_interfaces.msg import TactileFrame

        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node(f"tactile_emulator_{self._skin}", context=self._context)
        qos = QoSProfile(
            depth=5, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
        )
        self._node.create_subscription(TactileFrame, self.topic, self.on_frame, qos)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._spin, name="sim_source", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._context is not None and self._context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception:  # noqa: BLE001 - shutting down under a spin
                return

    def stop(self) -> None:
        context, self._context = self._context, None
        if context is None:
            return
        context.try_shutdown()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._node.destroy_node()

    def on_frame(self, msg) -> None:
        """Keep a simulator frame (TactileFrame [kPa]) if its pads match the skin."""
        if len(msg.pads) != len(self.shapes) or any(
            (pad.rows, pad.cols) != shape or len(pad.pressure) != shape[0] * shape[1]
            for pad, shape in zip(msg.pads, self.shapes, strict=True)
        ):
            self.counters["sim_wrong_layout"] += 1
            return
        pressure = [np.asarray(pad.pressure, dtype=float) for pad in msg.pads]
        shear = [
            np.stack([np.asarray(pad.shear_x, float), np.asarray(pad.shear_y, float)])
            if len(pad.shear_x) == len(pad.shear_y) == len(pad.pressure)
            else np.zeros((2, len(pad.pressure)))
            for pad in msg.pads
        ]
        with self._lock:
            self._pressure, self._shear = pressure, shear
            self.counters["sim_frames"] += 1

    # ------------------------------------------------------------------ the source
    def __call__(self, t: float, rng: np.random.Generator):
        with self._lock:
            pressure, shear = self._pressure, self._shear
        counts = []
        for values in pressure:
            noise = rng.normal(0.0, self.noise_counts, values.shape) if self.noise_counts else 0.0
            counts.append(
                pressures_to_counts(
                    values + noise / self.counts_per_kpa, self.offset, self.counts_per_kpa
                )
            )
        if not self.shear:
            return counts, None
        return counts, [shear_to_counts(s[0], s[1], self.counts_per_kpa) for s in shear]
