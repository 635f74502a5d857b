"""Every PromQL query of every provisioned dashboard, run by a real Prometheus on a real run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from monitoring_testbed import ROOT, WatchedRun, prom_get

DASHBOARDS = sorted((ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json"))
# Grafana's own variables, as Grafana would fill them for "the last 5 minutes".
GRAFANA_VARS = {"$__rate_interval": "5m", "$__range": "5m"}


def _queries() -> list[tuple[str, str, str]]:
    out = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                out.append((path.stem, panel["title"], target["expr"]))
    return out


QUERIES = _queries()


def _expand(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def _query(run: WatchedRun, expr: str) -> list[dict[str, Any]]:
    res = prom_get(run.prometheus, "/api/v1/query", query=expr, time=run.at)
    if res["status"] != "success":
        raise AssertionError(f"{expr}: {res}")
    return list(res["data"]["result"])


def _scalar(run: WatchedRun, expr: str) -> float:
    result = _query(run, expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def test_three_dashboards_with_queries() -> None:
    assert {p.stem for p in DASHBOARDS} == {"aaas-overview", "aaas-policies", "aaas-link"}
    assert len(QUERIES) >= 30


def test_dashboards_are_built_from_code(tmp_path: Path) -> None:
    from monitoring.dashboards import write_dashboards

    for fresh in write_dashboards(tmp_path):
        checked_in = ROOT / "monitoring" / "grafana" / "dashboards" / fresh.name
        assert checked_in.read_text() == fresh.read_text(), (
            f"{checked_in.name} is stale: run python -m monitoring.dashboards")


@pytest.mark.parametrize(("dashboard", "title", "expr"), QUERIES,
                         ids=[f"{d}:{t}:{i}" for i, (d, t, _) in enumerate(QUERIES)])
def test_panel_query_returns_data(watched_run: WatchedRun, dashboard: str, title: str,
                                  expr: str) -> None:
    result = _query(watched_run, _expand(expr))
    assert result, f"{dashboard} / {title}: no data for {expr}"
    values = [float(r["value"][1]) for r in result]
    assert any(math.isfinite(v) for v in values), f"{dashboard} / {title}: {values}"


def test_metrics_agree_with_the_summary(watched_run: WatchedRun) -> None:
    s, run = watched_run.summary, watched_run
    tasks = s["tasks"]
    assert tasks["sent"] > 20
    assert _scalar(run, "sum(aaas_user_tasks_sent_total)") == tasks["sent"]
    for outcome in ("finished", "crashed", "rejected", "error", "undeliverable", "lost"):
        got = _scalar(run, f'sum(aaas_user_tasks_total{{outcome="{outcome}"}})')
        assert got == tasks[outcome], outcome
    assert s["crashes"] > 0, "the workload is meant to crash nodes"
    assert _scalar(run, "sum(aaas_edge_crashes_total)") == s["crashes"]
    assert _scalar(run, 'sum(aaas_orchestrator_events_total{kind="crashed"})') == s["crashes"]
    assert _scalar(run, "sum(aaas_orchestrator_utility_total)") == pytest.approx(
        s["reward"]["utility"])
    assert _scalar(run, "sum(aaas_orchestrator_reward)") == pytest.approx(s["reward"]["total"])
    assert _scalar(run, 'sum(aaas_user_payload_bytes_total{direction="sent"})') == s["bytes"]["up"]
    finished_q = _scalar(run, "sum(aaas_user_quality_sum) / sum(aaas_user_quality_count)")
    assert finished_q == pytest.approx(s["quality"]["mean"])
    assert _scalar(run, 'count(aaas_orchestrator_info{policy="random",scenario="watched"})') == 1
    assert _scalar(run, "sum(aaas_orchestrator_bad_input_total)") >= 1  # the garbage request


def test_link_saw_the_traffic(watched_run: WatchedRun) -> None:
    run = watched_run
    up = _scalar(run, 'sum(aaas_link_bytes_on_air_total{direction="up"})')
    assert up > watched_run.summary["bytes"]["up"]  # payloads plus MQTT framing and resends
    assert _scalar(run, 'sum(aaas_link_bytes_on_air_total{kind="retransmission"})') > 0
    assert _scalar(run, "sum(aaas_link_outages_total)") > 0
