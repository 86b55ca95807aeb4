"""Shared setup of the cross-package tests: the harness on sys.path and a private DDS domain.

``pytest_configure`` runs before any test module is imported, so every test, and every node
process a test starts, uses this run's own ROS_DOMAIN_ID and ROS_HOME: concurrent runs on one
machine never see each other's nodes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

TEST_DIRECTORY = Path(__file__).resolve().parent
if str(TEST_DIRECTORY) not in sys.path:
    sys.path.insert(0, str(TEST_DIRECTORY))

from harness.domain import configure_environment  # noqa: E402

if TYPE_CHECKING:
    from harness.ros import TestNode

_DOMAIN_KEY = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    environment = configure_environment()
    config.stash[_DOMAIN_KEY] = environment.domain_id


def pytest_report_header(config: pytest.Config) -> str:
    return f"ROS_DOMAIN_ID={config.stash.get(_DOMAIN_KEY, '?')} (private to this run)"


@pytest.fixture
def test_node() -> Iterator[TestNode]:
    """A :class:`harness.ros.TestNode` spinning for the duration of one test."""
    # Imported here: rclpy is loaded only once the environment is configured.
    from harness.ros import TestNode

    with TestNode() as node:
        yield node


@pytest.fixture
def node_logs(tmp_path: Path) -> Path:
    """Directory for the log files of the node processes a test starts."""
    directory = tmp_path / "node_logs"
    directory.mkdir()
    return directory
