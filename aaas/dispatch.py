"""One dispatcher for incoming contract messages (FastStream's subscriber, by route).

A service registers a handler per route; the dispatcher matches each message's
topic against the route's template, decodes the payload by the route's payload
type and calls the handler with the typed message and the topic's parameters::

    dispatch = Dispatcher(on_error=self._bad)
    dispatch.on(TOPICS.request, self._on_request, guard=self._known_user)
    session = MqttSession(..., subscriptions=dispatch.subscriptions(),
                          handler=dispatch.handle)

Every refusal goes to the one ``on_error`` callback, where the service sends its
error reply and counts the bad input: a payload that does not decode, a
``guard`` (checks of the topic's parameters, before decoding) or a handler that
raises :class:`~aaas.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiomqtt
import msgspec

from .contract import Route, decode
from .errors import ProtocolError

__all__ = ["Dispatcher", "Incoming", "Params"]

P = TypeVar("P", bound=msgspec.Struct)

Params = Mapping[str, str]
"""The topic's parameters, by name (``{"user_id": "user-0001"}``)."""


@dataclass(frozen=True)
class Incoming:
    """A message as it arrived, for the error callback."""

    route: Route[Any]
    topic: str
    params: Params
    raw: bytes


_MATCHED_MAX = 100_000
"""Topics a dispatcher remembers the route of (a few per user and node of a testbed)."""


@dataclass(frozen=True)
class _Entry:
    route: Route[Any]
    handler: Callable[[Any, Params], None]
    guard: Callable[[Params], None] | None
    ignore_empty: bool


class Dispatcher:
    """Routes incoming messages to handlers registered per route (see the module doc)."""

    def __init__(self, *, on_error: Callable[[ProtocolError, Incoming], None]) -> None:
        self._on_error = on_error
        self._entries: list[_Entry] = []
        self._matched: dict[str, tuple[_Entry, Params] | None] = {}
        """Topic -> its route and parameters (None: no route): a service sees the same
        few thousand topics again and again, and a regex per route per message was a
        visible share of a busy process. Bounded: cleared when full."""

    def on(self, route: Route[P], handler: Callable[[P, Params], None], *,
           guard: Callable[[Params], None] | None = None,
           ignore_empty: bool | None = None) -> None:
        """Call *handler* with every message of *route*, decoded as ``route.payload``.

        *guard* checks the topic's parameters before the payload is decoded.
        An empty payload is ignored when *ignore_empty* (by default on retained
        routes, where it is a cleared retained message, not a message).
        """
        self._entries.append(_Entry(route, handler, guard,
                                    route.retain if ignore_empty is None else ignore_empty))
        self._matched.clear()

    @property
    def routes(self) -> list[Route[Any]]:
        return [e.route for e in self._entries]

    def subscriptions(self, **params: str) -> list[tuple[str, int]]:
        """(filter, QoS) of every route, each parameter in *params* filled in: a node
        (``subscriptions(node_id="asp-01")``) subscribes to its own assignments
        (``nodes/asp-01/assign``) and to the acks of its own answers from any user
        (``users/+/ack/asp-01``)."""
        out = []
        for e in self._entries:
            topic = e.route.topic
            filt = topic.narrowed(**{n: params[n] for n in topic.params if n in params})
            out.append((filt, e.route.qos))
        return out

    async def handle(self, message: aiomqtt.Message) -> None:
        """An :class:`~aaas.mqtt.MqttSession` handler."""
        payload = message.payload
        self.dispatch(message.topic.value,
                      bytes(payload) if isinstance(payload, bytes | bytearray) else b"")

    def dispatch(self, topic: str, raw: bytes) -> bool:
        """Handle one message; False when no registered route matches *topic*."""
        if topic in self._matched:
            hit = self._matched[topic]
        else:
            hit = self._match(topic)
            if len(self._matched) >= _MATCHED_MAX:
                self._matched.clear()
            self._matched[topic] = hit
        if hit is None:
            return False
        e, params = hit
        if e.ignore_empty and not raw:
            return True
        try:
            if e.guard is not None:
                e.guard(params)
            msg = decode(raw, e.route.payload)
            e.handler(msg, params)
        except ProtocolError as exc:
            self._on_error(exc, Incoming(e.route, topic, params, raw))
        return True

    def _match(self, topic: str) -> tuple[_Entry, Params] | None:
        for e in self._entries:
            params = e.route.topic.match(topic)
            if params is not None:
                return e, params
        return None
