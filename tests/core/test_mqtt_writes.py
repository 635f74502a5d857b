"""The session writes queued packets from the event loop (aaas.mqtt._write_from_the_loop)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest

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


async def test_a_receiver_gets_what_waited_in_its_session_only_after_on_connect(
        mosquitto: BrokerURL) -> None:
    """The fast receive path (``on_message``) keeps aiomqtt's order: a persistent
    session's backlog, delivered right after the CONNACK, reaches the receiver after the
    session's ``on_connect`` (the orchestrator resets its view of the nodes there; a
    backlog handled before it was placed as if nothing had happened)."""
    seen: list[tuple[str, int]] = []
    connects = 0

    def on_connect() -> None:
        nonlocal connects
        connects += 1

    def receive(topic: str, payload: bytes) -> None:
        seen.append((payload.decode(), connects))

    def session() -> MqttSession:
        return MqttSession(url=mosquitto, client_id="w4", subscriptions=[("w4/#", 1)],
                           on_message=receive, on_connect=on_connect, clean_session=False)

    async with session() as s:
        await s.wait_connected(10)
    async with MqttSession(url=mosquitto, client_id="w4-pub") as pub:
        await pub.wait_connected(10)
        for i in range(20):
            pub.publish_raw("w4/x", str(i).encode())
        await _until(lambda: pub.pending == 0)
    async with session() as s:
        await _until(lambda: len(seen) == 20)
    assert [p for p, _ in seen] == [str(i) for i in range(20)]  # in order
    assert all(c == 2 for _, c in seen), seen  # each after the second connect's on_connect
