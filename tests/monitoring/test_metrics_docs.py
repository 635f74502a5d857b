"""Every metric of every service is documented in docs/metrics.md, by its exposed name."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from link.metrics import LinkMetrics
from link.udp import UdpRelay
from monitoring import DeliveryMetrics, EdgeMetrics, OrchestratorMetrics, UserMetrics

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()


def _exposed(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


def test_every_metric_is_documented_with_its_type() -> None:
    registry = CollectorRegistry()
    EdgeMetrics(registry)
    OrchestratorMetrics(registry)
    UserMetrics(registry)
    LinkMetrics(registry=registry)
    DeliveryMetrics(registry)
    UdpRelay(user=lambda _u: None, clock=None, registry=registry)  # type: ignore[arg-type,return-value]
    types = {f.name + ("_total" if f.type == "counter" else ""): f.type
             for f in registry.collect()}
    assert len(types) > 40
    for name in _exposed(registry):
        row = re.search(rf"^\| `{name}` \| (\w+) \|", DOC, re.MULTILINE)
        assert row is not None, f"{name} is not in docs/metrics.md"
        assert row.group(1) == types[name], name


def test_known_series_start_at_zero() -> None:
    registry = CollectorRegistry()
    EdgeMetrics(registry).init_node("asp-00")
    OrchestratorMetrics(registry).init_policy("random", "paper")
    UserMetrics(registry)
    get = registry.get_sample_value
    assert get("aaas_edge_crashes_total", {"node": "asp-00"}) == 0
    assert get("aaas_edge_tasks_total", {"node": "asp-00", "outcome": "crashed"}) == 0
    assert get("aaas_orchestrator_events_total", {"policy": "random", "kind": "crashed"}) == 0
    assert get("aaas_orchestrator_info", {"policy": "random", "scenario": "paper"}) == 1
    assert get("aaas_user_tasks_total", {"outcome": "lost"}) == 0
