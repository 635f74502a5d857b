"""Shared fixtures: real brokers (the embedded amqtt one and a real Mosquitto)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aaas import BrokerURL
from broker import EmbeddedBroker, MosquittoProcess
from tests.helpers.brokers import require_mosquitto


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
