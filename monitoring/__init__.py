"""Monitoring: metric containers per service, the /metrics server, dashboards."""

from .delivery import FALLBACK_REASONS, DeliveryMetrics, FallbackContent, FallbackReason
from .metrics import (
    LATENCY_BUCKETS_S,
    EdgeMetrics,
    OrchestratorMetrics,
    UserMetrics,
    byte_counter,
)
from .sd import scrape_address, write_file_sd
from .server import MetricsServer

__all__ = [
    "FALLBACK_REASONS",
    "LATENCY_BUCKETS_S",
    "DeliveryMetrics",
    "EdgeMetrics",
    "FallbackContent",
    "FallbackReason",
    "MetricsServer",
    "OrchestratorMetrics",
    "UserMetrics",
    "byte_counter",
    "scrape_address",
    "write_file_sd",
]
