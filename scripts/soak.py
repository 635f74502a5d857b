#!/usr/bin/env python
"""Soak: a testbed of separate processes on Mosquitto under steady load, memory watched.

Starts Mosquitto (with broker/mosquitto.conf's persistence settings), one
orchestrator, one edge-node process with every ASP of the scenario and one
user-agent process with all the users, then samples each process's RSS and CPU
every ``--every`` seconds while the users send ``--rate-factor`` times the
paper's arrival rate for ``--minutes`` of wall time. It prints the memory curve
per process, the users' summary (sent = the sum of the outcomes) and whether
memory stayed flat after the warm-up (the last sample within ``--flat-pct`` of
the one at the end of the first quarter).

The issue's soak (1000 users, 10 minutes, 3 x the paper's rate, x10000):
    .venv/bin/python scripts/soak.py --minutes 10
A short try:
    .venv/bin/python scripts/soak.py --minutes 1 --users 200
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    args = _parse_args()
    from broker import mosquitto_exe

    exe = mosquitto_exe()
    if exe is None:
        print("mosquitto is not installed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="aaas-soak-"))
    scen, rate = _write_scenario(args, work)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    port = _start_mosquitto(exe, work, procs)
    summary = work / "qos.json"
    _start_testbed(args, port, scen, work, summary, procs)
    print(f"soak: {args.users} users, {args.rate_factor:g} x the paper's rate "
          f"({rate:g}/s emulated, ~{rate * args.time_scale:.0f} tasks/s wall), "
          f"{args.minutes:g} min, x{args.time_scale:g}; logs in {work}", flush=True)
    samples = _sample_until_users_exit(procs, args.every)
    for n in ("orchestrator", "edge", "mosquitto"):
        procs[n].terminate()
        try:
            procs[n].wait(20)
        except subprocess.TimeoutExpired:
            procs[n].kill()
    return _verdict(args, samples, summary)


def _parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="wall minutes of sending")
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--rate-factor", type=float, default=3.0,
                   help="times the scenario's arrival rate (default: 3)")
    p.add_argument("--time-scale", type=float, default=10_000.0)
    p.add_argument("--scenario", default="paper")
    p.add_argument("--policy", default="least_loaded")
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--flat-pct", type=float, default=15.0)
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    p.add_argument("--stream-records", action=argparse.BooleanOptionalAction, default=True,
                   help="the user agent streams settled records to disk (--records) and "
                   "keeps totals only (default: on)")
    return p.parse_args()


def _write_scenario(args: argparse.Namespace, work: Path) -> tuple[Path, float]:
    """The scenario with the soak's users, rate and horizon; (its path, the arrival rate)."""
    from aaas import load_scenario

    scenario = load_scenario(args.scenario)
    rate = scenario.workload.arrival_rate * args.rate_factor
    horizon = args.minutes * 60 * args.time_scale
    scen = work / "soak.toml"
    src = (ROOT / "aaas" / "scenarios" / f"{args.scenario}.toml")
    text = src.read_text() if src.exists() else Path(args.scenario).read_text()
    text = re.sub(r"^users = .*$", f"users = {args.users}", text, flags=re.M)
    text = re.sub(r"^arrival_rate = .*$", f"arrival_rate = {rate}", text, flags=re.M)
    text = re.sub(r"^horizon_s = .*$", f"horizon_s = {horizon}", text, flags=re.M)
    scen.write_text(text)
    return scen, rate


