"""Fixtures for the multi-host tests: namespaced hosts, and the probe helpers they share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.netns import Netns, unavailable


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[Netns]:
    """A private bridge in a namespace of its own; every host and process gone afterwards."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI_REQUIRE_NETNS"):
            pytest.fail(f"network namespaces are required here: {reason}")
        pytest.skip(f"no network namespaces: {reason}")
    # A prefix of our own (pid): parallel runs never touch each other's namespaces.
    with Netns(f"aaast{os.getpid() % 100000}", subnet="10.213.7") as net:
        yield net
