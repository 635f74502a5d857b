"""Raw MQTT 3.1.1 packets, written by hand, for tests that speak to the link byte by byte."""

from __future__ import annotations

from link.mqtt_frames import encode_remaining_length

__all__ = ["connect_packet", "packet", "publish_packet"]


def packet(first: int, body: bytes) -> bytes:
    """A packet: its first byte, the remaining length, the body."""
    return bytes([first]) + encode_remaining_length(len(body)) + body


def connect_packet(client_id: str) -> bytes:
    """A CONNECT (clean session, keepalive 30 s) from *client_id*."""
    cid = client_id.encode()
    return packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x1e" + len(cid).to_bytes(2, "big") + cid)


def publish_packet(topic: bytes, payload: bytes, qos: int) -> bytes:
    """A PUBLISH of *payload* on *topic* (packet id 9 when qos > 0)."""
    pid = b"\x00\x09" if qos else b""
    return packet(0x30 | (qos << 1), len(topic).to_bytes(2, "big") + topic + pid + payload)
