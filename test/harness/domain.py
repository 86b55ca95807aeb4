"""A private DDS domain and ROS home for one test run, so that concurrent runs never meet.

Two pytest runs (or a test run and a demo) on one machine would otherwise discover each other's
nodes and exchange messages. Each run takes an exclusive lock on
``/tmp/humanoid_stack_domains/<id>.lock`` for the first free id of a range and keeps it for the
life of the process; the kernel drops the lock when the process dies, so a crashed run never
leaves an id taken. The id, a fresh ``ROS_HOME`` and ``ROS_LOG_DIR`` are then put into
``os.environ`` so that every node process started afterwards inherits them.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCK_DIRECTORY = Path("/tmp/humanoid_stack_domains")
# Domain 0 is everybody's default; ids above 101 collide with Linux ephemeral ports.
FIRST_DOMAIN_ID = 30
LAST_DOMAIN_ID = 101


class DomainUnavailableError(RuntimeError):
    """Every domain id of the range is locked by another process."""


@dataclass(frozen=True)
class DomainLease:
    """A domain id held by this process through an open, locked file.

    Attributes:
        domain_id: The ROS_DOMAIN_ID this process owns.
        lock_path: The locked file.
        file_descriptor: The open descriptor holding the lock; closing it releases the id.
    """

    domain_id: int
    lock_path: Path
    file_descriptor: int

    def release(self) -> None:
        """Give the id back (closing the descriptor drops the lock)."""
        try:
            os.close(self.file_descriptor)
        except OSError:
            pass


@dataclass(frozen=True)
class RunEnvironment:
    """What :func:`configure_environment` set up for this process."""

    lease: DomainLease
    ros_home: Path

    @property
    def domain_id(self) -> int:
        return self.lease.domain_id


def allocate_domain(
    first: int = FIRST_DOMAIN_ID,
    last: int = LAST_DOMAIN_ID,
    lock_directory: Path = LOCK_DIRECTORY,
) -> DomainLease:
    """Lock the first free domain id in ``[first, last]`` and return the lease.

    ``flock`` locks belong to the open file description, so two allocations in one process also
    get different ids, and child processes (started with ``close_fds``, the default) do not
    inherit the lock.

    Raises:
        ValueError: If the range is empty or leaves 0-101.
        DomainUnavailableError: If every id of the range is taken.
    """
    if not 0 <= first <= last <= 101:
        raise ValueError(f"domain id range [{first}, {last}] must lie within [0, 101]")
    lock_directory.mkdir(parents=True, exist_ok=True)
    try:
        # Shared by every user of the machine, like /tmp itself.
        lock_directory.chmod(0o1777)
    except OSError:
        pass
    for domain_id in range(first, last + 1):
        lock_path = lock_directory / f"{domain_id}.lock"
        try:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            continue  # e.g. another user's file we may not open: treat the id as taken
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue
        # The pid inside is only for humans wondering who holds an id.
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        return DomainLease(domain_id, lock_path, descriptor)
    raise DomainUnavailableError(
        f"every ROS domain id in [{first}, {last}] is locked by another process "
        f"(lock files under {lock_directory})"
    )


_RUN_ENVIRONMENT: RunEnvironment | None = None


def configure_environment(
    first: int = FIRST_DOMAIN_ID, last: int = LAST_DOMAIN_ID
) -> RunEnvironment:
    """Give this process (and its future children) a private domain and ROS home.

    Sets ``ROS_DOMAIN_ID``, ``ROS_HOME`` (a fresh temporary directory, removed at exit),
    ``ROS_LOG_DIR`` and ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` in ``os.environ``. Call it
    before ``rclpy.init``. Calling it again in the same process returns the first result.
    """
    global _RUN_ENVIRONMENT
    if _RUN_ENVIRONMENT is not None:
        return _RUN_ENVIRONMENT
    lease = allocate_domain(first, last)
    ros_home = Path(tempfile.mkdtemp(prefix=f"humanoid_ros_home_{lease.domain_id}_"))
    (ros_home / "log").mkdir()
    os.environ["ROS_DOMAIN_ID"] = str(lease.domain_id)
    os.environ["ROS_HOME"] = str(ros_home)
    os.environ["ROS_LOG_DIR"] = str(ros_home / "log")
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    # A peer list would reach beyond this host and this run.
    os.environ.pop("ROS_STATIC_PEERS", None)
    atexit.register(shutil.rmtree, ros_home, ignore_errors=True)
    atexit.register(lease.release)
    _RUN_ENVIRONMENT = RunEnvironment(lease, ros_home)
    return _RUN_ENVIRONMENT
