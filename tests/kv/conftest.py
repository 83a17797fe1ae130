"""Starts the test run's Cassandra node early when a collected test needs it (tests/cassandra_node.py)."""

from __future__ import annotations

import shutil

import pytest

from tests.cassandra_node import shared_node


def pytest_collection_finish(session: pytest.Session) -> None:
    """A Cassandra node takes 10-40 s to start: begin now, while the tests before it run."""
    if shutil.which("java") and any("cassandra" in item.nodeid for item in session.items):
        shared_node(wait=False)
