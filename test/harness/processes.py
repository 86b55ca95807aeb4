"""Start nodes as real processes, the way ``ros2 run`` would, and stop them the way launch does.

Each node runs in its own process group (a child of a non-interactive shell may otherwise ignore
SIGINT), with stdout and stderr captured in one log file. :meth:`NodeProcess.stop` sends SIGINT,
which every node of the stack answers by shutting down and exiting 0, and escalates to SIGTERM
and SIGKILL only if the node hangs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from ament_index_python.packages import PackageNotFoundError, get_package_prefix

from .spec import NodeSpec


class NodeExecutableNotFoundError(FileNotFoundError):
    """The executable of a NodeSpec cannot be found."""


class NodeExitError(AssertionError):
    """A node exited with a non-zero code (or had to be killed)."""


def find_executable(spec: NodeSpec) -> Path:
    """Find the executable of ``spec`` as ``ros2 run`` does: ``<prefix>/lib/<package>/<exe>``.

    Raises:
        NodeExecutableNotFoundError: If the package or the executable is missing.
    """
    if spec.package is None:
        path = Path(spec.executable)
        if not path.is_file():
            raise NodeExecutableNotFoundError(
                f"node '{spec.name}': executable '{path}' does not exist"
            )
        return path.resolve()
    try:
        prefix = Path(get_package_prefix(spec.package))
    except PackageNotFoundError as error:
        raise NodeExecutableNotFoundError(
            f"node '{spec.name}': package '{spec.package}' is not in AMENT_PREFIX_PATH "
            f"({os.environ.get('AMENT_PREFIX_PATH', '')!r}); was the workspace built and sourced?"
        ) from error
    path = prefix / "lib" / spec.package / spec.executable
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise NodeExecutableNotFoundError(
            f"node '{spec.name}': no executable '{spec.executable}' in package "
            f"'{spec.package}' (looked for {path})"
        )
    return path


def executable_exists(spec: NodeSpec) -> bool:
    """Whether :func:`find_executable` would succeed (for ``pytest.mark.skipif``)."""
    try:
        find_executable(spec)
    except NodeExecutableNotFoundError:
        return False
    return True


def node_command(spec: NodeSpec) -> list[str]:
    """The full command line for ``spec``: executable, arguments, ``--ros-args ...``."""
    executable = find_executable(spec)
    # A plain script (test fixtures) need not be executable: run it with this interpreter.
    prefix = [sys.executable] if executable.suffix == ".py" else []
    return [*prefix, str(executable), *spec.arguments, "--ros-args", *spec.ros_arguments()]


class NodeProcess:
    """One running node. Start it with :meth:`start` or a ``with`` block.

    Args:
        spec: What to run.
        log_directory: Where ``<name>.log`` (stdout and stderr together) is written.
        extra_env: Environment variables set on top of ``os.environ`` and ``spec.env``.
    """

    def __init__(
        self,
        spec: NodeSpec,
        log_directory: Path | str,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        for path in spec.params_files:
            if not path.is_file():
                raise FileNotFoundError(f"node '{spec.name}': parameter file '{path}' is missing")
        self.spec = spec
        self.command = node_command(spec)
        self.log_path = _reserve_log_path(Path(log_directory), spec.name)
        self._extra_env = dict(extra_env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self.stop_signal: signal.Signals | None = None

    def start(self) -> NodeProcess:
        """Start the process (once)."""
        if self._process is not None:
            raise RuntimeError(f"node '{self.spec.name}' was already started")
        environment = {**os.environ, **self.spec.env, **self._extra_env}
        # Flush Python output line by line and keep logs free of colour codes.
        environment.setdefault("PYTHONUNBUFFERED", "1")
        environment.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
        # A crash in native code (rclpy, Fast DDS, MuJoCo, pinocchio) leaves the Python stack
        # of every thread in the node's log instead of an empty log and exit code -11.
        environment.setdefault("PYTHONFAULTHANDLER", "1")
        with open(self.log_path, "wb") as log_file:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        return self

    @property
    def started(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int:
        return self._popen().pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while running (a negative code: killed by that signal)."""
        return self._popen().poll()

    def is_running(self) -> bool:
        return self.returncode is None

    def output(self) -> str:
        """Everything the node wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until ``text`` appears in the node's output.

        Raises:
            TimeoutError: If it does not within ``timeout`` seconds, or the node exits first.
        """
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if not self.is_running():
                raise TimeoutError(
                    f"node '{self.spec.name}' exited with code {self.returncode} before "
                    f"writing {text!r}; output:\n{self.output_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"node '{self.spec.name}' did not write {text!r} within {timeout} s; "
                    f"output:\n{self.output_tail()}"
                )
            time.sleep(0.02)

    def output_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the node: SIGINT, then SIGTERM, then SIGKILL, ``timeout`` seconds apart.

        Returns:
            The exit code (0 for a node that shut down cleanly on SIGINT). Which signal finally
            stopped it is left in :attr:`stop_signal`.
        """
        process = self._popen()
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            if stop_signal == signal.SIGKILL and hasattr(signal, "SIGUSR1"):
                # Where it hangs: the nodes print every thread's stack on SIGUSR1
                # (humanoid_common.lifecycle.run_node), into the log kept for the failure.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGUSR1)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=1.0)
                if process.poll() is not None:
                    break
            self.stop_signal = stop_signal
            try:
                # The whole group: a wrapper script's children get the signal too.
                os.killpg(process.pid, stop_signal)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        return process.wait()

    def describe_exit(self) -> str:
        """A line for failure messages: how the node ended, with its output's tail."""
        how = f"exit code {self.returncode}"
        if self.stop_signal not in (None, signal.SIGINT):
            how += f" after {self.stop_signal.name} (did not stop on SIGINT)"
        return (
            f"node '{self.spec.name}' ({' '.join(self.command)}): {how}; log {self.log_path}:\n"
            f"{self.output_tail()}"
        )

    def _popen(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"node '{self.spec.name}' was not started")
        return self._process

    def __enter__(self) -> NodeProcess:
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        self.stop()


