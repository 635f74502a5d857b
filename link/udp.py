"""The WebRTC path through the emulated wireless link: a UDP relay per user and node.

WebRTC moves content in UDP datagrams (ICE, DTLS, SCTP). So that a user's datagrams
meet the same channel as its MQTT packets, the user's peer connection is pointed at
this relay (the user agent rewrites the one ICE candidate of each side, see
``user_agent.delivery.sdp``): datagrams from the user go up its channel to the node,
datagrams from the node come down its channel to the user. Each datagram is one
frame on the air of that user's :class:`~link.direction.DirectionChannel`, the
very object its MQTT link uses, so both paths share the fading, the air queue
(``busy_until``), the rate and any forced outage at the same emulated time:

* errors: the datagram fails with PER(BER(SNR), 8 × its size); the link's MAC ARQ
  (``retry_limit`` in ``arq`` mode, none in ``corrupt`` mode, where a damaged datagram
  fails its UDP/DTLS check) tries it again, each try costing air time;
* resends: in ``arq`` mode a datagram the MAC gave up on, or that met an outage (the
  SNR under the threshold, or a forced outage), is sent again after the profile's
  ``rto_s``, up to ``tcp_retries`` times, as the link's TCP path resends a segment.
  This stands in for the peers' own transports (STUN, DTLS, SCTP), which resend after
  timeouts of one to three seconds of *wall* time: at ×10⁴ that is 10⁴ to 3·10⁴
  emulated seconds, so every datagram the channel lost cost a peer setup or a transfer
  hours of emulated time, and the setups of far users timed out. A datagram whose last
  send failed is lost (fate ``lost`` or ``outage``), and only then do the peers' own
  timers recover it, as they would after an outage that long;
* delay: it is delivered after its air time at the instantaneous rate, the resends'
  ``rto_s`` waits, plus the profile's ``latency_s``.

The extra faults of a profile (``faults = [...]``, plug-ins written for TCP packets)
are not applied to datagrams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry, Counter

from aaas import EmulatedClock

from .channel import per_array
from .direction import DirectionChannel
from .faults.airtime import air_time_s
from .faults.arq import arq_tries
from .faults.outage import wait_for_signal
from .user import UserLink

__all__ = ["RelayStats", "UdpRelay", "datagram_fate"]

Address = tuple[str, int]

_IDLE_ROUTE_S = 120.0
"""Wall seconds without a datagram after which a route's sockets are closed."""


def datagram_fate(ch: DirectionChannel, size: int, now: float) -> tuple[str, float]:
    """(fate, emulated delay) of a datagram of *size* bytes sent at emulated *now*.

    fate: ``delivered`` (after the delay), ``resent`` (delivered after the delay, which
    includes resends after ``rto_s``), ``lost`` (the last try failed) or ``outage`` (the
    last try met an outage). See the module doc.
    """
    t = max(now, ch.busy_until)
    p = ch.profile
    arq = p.error_mode == "arq"
    retries = p.arq.retry_limit if arq else 0
    fate = "lost"
    for sends in range(p.arq.tcp_retries + 1 if arq else 1):
        t_ok, snr, closed = wait_for_signal(ch, t, ch.threshold, 0.0)
        if closed or t_ok > t:
            fate, t = "outage", t + p.arq.rto_s
            continue
        rate = ch.rate(snr)
        tries, failed = arq_tries(per_array(ch.ber(snr), np.array([size * 8])), retries,
                                  ch.rng, ch.burst_losses if ch.bursty else None)
        t += air_time_s(float(size * 8 * int(tries[0])), rate)
        ch.occupy(t)
        if not bool(failed[0]):
            return "delivered" if sends == 0 else "resent", (t + p.latency.latency_s) - now
        fate, t = "lost", t + p.arq.rto_s
    return fate, 0.0


