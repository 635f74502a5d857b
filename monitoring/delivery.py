"""Metrics of content delivery (MQTT through the broker, or WebRTC straight between peers).

One container for both services that deliver content (label ``service``: ``user`` or
``edge``), on an injected registry; documented in ``docs/metrics.md``.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .metrics import LATENCY_BUCKETS_S

__all__ = ["DELIVERY_PATHS", "FALLBACK_REASONS", "DeliveryMetrics", "FallbackContent",
           "FallbackReason"]

DELIVERY_PATHS = ("broker", "webrtc")
FallbackContent = Literal["upload", "result"]
"""What went over MQTT: a request's content (``upload``) or a result's image."""
FallbackReason = Literal[
    "peer_setup_timeout",   # no open data channel within setup_timeout_s
    "peer_setup_failed",    # the setup failed (aiortc error, ICE or DTLS failed)
    "peer_closed",          # the data channel closed during the transfer
    "peer_failed",          # the connection failed (ICE) during the transfer
    "peer_stalled",         # an earlier frame on the channel timed out: it is not trusted
    "transfer_timeout",     # the frame was not answered within transfer_timeout_s
    "send_failed",          # sending the frame raised
    "result_damaged",       # the user's ack: the result's checksum did not match
    "bad_content",          # the user's content failed its size or checksum check
    "stopping",             # the node stopped during the transfer
    "no_webrtc",            # the node does not take WebRTC (its --delivery is mqtt)
    "content_unavailable",  # (user) the node asked for the content inline
]
"""Why content went over MQTT although WebRTC was asked for (docs/metrics.md)."""
FALLBACK_REASONS: tuple[FallbackReason, ...] = get_args(FallbackReason)
SETUP_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
PER_MB_BUCKETS_S = (0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class DeliveryMetrics:
    """Bytes by path, fallbacks, peer connections, delivery time per MB, previews."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bytes = Counter("aaas_delivery_bytes", "Payload bytes by path (broker: MQTT "
                             "payloads to and from the broker; webrtc: data channel content), "
                             "service and direction (sent, received)",
                             ["path", "service", "direction"], registry=registry)
        self.fallbacks = Counter("aaas_delivery_fallbacks", "Content sent over MQTT although "
                                 "WebRTC was asked for, by service, content (upload, result) "
                                 "and reason", ["service", "content", "reason"],
                                 registry=registry)
        self.peer_setup = Histogram("aaas_delivery_peer_setup_wall_seconds", "Wall seconds "
                                    "from a WebRTC offer to an open data channel",
                                    ["service"], buckets=SETUP_BUCKETS_S, registry=registry)
        self.peer_failures = Counter("aaas_delivery_peer_failures", "Peer connections that "
                                     "could not be set up or broke, by service and reason",
                                     ["service", "reason"], registry=registry)
        self.peers = Gauge("aaas_delivery_peer_connections", "Open WebRTC peer connections",
                           ["service"], registry=registry)
        self.seconds_per_mb = Histogram("aaas_delivery_seconds_per_megabyte", "Emulated "
                                        "seconds from a result's finish at the node to its "
                                        "content at the user, per MB, by path",
                                        ["path"], buckets=PER_MB_BUCKETS_S, registry=registry)
        self.first_preview = Histogram("aaas_delivery_first_preview_seconds", "Emulated "
                                       "seconds from sending a task to its first preview",
                                       buckets=LATENCY_BUCKETS_S, registry=registry)
        for service in ("user", "edge"):
            self.peers.labels(service)
            for path in DELIVERY_PATHS:
                for direction in ("sent", "received"):
                    self.bytes.labels(path, service, direction)

    def fallback(self, service: str, content: FallbackContent, reason: FallbackReason) -> None:
        """Count one fallback to MQTT."""
        self.fallbacks.labels(service, content, reason).inc()

    def totals(self) -> dict[str, float]:
        """Sums over labels: ``broker_bytes``, ``webrtc_bytes``, ``fallbacks``."""
        out = {"broker_bytes": 0.0, "webrtc_bytes": 0.0, "fallbacks": 0.0}
        for metric in self.bytes.collect():
            for s in metric.samples:
                if s.name.endswith("_total"):
                    out[f"{s.labels['path']}_bytes"] += s.value
        for metric in self.fallbacks.collect():
            out["fallbacks"] += sum(s.value for s in metric.samples if s.name.endswith("_total"))
        return out
