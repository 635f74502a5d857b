"""Just enough MQTT framing for the link: whole packets, CONNECT client ids, PUBLISH payloads.

The proxy never re-encodes a packet: it reads the fixed header and the
remaining length, then exactly that many bytes, and forwards them as they
came (MQTT 3.1.1 and 5).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aaas import ErrorCode, ProtocolError

__all__ = ["CONNECT", "PUBLISH", "Packet", "encode_remaining_length", "parse_connect",
           "publish_payload_offset", "read_packet"]

CONNECT = 1
PUBLISH = 3
MAX_REMAINING = 268_435_455


@dataclass(slots=True)
class Packet:
    """One MQTT control packet as read from the wire."""

    header: bytes
    """Fixed header: the type/flags byte and the remaining-length bytes."""
    body: bytes | bytearray
    """Variable header and payload (remaining length bytes)."""

    @property
    def type(self) -> int:
        return self.header[0] >> 4

    def __len__(self) -> int:
        return len(self.header) + len(self.body)


async def read_packet(reader: asyncio.StreamReader, *, expect: int | None = None,
                      max_length: int = MAX_REMAINING) -> Packet | None:
    """The next whole packet, or ``None`` at a clean end of stream between packets.

    *expect*: the packet type required (e.g. CONNECT first), checked before the
    body is read, so a client that speaks something else is refused at once.
    """
    try:
        head = await reader.readexactly(2)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError(ErrorCode.MALFORMED, "stream ended inside a fixed header") from None
    if expect is not None and head[0] >> 4 != expect:
        raise ProtocolError(ErrorCode.MALFORMED,
                            f"expected packet type {expect}, got {head[0] >> 4}")
    length = head[1] & 0x7F
    if head[1] & 0x80:
        header = bytearray(head)
        shift = 7
        while True:
            b = (await reader.readexactly(1))[0]
            header.append(b)
            length |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 21:
                raise ProtocolError(ErrorCode.MALFORMED, "remaining length longer than 4 bytes")
        head = bytes(header)
    if length > max_length:
        raise ProtocolError(ErrorCode.MALFORMED, f"packet of {length} bytes is over {max_length}")
    body = await reader.readexactly(length) if length else b""
    return Packet(head, body)


def encode_remaining_length(n: int) -> bytes:
    """The variable-length encoding of a remaining length."""
    if not 0 <= n <= MAX_REMAINING:
        raise ProtocolError(ErrorCode.MALFORMED, f"remaining length {n} out of range")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _u16(body: bytes | bytearray, at: int) -> int:
    if at + 2 > len(body):
        raise ProtocolError(ErrorCode.MALFORMED, "packet shorter than its fields")
    return (body[at] << 8) | body[at + 1]


def _varint(body: bytes | bytearray, at: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(4):
        if at + i >= len(body):
            break
        b = body[at + i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, at + i + 1
        shift += 7
    raise ProtocolError(ErrorCode.MALFORMED, "bad variable byte integer")


def parse_connect(packet: Packet) -> tuple[str, int]:
    """(client id, protocol level) of a CONNECT packet."""
    if packet.type != CONNECT:
        raise ProtocolError(ErrorCode.MALFORMED,
                            f"first packet has type {packet.type}, not CONNECT")
    body = packet.body
    at = 2 + _u16(body, 0)  # protocol name
    if at + 4 > len(body):
        raise ProtocolError(ErrorCode.MALFORMED, "CONNECT variable header truncated")
    level = body[at]
    at += 4  # level, flags, keep alive
    if level == 5:
        props, at = _varint(body, at)
        at += props
    n = _u16(body, at)
    if at + 2 + n > len(body):
        raise ProtocolError(ErrorCode.MALFORMED, "CONNECT client id truncated")
    try:
        client_id = bytes(body[at + 2:at + 2 + n]).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.MALFORMED, "CONNECT client id is not UTF-8") from None
    return client_id, level


def publish_payload_offset(packet: Packet, level: int = 4) -> int:
    """Offset in ``packet.body`` where a PUBLISH's application payload starts."""
    at = 2 + _u16(packet.body, 0)
    if (packet.header[0] >> 1) & 0x03:
        at += 2  # packet identifier
    if level == 5:
        props, at = _varint(packet.body, at)
        at += props
    if at > len(packet.body):
        raise ProtocolError(ErrorCode.MALFORMED, "PUBLISH shorter than its variable header")
    return at


def scan_packets(buf: bytes | bytearray) -> list[tuple[int, int, int]]:
    """(start, header length, end) of each complete packet at the front of *buf*."""
    out: list[tuple[int, int, int]] = []
    at, n = 0, len(buf)
    while at + 2 <= n:
        length, shift, i = 0, 0, at + 1
        while True:
            if i >= n:
                return out
            b = buf[i]
            length |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                break
            shift += 7
            if shift > 21:
                raise ProtocolError(ErrorCode.MALFORMED, "remaining length longer than 4 bytes")
        end = i + length
        if end > n:
            return out
        out.append((at, i - at, end))
        at = end
    return out

