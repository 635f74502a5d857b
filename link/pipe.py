"""One direction of one proxied connection: read whole packets, pass them through the channel."""

from __future__ import annotations

import asyncio

from aaas import EmulatedClock

from .direction import DirectionChannel
from .metrics import LinkMetrics
from .mqtt_frames import PUBLISH, Packet, publish_payload_offset
from .side import LinkSide
from .user import UserLink

__all__ = ["LinkClosedError", "pump"]

_MIN_SLEEP_S = 0.0005
"""Wall delays shorter than this are not slept at once: they add up in the link's queue."""


class LinkClosedError(Exception):
    """The link closed the connection (long outage, retry limit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def pump(*, direction: str, first: Packet | None, src: LinkSide,
               dst: LinkSide, user: UserLink, level: int, clock: EmulatedClock,
               metrics: LinkMetrics) -> None:
    """Forward packets from *src* to *dst* until end of stream.

    *src* forwards what it can itself while the channel is perfect and nothing
    is pending here; the rest comes here. A perfect channel forwards a batch in
    one write; any other channel takes the packets one by one. Raises
    LinkClosedError when the link cuts the connection.
    """
    channel = user.up if direction == "up" else user.down
    if first is not None:
        await _one(direction, first, dst, user, channel, level, clock, metrics)
    while (batch := await src.next_batch()) is not None:
        data, bounds = batch
        if user.perfect(clock.now()):
            dst.write(data)
            metrics.forwarded(direction, len(data), len(bounds))
        else:
            for start, hlen, end in bounds:
                packet = Packet(data[start:start + hlen], data[start + hlen:end])
                await _one(direction, packet, dst, user, channel, level, clock, metrics)
        if dst.pending_write() > 1 << 20:
            await dst.drain()


async def _one(direction: str, packet: Packet, dst: LinkSide, user: UserLink,
               channel: DirectionChannel, level: int, clock: EmulatedClock,
               metrics: LinkMetrics) -> None:
    if user.perfect(clock.now()):
        dst.write(packet.header + packet.body)
        metrics.forwarded(direction, len(packet), 1)
    else:
        await _through_channel(direction, packet, dst, user, channel, level, clock, metrics)


async def _through_channel(direction: str, packet: Packet, dst: LinkSide, user: UserLink,
                           channel: DirectionChannel, level: int, clock: EmulatedClock,
                           metrics: LinkMetrics) -> None:
    raw = packet.header + packet.body
    payload_from = None
    if packet.type == PUBLISH:
        payload_from = len(packet.header) + publish_payload_offset(packet, level)
    now = clock.now()
    tx = channel.transmit(raw, now, payload_from)
    deliver_at = tx.deliver_s
    delay = max(0.0, deliver_at - now)
    metrics.record(direction, tx, delay)
    metrics.stats.add(user.channel_class, user.user_id, direction, tx)
    wait = clock.to_wall(deliver_at - clock.now())
    if tx.closed is not None:
        await asyncio.sleep(max(0.0, wait))
        raise LinkClosedError(tx.closed)
    if wait > _MIN_SLEEP_S:
        await asyncio.sleep(wait)
    dst.write(tx.packet)