@dataclass
class RelayStats:
    """Datagrams by direction (up: from the user) and fate (:func:`datagram_fate`)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})

    def count(self, direction: str, fate: str, size: int) -> None:
        self.counts[(direction, fate)] = self.counts.get((direction, fate), 0) + 1
        if fate in ("delivered", "resent"):
            self.bytes[direction] += size


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.on_datagram(data, (str(addr[0]), int(addr[1])))


@dataclass(eq=False)
class _Route:
    user: UserLink
    node: Address
    to_user: _Side
    to_node: _Side
    user_addr: Address | None = None
    last: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        for side in (self.to_user, self.to_node):
            if side.transport is not None:
                side.transport.close()


class UdpRelay:
    """Relays each user's WebRTC datagrams through its channel (see the module doc)."""

    def __init__(self, *, user: Callable[[str], UserLink], clock: EmulatedClock,
                 registry: CollectorRegistry | None = None,
                 logger: logging.Logger | None = None) -> None:
        self._user = user
        self.clock = clock
        self.stats = RelayStats()
        self.log = logger or logging.getLogger("aaas.link.udp")
        self._routes: list[_Route] = []
        self._datagrams = Counter("aaas_link_udp_datagrams", "WebRTC datagrams through the "
                                  "link's UDP relay, by direction and fate (delivered, resent, "
                                  "lost, outage)", ["direction", "fate"],
                                  registry=registry if registry is not None
                                  else CollectorRegistry())

    async def route(self, user_id: str, node: Address) -> tuple[Address, Address]:
        """A path for *user_id*'s peer connection to the node at *node*.

        Returns (where the user sends to reach the node, where the node sends to
        reach the user): a user-facing and a node-facing socket of the relay.
        """
        self._sweep()
        loop = asyncio.get_running_loop()
        user = self._user(user_id)
        holder: list[_Route] = []
        _, to_user = await loop.create_datagram_endpoint(
            lambda: _Side(lambda d, a: self._up(holder[0], d, a)), local_addr=(node[0], 0))
        _, to_node = await loop.create_datagram_endpoint(
            lambda: _Side(lambda d, a: self._down(holder[0], d, a)), local_addr=(node[0], 0))
        r = _Route(user, node, to_user, to_node)
        holder.append(r)
        self._routes.append(r)
        a = to_user.transport.get_extra_info("sockname")  # type: ignore[union-attr]
        b = to_node.transport.get_extra_info("sockname")  # type: ignore[union-attr]
        return (a[0], a[1]), (b[0], b[1])

    def _up(self, r: _Route, data: bytes, src: Address) -> None:
        r.user_addr, r.last = src, time.monotonic()
        self._pass(r, r.user.up, "up", data, r.to_node, r.node)

    def _down(self, r: _Route, data: bytes, _src: Address) -> None:
        r.last = time.monotonic()
        if r.user_addr is not None:
            self._pass(r, r.user.down, "down", data, r.to_user, r.user_addr)

    def _pass(self, r: _Route, ch: DirectionChannel, direction: str, data: bytes, out: _Side,
              dst: Address) -> None:
        fate, delay = datagram_fate(ch, len(data), self.clock.now())
        self.stats.count(direction, fate, len(data))
        self._datagrams.labels(direction, fate).inc()
        if fate not in ("delivered", "resent") or out.transport is None:
            return
        transport = out.transport
        wall = self.clock.to_wall(delay)
        if wall <= 0.0005:
            transport.sendto(data, dst)
        else:
            asyncio.get_running_loop().call_later(wall, _send, transport, data, dst)

    def _sweep(self) -> None:
        now = time.monotonic()
        for r in [r for r in self._routes if now - r.last > _IDLE_ROUTE_S]:
            r.close()
            self._routes.remove(r)

    async def aclose(self) -> None:
        for r in self._routes:
            r.close()
        self._routes.clear()


def _send(transport: asyncio.DatagramTransport, data: bytes, dst: Address) -> None:
    with contextlib.suppress(OSError):
        if not transport.is_closing():
            transport.sendto(data, dst)
