#!/usr/bin/env python3
"""CPU per task of each service, each an ``aaas`` process of its own, side by side across
checkouts: the orchestrator's, the edge nodes', the users' and the broker's.

Each round starts, for every checkout in turn (interleaved, so both meet the same
machine), a private Mosquitto, ``aaas edge-node`` (every ASP), ``aaas orchestrator`` and
``aaas user-agent`` (every user) from that checkout on one clock, runs the scenario's
workload for ``--duration`` emulated seconds, and reads each process's CPU seconds
(user + system) over the users' run. It prints JSON: per checkout the median over the
rounds of each service's CPU milliseconds per task sent, the tasks and their outcomes,
and per service the ratio of the later checkouts' medians to the first's
(docs/performance.md).

    .venv/bin/python scripts/bench_services.py --checkout ../before --checkout . \\
        [--time-scale 100000] [--duration 200000] [--rounds 3]

A checkout is any tree of this project (its own code runs: PYTHONPATH is set to it); the
Python environment is this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker.mosquitto import MosquittoProcess

SERVICES = ("orchestrator", "edge", "users", "broker")


def _start(checkout: Path, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "testbed.cli", "--log-level", "WARNING",
                                 *args], env=env, cwd=checkout, stdout=out,
                                stderr=subprocess.STDOUT)


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def one_run(checkout: Path, a: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One testbed of *checkout*'s services; CPU ms per task of each, and the outcomes."""
    with MosquittoProcess(workdir=workdir) as broker:
        url = f"mqtt://{broker.url.host}:{broker.url.port}"
        clock = ["--broker", url, "--time-scale", f"{a.time_scale:g}",
                 "--clock-epoch", f"{time.time() + 5:.3f}", "--scenario", a.scenario]
        edge = _start(checkout, ["edge-node", *clock], workdir / "edge.log")
        orch = _start(checkout, ["orchestrator", *clock, "--policy", a.policy],
                      workdir / "orch.log")
        try:
            time.sleep(a.settle)  # imports, connects, the nodes' first loads
            mosquitto = next(c.pid for c in psutil.Process().children()
                             if "mosquitto" in c.name())
            procs = {"orchestrator": orch.pid, "edge": edge.pid, "broker": mosquitto}
            before = {k: _cpu(p) for k, p in procs.items()}
            out = workdir / "users.json"
            users = _start(checkout, ["user-agent", *clock, "--duration", f"{a.duration:g}",
                                      "--json", str(out)], workdir / "users.log")
            users_cpu = 0.0
            while users.poll() is None:
                users_cpu = _cpu(users.pid)
                time.sleep(0.2)
            spent = {k: _cpu(p) - before[k] for k, p in procs.items()}
        finally:
            for p in (orch, edge):
                p.send_signal(signal.SIGINT)
            for p in (orch, edge):
                p.wait(30)
        summary = json.loads(out.read_text())
    spent["users"] = users_cpu
    sent = max(summary["tasks"]["sent"], 1)
    return {"tasks": summary["tasks"],
            "cpu_ms_per_task": {k: round(1000 * spent[k] / sent, 3) for k in SERVICES}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, action="append", required=True,
                    help="a checkout of the project (give two or more to compare them)")
    ap.add_argument("--scenario", default="paper")
    ap.add_argument("--policy", default="least_loaded")
    ap.add_argument("--time-scale", type=float, default=100_000.0)
    ap.add_argument("--duration", type=float, default=200_000.0,
                    help="emulated seconds of the workload (default: 200000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=6.0,
                    help="wall seconds for the services to start before the users")
    a = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {str(c): [] for c in a.checkout}
    for r in range(a.rounds):
        for c in a.checkout:
            with tempfile.TemporaryDirectory() as tmp:
                run = one_run(c.resolve(), a, Path(tmp))
            runs[str(c)].append(run)
            print(f"round {r + 1}, {c}: {run}", file=sys.stderr)
    medians = {c: {k: statistics.median(x["cpu_ms_per_task"][k] for x in rs) for k in SERVICES}
               for c, rs in runs.items()}
    first = medians[str(a.checkout[0])]
    out = {"time_scale": a.time_scale, "duration_s": a.duration, "rounds": a.rounds,
           "median_cpu_ms_per_task": medians,
           "tasks": {c: [x["tasks"] for x in rs] for c, rs in runs.items()},
           "ratio_to_first": {c: {k: round(m[k] / first[k], 3) if first[k] else None
                                  for k in SERVICES} for c, m in medians.items()}}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
