"""Shared fixtures: real brokers (the embedded amqtt one and a real Mosquitto)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aaas import BrokerURL
from broker import EmbeddedBroker, free_port


def mosquitto_exe() -> str:
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                        if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        # The setup script installs it; a missing broker must not pass silently in CI.
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: run scripts/setup.sh")
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")
    return exe


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on port {port}")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[BrokerURL]:
    """A real Mosquitto on a free port, started with the project's testbed defaults."""
    exe = mosquitto_exe()
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "max_queued_messages 0\nmax_inflight_messages 0\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_port(port)
        yield BrokerURL(host="127.0.0.1", port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


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
