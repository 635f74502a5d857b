"""What ``aaas report`` plots, read from a demo's JSON or from Prometheus."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError, Outcome

__all__ = ["RunData", "from_demo_json", "from_prometheus"]


@dataclass(kw_only=True)
class RunData:
    """A run as curves over time (hours since its start) and a summary."""

    source: str
    """Where it came from (a file or a Prometheus URL)."""
    time_axis: str
    """What the x axis of the time plots is (emulated or wall hours)."""
    outcomes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """outcome -> (hours, cumulative tasks)."""
    latency_edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Latency histogram bin edges (emulated s)."""
    latency_counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    load_nodes: list[str] = field(default_factory=list)
    load_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    load: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """nodes × time: share of the node's capacity in use (0..1), or tasks in flight."""
    load_label: str = ""
    bandwidth: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """series name -> (hours, cumulative bytes)."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Flat key -> value table for the HTML page."""
    samples: list[dict[str, Any]] = field(default_factory=list)
    """Received results (``aaas demo --json-samples N``): base64 PNGs ``original``,
    ``damaged``, ``restored`` with ``node_id``, ``backend``, ``model``, ``domain``, ``steps``."""


def _latency_bins(lat: np.ndarray) -> np.ndarray:
    if lat.size == 0:
        return np.array([0.0, 1.0])
    return np.linspace(0.0, float(lat.max()) * 1.05 + 1e-9, 31)


def _flat_summary(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in s.items():
        if k in ("records", "samples"):
            continue
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def from_demo_json(path: Path) -> RunData:
    """A run from ``aaas demo --json PATH --json-records``."""
    try:
        s = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a demo summary: {exc}") from None
    records = s.get("records")
    if not isinstance(records, list) or not records:
        raise ConfigError(f"{path}: no task records; run aaas demo with --json-records")
    t0 = min(r["sent_at"] for r in records)
    sent_h = np.array([(r["sent_at"] - t0) / 3600 for r in records])
    order = np.argsort(sent_h)
    data = RunData(source=str(path), time_axis="emulated hours since the first task (by send time)",
                   summary=_flat_summary(s), samples=list(s.get("samples") or []))
    for outcome in Outcome:
        hit = np.array([r["outcome"] == outcome for r in records])[order]
        data.outcomes[outcome.value] = (sent_h[order], np.cumsum(hit))
    lat = np.array([r["latency_s"] for r in records
                    if r["outcome"] == Outcome.FINISHED and r["latency_s"] is not None])
    data.latency_edges = _latency_bins(lat)
    data.latency_counts, _ = np.histogram(lat, bins=data.latency_edges)
    _records_load(data, records, t0)
    for key, name in (("bytes_up", "payload up"), ("bytes_down", "payload down")):
        sizes = np.array([r[key] for r in records])[order]
        data.bandwidth[name] = (sent_h[order], np.cumsum(sizes))
    return data


def _records_load(data: RunData, records: list[dict[str, Any]], t0: float) -> None:
    """Tasks in flight per node (finished tasks: from send to delivery)."""
    done = [r for r in records if r["outcome"] == Outcome.FINISHED and r["node_id"] is not None
            and r["latency_s"] is not None]
    nodes = sorted({r["node_id"] for r in done})
    end = max((r["sent_at"] + r["latency_s"] for r in done), default=t0 + 1.0)
    grid = np.linspace(t0, end, 200)
    load = np.zeros((len(nodes), grid.size))
    index = {n: i for i, n in enumerate(nodes)}
    for r in done:
        busy = (grid >= r["sent_at"]) & (grid < r["sent_at"] + r["latency_s"])
        load[index[r["node_id"]]] += busy
    data.load_nodes, data.load_hours, data.load = nodes, (grid - t0) / 3600, load
    data.load_label = "finished tasks in flight (send to delivery)"


# -- Prometheus ----------------------------------------------------------------------------
def _get(base: str, path: str, **params: Any) -> list[dict[str, Any]]:
    url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = json.loads(resp.read())
    except OSError as exc:
        raise ConfigError(f"Prometheus at {base}: {exc}") from None
    if body.get("status") != "success":
        raise ConfigError(f"Prometheus: {body.get('error', body)}")
    return list(body["data"]["result"])


def _range(base: str, query: str, start: float, end: float, step: float,
           label: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for series in _get(base, "/api/v1/query_range", query=query, start=start, end=end, step=step):
        v = np.array(series["values"], dtype=float)
        out[series["metric"].get(label, label)] = ((v[:, 0] - start) / 3600, v[:, 1])
    return out


def from_prometheus(base: str, start: float, end: float) -> RunData:
    """A run from a Prometheus that scraped it, between Unix times *start* and *end*."""
    if end <= start:
        raise ConfigError("--end must be after --start")
    step = max(1.0, (end - start) / 300)
    data = RunData(source=base, time_axis="wall hours since --start")
    data.outcomes = _range(base, "sum by (outcome) (aaas_user_tasks_total)", start, end, step,
                           "outcome")
    if not data.outcomes:
        raise ConfigError(f"Prometheus at {base} has no aaas_user_tasks_total in that range")
    buckets = _get(base, "/api/v1/query", time=end, query="sum by (le) (max_over_time("
                   f"aaas_user_latency_seconds_bucket[{int(end - start) + 1}s]))")
    les = sorted((float(b["metric"]["le"]), float(b["value"][1])) for b in buckets)
    finite = [(le, c) for le, c in les if np.isfinite(le)]
    if finite:
        edges = np.array([0.0] + [le for le, _ in finite])
        data.latency_edges = edges
        data.latency_counts = np.diff(np.array([0.0] + [c for _, c in finite]))
    load = _range(base, "max by (node) (aaas_edge_used_steps / aaas_edge_capacity_steps)",
                  start, end, step, "node")
    if load:
        data.load_nodes = sorted(load)
        data.load_hours = load[data.load_nodes[0]][0]
        n = data.load_hours.size
        data.load = np.array([np.resize(load[k][1], n) for k in data.load_nodes])
        data.load_label = "used / capacity"
    data.bandwidth = {f"payload {k}": v for k, v in _range(
        base, "sum by (direction) (aaas_user_payload_bytes_total)", start, end, step,
        "direction").items()}
    data.bandwidth.update({f"air {k}": v for k, v in _range(
        base, "sum by (direction) (aaas_link_bytes_on_air_total)", start, end, step,
        "direction").items()})
    data.summary = {f"tasks.{k}": int(v[1][-1]) for k, v in data.outcomes.items()}
    data.summary.update({"prometheus": base, "start": start, "end": end})
    return data
