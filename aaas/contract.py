"""The MQTT contract: every topic, its payload type, QoS and retain flag.

This table is the single source of truth (the zigbee2mqtt habit): processes
look topics up here and never spell a topic string themselves.
``docs/protocol.md`` documents the same table for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from .errors import ProtocolError
from .schemas import (
    SCHEMA_VERSION,
    Assignment,
    ClockSpec,
    ErrorReply,
    NodeLoad,
    NodeStatus,
    TaskEvent,
    TaskRequest,
    TaskResult,
)
from .topics import TopicTemplate

__all__ = ["ROOT", "TOPICS", "Route", "decode", "encode"]

ROOT = "aaas/v1"


@dataclass(frozen=True)
class Route:
    """One row of the contract."""

    name: str
    topic: TopicTemplate
    payload: type[Any]
    qos: int
    retain: bool
    sender: str
    """Who publishes it (for the docs)."""


def _route(name: str, tail: str, payload: type[Any], qos: int, retain: bool, sender: str) -> Route:
    return Route(name, TopicTemplate(f"{ROOT}/{tail}"), payload, qos, retain, sender)


class _Topics:
    """The contract's routes, as attributes (``TOPICS.request.format(...)``)."""

    request = _route("request", "users/{user_id}/request", TaskRequest, 1, False, "user")
    result = _route("result", "users/{user_id}/result", TaskResult, 1, False, "edge node")
    user_error = _route("user_error", "users/{user_id}/error", ErrorReply, 1, False, "any")
    assign = _route("assign", "nodes/{node_id}/assign", Assignment, 1, False, "orchestrator")
    event = _route("event", "nodes/{node_id}/event", TaskEvent, 1, False, "edge node")
    load = _route("load", "nodes/{node_id}/load", NodeLoad, 1, True, "edge node")
    status = _route("status", "nodes/{node_id}/status", NodeStatus, 1, True, "edge node")
    node_error = _route("node_error", "nodes/{node_id}/error", ErrorReply, 1, False, "any")
    clock = _route("clock", "clock", ClockSpec, 1, True, "orchestrator")

    def all(self) -> list[Route]:
        return [v for v in vars(type(self)).values() if isinstance(v, Route)]


TOPICS = _Topics()

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


class _Versioned(msgspec.Struct):
    v: int = -1


_version_decoder = msgspec.json.Decoder(_Versioned)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def encode(payload: msgspec.Struct) -> bytes:
    """JSON bytes of a payload."""
    return _encoder.encode(payload)


def decode(raw: bytes | bytearray | str, payload_type: type[T]) -> T:
    """Decode and validate *raw* as *payload_type*, or raise ProtocolError.

    The schema version is checked before the rest of the payload, so a message
    of another version gets a ``schema_version`` error, not a field error.
    """
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        version = _version_decoder.decode(raw).v
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError("malformed", f"payload is not a JSON object: {exc}") from None
    if version != SCHEMA_VERSION:
        raise ProtocolError(
            "schema_version",
            f"schema version {version} is not supported (this process speaks v{SCHEMA_VERSION})",
        )
    decoder = _decoders.get(payload_type)
    if decoder is None:
        decoder = _decoders[payload_type] = msgspec.json.Decoder(payload_type)
    try:
        return decoder.decode(raw)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise ProtocolError("invalid", f"{payload_type.__name__}: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # Bit errors on the link can break UTF-8 inside a string as well.
        raise ProtocolError("malformed", f"{payload_type.__name__}: {exc}") from None
