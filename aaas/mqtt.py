"""MQTT plumbing shared by every process: broker URLs and a resilient session.

The session wraps one :class:`aiomqtt.Client` (aiomqtt 2.x, the maintained
successor of asyncio-mqtt) and adds what a service on a testbed needs:

* it reconnects after a broker restart or a network fault, with back-off, and
  subscribes again;
* ``publish`` never fails because the broker is away: messages wait in an
  outbox and are sent, in order, once connected (at least once: a message counts
  as sent only once the broker acknowledged it; several may be in flight, and those
  not acknowledged when a connection ends are sent again on the next);
* with ``on_message`` a received message goes straight from paho's read to a plain
  function, in order (:meth:`MqttSession._received`);
* a birth message (``online`` status) is sent on every connect, and the last
  will (``offline``) is registered with the broker.

Everything speaks MQTT 3.1.1, which both amqtt and Mosquitto support.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiomqtt
import msgspec
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.client import MQTT_ERR_SUCCESS

from .contract import Route, encode
from .errors import AaasError, ConfigError

__all__ = ["ON_REFUSED", "BrokerRefusedError", "BrokerURL", "MqttSession", "Outgoing",
           "is_refusal"]

Handler = Callable[[aiomqtt.Message], Awaitable[None]]
Receiver = Callable[[str, bytes], object]
"""A synchronous receiver: called with (topic, payload) for each message, in order."""
P = TypeVar("P", bound=msgspec.Struct)


class BrokerRefusedError(AaasError):
    """The broker refused our credentials (bad user name or password, not authorised)."""


# MQTT 3.1.1 CONNACK codes 4 (bad user name or password) and 5 (not authorised), and
# the MQTT 5 reason codes paho maps them to (134, 135).
_REFUSED_CODES = frozenset({4, 5, 134, 135})

ON_REFUSED: contextvars.ContextVar[Callable[[BrokerRefusedError], None] | None] = \
    contextvars.ContextVar("aaas_on_broker_refused", default=None)
"""Called (in the session's context) when the broker refuses a session's credentials;
``testbed.runner`` sets it so that a command ends with one clear line."""


def is_refusal(exc: BaseException) -> bool:
    """Whether *exc* is the broker refusing the credentials (not a network fault)."""
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    # Only a CONNACK (MqttConnectError): other MqttCodeErrors carry paho's own error
    # numbers, where 4 is MQTT_ERR_NO_CONN ("not currently connected"), a network fault.
    return isinstance(exc, MqttConnectError) and isinstance(value, int) \
        and value in _REFUSED_CODES


def _no_delay(client: aiomqtt.Client) -> None:
    """Turn off Nagle's algorithm on the client's socket (paho leaves it on).

    With it on, a small PUBLISH written while an earlier segment is unacknowledged
    waits for the broker's delayed ACK (40 ms on Linux): 400 emulated seconds at
    x10^4 (docs/performance.md). Best effort: a socket paho does not expose is left.
    """
    sock = client._client.socket()  # aiomqtt exposes no option for it
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


OPERATION_TIMEOUT_S = 10.0
"""Wall seconds a subscribe or a QoS 1 publish may wait for the broker's answer."""


def _write_from_the_loop(client: aiomqtt.Client) -> None:
    """Write queued packets from the event loop directly, without a writer per packet.

    aiomqtt asks for every packet paho queues: it schedules ``add_writer`` with
    ``call_soon_threadsafe`` (a write to the loop's self-pipe and a wake-up), the
    loop registers the socket with epoll, writes once it is writable, and removes it
    again: three system calls and two loop turns per packet, the largest part of the
    messaging cost in the profiles (docs/performance.md). A socket is nearly always
    writable, so on the loop's own thread this writes the queued packets on the next
    turn of the loop (``call_soon``: not from inside paho's callbacks, whose lock
    ``loop_write`` may take) and registers a writer only when the socket did not take
    everything (and asks aiomqtt to remove one only then). Other threads (paho's
    connect runs in an executor) keep aiomqtt's way. Hand-written because aiomqtt has
    no option for it.
    """
    paho = client._client  # aiomqtt exposes no hook for it
    via_writer = paho.on_socket_register_write  # aiomqtt's: add_writer, thread-safe
    no_writer = paho.on_socket_unregister_write  # aiomqtt's: remove_writer
    if via_writer is None or no_writer is None:
        return
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    writer_registered = False  # aiomqtt's writer: only a registered one needs removing

    def write_now(c: Any, userdata: Any, sock: Any) -> None:
        nonlocal writer_registered
        try:
            c.loop_write()
            if not c.want_write():
                return
        except Exception:  # aiomqtt's writer meets the error again below and disconnects
            pass
        # The socket's buffer is full (or writing failed): hand over to aiomqtt's writer,
        # unless the socket was closed meanwhile (the session reconnects and sends again).
        if c.socket() is sock and sock.fileno() >= 0:
            writer_registered = True
            via_writer(c, userdata, sock)

    def register_write(c: Any, userdata: Any, sock: Any) -> None:
        nonlocal writer_registered
        if threading.get_ident() == loop_thread and not loop.is_closed():
            loop.call_soon(write_now, c, userdata, sock)
        else:
            writer_registered = True
            via_writer(c, userdata, sock)

    def unregister_write(c: Any, userdata: Any, sock: Any) -> None:
        nonlocal writer_registered
        if writer_registered or threading.get_ident() != loop_thread:
            writer_registered = False
            no_writer(c, userdata, sock)

    paho.on_socket_register_write = register_write
    paho.on_socket_unregister_write = unregister_write


@dataclass(frozen=True, kw_only=True)
class BrokerURL:
    """Where the broker is, ``mqtt[s]://[user@]host[:port]``, and how to log in.

    ``mqtts://`` connects over TLS (port 8883 by default), checking the broker's
    certificate against ``ca_file`` (or the system's CAs); ``cert_file``/``key_file``
    add a client certificate. Passwords never come from the command line: from
    ``password`` (read by the caller from a file or the environment) or, per
    identity, from ``secrets_dir`` (``DIR/<client id>.password``; a session then
    logs in as its own client id, see :meth:`for_client`).
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    secrets_dir: str | None = None
    """A folder of per-identity passwords, ``<identity>.password`` (``aaas security init``)."""

    @classmethod
    def parse(cls, url: str) -> BrokerURL:
        parts = urllib.parse.urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ConfigError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts:// "
                              f"(got {parts.scheme!r})")
        if not parts.hostname:
            raise ConfigError(f"broker URL {url!r} has no host")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigError(f"broker URL {url!r} has a bad port") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def with_options(self, **changes: Any) -> BrokerURL:
        """A copy with some fields changed (the CLI's --broker-ca, ... options)."""
        return replace(self, **changes)

    def for_client(self, client_id: str) -> BrokerURL:
        """The URL a session with *client_id* logs in with: with ``secrets_dir`` and no
        user name, the identity is the client id and its password is read from
        ``secrets_dir/<client id>.password`` (none if that file is missing: the broker
        then refuses the session, which ends it with :class:`BrokerRefusedError`)."""
        if self.secrets_dir is None or self.username is not None:
            return self
        path = Path(self.secrets_dir) / f"{client_id}.password"
        try:
            password: str | None = path.read_text().strip()
        except OSError:
            password = None
        return replace(self, username=client_id, password=password)

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context of an ``mqtts://`` URL (None for plain ``mqtt://``)."""
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file is not None:
                ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"TLS settings of {self}: {exc}") from None
        return ctx

    def client_kwargs(self, client_id: str | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`aiomqtt.Client` for this broker (and identity)."""
        url = self.for_client(client_id) if client_id is not None else self
        return {"hostname": url.host, "port": url.port, "username": url.username,
                "password": url.password, "tls_context": url.tls_context()}

    def __str__(self) -> str:
        auth = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"


@dataclass(frozen=True)
class Outgoing:
    """A message waiting in the outbox."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(kw_only=True)
class MqttSession:
    """A resilient MQTT connection for one client id (see the module doc)."""

    url: BrokerURL
    client_id: str
    subscriptions: Sequence[tuple[str, int]] = ()
    """(filter, qos) pairs, subscribed again on every connect."""
    handler: Handler | None = None
    """Called for each received message, one at a time, in order (awaited)."""
    on_message: Receiver | None = None
    """Instead of *handler*: called for each received message straight from paho's read,
    one at a time, in order, without a task or a queue per message (the services'
    dispatchers; docs/performance.md). It must not block."""
    will: Outgoing | None = None
    birth: Sequence[Outgoing] = ()
    """Published first on every connect (e.g. the retained ``online`` status)."""
    clean_session: bool = True
    keepalive: int = 30
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 5.0
    connect_timeout_s: float = OPERATION_TIMEOUT_S
    """Wall seconds to wait for each answer of the handshake (the CONNACK, the SUBACKs,
    the birth messages' PUBACKs). A handshake that the network (the emulated link)
    dropped is noticed only by this timeout: the session waits it out, then retries."""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("aaas.mqtt"))
    on_connect: Callable[[], None] | None = None
    on_bytes: Callable[[str, int], None] | None = None
    """Called with ("sent" | "received", bytes) for payload accounting."""

    _outbox: deque[Outgoing] = field(default_factory=deque, init=False)
    _early: list[tuple[str, bytes]] | None = field(default=None, init=False)
    """Messages received on this connection before the session was ready (None: ready)."""
    _inflight: dict[int, tuple[Outgoing, float]] = field(default_factory=dict, init=False)
    """Handed to paho on this connection, not yet acknowledged: mid -> (message, monotonic
    time sent). When the connection ends they go back to the front of the outbox."""
    _outbox_ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _connected: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _client: aiomqtt.Client | None = field(default=None, init=False)
    connects: int = field(default=0, init=False)
    refusal: BrokerRefusedError | None = field(default=None, init=False)
    """Set when the broker refused the credentials (the session then stops)."""

    # -- lifecycle -----------------------------------------------------------
    async def __aenter__(self) -> MqttSession:
        self._task = asyncio.create_task(self._run(), name=f"mqtt:{self.client_id}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self, *, flush_timeout: float = 2.0) -> None:
        """Send what is queued (for at most *flush_timeout* s), then disconnect."""
        if self._task is None:
            return
        if self._connected.is_set() and self._outbox:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drained(), flush_timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _drained(self) -> None:
        while self._outbox or self._inflight:  # noqa: ASYNC110 - polled only while closing
            await asyncio.sleep(0.01)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected; BrokerRefusedError if the broker refused the credentials."""
        async def connected_or_refused() -> None:
            while not self._connected.is_set():
                if self.refusal is not None:
                    raise self.refusal
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), 0.2)
        await asyncio.wait_for(connected_or_refused(), timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker (queued or in flight)."""
        return len(self._outbox) + len(self._inflight)

    def holds(self, topic: str) -> bool:
        """Whether a message on *topic* is not yet acknowledged by the broker."""
        return (any(m.topic == topic for m in self._outbox)
                or any(m.topic == topic for m, _ in self._inflight.values()))

    # -- publishing ------------------------------------------------------------
    def publish_raw(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Queue a message; it is sent as soon as the session is connected."""
        self._outbox.append(Outgoing(topic, payload, qos, retain))
        self._outbox_ready.set()

    def send(self, route: Route[P], payload: P, **params: str) -> None:
        """Queue a contract message on *route* with the route's QoS and retain flag.

        mypy checks that *payload* is of the route's payload type.
        """
        self.publish_raw(route.topic.format(**params), encode(payload), qos=route.qos,
                         retain=route.retain)

    # -- the connection loop ----------------------------------------------------
    def _make_client(self) -> aiomqtt.Client:
        will = None
        if self.will is not None:
            will = aiomqtt.Will(self.will.topic, self.will.payload, self.will.qos, self.will.retain)
        client = aiomqtt.Client(
            **self.url.client_kwargs(self.client_id),
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V311,
            will=will,
            clean_session=self.clean_session,
            keepalive=self.keepalive,
            timeout=OPERATION_TIMEOUT_S,
            logger=self.logger.getChild("paho"),
        )
        _write_from_the_loop(client)
        self._hook_paho(client)
        return client

    def _hook_paho(self, client: aiomqtt.Client) -> None:
        """Acknowledgements of our pipelined publishes, and (``on_message``) messages,
        taken from paho's callbacks directly. Hand-written because aiomqtt has no option
        for either: its publish awaits each acknowledgement with a future and a timer, and
        its message iterator makes a task per message (docs/performance.md)."""
        paho = client._client  # aiomqtt exposes no hook for it
        aiomqtt_on_publish = paho.on_publish

        def on_publish(c: Any, userdata: Any, mid: int, *rest: Any) -> None:
            sent = self._inflight.pop(mid, None)
            if sent is None:  # one aiomqtt itself awaits (the birth messages)
                if aiomqtt_on_publish is not None:
                    aiomqtt_on_publish(c, userdata, mid, *rest)
                return
            if self.on_bytes is not None:
                self.on_bytes("sent", len(sent[0].payload))
            if not self._inflight:
                self._outbox_ready.set()  # the writer stops watching for a timeout

        paho.on_publish = on_publish
        if self.on_message is not None:
            paho.on_message = self._received

    def _received(self, _c: Any, _userdata: Any, message: Any) -> None:
        """Paho's ``on_message`` with ``on_message`` set: in paho's read on the event loop
        (aiomqtt reads the socket from the loop), in order. What comes before the session
        is ready (a persistent session's backlog, right after the CONNACK) waits until
        ``on_connect`` ran, as it did in aiomqtt's queue: a service learns of the connect
        before the messages that waited for it."""
        payload = message.payload
        if self.on_bytes is not None:
            self.on_bytes("received", len(payload))
        if self._early is not None:
            self._early.append((message.topic, payload))
            return
        self._deliver(message.topic, payload)

    def _deliver(self, topic: str, payload: bytes) -> None:
        assert self.on_message is not None
        try:
            self.on_message(topic, payload)
        except Exception:  # a bad receiver must not kill the connection
            self.logger.exception("%s: receiving %s failed", self.client_id, topic)

    def _ready(self) -> None:
        """Connected and subscribed, ``on_connect`` done: deliver what waited."""
        early, self._early = self._early or [], None
        for topic, payload in early:
            self._deliver(topic, payload)

    async def _run(self) -> None:
        delay = self.reconnect_min_s
        while True:
            # A new client per connection: what paho still held of the last one (publishes
            # in flight) is back in the outbox, sent again after the subscriptions.
            client = self._make_client()
            self._early = []
            client.timeout = self.connect_timeout_s  # the handshake's: CONNACK, SUBACKs, birth
            try:
                async with client:
                    self._client = client
                    _no_delay(client)
                    for filt, qos in self.subscriptions:
                        await client.subscribe(filt, qos)
                    for msg in self.birth:
                        await client.publish(msg.topic, msg.payload, msg.qos, msg.retain)
                    client.timeout = OPERATION_TIMEOUT_S
                    self.connects += 1
                    self._connected.set()
                    delay = self.reconnect_min_s
                    if self.connects > 1:
                        self.logger.info("%s reconnected to %s", self.client_id, self.url)
                    if self.on_connect is not None:
                        self.on_connect()
                    self._ready()
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                self._connected.clear()
                if is_refusal(exc):
                    self._refused(exc)
                    return
                self.logger.warning("%s: broker %s unreachable (%s); retrying in %.1fs",
                                    self.client_id, self.url, exc, delay)
            finally:
                self._connected.clear()
                self._client = None
                # Not acknowledged on that connection: first in line on the next one.
                self._outbox.extendleft(reversed([m for m, _ in self._inflight.values()]))
                self._inflight.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_s)

    def _refused(self, exc: aiomqtt.MqttError) -> None:
        """The broker refused our credentials: retrying cannot help, so stop and say so."""
        url = self.url.for_client(self.client_id)
        self.refusal = BrokerRefusedError(
            f"the broker at {self.url} refused {url.username or 'anonymous'!r} "
            f"(client id {self.client_id!r}): {exc}")
        self.logger.error("%s", self.refusal)
        handler = ON_REFUSED.get()
        if handler is not None:
            handler(self.refusal)

    async def _serve(self, client: aiomqtt.Client) -> None:
        # Not a TaskGroup: its ExceptionGroup would hide the MqttError that
        # _run turns into a reconnect.
        tasks = [
            asyncio.create_task(self._writer(client), name=f"mqtt-writer:{self.client_id}"),
            asyncio.create_task(self._reader(client), name=f"mqtt-reader:{self.client_id}"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for t in done:
            t.result()

    async def _reader(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if self.on_bytes is not None and isinstance(message.payload, bytes | bytearray):
                self.on_bytes("received", len(message.payload))
            if self.handler is not None:
                try:
                    await self.handler(message)
                except Exception:  # a bad handler must not kill the connection
                    self.logger.exception("%s: handler failed on %s", self.client_id,
                                          message.topic.value)
        raise aiomqtt.MqttError("message stream ended")

    async def _writer(self, client: aiomqtt.Client) -> None:
        """Hand the outbox to paho, in order, without waiting for each acknowledgement
        (paho keeps at most 20 in flight and queues the rest); a message counts as sent
        when its PUBACK comes (``_hook_paho``). No acknowledgement for the oldest message
        in flight within OPERATION_TIMEOUT_S is a dead connection: reconnect. (Awaiting
        each PUBACK, as aiomqtt's publish does, cost a future and a timer per message and
        a round trip per message per session.)"""
        paho = client._client
        while True:
            while self._outbox:
                msg = self._outbox[0]
                info = paho.publish(msg.topic, msg.payload, msg.qos, msg.retain)
                if info.rc != MQTT_ERR_SUCCESS:  # the connection is gone: reconnect now
                    raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
                if msg.qos:
                    self._outbox.popleft()
                    self._inflight[info.mid] = (msg, time.monotonic())
                    continue
                self._outbox.popleft()  # QoS 0: written
                if self.on_bytes is not None:
                    self.on_bytes("sent", len(msg.payload))
            self._outbox_ready.clear()
            if not self._inflight:
                await self._outbox_ready.wait()
                continue
            oldest = next(iter(self._inflight.values()))[1]
            left = OPERATION_TIMEOUT_S - (time.monotonic() - oldest)
            if left <= 0:
                raise aiomqtt.MqttError("Operation timed out: no acknowledgement from the "
                                        f"broker in {OPERATION_TIMEOUT_S:g} s")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that comes as the event is set, and the writer never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._outbox_ready.wait()
