"""Shared fixtures: real brokers (the embedded amqtt one and a real Mosquitto)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aaas import BrokerURL
from broker import EmbeddedBroker, MosquittoProcess, mosquitto_exe


def require_mosquitto() -> None:
    if mosquitto_exe() is None:
        # The setup script installs it; a missing broker must not pass silently in CI.
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: run scripts/setup.sh")
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[BrokerURL]:
    """A real Mosquitto on a free port."""
    require_mosquitto()
    with MosquittoProcess(workdir=tmp_path) as proc:
        yield proc.url


@pytest.fixture
async def embedded() -> AsyncIterator[BrokerURL]:
    async with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture(params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
async def broker_url(request: pytest.FixtureRequest) -> AsyncIterator[BrokerURL]:
    """The same test against the embedded broker and against a real Mosquitto."""
    if request.param == "embedded":
        async with EmbeddedBroker() as broker:
            yield broker.url
    else:
        yield request.getfixturevalue("mosquitto")
