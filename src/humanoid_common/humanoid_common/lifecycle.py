"""The process life cycle shared by every node of the stack.

``run_node`` is each node's ``main``: it builds the node, starts it, spins it until SIGINT or
SIGTERM, and stops it. Exit codes: 0 for a clean stop, 2 when the node refuses to start
(bad parameters, missing model, unopenable device), anything else is a crash.

Why not ``rclpy.spin`` with rclpy's own signal handlers: on SIGINT, rclpy's handler shuts the
contexts down from a helper thread and then chains to Python's handler, which raises
KeyboardInterrupt wherever the main thread happens to be. When that is inside the C conversion
of a message being taken, rclpy reports ``RuntimeError: Unable to convert call argument '0' to
Python object`` instead (ros2/rclpy#848 is the same failure for a NaN), and whether the context
is already shut down at that point is a race with the helper thread, so a clean stop could
not be told from a crash. Here the signal handlers only set an event; the spin loop checks it
between callbacks, so no exception is ever raised in the middle of one.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

#: Longest wait between checks of the stop event [s]: the shutdown latency after a signal.
STOP_CHECK_S = 0.1

EXIT_OK = 0
EXIT_REFUSED = 2


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, instead of KeyboardInterrupt or death by signal."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM from here on, so that a second signal (launch escalates
    SIGINT to SIGTERM) cannot interrupt the clean-up or turn exit 0 into a death by signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_executor(context=None) -> rclpy.executors.Executor:
    """rclpy's EventsExecutor where this rclpy has it, else the SingleThreadedExecutor.

    The EventsExecutor (C++) dispatches a callback without rebuilding a wait set: it drains
    about 3.5x more small messages per second and runs a 1 kHz timer at half the CPU
    (ENVIRONMENT.md), which is most of what the stack's 100-500 Hz nodes spend. Measured in the
    whole chain (bench/scenario.py, 100 Hz): an idle hand controller 0.95 -> 0.30 cores per
    simulated second, the gait 0.63 -> 0.33, a tactile driver 0.42 -> 0.22.
    ``HUMANOID_EXECUTOR=single`` forces the SingleThreadedExecutor (to compare, or to work
    around an EventsExecutor problem).
    """
    if os.environ.get("HUMANOID_EXECUTOR", "events") != "single":
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:
            pass
        else:
            return EventsExecutor(context=context)
    return SingleThreadedExecutor(context=context)


def spin_until(node: Node, stop: threading.Event, program: str = "node") -> None:
    """Serve the node's callbacks until ``stop`` is set or the context is shut down.

    Spins in slices of at most ``STOP_CHECK_S``, checking ``stop`` in between. The
    EventsExecutor is spun with ``spin_until_future_complete`` on a future that never
    completes, not with ``spin_once``: its ``spin_once`` returns after re-running every
    coroutine that awaits a future (an action server's execute callback), so a ``spin_once``
    loop turns a pending action goal into a busy loop (measured: 200k returns in 23 s, one
    core; the cause is the one of ros2/rclpy#1405). Its ``spin()`` in a thread of its own ran
    no callbacks here (rclpy 9.1.2).
    """
    executor = make_executor(node.context)
    executor.add_node(node)
    events = not isinstance(executor, SingleThreadedExecutor)
    try:
        with profiled(program):
            while not stop.is_set() and node.context.ok():
                if events:
                    executor.spin_until_future_complete(Future(), timeout_sec=STOP_CHECK_S)
                else:
                    executor.spin_once(timeout_sec=STOP_CHECK_S)
    except ExternalShutdownException:
        pass
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=1.0)


@contextlib.contextmanager
def profiled(program: str):
    """With ``HUMANOID_PROFILE=<folder>``, profile the spin (the executor's callbacks and timers,
    in the main thread) in thread CPU time with cProfile into
    ``<folder>/<program>.<pid>.prof`` (read it with ``python -m pstats``). For finding where a
    node spends its CPU; off by default. A node's own threads can use it too (each with a
    ``program`` name of its own)."""
    folder = os.environ.get("HUMANOID_PROFILE", "")
    if not folder:
        yield
        return
    import cProfile
    import time

    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        os.makedirs(folder, exist_ok=True)
        profile.dump_stats(os.path.join(folder, f"{program}.{os.getpid()}.prof"))


def run_node(
    program: str,
    make_node: Callable[[], Node],
    refuse: tuple[type[BaseException], ...] = (),
    args: Sequence[str] | None = None,
) -> int:
    """Build, start, spin and stop a node; returns the process exit code.

    ``make_node`` builds the node; if the node has a ``start()`` method it is called next, and
    a ``stop()`` method is called on the way out. An exception of a type in ``refuse`` (or a
    ``ParameterException``) from either is a refusal to start: its message goes to stderr
    prefixed with ``program``, and the exit code is 2. SIGUSR1 prints every thread's stack.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = stop_on_signals()
    # SIGUSR1 prints every thread's Python stack to stderr and the node runs on: a node that
    # hangs (on shutdown too) can be asked where (the test harness does before a SIGKILL).
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    refusals = (*refuse, ParameterException)
    node = None
    started = False
    try:
        try:
            node = make_node()
            if stop.is_set():  # stopped while the node was being built: never start it
                return EXIT_OK
            start = getattr(node, "start", None)
            if callable(start):
                start()
            started = True
        except refusals as error:
            print(f"{program}: refusing to start: {error}", file=sys.stderr)
            return EXIT_REFUSED
        spin_until(node, stop, program)
        return EXIT_OK
    finally:
        ignore_signals()
        if node is not None:
            halt = getattr(node, "stop", None)
            if started and callable(halt):
                halt()
            node.destroy_node()
        rclpy.try_shutdown()
