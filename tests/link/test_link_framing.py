"""MQTT framing: whole packets are read back byte for byte, however the stream is cut."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as paho
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aaas import ProtocolError
from link.mqtt_frames import (
    CONNECT,
    Packet,
    encode_remaining_length,
    parse_connect,
    publish_payload_offset,
    read_packet,
)


def mqtt_packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int, packet_id: int = 1) -> bytes:
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return mqtt_packet(0x30 | (qos << 1), body)


def connect_packet(client_id: str, level: int = 4) -> bytes:
    cid = client_id.encode()
    props = b"\x00" if level == 5 else b""
    body = b"\x00\x04MQTT" + bytes([level, 0x02, 0, 30]) + props + len(cid).to_bytes(2, "big") + cid
    return mqtt_packet(0x10, body)


packets = st.lists(
    st.tuples(st.integers(1, 15), st.integers(0, 15),
              st.binary(max_size=300), st.sampled_from([0, 0, 200, 20_000])),
    min_size=1, max_size=12,
).map(lambda ps: [mqtt_packet((t << 4) | f, b + bytes(pad)) for t, f, b, pad in ps])


async def _read_all(chunks: list[bytes]) -> list[bytes]:
    reader = asyncio.StreamReader()
    for c in chunks:
        reader.feed_data(c)
    reader.feed_eof()
    out = []
    while (p := await read_packet(reader)) is not None:
        out.append(p.header + p.body)
    return out


@settings(max_examples=60, deadline=None)
@given(packets, st.lists(st.integers(1, 5000), min_size=1, max_size=30))
def test_read_packet_round_trip(pkts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(pkts)
    chunks, at = [], 0
    for c in cuts:
        chunks.append(stream[at:at + c])
        at += c
    chunks.append(stream[at:])
    assert asyncio.run(_read_all(chunks)) == pkts


def test_remaining_length_encoding() -> None:
    assert encode_remaining_length(0) == b"\x00"
    assert encode_remaining_length(127) == b"\x7f"
    assert encode_remaining_length(128) == b"\x80\x01"
    assert encode_remaining_length(268_435_455) == b"\xff\xff\xff\x7f"
    with pytest.raises(ProtocolError):
        encode_remaining_length(268_435_456)


def test_truncated_stream_is_an_error() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        asyncio.run(_read_all([mqtt_packet(0x30, b"abcdef")[:-2]]))
    with pytest.raises(ProtocolError):
        asyncio.run(_read_all([b"\x30\xff\xff\xff\xff\x01"]))


@pytest.mark.parametrize("level", [4, 5])
def test_parse_connect(level: int) -> None:
    raw = connect_packet("user-0042", level)
    pkt = Packet(raw[:2], raw[2:])
    assert pkt.type == CONNECT
    assert parse_connect(pkt) == ("user-0042", level)
    with pytest.raises(ProtocolError):
        parse_connect(Packet(b"\x10\x03", b"\x00\x04M"))
    with pytest.raises(ProtocolError):
        parse_connect(Packet(b"\x30\x02", b"\x00\x00"))


def test_parse_connect_of_a_real_paho_client() -> None:
    """paho's own CONNECT bytes, captured from a socket pair."""

    async def capture() -> bytes:
        got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            p = await read_packet(r)
            assert p is not None
            got.set_result(p.header + p.body)
            w.close()

        server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="pi-7",
                             protocol=paho.MQTTv311)
        await asyncio.to_thread(client.connect, "127.0.0.1", port)
        client.loop_start()
        raw = await asyncio.wait_for(got, 5)
        client.loop_stop()
        server.close()
        return raw

    raw = asyncio.run(capture())
    n = len(encode_remaining_length(len(raw) - 2)) + 1
    assert parse_connect(Packet(raw[:n], raw[n:])) == ("pi-7", 4)


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_payload_offset(qos: int) -> None:
    raw = publish_packet("a/b", b"PAYLOAD", qos)
    pkt = Packet(raw[:2], raw[2:])
    assert pkt.body[publish_payload_offset(pkt):] == b"PAYLOAD"
