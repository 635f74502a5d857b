"""The MQTT contract: every topic, its payload type, QoS, retain flag and roles.

This table is the single source of truth (the zigbee2mqtt habit): processes
look topics up here and never spell a topic string themselves. A route is
typed by its payload (``Route[TaskRequest]``), so mypy checks what is sent on
it (:meth:`aaas.mqtt.MqttSession.send`) and :class:`aaas.dispatch.Dispatcher`
decodes by it; its sender and receiver roles are what an ACL is made from.
``docs/protocol.md`` documents the same table for people (a test keeps the two
equal).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

import msgspec

from .errors import ProtocolError
from .schemas import (
    SCHEMA_VERSION,
    Assignment,
    ClockSpec,
    ErrorCode,
    ErrorReply,
    LinkUpdate,
    NodeLoad,
    NodeStatus,
    RtcAnswer,
    RtcOffer,
    TaskAck,
    TaskContent,
    TaskEvent,
    TaskRequest,
    TaskResult,
)
from .topics import TopicTemplate

__all__ = ["MAX_JSON_DEPTH", "NO_NODE", "ROOT", "TOPICS", "Role", "Route", "check_depth",
           "decode", "encode", "json_object_end"]

ROOT = "aaas/v1"

NO_NODE = "none"
"""The ``{node_id}`` level of an ack whose answer named no node."""

MAX_JSON_DEPTH = 32
"""Deepest JSON nesting a payload may have (the contract's own payloads need 4)."""

P = TypeVar("P", bound=msgspec.Struct)


class Role(StrEnum):
    """Who takes part in the contract (each process has one; the ACL is per role)."""

    USER = "user"
    """A user device (``user_agent``): client id ``user-NNNN``."""
    EDGE_NODE = "edge_node"
    """An edge node (ASP): client id = its node id."""
    ORCHESTRATOR = "orchestrator"
    """The orchestrator."""
    LINK = "link"
    """The emulated wireless link's control client (the ``link`` package)."""
    OPERATOR = "operator"
    """A person or tool running the testbed (CLI, tests, mosquitto_pub)."""
    ANY = "any"
    """Every process of the testbed."""


@dataclass(frozen=True)
class Route(Generic[P]):
    """One row of the contract: a topic and what may travel on it.

    ``MqttSession.send(route, payload)`` only type-checks when *payload* is of
    the route's payload type; the dispatcher decodes by it.
    """

    name: str
    topic: TopicTemplate
    payload: type[P]
    qos: int
    retain: bool
    senders: frozenset[Role]
    """Who publishes it."""
    receivers: frozenset[Role]
    """Who subscribes to it."""


def _route(name: str, tail: str, payload: type[P], *, sender: Role | tuple[Role, ...],
           receiver: Role | tuple[Role, ...], qos: int = 1, retain: bool = False) -> Route[P]:
    senders = (sender,) if isinstance(sender, Role) else sender
    receivers = (receiver,) if isinstance(receiver, Role) else receiver
    return Route(name, TopicTemplate(f"{ROOT}/{tail}"), payload, qos, retain,
                 frozenset(senders), frozenset(receivers))


_U, _N, _O = Role.USER, Role.EDGE_NODE, Role.ORCHESTRATOR


class _Topics:
    """The contract's routes, as attributes (``TOPICS.request.topic.format(...)``)."""

    request = _route("request", "users/{user_id}/request", TaskRequest, sender=_U, receiver=_O)
    result = _route("result", "users/{user_id}/result", TaskResult, sender=(_N, _O),
                    receiver=_U)
    """Edge nodes send results (the restored image after the JSON); the orchestrator
    sends rejections and node_offline."""
    user_error = _route("user_error", "users/{user_id}/error", ErrorReply, sender=_O,
                        receiver=_U)
    assign = _route("assign", "nodes/{node_id}/assign/{user_id}", Assignment, sender=_O,
                    receiver=(_N, _U))
    """To the node, which runs the task, and to its user (one publish, two readers), which
    then sends that node the content: the user learns where its content goes."""
    content = _route("content", "nodes/{node_id}/content/{user_id}", TaskContent, sender=_U,
                     receiver=_N)
    """A task's image and mask, from its user to the node it is assigned to only (never
    through the orchestrator); the node takes it for a task assigned to it, by checksum."""
    content_error = _route("content_error", "users/{user_id}/error/{node_id}",
                           ErrorReply, sender=_N, receiver=_U)
    """The node refused a TaskContent (damaged: send it again; not assigned to it). Its
    own route, bound to the node: a user believes it only from its task's node."""
    event = _route("event", "nodes/{node_id}/event", TaskEvent, sender=_N, receiver=_O)
    load = _route("load", "nodes/{node_id}/load", NodeLoad, sender=_N, receiver=_O,
                  retain=True)
    status = _route("status", "nodes/{node_id}/status", NodeStatus, sender=_N, receiver=Role.ANY,
                    retain=True)
    """Also the node's last will (``offline``)."""
    node_error = _route("node_error", "nodes/{node_id}/error", ErrorReply, sender=(_N, _O),
                        receiver=Role.OPERATOR)
    clock = _route("clock", "clock", ClockSpec, sender=_O, receiver=Role.ANY, retain=True)
    ack = _route("ack", "users/{user_id}/ack/{node_id}", TaskAck, sender=_U,
                 receiver=(_O, _N))
    """The user settled the task: results kept for sending again may be dropped. The last
    level is the node the answer named (NO_NODE when it named none): a node subscribes
    to its own (every node got every user's acks before, 20 per task in the paper's
    testbed), the orchestrator to all."""
    rtc_offer = _route("rtc_offer", "users/{user_id}/rtc/offer", RtcOffer, sender=_N,
                       receiver=_U)
    """WebRTC signalling: the node that has content for a user offers a peer connection."""
    rtc_answer = _route("rtc_answer", "nodes/{node_id}/rtc/answer", RtcAnswer, sender=_U,
                        receiver=_N)
    link_control = _route("link_control", "link/{user_id}/set", LinkUpdate,
                          sender=Role.OPERATOR, receiver=Role.LINK)

    def all(self) -> list[Route[Any]]:
        return [v for v in vars(type(self)).values() if isinstance(v, Route)]


TOPICS = _Topics()

T = TypeVar("T")

_encoder = msgspec.json.Encoder()

# A JSON string (skipped whole, brackets inside it do not count) or a bracket.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ProtocolError(too_deep) when *raw* nests JSON deeper than *limit*.

    msgspec decodes recursively and raises RecursionError on deep input (tens of
    thousands of ``[``), which is not a ProtocolError and escaped every handler.
    Hand-written because neither msgspec nor the json module offers a depth
    limit; it scans only when the payload has more brackets than *limit* (base64
    images have none), and then with one C-level regex over tokens.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = 0
    for m in _TOKEN.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise ProtocolError(ErrorCode.TOO_DEEP,
                                    f"JSON nests deeper than {limit} levels")
        elif c in (b"]", b"}"):
            depth -= 1


def json_object_end(raw: bytes) -> int:
    """The index just past the JSON object *raw* starts with (its closing brace), or
    ``len(raw)`` when it never closes. What follows it is a route's attachment.

    Hand-written for the same reason as :func:`check_depth` (msgspec decodes a whole
    buffer or fails on trailing bytes): one C-level regex over the object's tokens,
    strings skipped whole, stopping at the brace that closes the first one.
    """
    depth = 0
    for m in _TOKEN.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
        elif c in (b"]", b"}"):
            depth -= 1
            if depth <= 0:
                return m.end()
    return len(raw)


class _Versioned(msgspec.Struct):
    v: int = -1


_version_decoder = msgspec.json.Decoder(_Versioned)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def encode(payload: msgspec.Struct) -> bytes:
    """The bytes of a payload: its JSON, then, for a payload type with an attachment
    (``ATTACHMENT``: content), that field's raw bytes after a newline
    (``{"v":1,...}\n<raw bytes>``) instead of base64 inside the JSON."""
    field: str | None = getattr(payload, "ATTACHMENT", None)
    data: bytes | None = getattr(payload, field) if field is not None else None
    if field is None or not data:
        return _encoder.encode(payload)
    empty = _field_default(type(payload), field)
    return _encoder.encode(msgspec.structs.replace(payload, **{field: empty})) + b"\n" + data


@functools.cache
def _field_default(payload: type[msgspec.Struct], name: str) -> Any:
    """The default of field *name* (cached: msgspec builds the fields' info from the
    annotations each time, a tenth of a busy user agent's time)."""
    for f in msgspec.structs.fields(payload):
        if f.name == name:
            return f.default
    raise KeyError(name)


def decode(raw: bytes | bytearray | str, payload_type: type[T]) -> T:
    """Decode and validate *raw* as *payload_type*, or raise ProtocolError.

    The schema version is checked before the rest of the payload, so a message
    of another version gets a ``schema_version`` error, not a field error. A payload
    type with an attachment takes it after the JSON object or, base64, inside it (as a
    JSON-only tool sends it), not both ways at once.
    """
    raw = raw.encode() if isinstance(raw, str) else bytes(raw)
    field = getattr(payload_type, "ATTACHMENT", None)
    if field is None:
        return _decode_json(raw, payload_type)
    end = json_object_end(raw)
    msg = _decode_json(raw[:end], payload_type)
    data = raw[end + 1:] if raw[end:end + 1] == b"\n" else raw[end:]
    if not data:
        return msg
    if getattr(msg, field):
        raise ProtocolError(ErrorCode.INVALID, f"{payload_type.__name__}: {field} given both "
                            "inside the JSON object and after it")
    return msgspec.structs.replace(msg, **{field: data})  # type: ignore[type-var]


def _decode_json(raw: bytes, payload_type: type[T]) -> T:
    check_depth(raw)
    try:
        version = _version_decoder.decode(raw).v
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"payload is not a JSON object: {exc}") from None
    if version != SCHEMA_VERSION:
        raise ProtocolError(
            ErrorCode.SCHEMA_VERSION,
            f"schema version {version} is not supported (this process speaks v{SCHEMA_VERSION})",
        )
    decoder = _decoders.get(payload_type)
    if decoder is None:
        decoder = _decoders[payload_type] = msgspec.json.Decoder(payload_type)
    try:
        return decoder.decode(raw)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise ProtocolError(ErrorCode.INVALID, f"{payload_type.__name__}: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # Bit errors on the link can break UTF-8 inside a string as well.
        raise ProtocolError(ErrorCode.MALFORMED, f"{payload_type.__name__}: {exc}") from None
