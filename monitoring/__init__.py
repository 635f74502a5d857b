"""Monitoring: metric containers per service, the /metrics server, dashboards."""

from .delivery import DeliveryMetrics
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
    "LATENCY_BUCKETS_S",
    "DeliveryMetrics",
    "EdgeMetrics",
    "MetricsServer",
    "OrchestratorMetrics",
    "UserMetrics",
    "byte_counter",
    "scrape_address",
    "write_file_sd",
]
