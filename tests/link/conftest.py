"""Fixtures of the link tests: a real Mosquitto, and the same test against both brokers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aaas import BrokerURL
from broker import EmbeddedBroker, free_port


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


@pytest.fixture(scope="session")
def link_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerURL]:
    """A real Mosquitto on a free port for the whole session (skipped if not installed)."""
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                        if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")
    port = free_port()
    conf = tmp_path_factory.mktemp("link_mosquitto") / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "max_inflight_messages 0\nmax_queued_messages 0\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield BrokerURL(host="127.0.0.1", port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
async def link_upstream(request: pytest.FixtureRequest) -> AsyncIterator[BrokerURL]:
    """The broker behind the link: the embedded amqtt broker, then a real Mosquitto."""
    if request.param == "embedded":
        async with EmbeddedBroker() as broker:
            yield broker.url
    else:
        yield request.getfixturevalue("link_mosquitto")
