"""The embedded broker: amqtt (pure Python, MQTT 3.1.1) as an async context manager."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from aaas import BrokerURL, ConfigError

__all__ = ["EmbeddedBroker", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _SnapshotTable(dict[str, list[Any]]):
    """amqtt's subscription table, walked over a snapshot.

    amqtt 0.12 iterates its table and awaits inside the loop (the ACL plugin on each
    broadcast, the retained replay on reconnect). A SUBSCRIBE or a session that goes
    away during that await resizes the dict; the loop raises ``RuntimeError:
    dictionary changed size during iteration`` and the message being broadcast is
    silently dropped for every subscriber. Iterating a copy keeps each walk
    consistent (a subscriber that joined mid-walk gets the next message).
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def items(self) -> list[tuple[str, list[Any]]]:  # type: ignore[override]
        return [(k, list(v)) for k, v in super().items()]


def _fixed_broker_class() -> Any:
    """amqtt's Broker with its retained-message replay on connect fixed, its
    subscription table walked over snapshots (:class:`_SnapshotTable`), and the
    messages a client published just before it disconnected still broadcast.

    amqtt 0.12, on every CONNECT, replays the retained messages of *every*
    subscription in the broker to the connecting client, whether or not that
    client subscribed: users would receive every node's load report, and each
    connect costs O(subscriptions x retained messages), which stalls a testbed
    of 1000 users. Only the session's own subscriptions should be replayed; on
    SUBSCRIBE the session is already registered, so this check keeps that path.
    Written by hand because no released amqtt has these fixes; remove them once one does.
    """
    from amqtt.broker import Broker

    class _Broker(Broker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            table: dict[str, list[Any]] = self._subscriptions  # type: ignore[has-type]
            self._subscriptions = _SnapshotTable(table)

        async def _handle_disconnect(self, client_session: Any, handler: Any,
                                     disconnect_waiter: Any) -> None:
            # amqtt 0.12 leaves the client's loop on DISCONNECT and cancels the pending
            # delivery: a message it already acknowledged (PUBACK) but had not yet
            # broadcast is dropped. Broadcast what is queued first.
            queue = client_session.delivered_message_queue
            while not queue.empty():
                done = asyncio.get_running_loop().create_future()
                done.set_result(queue.get_nowait())
                await self._handle_message_delivery(client_session, handler, done)
            await super()._handle_disconnect(client_session, handler, disconnect_waiter)

        async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Any
        ) -> None:
            subscribers = self._subscriptions.get(subscription[0], ())
            if any(s is session for s, _ in subscribers):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    return _Broker


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
            broker_class = _fixed_broker_class()
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError(
                "the embedded broker needs amqtt: pip install 'aaas-edge-emulator[broker]', "
                "or give an external broker with --broker mqtt://host:port"
            ) from None
        config = self._config()
        # amqtt logs every connection at INFO; keep our logs readable.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = broker_class(config)
        await self._broker.start()
        self.logger.info("embedded broker (amqtt) listening on %s", self.url)
        return self

    def _config(self) -> dict[str, Any]:
        """amqtt's configuration (``broker.embedded_secure`` adds TLS, passwords and the ACL)."""
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only anonymous auth: the packet/event logger and $SYS plugins cost CPU per message.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
            self.logger.info("embedded broker stopped")