def _start_mosquitto(exe: str, work: Path, procs: dict[str, subprocess.Popen[bytes]]) -> int:
    """Mosquitto with broker/mosquitto.conf's persistence settings; its port."""
    from broker.embedded import free_port
    from broker.mosquitto import wait_port

    port = free_port()
    data = work / "mosquitto"
    data.mkdir()
    data.chmod(0o777)
    conf = (ROOT / "broker" / "mosquitto.conf").read_text()
    conf = re.sub(r"^listener .*$", f"listener {port} 127.0.0.1", conf, flags=re.M)
    conf = re.sub(r"^persistence_location .*$", f"persistence_location {data}/", conf, flags=re.M)
    conf = conf.replace("log_dest stdout", f"log_dest file {data}/mosquitto.log")
    (data / "mosquitto.conf").write_text(conf)
    procs["mosquitto"] = subprocess.Popen([exe, "-c", str(data / "mosquitto.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, what="mosquitto")
    return port


def _start_testbed(args: argparse.Namespace, port: int, scen: Path, work: Path, summary: Path,
                   procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """The orchestrator, one edge-node process and one user-agent process, logs in *work*."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    common = ["--broker", f"mqtt://127.0.0.1:{port}", "--scenario", str(scen),
              "--time-scale", str(args.time_scale), "--clock-epoch", repr(time.time())]

    def aaas(name: str, *a: str) -> None:
        log = (work / f"{name}.log").open("wb")
        procs[name] = subprocess.Popen([sys.executable, "-m", "testbed.cli", "--log-level",
                                        "WARNING", *a], stdout=log, stderr=subprocess.STDOUT,
                                       env=env, cwd=ROOT)

    aaas("orchestrator", "orchestrator", *common, "--policy", args.policy,
         "--state", str(work / "orchestrator.sqlite"))
    aaas("edge", "edge-node", *common)
    time.sleep(3)
    aaas("users", "user-agent", *common, "--json", str(summary),
         *(["--records", str(work / "records.jsonl")] if args.stream_records else []))


def _sample_until_users_exit(procs: dict[str, subprocess.Popen[bytes]],
                             every: float) -> list[dict[str, float]]:
    """Every process's RSS and CPU every *every* seconds, printed, until the users are done."""
    ps = {n: psutil.Process(p.pid) for n, p in procs.items()}
    for proc in ps.values():
        proc.cpu_percent(None)
    names = list(procs)
    print("t_s   " + "  ".join(f"{n + ' MB':>14} {n + ' %cpu':>14}" for n in names), flush=True)
    samples: list[dict[str, float]] = []
    t0 = time.monotonic()
    while procs["users"].poll() is None:
        time.sleep(every)
        row: dict[str, float] = {"t_s": round(time.monotonic() - t0, 1)}
        for n in names:
            try:
                row[f"{n}_rss_mb"] = round(ps[n].memory_info().rss / 2**20, 1)
                row[f"{n}_cpu_pct"] = round(ps[n].cpu_percent(None), 1)
            except psutil.NoSuchProcess:
                row[f"{n}_rss_mb"] = row[f"{n}_cpu_pct"] = float("nan")
        samples.append(row)
        print(f"{row['t_s']:<5} " + "  ".join(
            f"{row[n + '_rss_mb']:>14} {row[n + '_cpu_pct']:>14}" for n in names), flush=True)
    return samples


def _verdict(args: argparse.Namespace, samples: list[dict[str, float]], summary: Path) -> int:
    """Print whether every task is accounted for and memory stayed flat; the exit code."""
    qos = json.loads(summary.read_text()) if summary.exists() else {}
    tasks = qos.get("tasks", {})
    print("users' summary:", json.dumps(tasks))
    flat: dict[str, bool] = {}
    if len(samples) >= 4:
        q = samples[len(samples) // 4]
        last = samples[-2]  # the last sample while the users still ran
        for n in ("orchestrator", "edge", "users", "mosquitto"):
            a, b = q[f"{n}_rss_mb"], last[f"{n}_rss_mb"]
            flat[n] = b <= a * (1 + args.flat_pct / 100)
            print(f"{n}: {a} MB after warm-up -> {b} MB at the end: "
                  f"{'flat' if flat[n] else 'GREW'}")
    accounted = bool(tasks) and sum(tasks[k] for k in ("finished", "crashed", "rejected",
                                                       "error", "lost")) == tasks["sent"]
    print("sent = sum of outcomes:", accounted)
    if args.json is not None:
        args.json.write_text(json.dumps({"samples": samples, "tasks": tasks, "flat": flat},
                                        indent=2) + "\n")
    return 0 if accounted and all(flat.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
