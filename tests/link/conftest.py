"""Fixtures of the link tests: a real Mosquitto, and the same test against both brokers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from aaas import BrokerURL
from broker import EmbeddedBroker, MosquittoProcess, mosquitto_exe


@pytest.fixture(scope="session")
def link_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerURL]:
    """A real Mosquitto on a free port for the whole session (skipped if not installed)."""
    if mosquitto_exe() is None:
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")
    with MosquittoProcess(workdir=tmp_path_factory.mktemp("link_mosquitto")) as proc:
        yield proc.url


@pytest.fixture(params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
async def link_upstream(request: pytest.FixtureRequest) -> AsyncIterator[BrokerURL]:
    """The broker behind the link: the embedded amqtt broker, then a real Mosquitto."""
    if request.param == "embedded":
        async with EmbeddedBroker() as broker:
            yield broker.url
    else:
        yield request.getfixturevalue("link_mosquitto")
