"""The Grafana dashboards, built from code (``python -m monitoring.dashboards`` writes them).

Each panel is a PromQL query (or a few); the files under ``monitoring/grafana/dashboards``
are what Grafana provisions, and ``tests/monitoring`` runs every query of every panel
against a real Prometheus. ``$__rate_interval`` and ``$__range`` are Grafana's own.

Per-policy views of metrics that a service records without a policy (users, edge nodes)
join them to ``aaas_orchestrator_info{policy}`` (one orchestrator runs at a time), so
each point gets the policy that was running then (docs/metrics.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "Panel", "dashboard_json", "write_dashboards"]

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RI = "$__rate_interval"
POLICY = " * on() group_left(policy) max(aaas_orchestrator_info) by (policy)"
"""Appended to a no-label (or node-labelled) expression: adds the running policy."""
FINISHED = '{outcome="finished"}'
RETX = '{kind="retransmission"}'


@dataclass(frozen=True, kw_only=True)
class Panel:
    """One panel: a title, its queries (expr, legend) and how to draw them."""

    title: str
    queries: tuple[tuple[str, str], ...]
    """(PromQL, legend format) pairs."""
    kind: str = "timeseries"
    """Grafana panel type: timeseries, stat, bargauge, status-history."""
    unit: str = "short"
    description: str = ""
    width: int = 12
    instant: bool = False
    """Instant queries (stat and bar gauge over the dashboard's range)."""
    options: dict[str, Any] = field(default_factory=dict)


def _rate(metric: str, by: str = "", sel: str = "") -> str:
    grp = f" by ({by})" if by else ""
    return f"sum{grp} (rate({metric}{sel}[{RI}]))"


def _quantile(q: float, metric: str, by: str = "") -> str:
    return f"histogram_quantile({q}, sum by ({by + ', ' if by else ''}le) " \
           f"(rate({metric}_bucket[{RI}])))"


def _mean(metric: str, by: str = "") -> str:
    return f"{_rate(metric + '_sum', by)} / {_rate(metric + '_count', by)}"


def _total(metric: str, by: str, sel: str = "") -> str:
    return f"sum by ({by}) (increase({metric}{sel}[$__range]))"


OVERVIEW = (
    Panel(title="Tasks per second by outcome (users)", unit="reqps",
          queries=((_rate("aaas_user_tasks_total", "outcome"), "{{outcome}}"),
                   (_rate("aaas_user_tasks_sent_total"), "sent"))),
    Panel(title="Success ratio (finished / settled)", unit="percentunit",
          queries=((f"{_rate('aaas_user_tasks_total', sel=FINISHED)} / "
                    f"{_rate('aaas_user_tasks_total')}", "success"),)),
    Panel(title="Delivered quality (mean)", unit="none",
          queries=((_mean("aaas_user_quality"), "users"),
                   (_mean("aaas_edge_delivered_quality", "node"), "{{node}}"))),
    Panel(title="Delivered quality by content domain (mean)", unit="none",
          description="Mean quality of the finished tasks of each content domain (scenarios "
          "with [domains]; one domain, 'generic', otherwise), and finished tasks per second.",
          queries=((_mean("aaas_user_domain_quality", "domain"), "{{domain}}"),
                   (_rate("aaas_user_domain_tasks_total", "domain",
                          '{outcome="finished"}'), "{{domain}} finished/s"))),
    Panel(title="End-to-end latency (emulated s)", unit="s",
          queries=((_quantile(0.5, "aaas_user_latency_seconds"), "p50"),
                   (_quantile(0.95, "aaas_user_latency_seconds"), "p95"))),
    Panel(title="Crashes", unit="short",
          description="Rates per second: crash events, running tasks lost, their progress "
          "(sum of 0..1) and utility (sum of q_i(t)). Zero until a node is overloaded.",
          queries=((_rate("aaas_edge_crashes_total"), "crash events/s"),
                   (_rate("aaas_edge_tasks_total", sel='{outcome="crashed"}'), "tasks lost/s"),
                   (_rate("aaas_edge_lost_progress_total"), "progress lost/s"),
                   (_rate("aaas_edge_lost_utility_total"), "utility lost/s"))),
    Panel(title="Bandwidth", unit="Bps",
          description="MQTT payload bytes the users sent and received, and bytes on the "
          "emulated air (link) by direction and kind (first tries, retransmissions).",
          queries=((_rate("aaas_user_payload_bytes_total", "direction"), "payload {{direction}}"),
                   (_rate("aaas_link_bytes_on_air_total", "direction, kind"),
                    "air {{direction}} {{kind}}"))),
    Panel(title="Content delivery: broker vs WebRTC", unit="Bps",
          description="Payload bytes through the broker (users and edge nodes, MQTT) and "
          "content over WebRTC data channels (--delivery), and fallbacks to MQTT per second.",
          queries=((_rate("aaas_delivery_bytes_total", "path"), "{{path}} bytes"),
                   (f"{_rate('aaas_delivery_fallbacks_total', 'reason')} or vector(0)",
                    "fallbacks/s {{reason}}"))),
    Panel(title="Load per node (used / capacity)", kind="status-history", unit="percentunit",
          width=24, queries=(("max by (node) (aaas_edge_used_steps / aaas_edge_capacity_steps)",
                              "{{node}}"),),
          options={"showValue": "never", "rowHeight": 0.9}),
    Panel(title="Running tasks per node", unit="short",
          queries=(("sum by (node) (aaas_edge_running_tasks)", "{{node}}"),)),
    Panel(title="Free steps per node", unit="short",
          queries=(("sum by (node) (aaas_edge_free_steps)", "{{node}}"),)),
    Panel(title="Bad inputs per second by service and reason", unit="short",
          queries=(('sum by (__name__, reason) (rate({__name__=~"aaas_(edge|orchestrator|user)'
                    f'_bad_input_total"}}[{RI}]))', "{{__name__}} {{reason}}"),)),
    Panel(title="Orchestrator: decisions per second by node", unit="short",
          queries=((_rate("aaas_orchestrator_decisions_total", "node"), "{{node}}"),)),
)

POLICIES = (
    Panel(title="Utility earned (sum of q_i(t) of admitted tasks)", kind="bargauge",
          instant=True, queries=((_total("aaas_orchestrator_utility_total", "policy"),
                                  "{{policy}}"),)),
    Panel(title="Cumulative reward", unit="none",
          queries=(("max by (policy) (aaas_orchestrator_reward)", "{{policy}}"),)),
    Panel(title="Crash events and lost tasks", kind="bargauge", instant=True,
          queries=((_total("aaas_orchestrator_events_total", "policy", '{kind="crashed"}'),
                    "{{policy}} crashes"),
                   (_total("aaas_orchestrator_lost_tasks_total", "policy"),
                    "{{policy}} lost tasks"),
                   (_total("aaas_orchestrator_lost_progress_total", "policy"),
                    "{{policy}} lost progress"))),
    Panel(title="Mean quality of finished tasks", unit="none",
          queries=((_mean("aaas_orchestrator_task_quality", "policy"), "{{policy}}"),)),
    Panel(title="Success ratio (users, by running policy)", unit="percentunit",
          queries=((f"({_rate('aaas_user_tasks_total', sel=FINISHED)} / "
                    f"{_rate('aaas_user_tasks_total')}){POLICY}", "{{policy}}"),)),
    Panel(title="End-to-end latency p95 (users, by running policy)", unit="s",
          queries=((f"{_quantile(0.95, 'aaas_user_latency_seconds')}{POLICY}", "{{policy}}"),)),
    Panel(title="Decisions per chosen node", kind="bargauge", instant=True, width=24,
          queries=((_total("aaas_orchestrator_decisions_total", "policy, node"),
                    "{{policy}} {{node}}"),)),
    Panel(title="Decision latency (wall)", unit="s",
          queries=((_quantile(0.5, "aaas_orchestrator_decision_wall_seconds", "policy"),
                    "{{policy}} p50"),
                   (_quantile(0.99, "aaas_orchestrator_decision_wall_seconds", "policy"),
                    "{{policy}} p99"))),
    Panel(title="Utility lost in crashes per node (by running policy)", unit="none",
          queries=((f"{_rate('aaas_edge_lost_utility_total', 'node')}{POLICY}",
                    "{{policy}} {{node}}"),)),
)

LINK = (
    Panel(title="Bytes on air by direction and kind", unit="Bps",
          queries=((_rate("aaas_link_bytes_on_air_total", "direction, kind"),
                    "{{direction}} {{kind}}"),)),
    Panel(title="Retransmitted share of bytes on air", unit="percentunit",
          queries=((f"{_rate('aaas_link_bytes_on_air_total', 'direction', RETX)}"
                    f" / {_rate('aaas_link_bytes_on_air_total', 'direction')}", "{{direction}}"),)),
    Panel(title="Frames per second (sent, retried)", unit="short",
          queries=((_rate("aaas_link_frames_sent_total", "direction"), "sent {{direction}}"),
                   (_rate("aaas_link_frames_retried_total", "direction"),
                    "retried {{direction}}"))),
    Panel(title="Outages per second (packets held)", unit="short",
          queries=((_rate("aaas_link_outages_total", "direction"), "{{direction}}"),)),
    Panel(title="Outage hold p95 (emulated s)", unit="s",
          queries=((_quantile(0.95, "aaas_link_outage_seconds", "direction"), "{{direction}}"),)),
    Panel(title="Per-packet link delay (emulated s)", unit="s",
          queries=((_quantile(0.5, "aaas_link_delay_seconds", "direction"), "p50 {{direction}}"),
                   (_quantile(0.95, "aaas_link_delay_seconds", "direction"),
                    "p95 {{direction}}"))),
    Panel(title="Packets per second by fate", unit="short",
          queries=((_rate("aaas_link_packets_total", "direction, fate"),
                    "{{direction}} {{fate}}"),)),
    Panel(title="Live connections", unit="short",
          queries=(("sum(aaas_link_connections)", "connections"),)),
    Panel(title="User retries per second by reason", unit="short",
          description="Requests the users sent again (damaged content). `or vector(0)`: "
          "no retry at all is a legitimate answer, not missing data.",
          queries=((f"{_rate('aaas_user_retries_total', 'reason')} or vector(0)", "{{reason}}"),)),
)

DASHBOARDS = {
    "aaas-overview": ("AaaS: overview", OVERVIEW),
    "aaas-policies": ("AaaS: policy comparison", POLICIES),
    "aaas-link": ("AaaS: wireless link", LINK),
}


def _panel(p: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    targets = [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
                "datasource": DATASOURCE, "instant": p.instant, "range": not p.instant}
               for i, (expr, legend) in enumerate(p.queries)]
    return {"id": pid, "type": p.kind, "title": p.title, "description": p.description,
            "datasource": DATASOURCE, "gridPos": {"h": 8, "w": p.width, "x": x, "y": y},
            "targets": targets, "options": p.options,
            "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []}}


def dashboard_json(uid: str) -> dict[str, Any]:
    """The Grafana dashboard model for *uid* (a key of DASHBOARDS)."""
    title, panels = DASHBOARDS[uid]
    out, x, y = [], 0, 0
    for i, p in enumerate(panels, start=1):
        if x + p.width > 24:
            x, y = 0, y + 8
        out.append(_panel(p, i, x, y))
        x += p.width
    return {"uid": uid, "title": title, "tags": ["aaas"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "editable": True, "refresh": "5s",
            "time": {"from": "now-30m", "to": "now"}, "panels": out,
            "templating": {"list": []}, "annotations": {"list": []}}


def write_dashboards(folder: Path) -> list[Path]:
    """Write every dashboard as ``folder/<uid>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid in DASHBOARDS:
        path = folder / f"{uid}.json"
        path.write_text(json.dumps(dashboard_json(uid), indent=2) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_dashboards(Path(__file__).parent / "grafana" / "dashboards"):
        print(written)
