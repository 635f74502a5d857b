"""The session writes queued packets from the event loop (aaas.mqtt._write_from_the_loop)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest
from paho.mqtt import client as paho_client

from aaas import BrokerURL
from aaas.mqtt import MqttSession

pytestmark = pytest.mark.mosquitto


async def _until(cond: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_small_publishes_need_no_writer_registration(mosquitto: BrokerURL,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[bytes] = []

    async def on_message(msg: aiomqtt.Message) -> None:
        got.append(bytes(msg.payload))

    writers: list[int] = []
    via_writer = aiomqtt.Client._on_socket_register_write

    def spy(self: aiomqtt.Client, *args: Any) -> None:
        writers.append(1)
        via_writer(self, *args)

    monkeypatch.setattr(aiomqtt.Client, "_on_socket_register_write", spy)
    async with MqttSession(url=mosquitto, client_id="w1", subscriptions=[("w/#", 1)],
                           handler=on_message) as s:
        await s.wait_connected(10)
        writers.clear()  # connecting may register one (paho connects in a thread)
        for i in range(200):
            s.publish_raw("w/x", str(i).encode())
        await _until(lambda: len(got) == 200)
    assert got == [str(i).encode() for i in range(200)]
    # aiomqtt alone registers a writer per packet (a self-pipe wake-up, two epoll changes).
    assert writers == []


async def test_a_message_larger_than_the_socket_buffer_arrives_whole(mosquitto: BrokerURL) -> None:
    big = bytes(range(256)) * (16 * 1024)  # 4 MiB: the socket takes it in several writes
    got: list[bytes] = []

    async def on_message(msg: aiomqtt.Message) -> None:
        got.append(bytes(msg.payload))

    async with MqttSession(url=mosquitto, client_id="w2", subscriptions=[("w/#", 1)],
                           handler=on_message) as s:
        await s.wait_connected(10)
        s.publish_raw("w/big", big)
        s.publish_raw("w/after", b"after")
        await _until(lambda: len(got) == 2, timeout=30)
    assert got == [big, b"after"]


async def test_a_socket_closed_before_the_write_is_left_to_the_reconnect(
        mosquitto: BrokerURL) -> None:
    """The write runs a loop turn after paho queued the packet: if the connection closed
    in between, it must not register the closed socket (add_writer(-1) raised in the
    loop and left the session hanging: a task lost in a demo run at x10^5)."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    got: list[bytes] = []

    async def on_message(msg: aiomqtt.Message) -> None:
        got.append(bytes(msg.payload))

    async with MqttSession(url=mosquitto, client_id="w3", subscriptions=[("w/#", 1)],
                           handler=on_message, reconnect_min_s=0.05) as s:
        await s.wait_connected(10)
        client = s._client
        assert client is not None
        await client.publish("w/x", b"queued", 1)  # one round trip: the path works
        paho = client._client
        # Queue a packet (its write is scheduled for the next loop turn), then close.
        paho.publish("w/x", b"lost-with-the-socket", qos=0)
        paho._sock_close()
        s.publish_raw("w/x", b"after-reconnect")
        await _until(lambda: b"after-reconnect" in got)
    assert b"queued" in got
    assert not [e for e in errors if "add_writer" in repr(e)], errors


async def test_a_burst_is_read_together_and_acknowledged_in_few_sends(
        mosquitto: BrokerURL, monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages that arrived together are read in few ``recv`` calls and in one go
    (aaas.mqtt._read_what_came), and their PUBACKs leave in one ``send``
    (aaas.mqtt._one_write); paho reads about one packet per readable event, with three
    ``recv`` calls or more each, and sends each packet on its own."""
    got: list[bytes] = []
    recvs = [0]
    sock_recv = paho_client.Client._sock_recv

    def count_recv(self: paho_client.Client, bufsize: int) -> bytes:
        if self._client_id == b"w4":
            recvs[0] += 1
        return sock_recv(self, bufsize)

    monkeypatch.setattr(paho_client.Client, "_sock_recv", count_recv)

    async def on_message(msg: aiomqtt.Message) -> None:
        got.append(bytes(msg.payload))

    async with MqttSession(url=mosquitto, client_id="w4", subscriptions=[("w/#", 1)],
                           handler=on_message) as s, aiomqtt.Client(
            mosquitto.host, mosquitto.port, identifier="w4-burst") as sender:
        await s.wait_connected(10)
        client = s._client
        assert client is not None
        paho = client._client
        acks, sends = [0], [0]
        queue, send = paho._packet_queue, paho._sock_send

        def count_queue(*args: Any, **kw: Any) -> Any:
            acks[0] += 1
            return queue(*args, **kw)

        def count_send(buf: Any) -> int:
            sends[0] += 1
            return int(send(buf))

        paho._packet_queue = count_queue
        paho._sock_send = count_send
        await asyncio.gather(*(sender.publish("w/x", str(i).encode(), qos=1)
                               for i in range(300)))
        await _until(lambda: len(got) == 300)
    assert sorted(got) == sorted(str(i).encode() for i in range(300))
    assert acks[0] >= 300
    assert sends[0] < acks[0] / 2, (sends[0], acks[0])
    assert recvs[0] < 300, recvs[0]  # paho alone: 3 per message, 900 and more
