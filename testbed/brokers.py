"""The broker a one-process testbed (``aaas demo``, ``aaas compare``, ``aaas bench live``) runs on.

Without ``--broker`` the demo starts the fastest broker available with no
configuration: a private Mosquitto child process on a free port of 127.0.0.1
when the binary is installed (``scripts/setup.sh`` installs it), else the
embedded pure-Python amqtt broker in this event loop. Mosquitto carries several
times amqtt's task rate with the same clients (``aaas bench live`` carried 300
tasks/s on Mosquitto and 50 on amqtt, on older code: docs/history.md), so a run on
it stays faithful to the emulated clock at higher time scales.
``--broker mosquitto`` or ``--broker embedded`` asks for one of them; a URL uses
a broker that is already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aaas.errors import ConfigError
from aaas.mqtt import BrokerURL

__all__ = ["BROKER_KINDS", "BrokerChoice", "RunningBroker", "running_broker"]

log = logging.getLogger("aaas.demo")

BROKER_KINDS = ("mosquitto", "embedded")
"""The words ``--broker`` takes instead of a URL."""

MOSQUITTO_TUNING = "set_tcp_nodelay true\n"
"""Send each message at once: with Nagle's algorithm a small PUBLISH written while an
earlier segment is unacknowledged waits for the peer's delayed ACK (40 ms on Linux),
which is 400 emulated seconds at x10^4 (docs/performance.md)."""

BrokerChoice = BrokerURL | str | None
"""A URL (external), one of :data:`BROKER_KINDS`, or None (Mosquitto if installed, else amqtt)."""


@dataclass(frozen=True, kw_only=True)
class RunningBroker:
    """The broker a run used (the summary's ``broker`` section)."""

    url: BrokerURL
    kind: str
    """``mosquitto`` (a private child process), ``embedded`` (amqtt) or ``external``."""

    def describe(self) -> str:
        what = {"mosquitto": "private Mosquitto child process", "embedded": "embedded amqtt",
                "external": "external broker"}[self.kind]
        return f"{what} at {self.url}"


def _kind(choice: BrokerChoice) -> str:
    if isinstance(choice, BrokerURL):
        return "external"
    if choice is None:
        from broker import mosquitto_exe

        return "mosquitto" if mosquitto_exe() is not None else "embedded"
    if choice not in BROKER_KINDS:
        raise ConfigError(f"--broker {choice!r}: give a URL or one of {', '.join(BROKER_KINDS)}")
    return choice


@contextlib.asynccontextmanager
async def running_broker(choice: BrokerChoice) -> AsyncIterator[RunningBroker]:
    """Start (or check) the broker *choice* names; yields where it listens."""
    kind = _kind(choice)
    if isinstance(choice, BrokerURL):
        from .options import require_broker

        # fail in one line, not after 30 s of retries
        await require_broker(choice, identity="orchestrator")
        yield RunningBroker(url=choice, kind=kind)
        return
    if kind == "mosquitto":
        from broker import MosquittoProcess

        # ConfigError (one line) when --broker mosquitto finds no binary
        proc = MosquittoProcess(config=MOSQUITTO_TUNING)
        # Starting waits for the port with blocking sleeps: keep the event loop free.
        await asyncio.to_thread(proc.__enter__)
        try:
            log.info("private Mosquitto broker (a child process) listening on %s", proc.url)
            yield RunningBroker(url=proc.url, kind=kind)
        finally:
            await asyncio.to_thread(proc.__exit__, None, None, None)
        return
    from broker import EmbeddedBroker

    async with EmbeddedBroker() as b:
        yield RunningBroker(url=b.url, kind=kind)
