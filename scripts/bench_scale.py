#!/usr/bin/env python3
"""How far one host goes: N emulated users (each its own MQTT client) in K user-agent
processes on one Mosquitto, with the orchestrator and the edge nodes (modeled backend).

Measures the users' connect time, the user agents' RSS per 1,000 users, the broker's
memory and CPU, and the tasks per second sent and answered, and whether every task
finished (zero loss). ``--netns`` runs the same with the broker, the core (orchestrator
and edge nodes) and the users split over two user hosts in network namespaces of their
own (needs root; ``testbed.netns``).

    .venv/bin/python scripts/bench_scale.py --users 10000 --agents 4 --rate 20 --send-s 30
    sudo .venv/bin/python scripts/bench_scale.py --users 10000 --agents 4 --rate 20 --netns

A benchmark, not a test: it asserts nothing; it prints a table and, with --json, writes
the figures. The ASPs get a capacity far above the load (the crash rule never fires), so
what is measured is the messaging, not the paper's overload.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker import MosquittoProcess, mosquitto_exe  # noqa: E402
from testbed.netns import Netns, unavailable  # noqa: E402

Spawn = Callable[[str, list[str], Path], subprocess.Popen[bytes]]


def _scenario(path: Path, *, users: int, rate_per_wall_s: float, scale: float,
              send_s: float, asps: int) -> None:
    path.write_text(
        f'name = "scale"\nseed = 0\n[asps]\ncount = {asps}\n'
        "capacity = { min = 100000, max = 100000, step = 100, inclusive = true }\n"
        f"[workload]\nusers = {users}\narrival_rate = {rate_per_wall_s / scale!r}\n"
        f"horizon_s = {send_s * scale!r}\n")


def _aaas(*args: str) -> list[str]:
    return [sys.executable, "-m", "testbed.cli", "--log-level", "INFO", *args]


def _wait_line(log: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and needle in log.read_text(errors="replace"):
            return time.monotonic()
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: exited with {proc.returncode}")
        time.sleep(0.2)
    raise TimeoutError(f"{log.name}: no {needle!r} within {timeout:g} s")


def run(args: argparse.Namespace, work: Path) -> dict[str, object]:
    scen = work / "scale.toml"
    _scenario(scen, users=args.users, rate_per_wall_s=args.rate, scale=args.time_scale,
              send_s=args.send_s, asps=args.asps)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
           "COLUMNS": "300"}
    net: Netns | None = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if args.netns:
            reason = unavailable()
            if reason:
                raise SystemExit(f"--netns: {reason}")
            net = Netns("aaasbench", subnet="10.213.9")
            net.__enter__()
            for host in ("broker", "core", "users-0", "users-1"):
                net.add_host(host)
            conf = work / "mosquitto.conf"
            conf.write_text("listener 1883 0.0.0.0\nallow_anonymous true\nmax_connections -1\n"
                            "max_queued_messages 0\nmax_inflight_messages 0\n")
            broker = net.spawn("broker", [mosquitto_exe() or "mosquitto", "-c", str(conf)],
                               log=work / "mosquitto.log")
            broker_pid, url = broker.pid, f"mqtt://{net.hosts['broker']}:1883"
            the_net = net

            def spawn(host: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
                return the_net.spawn(host, argv, log=log, env=env)
            time.sleep(1.0)
        else:
            mosq = MosquittoProcess(workdir=work)
            mosq.__enter__()
            assert mosq._proc is not None
            broker_pid, url = mosq._proc.pid, f"mqtt://127.0.0.1:{mosq.port}"

            def spawn(host: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
                p = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                     env=env)
                procs.append(p)
                return p
        return _measure(args, work, scen, url, psutil.Process(broker_pid), spawn)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if net is not None:
            net.down()
        elif "mosq" in locals():
            mosq.__exit__(None, None, None)


def _cpu(procs: list[psutil.Process], last: dict[int, float]) -> float:
    """CPU seconds of *procs* (the last value seen for one that has exited)."""
    for p in procs:
        try:
            t = p.cpu_times()
            last[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return sum(last.get(p.pid, 0.0) for p in procs)


def _measure(args: argparse.Namespace, work: Path, scen: Path, url: str,
             broker: psutil.Process, spawn: Spawn) -> dict[str, object]:
    clock = ["--scenario", str(scen), "--time-scale", f"{args.time_scale:g}",
             "--clock-epoch", repr(time.time())]
    ids = [f"asp-{i:02d}" for i in range(args.asps)]
    orch = spawn("core", _aaas("orchestrator", "--broker", url, *clock, "--policy",
                               "least_loaded"), work / "orchestrator.log")
    edges = [spawn("core", _aaas("edge-node", "--broker", url, *clock, "--nodes",
                                 ",".join(ids[e::args.edge_procs])), work / f"edge-{e}.log")
             for e in range(args.edge_procs)]
    time.sleep(3.0)
    t0 = time.monotonic()
    agents = [spawn(f"users-{k % 2}", _aaas("user-agent", "--broker", url, *clock,
                                            "--shard", f"{k}/{args.agents}", "--json",
                                            str(work / f"users-{k}.json")),
                    work / f"users-{k}.log") for k in range(args.agents)]
    ready = [_wait_line(work / f"users-{k}.log", "users on", agents[k], args.connect_timeout)
             for k in range(args.agents)]
    connect_s = max(ready) - t0
    rss_users = sum(psutil.Process(a.pid).memory_info().rss for a in agents)
    broker_rss_connected = broker.memory_info().rss
    roles = {"broker": [broker], "orchestrator": [psutil.Process(orch.pid)],
             "edge": [psutil.Process(e.pid) for e in edges],
             "users": [psutil.Process(a.pid) for a in agents]}
    cpu_start = {r: _cpu(ps, {}) for r, ps in roles.items()}
    last: dict[int, float] = {}
    cpu0, w0 = broker.cpu_times(), time.monotonic()
    peak = broker_rss_connected
    while any(a.poll() is None for a in agents):
        peak = max(peak, broker.memory_info().rss)
        for ps in roles.values():
            _cpu(ps, last)
        if time.monotonic() - w0 > args.send_s * 3 + 120:
            raise TimeoutError("the user agents did not finish")
        time.sleep(0.5)
    cpu1, w1 = broker.cpu_times(), time.monotonic()
    tasks = dict.fromkeys(("sent", "finished", "crashed", "rejected", "error", "lost"), 0)
    for k in range(args.agents):
        s = json.loads((work / f"users-{k}.json").read_text())
        for key in tasks:
            tasks[key] += s["tasks"][key]
    for p in (orch, *edges):
        p.terminate()
    busy = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    cpu_roles = {r: round(100 * (_cpu(ps, last) - cpu_start[r]) / (w1 - w0), 1)
                 for r, ps in roles.items()}
    return {
        "mode": "netns (broker, core, 2 user hosts)" if args.netns else "one host",
        "users": args.users, "agents": args.agents, "time_scale": args.time_scale,
        "connect_s": round(connect_s, 1),
        "user_rss_mib_per_1000": round(rss_users / 2**20 / (args.users / 1000), 1),
        "broker_rss_mib_connected": round(broker_rss_connected / 2**20, 1),
        "broker_rss_mib_peak": round(peak / 2**20, 1),
        "broker_cpu_percent_of_a_core": round(100 * busy / (w1 - w0), 1),
        "cpu_percent_of_a_core_by_role": cpu_roles,
        "tasks": tasks,
        "tasks_per_s_offered": args.rate,
        "tasks_per_s_sent": round(tasks["sent"] / args.send_s, 1),
        "zero_loss": tasks["finished"] == tasks["sent"],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--agents", type=int, default=4, help="user-agent processes")
    p.add_argument("--asps", type=int, default=20)
    p.add_argument("--edge-procs", type=int, default=2, help="edge-node processes")
    p.add_argument("--rate", type=float, default=20.0, help="tasks per wall second offered")
    p.add_argument("--send-s", type=float, default=30.0, help="wall seconds of sending")
    p.add_argument("--time-scale", type=float, default=10_000.0)
    p.add_argument("--connect-timeout", type=float, default=600.0)
    p.add_argument("--netns", action="store_true", help="split over namespaced hosts (root)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="aaas-bench-scale-") as tmp:
        out = run(args, Path(tmp))
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
