"""The fetch run's observer, apart from the nodes it watches: sim time, the brain's status, the
brain's and the gait's Trigger services, what the nodes cost, and where the simulator's lockstep
periods go (its /diagnostics).

A small rclpy node of its own context, spun by the EventsExecutor in a thread. ``/clock``
(500 Hz) is taken as raw CDR bytes and decoded by hand, so that watching takes little from the
2-core machine the simulator runs on.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import statistics
import threading


class Watcher:
    """The run's observer: sim time from /clock, the brain's latest status, the brain's and
    the gait's Trigger services."""

    def __init__(self) -> None:
        import rclpy
        from humanoid_common.cdr import leading_stamp_ns
        from humanoid_common.lifecycle import make_executor
        from rclpy.context import Context
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from rclpy.signals import SignalHandlerOptions
        from rosgraph_msgs.msg import Clock
        from std_msgs.msg import String
        from std_srvs.srv import Trigger

        self._rclpy, self._trigger, self._stamp_ns = rclpy, Trigger, leading_stamp_ns
        self.context = Context()
        # args=[]: the demo's own command line (NAME:=VALUE launch arguments) is no remap rule.
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("fetch_watcher", context=self.context)
        self.sim_time_s: float | None = None
        self.status: dict | None = None
        self._lock = threading.Lock()
        self.node.create_subscription(
            Clock,
            "/clock",
            self._on_clock,
            QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
            raw=True,
        )
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.node.create_subscription(String, "/brain/status", self._on_status, latched)
        # The simulator's 1 Hz figures of its lockstep: each period's wall time by stage and
        # each source's answer latency [ms] (humanoid_sim's /diagnostics).
        from diagnostic_msgs.msg import DiagnosticArray

        self.lockstep: list[dict[str, float]] = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.clients = {
            service: self.node.create_client(Trigger, service)
            for service in ("/brain/start", "/brain/abort", "/gait/stand")
        }
        self._executor = make_executor(self.context)
        self._executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="fetch_watcher", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            self._executor.spin_once(timeout_sec=0.1)

    def _on_clock(self, data: bytes) -> None:
        self.sim_time_s = self._stamp_ns(data) * 1e-9

    def _on_status(self, msg) -> None:
        try:
            status = json.loads(msg.data)
        except ValueError:
            return
        with self._lock:
            self.status = status

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            figures = {
                kv.key: kv.value
                for kv in status.values
                if kv.key.startswith(("period_", "answer_ms."))
            }
            if "period_wait_ms" not in figures:
                continue
            try:
                sample = {key: float(value) for key, value in figures.items()}
            except ValueError:
                continue
            with self._lock:
                self.lockstep.append(sample)

    def lockstep_since(self, index: int) -> dict[str, float]:
        """Median of each lockstep figure [ms] over the samples from ``index`` on."""
        with self._lock:
            samples = self.lockstep[index:]
        keys = sorted({key for sample in samples for key in sample})
        return {
            key: round(statistics.median(s[key] for s in samples if key in s), 2) for key in keys
        }

    def latest_status(self) -> dict | None:
        with self._lock:
            return None if self.status is None else dict(self.status)

    def call(self, service: str, timeout: float) -> tuple[bool, str]:
        """Call the Trigger service ``service``; returns (success, message)."""
        client = self.clients[service]
        if not client.wait_for_service(timeout_sec=timeout):
            return False, f"{service} not available within {timeout:.0f} s"
        done = threading.Event()
        future = client.call_async(self._trigger.Request())
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout):
            client.remove_pending_request(future)
            return False, f"{service} did not answer within {timeout:.0f} s"
        response = future.result()
        return bool(response.success), response.message

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


class RateWindow:
    """Real-time factor over the last ``window_s`` of wall time."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.samples: collections.deque = collections.deque()

    def add(self, wall_s: float, sim_s: float) -> float:
        self.samples.append((wall_s, sim_s))
        while len(self.samples) > 2 and wall_s - self.samples[1][0] >= self.window_s:
            self.samples.popleft()
        wall0, sim0 = self.samples[0]
        return (sim_s - sim0) / (wall_s - wall0) if wall_s > wall0 else 0.0


def cpu_seconds(processes) -> dict[str, float]:
    """CPU time [s] (user + system) each running process has used, by qualified node name."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for process in processes:
        try:
            fields = pathlib.Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1]
        except (OSError, RuntimeError):
            continue
        values = fields.split()
        namespace = process.spec.absolute_namespace.rstrip("/")
        used[f"{namespace}/{process.spec.name}"] = (int(values[11]) + int(values[12])) / tick
    return used