class NodeGroup:
    """Several nodes started together and stopped together, checking that all exit 0.

    Args:
        specs: The nodes, started in this order and stopped in reverse order.
        log_directory: Where each node's log file is written.
        extra_env: Environment variables for every node.
    """

    def __init__(
        self,
        specs: Iterable[NodeSpec],
        log_directory: Path | str,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.processes = [NodeProcess(spec, log_directory, extra_env) for spec in specs]
        names = [_qualified(process.spec) for process in self.processes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"node names must be unique in a group, repeated: {duplicates}")

    def __getitem__(self, name: str) -> NodeProcess:
        """The node called ``name``, or with fully qualified name ``name`` (``/ns/name``)."""
        matches = [p for p in self.processes if name in (p.spec.name, _qualified(p.spec))]
        if len(matches) == 1:
            return matches[0]
        known = [_qualified(p.spec) for p in self.processes]
        raise KeyError(f"{len(matches)} nodes match '{name}' in this group: {known}")

    def start(self) -> NodeGroup:
        try:
            for process in self.processes:
                process.start()
        except BaseException:
            self.stop()
            raise
        return self

    def assert_running(self) -> None:
        """Raise NodeExitError naming every node that already exited."""
        exited = [p.describe_exit() for p in self.processes if p.started and not p.is_running()]
        if exited:
            raise NodeExitError("nodes exited early:\n" + "\n".join(exited))

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        """Stop every started node (reverse order); return each node's exit code by name."""
        codes: dict[str, int] = {}
        for process in reversed(self.processes):
            if process.started:
                codes[process.spec.name] = process.stop(timeout)
        return codes

    def stop_and_check(self, timeout: float = 10.0) -> None:
        """Stop every node and raise NodeExitError unless each exited 0 on SIGINT."""
        self.stop(timeout)
        failures = [
            process.describe_exit()
            for process in self.processes
            if process.started
            and (process.returncode != 0 or process.stop_signal not in (None, signal.SIGINT))
        ]
        if failures:
            raise NodeExitError("nodes did not exit cleanly:\n" + "\n".join(failures))

    def __enter__(self) -> NodeGroup:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.stop_and_check()
        else:
            # The body already failed: stop everything, and let its error be the one reported.
            self.stop()


def _qualified(spec: NodeSpec) -> str:
    namespace = spec.absolute_namespace.rstrip("/")
    return f"{namespace}/{spec.name}"


def _reserve_log_path(directory: Path, name: str) -> Path:
    """Create and return ``directory/name.log``, or ``name.2.log``, ... if that one exists."""
    directory.mkdir(parents=True, exist_ok=True)
    counter = 1
    while True:
        path = directory / (f"{name}.log" if counter == 1 else f"{name}.{counter}.log")
        try:
            path.touch(exist_ok=False)
        except FileExistsError:
            counter += 1
            continue
        return path
