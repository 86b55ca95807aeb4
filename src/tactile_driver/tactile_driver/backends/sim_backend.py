"""`sim` backend: frames straight from the simulator's tactile skins, for lockstep tests.

The simulator publishes each skin's ideal taxel pressures (humanoid_interfaces/TactileFrame,
kPa) on ``/<skin>/tactile/sim_pressure``. This backend turns them into the raw counts an e-skin
board would send (``counts = offset + pressure * counts_per_kpa``, clipped to uint16; shear,
when the frame has it, ``shear * counts_per_kpa`` as int16), so the driver's calibration,
baseline, contact and slip processing runs exactly as on hardware. The frame keeps the
simulator's stamp, so outputs are stamped with the time of the measurement.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from humanoid_common.cdr import CdrError, TactileTaxels, read_tactile_frame, read_tactile_taxels

from tactile_driver.backends.base import BackendContext, BackendError, TactileBackend
from tactile_driver.core.frames import RawFrame, RawPad


def pressures_to_counts(pressure_kpa, offset_counts: float, counts_per_kpa: float) -> np.ndarray:
    """Ideal pressures [kPa] -> raw uint16 counts of a linear taxel."""
    counts = np.array(pressure_kpa, dtype=np.float64)  # a copy, worked on in place
    counts *= counts_per_kpa
    counts += offset_counts
    np.rint(counts, out=counts)
    # min(max()) is np.clip's result at a third of its call overhead.
    np.maximum(counts, 0.0, out=counts)
    np.minimum(counts, 65535.0, out=counts)
    return counts.astype(np.uint16)


def shear_to_counts(shear_x_kpa, shear_y_kpa, counts_per_kpa: float) -> np.ndarray:
    """Ideal shear stresses [kPa] -> signed int16 counts (2, n) of a linear taxel (no offset)."""
    counts = np.stack([np.asarray(shear_x_kpa, float), np.asarray(shear_y_kpa, float)])
    return _shear_counts(counts, counts_per_kpa)


def _shear_counts(counts: np.ndarray, counts_per_kpa: float) -> np.ndarray:
    """:func:`shear_to_counts` of a float64 (2, n) array, which it overwrites."""
    counts *= counts_per_kpa
    np.rint(counts, out=counts)
    np.maximum(counts, -32768.0, out=counts)
    np.minimum(counts, 32767.0, out=counts)
    return counts.astype(np.int16)


class SimBackend(TactileBackend):
    """Reads the simulator's skin topic (needs the driver's ROS node).

    Options:
        topic: Source topic (default ``/<skin>/tactile/sim_pressure``).
        offset_counts: Simulated unloaded reading [counts] (default 1000).
        counts_per_kpa: Simulated sensitivity [counts/kPa] (default 30).
        queue_size: Frames kept when the driver falls behind (default 64; oldest dropped).
    """

    def __init__(self, options, context: BackendContext):
        super().__init__(options, context)
        self._unknown_options({"topic", "offset_counts", "counts_per_kpa", "queue_size"})
        if context.node is None:
            raise BackendError("backend 'sim' needs the driver's ROS node (context.node)")
        self.topic = str(self.options.get("topic", f"/{context.skin}/tactile/sim_pressure"))
        self.offset = float(self.options.get("offset_counts", 1000.0))
        self.counts_per_kpa = float(self.options.get("counts_per_kpa", 30.0))
        if self.counts_per_kpa <= 0:
            raise BackendError(
                f"backend 'sim': counts_per_kpa must be > 0, got {self.counts_per_kpa}"
            )
        self._queue: deque[RawFrame] = deque(maxlen=int(self.options.get("queue_size", 64)))
        self._condition = threading.Condition()
        self._counters = {
            "frames": 0,
            "dropped_queue": 0,
            "wrong_layout": 0,
            "repeated": 0,
            "decoded_by_rclpy": 0,
        }
        self._last_stamp_ns = -1
        self._subscription = None
        # The last layout seen on the fast path (cdr.TactileTaxels.layouts) and its pads.
        self._fast_layouts: tuple | None = None
        self._fast_pads: list[tuple[int, int, int, int, int]] | None = None

    def start(self) -> None:
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        from humanoid_interfaces.msg import TactileFrame

        qos = QoSProfile(
            depth=50, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
        )
        # Taken serialized and read with humanoid_common.cdr: rclpy's conversion of the six
        # nested pads cost ~1-5 ms per frame, the read ~50 us.
        self._subscription = self.context.node.create_subscription(
            TactileFrame, self.topic, self._on_raw, qos, raw=True
        )

    def _on_raw(self, raw: bytes) -> None:
        try:
            taxels = read_tactile_taxels(raw)
        except CdrError:
            from rclpy.serialization import deserialize_message

            from humanoid_interfaces.msg import TactileFrame

            self._counters["decoded_by_rclpy"] += 1
            msg = deserialize_message(raw, TactileFrame)
            stamp = msg.header.stamp
            pads = [(p.name, p.rows, p.cols, p.pressure, p.shear_x, p.shear_y) for p in msg.pads]
            self._on_frame(stamp.sec * 1_000_000_000 + stamp.nanosec, msg.sequence, pads)
            return
        if taxels.layouts is not self._fast_layouts:
            self._fast_layouts = taxels.layouts
            self._fast_pads = self._fast_plan(taxels)
        if self._fast_pads is not None:
            self._on_taxels(taxels)
            return
        frame = read_tactile_frame(raw)
        pads = [
            (p.layout.name, p.layout.rows, p.layout.cols, p.pressure, p.shear_x, p.shear_y)
            for p in frame.pads
        ]
        self._on_frame(frame.stamp_ns, frame.sequence, pads)

    def _fast_plan(self, taxels: TactileTaxels) -> list[tuple[int, int, int, int, int]] | None:
        """(index, rows, cols, start, end) per pad when frames of this layout can be converted
        from the concatenated arrays: the expected pads, each with as many pressures as taxels,
        and shear on every pad or on none. None sends them through :meth:`_on_frame`."""
        expected = self.context.pads
        layouts = taxels.layouts
        if len(layouts) != len(expected) or any(
            layout.name != shape.name or layout.rows != shape.rows or layout.cols != shape.cols
            for layout, shape in zip(layouts, expected, strict=True)
        ):
            return None
        sizes = [layout.rows * layout.cols for layout in layouts]
        if any(n != size for (n, _, _), size in zip(taxels.sizes, sizes, strict=True)):
            return None
        with_shear = [
            sx == sy == size for (_, sx, sy), size in zip(taxels.sizes, sizes, strict=True)
        ]
        if any(with_shear) and (taxels.shear is None or not all(with_shear)):
            return None
        plan, start = [], 0
        for index, (layout, size) in enumerate(zip(layouts, sizes, strict=True)):
            plan.append((index, layout.rows, layout.cols, start, start + size))
            start += size
        return plan

    def _on_taxels(self, taxels: TactileTaxels) -> None:
        """:meth:`_on_frame` for a frame of a layout :meth:`_fast_plan` accepted."""
        stamp_ns = taxels.stamp_ns
        if stamp_ns == self._last_stamp_ns:
            self._counters["repeated"] += 1
            return
        self._last_stamp_ns = stamp_ns
        counts = pressures_to_counts(taxels.pressure, self.offset, self.counts_per_kpa)
        shear = None
        if taxels.shear is not None and taxels.shear.shape[1]:
            shear = _shear_counts(taxels.shear.astype(np.float64), self.counts_per_kpa)
        if shear is None:
            raw_pads = [
                RawPad(index, rows, cols, counts[start:end], None)
                for index, rows, cols, start, end in self._fast_pads
            ]
        else:
            raw_pads = [
                RawPad(index, rows, cols, counts[start:end], shear[:, start:end])
                for index, rows, cols, start, end in self._fast_pads
            ]
        self._enqueue(
            RawFrame(
                board_id=self.context.board_id,
                sequence=taxels.sequence,
                device_time_us=(stamp_ns // 1000) & 0xFFFFFFFF,
                pads=raw_pads,
                receive_time_ns=time.monotonic_ns(),
                stamp_ns=stamp_ns,
            )
        )

    def _on_frame(self, stamp_ns: int, sequence: int, pads) -> None:
        """One frame: (name, rows, cols, pressure, shear_x, shear_y) per pad."""
        expected = self.context.pads
        if len(pads) != len(expected) or any(
            name != shape.name or rows != shape.rows or cols != shape.cols
            for (name, rows, cols, *_), shape in zip(pads, expected, strict=False)
        ):
            self._counters["wrong_layout"] += 1
            return
        if stamp_ns == self._last_stamp_ns:
            # The simulator's lockstep repeats a state nobody answered: same instant, same
            # pressures; a second frame would only show the processing a zero time step.
            self._counters["repeated"] += 1
            return
        self._last_stamp_ns = stamp_ns
        # All pads converted at once (per-pad numpy calls cost ~1 ms a frame at 100 Hz).
        sizes = [rows * cols for _, rows, cols, *_ in pads]
        ends = np.cumsum(sizes)
        counts = pressures_to_counts(
            np.concatenate([pad[3] for pad in pads] or [np.zeros(0)]),
            self.offset,
            self.counts_per_kpa,
        )
        # The simulated skin measures shear too (same sensitivity as the normal axis).
        with_shear = [
            len(pad[4]) == len(pad[5]) == size for pad, size in zip(pads, sizes, strict=True)
        ]
        shear = None
        if pads and all(with_shear):
            shear = shear_to_counts(
                np.concatenate([pad[4] for pad in pads]),
                np.concatenate([pad[5] for pad in pads]),
                self.counts_per_kpa,
            )
        raw_pads = []
        for index, ((_, rows, cols, _, shear_x, shear_y), end, size) in enumerate(
            zip(pads, ends.tolist(), sizes, strict=True)
        ):
            start = end - size
            if shear is not None:
                pad_shear = shear[:, start:end]
            elif with_shear[index]:
                pad_shear = shear_to_counts(shear_x, shear_y, self.counts_per_kpa)
            else:
                pad_shear = None
            raw_pads.append(RawPad(index, rows, cols, counts[start:end], pad_shear))
        frame = RawFrame(
            board_id=self.context.board_id,
            sequence=int(sequence),
            device_time_us=(stamp_ns // 1000) & 0xFFFFFFFF,
            pads=raw_pads,
            receive_time_ns=time.monotonic_ns(),
            stamp_ns=stamp_ns,
        )
        self._enqueue(frame)

    def _enqueue(self, frame: RawFrame) -> None:
        with self._condition:
            if len(self._queue) == self._queue.maxlen:
                self._counters["dropped_queue"] += 1
            self._queue.append(frame)
            self._counters["frames"] += 1
            self._condition.notify_all()

    def read(self, timeout: float) -> list[RawFrame]:
        with self._condition:
            if not self._queue:
                self._condition.wait(timeout)
            frames = list(self._queue)
            self._queue.clear()
        return frames

    def stop(self) -> None:
        if self._subscription is not None:
            self.context.node.destroy_subscription(self._subscription)
            self._subscription = None
        with self._condition:
            self._condition.notify_all()

    def stats(self) -> dict[str, float]:
        return {**self._counters, "connected": 1.0 if self._subscription is not None else 0.0}
