"""The link proxy: an MQTT-aware TCP proxy that puts each user's channel in front of the broker."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import ssl
from types import TracebackType
from typing import Any

import aiomqtt
import numpy as np
from prometheus_client import CollectorRegistry

from aaas import (
    TOPICS,
    BrokerURL,
    ConfigError,
    Dispatcher,
    EmulatedClock,
    ErrorCode,
    Incoming,
    LinkUpdate,
    MqttSession,
    Params,
    ProtocolError,
)

from .control_checks import check_update
from .metrics import LinkMetrics, LinkStats
from .mqtt_frames import CONNECT, parse_connect, read_packet
from .pipe import LinkClosedError, pump
from .profile import LinkProfile
from .profiles import LinkProfiles
from .side import LinkSide
from .user import UserLink

__all__ = ["CONTROL_IDENTITY", "LinkProxy"]

CONTROL_IDENTITY = "link"
"""The identity the link's control client logs in as on a broker with per-identity secrets."""

_STREAM_LIMIT = 4 * 1024 * 1024
_CONNECT_TIMEOUT_S = 30.0


class LinkProxy:
    """Listens for MQTT clients and relays each to *upstream* through its user's channel.

    >>> async with LinkProxy(upstream=broker.url) as link:   # doctest: +SKIP
    ...     client connects to link.url; link.stats() has bytes on air
    """

    def __init__(self, *, upstream: BrokerURL, listen_host: str = "127.0.0.1",
                 listen_port: int = 0, profiles: LinkProfiles | None = None,
                 clock: EmulatedClock | None = None, rng: np.random.Generator | None = None,
                 registry: CollectorRegistry | None = None, control: bool = True,
                 listen_tls: ssl.SSLContext | None = None,
                 logger: logging.Logger | None = None) -> None:
        # TLS is terminated here and re-originated upstream (docs/security.md): the
        # channel acts per MQTT packet and reads the CONNECT, which needs the plaintext.
        self.upstream = upstream
        self.listen_tls = listen_tls
        self.listen_host = listen_host
        self.port = listen_port
        self.profiles = profiles or LinkProfiles()
        self.clock = clock or EmulatedClock()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.seed = int(rng.integers(0, 2**62))
        self.metrics = LinkMetrics(
            registry=registry if registry is not None else CollectorRegistry())
        self.logger = logger or logging.getLogger("aaas.link")
        self.users: dict[str, UserLink] = {}
        self._control_enabled = control
        self._control: MqttSession | None = None
        self._dispatch = Dispatcher(on_error=self._bad_control)
        self._dispatch.on(TOPICS.link_control, self._on_control)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._anon = itertools.count()

    @property
    def url(self) -> BrokerURL:
        """Where users connect (the upstream's credentials pass through)."""
        return BrokerURL(host=self.listen_host, port=self.port, username=self.upstream.username,
                         password=self.upstream.password, tls=self.listen_tls is not None,
                         ca_file=self.upstream.ca_file, secrets_dir=self.upstream.secrets_dir)

    def stats(self) -> LinkStats:
        """Totals so far: bytes on air per direction, retransmissions, outages, ..."""
        return self.metrics.stats

    # -- users and their channels ------------------------------------------------
    def user(self, user_id: str) -> UserLink:
        link = self.users.get(user_id)
        if link is None:
            link = self.users[user_id] = UserLink(
                user_id=user_id, profile=self.profiles.for_user(user_id), seed=self.seed)
        return link

    def set_profile(self, user_id: str, profile: LinkProfile) -> None:
        """Give *user_id* a new channel from its next packet on."""
        self.user(user_id).reconfigure(profile)
        self.logger.info("link of %s changed", user_id)

    def update_user(self, user_id: str, *, outage_s: float | None = None, reset: bool = False,
                    **changes: Any) -> LinkProfile:
        """Change some profile fields and/or start an outage of *outage_s* emulated seconds."""
        link = self.user(user_id)
        base = self.profiles.for_user(user_id) if reset else link.profile
        profile = base.replace(**changes) if changes else base
        if outage_s is not None and not (outage_s >= 0 and math.isfinite(outage_s)):
            raise ConfigError(f"outage_s must be a finite number >= 0, got {outage_s}")
        link.reconfigure(profile)
        if outage_s:
            link.force_outage(self.clock.now() + outage_s)
        self.logger.info("link of %s updated: %s%s", user_id, changes or "",
                         f" outage {outage_s:g}s" if outage_s else "")
        return profile

    # -- lifecycle -------------------------------------------------------------------
    async def __aenter__(self) -> LinkProxy:
        self._server = await asyncio.start_server(self._handle, self.listen_host, self.port,
                                                  limit=_STREAM_LIMIT, ssl=self.listen_tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        if self._control_enabled:
            control_url = (self.upstream.for_client(CONTROL_IDENTITY)
                           if self.upstream.secrets_dir else self.upstream)
            self._control = MqttSession(
                url=control_url, client_id=f"aaas-link-{self.port}",
                subscriptions=self._dispatch.subscriptions(), handler=self._on_control_message,
                logger=self.logger.getChild("control"))
            await self._control.__aenter__()
        self.logger.info("link listening on %s, upstream %s", self.url, self.upstream)
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def wait_control(self) -> None:
        """Wait until the control topic subscription is live (wrap in asyncio.timeout)."""
        if self._control is not None:
            await self._control.wait_connected()

    async def close(self) -> None:
        if self._control is not None:
            await self._control.close(flush_timeout=0.1)
            self._control = None
        if self._server is not None:
            self._server.close()
            for task in list(self._conns):
                task.cancel()
            for task in list(self._conns):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    # -- the control topic -------------------------------------------------------------
    # A LinkUpdate on aaas/v1/link/{user_id}/set (toxiproxy's API as a topic): the
    # profile fields given apply from the user's next packet on; nothing in flight is dropped.
    async def _on_control_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        if not isinstance(payload, bytes | bytearray) \
                or not self._dispatch.dispatch(message.topic.value, bytes(payload)):
            self.metrics.control.labels("ignored").inc()

    def _on_control(self, update: LinkUpdate, params: Params) -> None:
        check_update(update)
        try:
            self.update_user(params["user_id"], outage_s=update.outage_s, reset=update.reset,
                             **update.profile.changes())
        except ConfigError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self.metrics.control.labels("applied").inc()

    def _bad_control(self, exc: ProtocolError, msg: Incoming) -> None:
        self.metrics.control.labels("invalid").inc()
        self.logger.warning("bad link control message on %s: %s", msg.topic, exc)

    # -- one connection ------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
            task.add_done_callback(self._conns.discard)
        with contextlib.suppress(asyncio.CancelledError):  # the proxy is shutting down
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(
                read_packet(reader, expect=CONNECT, max_length=65_536), _CONNECT_TIMEOUT_S)
            if first is None:  # a port probe (health check, wait-for-port): nothing to say
                self.metrics.closed.labels("no_connect").inc()
                writer.close()
                return
            client_id, level = parse_connect(first)
        except (ProtocolError, asyncio.IncompleteReadError, TimeoutError, ConnectionError) as exc:
            self.metrics.closed.labels("bad_connect").inc()
            self.logger.warning("link: dropping a client that sent no valid CONNECT: %s", exc)
            writer.close()
            return
        user = self.user(client_id or f"anonymous-{next(self._anon)}")
        client = LinkSide(direction="up", user=user, clock=self.clock, metrics=self.metrics)
        broker = LinkSide(direction="down", user=user, clock=self.clock, metrics=self.metrics)
        client.peer, broker.peer = broker, client
        try:
            tls = self.upstream.tls_context()
            await asyncio.get_running_loop().create_connection(
                lambda: broker, self.upstream.host, self.upstream.port, ssl=tls,
                server_hostname=self.upstream.host if tls is not None else None)
        except OSError as exc:
            self.metrics.closed.labels("upstream_unreachable").inc()
            self.logger.warning("link: upstream %s unreachable: %s", self.upstream, exc)
            writer.close()
            return
        self.metrics.connections.inc()
        self.metrics.connections_total.inc()
        self.metrics.stats.connections += 1
        reason = "client"
        try:
            await _take_over(reader, writer, client)
            reason = await self._relay(user, level, first, client, broker)
        finally:
            self.metrics.connections.dec()
            self.metrics.closed.labels(reason).inc()
            writer.close()
            if broker.transport is not None:
                broker.transport.close()

    async def _relay(self, user: UserLink, level: int, first: Any, client: LinkSide,
                     broker: LinkSide) -> str:
        relay = functools.partial(pump, user=user, level=level, clock=self.clock,
                                  metrics=self.metrics)
        up = asyncio.create_task(
            _guarded(relay(direction="up", first=first, src=client, dst=broker), broker),
            name=f"link-up:{user.user_id}")
        down = asyncio.create_task(
            _guarded(relay(direction="down", first=None, src=broker, dst=client), client),
            name=f"link-down:{user.user_id}")
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            # Both may be done: the link's cut of one side ends the other at once. Then
            # the link's reason is the one to report, whichever set member comes first.
            first_done = min(done, key=lambda t: t.result() not in _LINK_REASONS)
            reason = first_done.result()
            if reason in _LINK_REASONS:
                self.logger.info("link closed %s's connection: %s", user.user_id, reason)
                if reason != "malformed":
                    self.metrics.stats.closed_by_link += 1
                return reason
            other = down if first_done is up else up
            # One side ended: let the other finish what it has, then close.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(other), 5.0)
            return reason if first_done is up else "broker"
        finally:
            for t in (up, down):
                t.cancel()
            for t in (up, down):
                with contextlib.suppress(asyncio.CancelledError):
                    await t


async def _take_over(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     side: LinkSide) -> None:
    """Make *side* the protocol of the client's socket, with what the reader had buffered."""
    transport: asyncio.Transport = writer.transport  # type: ignore[assignment]
    transport.pause_reading()  # nothing may arrive between the buffer and the switch
    transport.set_protocol(side)
    side.attach(transport)
    reader.feed_eof()
    try:
        rest = await reader.read()
    except ConnectionError as exc:
        side.connection_lost(exc)
        return
    if rest:
        side.data_received(rest)
    if transport.is_closing():  # it went away while the upstream connected
        side.connection_lost(None)
    else:
        transport.resume_reading()  # an end of stream already received is seen again


_LINK_REASONS = ("outage", "retry_limit", "malformed")
"""Why a pump stops when the link, not an endpoint, ended the connection."""


async def _guarded(coro: Any, dst: LinkSide) -> str:
    """Run one pump; the reason it stopped; at a clean end, pass the end of stream on."""
    try:
        await coro
    except LinkClosedError as exc:
        if dst.transport is not None:
            dst.transport.abort()
        return exc.reason
    except ProtocolError:
        return "malformed"
    except (ConnectionError, asyncio.IncompleteReadError):
        return "reset"
    with contextlib.suppress(OSError, RuntimeError):
        if dst.transport is not None and dst.transport.can_write_eof():
            dst.transport.write_eof()
    return "client"
