"""The demo's delivery wiring: the link's UDP relay for WebRTC, and the summary section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
from prometheus_client import CollectorRegistry

from aaas.datachannel import DeliveryMode
from monitoring import FALLBACK_REASONS

if TYPE_CHECKING:
    from link import UdpRelay

__all__ = ["DeliveryTotals", "delivery_totals"]


class DeliveryTotals(msgspec.Struct, kw_only=True):
    """How content travelled (``delivery`` in the demo's JSON)."""

    mode: DeliveryMode
    broker_bytes: int
    """MQTT payload bytes through the broker: published to it plus delivered by it, summed
    over every client (users, edge nodes, orchestrator)."""
    webrtc_bytes: int
    """Content bytes over WebRTC data channels (counted once, at the receiver)."""
    fallbacks: int
    """Content that went over MQTT although WebRTC was asked for (users and nodes)."""
    fallbacks_by_reason: dict[str, int] = {}
    """The same by reason (``monitoring.FALLBACK_REASONS``, docs/metrics.md); a reason
    with none is left out."""
    peer_setups: int
    """Peer connections opened (at the nodes)."""
    peer_setup_wall_s: float | None = None
    """Mean wall seconds from a node's offer to an open data channel (None: none opened)."""
    udp_datagrams_lost: int = 0
    """WebRTC datagrams the link's channel lost (loss and outage)."""
    seconds_per_mb: dict[str, float] = {}
    """Mean emulated seconds per MB from a result's finish at the node to its content at
    the user, by path (``broker``, ``webrtc``; a path that carried none is left out)."""
    tasks_with_preview: int = 0
    """Tasks whose user got at least one ``preview`` frame before the answer
    (``--preview-every``, repaint nodes)."""
    first_preview_s: float | None = None
    """Mean emulated seconds from sending a task to its first preview (None: no previews);
    compare with the summary's ``latency_s``."""


def _sum(registry: CollectorRegistry | Sequence[CollectorRegistry], name: str,
         **match: str) -> float:
    total = 0.0
    for reg in [registry] if isinstance(registry, CollectorRegistry) else registry:
        for metric in reg.collect():
            for s in metric.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in match.items()):
                    total += s.value
    return total


def delivery_totals(registry: CollectorRegistry | Sequence[CollectorRegistry], mode: DeliveryMode,
                    relay: UdpRelay | None = None) -> DeliveryTotals:
    """The totals of a run from its registry (every service's metrics on it), or from the
    registries of its processes (a spread demo: testbed.spread)."""
    broker = (_sum(registry, "aaas_delivery_bytes_total", path="broker")
              + _sum(registry, "aaas_orchestrator_payload_bytes_total"))
    previewed = _sum(registry, "aaas_delivery_first_preview_seconds_count")
    setups = _sum(registry, "aaas_delivery_peer_setup_wall_seconds_count", service="edge")
    lost = 0
    if relay is not None:
        lost = sum(n for (_d, fate), n in relay.stats.counts.items() if fate in ("lost", "outage"))
    return DeliveryTotals(
        mode=mode, broker_bytes=int(broker),
        webrtc_bytes=int(_sum(registry, "aaas_delivery_bytes_total", path="webrtc",
                              direction="received")),
        fallbacks=int(_sum(registry, "aaas_delivery_fallbacks_total")),
        fallbacks_by_reason=_by_reason(registry), peer_setups=int(setups),
        peer_setup_wall_s=round(_sum(registry, "aaas_delivery_peer_setup_wall_seconds_sum",
                                     service="edge") / setups, 3) if setups else None,
        udp_datagrams_lost=lost, seconds_per_mb=_per_mb(registry),
        tasks_with_preview=int(previewed),
        first_preview_s=round(_sum(registry, "aaas_delivery_first_preview_seconds_sum")
                              / previewed, 3) if previewed else None)


def _by_reason(registry: CollectorRegistry | Sequence[CollectorRegistry]) -> dict[str, int]:
    out = {r: int(_sum(registry, "aaas_delivery_fallbacks_total", reason=r))
           for r in FALLBACK_REASONS}
    return {r: n for r, n in out.items() if n}


def _per_mb(registry: CollectorRegistry | Sequence[CollectorRegistry]) -> dict[str, float]:
    out = {}
    for path in ("broker", "webrtc"):
        n = _sum(registry, "aaas_delivery_seconds_per_megabyte_count", path=path)
        if n:
            out[path] = round(_sum(registry, "aaas_delivery_seconds_per_megabyte_sum",
                                   path=path) / n, 3)
    return out
