"""The embedded broker: amqtt (pure Python, MQTT 3.1.1) as an async context manager."""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import Any

from aaas import BrokerURL, ConfigError

__all__ = ["EmbeddedBroker", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """Runs an amqtt broker on *host*:*port* (``port=0``: a free port) in this event loop.

    >>> async with EmbeddedBroker() as broker:   # doctest: +SKIP
    ...     print(broker.url)
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 logger: logging.Logger | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.logger = logger or logging.getLogger("aaas.broker")
        self._broker: Any = None

    @property
    def url(self) -> BrokerURL:
        return BrokerURL(host=self.host, port=self.port)

    async def __aenter__(self) -> EmbeddedBroker:
        try:
            from amqtt.broker import Broker
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError(
                "the embedded broker needs amqtt: pip install 'aaas-edge-emulator[broker]', "
                "or give an external broker with --broker mqtt://host:port"
            ) from None
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only anonymous auth: the packet/event logger and $SYS plugins cost CPU per message.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        # amqtt logs every connection at INFO; keep our logs readable.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()
        self.logger.info("embedded broker (amqtt) listening on %s", self.url)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
            self.logger.info("embedded broker stopped")
