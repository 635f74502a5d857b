"""Prometheus metrics of the link (documented in docs/metrics.md, section Link)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .transmission import Transmission

__all__ = ["ClassStats", "LinkMetrics", "LinkStats"]


@dataclass(kw_only=True)
class ClassStats:
    """What the link carried for the users of one channel class (link.user.CHANNEL_CLASSES)."""

    users: set[str] = field(default_factory=set)
    air_up: int = 0
    """Uplink bytes on the air, first tries and retransmissions."""
    air_down: int = 0
    delivered_up: int = 0
    """Uplink bytes of the packets delivered (each once)."""
    delivered_down: int = 0
    retransmissions: int = 0
    """Frame tries beyond the first, both directions."""
    closed: int = 0
    """Packets whose connection the link closed (outage, retry limit)."""

_DELAY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0)
_OUTAGE_BUCKETS = (0.001, 0.01, 0.1, 1.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(kw_only=True)
class LinkStats:
    """Totals since the proxy started (what ``LinkProxy.stats()`` returns)."""

    bytes_on_air_up: int = 0
    """Uplink bytes on the air, first tries and retransmissions."""
    bytes_on_air_down: int = 0
    bytes_retx_up: int = 0
    """Uplink bytes on the air in retransmissions."""
    bytes_retx_down: int = 0
    frames: int = 0
    """Frames on the air, both directions, every try."""
    retransmissions: int = 0
    """Frame tries beyond the first, both directions."""
    packets: int = 0
    """MQTT packets delivered, both directions."""
    corrupted_packets: int = 0
    outages: int = 0
    """Packets held by an outage."""
    outage_s: float = 0.0
    """Emulated seconds packets were held by outages."""
    connections: int = 0
    """Connections accepted."""
    closed_by_link: int = 0
    """Connections the link closed (long outage, retry limit)."""
    by_class: dict[str, ClassStats] = field(default_factory=dict)
    """The same by the users' channel class (near, far, deep_fade)."""

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in vars(self).items() if k != "by_class"}

    def add(self, klass: str, user_id: str, direction: str, tx: Transmission) -> None:
        """Account one packet of *user_id* (of channel class *klass*)."""
        c = self.by_class.get(klass)
        if c is None:
            c = self.by_class[klass] = ClassStats()
        c.users.add(user_id)
        on_air = tx.bytes_payload + tx.bytes_retx
        delivered = 0 if tx.closed is not None else len(tx.packet)
        if direction == "up":
            c.air_up += on_air
            c.delivered_up += delivered
        else:
            c.air_down += on_air
            c.delivered_down += delivered
        c.retransmissions += tx.frames_retried
        c.closed += tx.closed is not None


@dataclass(kw_only=True)
class LinkMetrics:
    """The link's MetricsContainer, on an injected registry (no global state)."""

    registry: CollectorRegistry
    stats: LinkStats = field(default_factory=LinkStats)

    def __post_init__(self) -> None:
        self._perfect: dict[str, tuple[Counter, Counter]] = {}
        r, d = self.registry, ["direction"]
        self.bytes_on_air = Counter("aaas_link_bytes_on_air", "Bytes on the air",
                                    [*d, "kind"], registry=r)
        self.frames_sent = Counter("aaas_link_frames_sent", "Frames on the air, every try",
                                   d, registry=r)
        self.frames_retried = Counter("aaas_link_frames_retried",
                                      "Frame tries beyond the first (ARQ)", d, registry=r)
        self.frames_failed = Counter("aaas_link_frames_failed",
                                     "Frames given up by ARQ (TCP resent them)", d, registry=r)
        self.bits_flipped = Counter("aaas_link_bits_flipped",
                                    "Payload bits flipped (corrupt mode)", d, registry=r)
        self.packets = Counter("aaas_link_packets", "MQTT packets by fate",
                               [*d, "fate"], registry=r)
        self.outages = Counter("aaas_link_outages", "Packets held by an outage", d, registry=r)
        self.outage_seconds = Histogram("aaas_link_outage_seconds",
                                        "Emulated seconds a packet was held by an outage", d,
                                        buckets=_OUTAGE_BUCKETS, registry=r)
        self.delay = Histogram("aaas_link_delay_seconds",
                               "Emulated per-packet link delay (queue, outage, air time)", d,
                               buckets=_DELAY_BUCKETS, registry=r)
        self.connections = Gauge("aaas_link_connections", "Live proxied connections", registry=r)
        self.connections_total = Counter("aaas_link_connections_opened",
                                         "Connections accepted", registry=r)
        self.closed = Counter("aaas_link_connections_closed", "Connections closed, by reason",
                              ["reason"], registry=r)
        self.control = Counter("aaas_link_control_messages",
                               "Control-topic messages, by outcome", ["outcome"], registry=r)

    def record(self, direction: str, tx: Transmission, delay_s: float) -> None:
        """Account one packet's transmission (delivered or closed)."""
        s = self.stats
        self.bytes_on_air.labels(direction, "payload").inc(tx.bytes_payload)
        self.bytes_on_air.labels(direction, "retransmission").inc(tx.bytes_retx)
        self.frames_sent.labels(direction).inc(tx.frames)
        self.frames_retried.labels(direction).inc(tx.frames_retried)
        self.frames_failed.labels(direction).inc(tx.frames_failed)
        on_air = tx.bytes_payload + tx.bytes_retx
        if direction == "up":
            s.bytes_on_air_up += on_air
            s.bytes_retx_up += tx.bytes_retx
        else:
            s.bytes_on_air_down += on_air
            s.bytes_retx_down += tx.bytes_retx
        s.frames += tx.frames
        s.retransmissions += tx.frames_retried
        if tx.hold_s > 0:
            self.outages.labels(direction).inc()
            self.outage_seconds.labels(direction).observe(tx.hold_s)
            s.outages += 1
            s.outage_s += tx.hold_s
        if tx.closed is not None:
            self.packets.labels(direction, "lost_on_close").inc()
            return
        if tx.bits_flipped:
            self.bits_flipped.labels(direction).inc(tx.bits_flipped)
            s.corrupted_packets += 1
        self.packets.labels(direction, "delayed" if delay_s > 0 else "forwarded").inc()
        self.delay.labels(direction).observe(delay_s)
        s.packets += 1

    def forwarded(self, direction: str, nbytes: int, packets: int) -> None:
        """Packets over a perfect channel: no delay (not in the histogram), bytes as payload."""
        children = self._perfect.get(direction)
        if children is None:
            children = self._perfect[direction] = (
                self.bytes_on_air.labels(direction, "payload"),
                self.packets.labels(direction, "forwarded"))
        children[0].inc(nbytes)
        children[1].inc(packets)
        if direction == "up":
            self.stats.bytes_on_air_up += nbytes
        else:
            self.stats.bytes_on_air_down += nbytes
        self.stats.packets += packets
