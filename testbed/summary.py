"""The demo's summary as a rich table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from aaas import Outcome

__all__ = ["summary_table"]


def _fmt(v: Any, spec: str = ",.0f") -> str:
    return "–" if v is None else format(v, spec)


def summary_table(s: dict[str, Any]) -> Table:
    t = Table(title=f"aaas demo: scenario {s['scenario']}, policy {s['policy']}",
              show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    tasks = s["tasks"]
    t.add_row("tasks sent", _fmt(tasks["sent"]))
    for k in Outcome:
        share = tasks[k] / tasks["sent"] if tasks["sent"] else 0.0
        t.add_row(f"  {k}", f"{tasks[k]:,} ({share:.1%})")
    t.add_row("crash events", _fmt(s["crashes"]))
    t.add_row("reward (total)", _fmt(s["reward"]["total"], ",.2f"))
    t.add_row("utility (admitted q)", _fmt(s["reward"]["utility"], ",.2f"))
    t.add_row("quality (mean, finished)", _fmt(s["quality"]["mean"], ".3f"))
    for name, d in (s.get("domains") or {}).items():
        t.add_row(f"  {name}: quality (finished / tasks)",
                  f"{_fmt(d['quality_mean'], '.3f')} ({d['finished']:,} / {d['tasks']:,})")
    t.add_row("latency p50 / p95 (emulated s)",
              f"{_fmt(s['latency_s']['p50'])} / {_fmt(s['latency_s']['p95'])}")
    t.add_row("payload bytes up / down", f"{s['bytes']['up']:,} / {s['bytes']['down']:,}")
    if "link" in s:
        link = s["link"]
        air = f"{link.get('air_up', 0):,} / {link.get('air_down', 0):,}"
        t.add_row("bytes on air up / down", air)
        t.add_row("retransmissions", _fmt(link.get("retransmissions")))
        for name, c in link.get("by_class", {}).items():
            t.add_row(f"  {name}: {c['users']} users, {c['tasks']} tasks",
                      f"air/byte {_fmt(c['air_per_byte_up'], '.2f')} up, "
                      f"{_fmt(c['air_per_byte_down'], '.2f')} down; "
                      f"{_fmt(c['retransmissions_per_task'], ',.0f')} retx/task")
    if "delivery" in s:
        d = s["delivery"]
        t.add_row(f"delivery ({d['mode']}): broker / WebRTC bytes",
                  f"{d['broker_bytes']:,} / {d['webrtc_bytes']:,}")
        why = ", ".join(f"{r} {n}" for r, n in d.get("fallbacks_by_reason", {}).items())
        t.add_row("delivery fallbacks to MQTT", _fmt(d["fallbacks"]) + (f" ({why})" if why
                                                                         else ""))
        if d.get("peer_setup_wall_s") is not None:
            t.add_row("peer setups (nodes)", f"{d['peer_setups']}, "
                      f"mean {d['peer_setup_wall_s']:.2f} wall s")
    t.add_row("retries (users)", _fmt(s["retries"]))
    if "emulation" in s:
        em = s["emulation"]
        lag = (f"p99 lag {em['lag_share']['p99']:.2%} of the runtimes, "
               f"{em['lag_s']['p99']:,.0f} emulated s")
        t.add_row("emulation", f"valid ({lag})" if em["valid"] else f"[red]NOT valid[/] ({lag})")
    if "broker" in s:
        t.add_row("broker", str(s["broker"]))
    t.add_row("wall time", f"{s['wall_s']:.1f} s (time scale ×{s['time_scale']:g})")
    return t
