"""A testbed of separate processes on a real Mosquitto, with faults to throw at it.

Mosquitto runs with the project's own ``broker/mosquitto.conf`` (its persistence
settings), only the listener, the data folder and the log moved into the test's
folder. Every service is an ``aaas`` process of its own; a fault is a signal to
one of them (SIGKILL, SIGTERM, SIGSTOP/SIGCONT) and, where the test says so, a
restart of the same command. Times here are wall seconds.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from broker import mosquitto_exe, wait_port

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = ("finished", "crashed", "rejected", "error", "lost", "undeliverable")

SCALE = 20_000.0
"""Emulated seconds per wall second: a task runs 0.7-2 s wall."""

# 3 ASPs of 1200 steps; about 60 tasks over 15 s wall, ~4 running at once (~700 steps):
# least_loaded never overloads a node, even with one node lost. Any crash is the fault's.
SCENARIO = """name = "chaos"
seed = 5
[asps]
count = 3
capacity = { min = 1200, max = 1200, step = 100, inclusive = true }
[workload]
users = 8
horizon_s = 300000
arrival_rate = 0.0002
"""


def wait_until(cond, timeout: float, what: str, every: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:g} s")


def metric(port: int, name: str, **labels: str) -> float:
    """One sample from a process's /metrics (0 when absent or unreachable)."""
    if not port:
        return 0.0
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return 0.0
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pat = re.compile(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? ([0-9.eE+-]+)$", re.M)
    total = 0.0
    for m in pat.finditer(text.decode()):
        if not want or all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total += float(m.group(2))
    return total


def broker_port() -> int:
    """A free port below the ephemeral range: while the broker is down, a client's
    reconnect can never take its port as its own local port (and connect to itself)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]) \
        if Path("/proc/sys/net/ipv4/ip_local_port_range").exists() else 32768
    for port in random.sample(range(20000, max(20001, min(low, 32000))), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the broker")


class Mosquitto:
    """Mosquitto with the shipped config; killed and started again on the same port."""

    def __init__(self, workdir: Path) -> None:
        exe = mosquitto_exe()
        assert exe is not None
        self.exe = exe
        self.port = broker_port()
        self.data = workdir / "mosquitto"
        self.data.mkdir()
        self.data.chmod(0o777)  # run as root, mosquitto drops to its own user
        conf = (ROOT / "broker" / "mosquitto.conf").read_text()
        conf = re.sub(r"^listener .*$", f"listener {self.port} 127.0.0.1", conf, flags=re.M)
        conf = re.sub(r"^persistence_location .*$", f"persistence_location {self.data}/", conf,
                      flags=re.M)
        conf = conf.replace("log_dest stdout", f"log_dest file {self.data}/mosquitto.log")
        assert f"listener {self.port}" in conf and str(self.data) in conf
        self.conf = self.data / "mosquitto.conf"
        self.conf.write_text(conf)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, what="mosquitto", timeout=20)

    def stop(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(20)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Service:
    """One ``aaas`` process; its output goes to a log file."""

    name: str
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "400",
               "PYTHONPATH": str(ROOT)}
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testbed.cli", "--log-level", "INFO", *self.args],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.starts += 1

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(20)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def metrics_port(self) -> int:
        """The port its /metrics took (--metrics-port 0: a port chosen at bind time, never
        one that an outgoing connection took meanwhile), from the latest start's log."""
        found = re.findall(r"serving metrics on http://127\.0\.0\.1:(\d+)/metrics", self.text())
        return int(found[-1]) if len(found) >= self.starts else 0

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()


@dataclass
class ChaosBed:
    """Mosquitto, an orchestrator, edge-node processes and one user-agent process."""

    workdir: Path
    edge_groups: tuple[str, ...] = ("asp-00", "asp-01,asp-02")
    orchestrator_args: tuple[str, ...] = ()
    edge_args: tuple[str, ...] = ()
    broker: Mosquitto = field(init=False)
    orch: Service = field(init=False)
    edges: list[Service] = field(init=False)
    users: Service = field(init=False)

    def __post_init__(self) -> None:
        self.broker = Mosquitto(self.workdir)
        scen = self.workdir / "chaos.toml"
        scen.write_text(SCENARIO)
        epoch = time.time()
        common = ["--broker", self.broker.url, "--scenario", str(scen), "--time-scale",
                  str(SCALE), "--clock-epoch", repr(epoch)]
        self.orch = Service("orchestrator", [
            "orchestrator", *common, "--policy", "least_loaded",
            "--state", str(self.workdir / "orchestrator.sqlite"),
            "--metrics-port", "0", *self.orchestrator_args],
            self.workdir / "orchestrator.log")
        self.edges = []
        for i, nodes in enumerate(self.edge_groups):
            self.edges.append(Service(f"edge{i}", [
                "edge-node", *common, "--nodes", nodes, "--metrics-port", "0", *self.edge_args],
                self.workdir / f"edge{i}.log"))
        self.summary = self.workdir / "qos.json"
        self.users = Service("users", [
            "user-agent", *common, "--seed", "1", "--json", str(self.summary),
            # Three outages of up to 9 s plus reconnect back-off: more than the default
            # 60 s past a task's end must pass before "nobody answers" is the truth.
            "--lost-after", "150",
            # Records streamed to disk (bounded memory): one line per task, checked below.
            "--records", str(self.workdir / "records.jsonl"),
            "--metrics-port", "0"], self.workdir / "users.log")

    def __enter__(self) -> ChaosBed:
        try:
            self.broker.start()
            self.orch.start()
            for e in self.edges:
                e.start()
            # Every node online at the orchestrator before the users start.
            wait_until(lambda: metric(self.orch.metrics_port(),
                                      "aaas_orchestrator_nodes_online") == 3,
                       60, "edge nodes online at the orchestrator")
            self.users.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self.users, self.orch, *self.edges):
            s.close()
        self.broker.close()

    # -- helpers for the tests -----------------------------------------------------------
    def port(self, name: str) -> int:
        """The /metrics port of the service *name* (orch, users, edge0, edge1)."""
        svc = {"orch": self.orch, "users": self.users,
               **{f"edge{i}": e for i, e in enumerate(self.edges)}}[name]
        return svc.metrics_port()

    def sent(self) -> float:
        return metric(self.port("users"), "aaas_user_tasks_sent_total")

    def wait_sent(self, n: int, timeout: float = 60) -> None:
        wait_until(lambda: self.sent() >= n, timeout, f"{n} tasks sent")

    def running_on(self, edge: int) -> float:
        return metric(self.port(f"edge{edge}"), "aaas_edge_running_tasks")

    def finish(self, timeout: float = 150) -> dict:  # type: ignore[type-arg]
        """Wait for the user agent to end; its QoS summary."""
        assert self.users.proc is not None
        try:
            code = self.users.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the user agent did not finish:\n" + self.users.text()[-3000:]) \
                from None
        assert code == 0, self.users.text()[-3000:]
        return json.loads(self.summary.read_text())  # type: ignore[no-any-return]

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.text()[-2500:]}" for s in
                         (self.orch, *self.edges, self.users))


def assert_guarantee(summary: dict, bed: ChaosBed) -> dict:  # type: ignore[type-arg]
    """sent = the sum of the outcomes; nothing lost, no false crash, no overload crash."""
    tasks = summary["tasks"]
    figures = {k: tasks[k] for k in ("sent", *OUTCOMES)}
    orch = bed.port("orch")
    extra = {"duplicates": metric(orch, "aaas_orchestrator_duplicate_requests_total"),
             "reassigned": metric(orch, "aaas_orchestrator_reassigned_tasks_total"),
             "resent": sum(metric(bed.port(f"edge{i}"), "aaas_edge_results_resent_total")
                           for i in range(len(bed.edges))),
             "node_crashes": sum(metric(bed.port(f"edge{i}"), "aaas_edge_crashes_total")
                                 for i in range(len(bed.edges)))}
    print("chaos figures:", json.dumps(figures), json.dumps(extra))
    assert tasks["sent"] >= 20, figures
    assert sum(tasks[o] for o in OUTCOMES) == tasks["sent"], figures
    assert tasks["lost"] == 0, (figures, bed.logs())
    assert tasks["crashed"] == 0, (figures, bed.logs())
    assert tasks["rejected"] == 0, (figures, bed.logs())
    assert tasks["error"] == 0, (figures, bed.logs())
    assert tasks["finished"] == tasks["sent"], figures
    records = (bed.workdir / "records.jsonl").read_text().splitlines()
    assert len(records) == tasks["sent"]
    assert len({json.loads(r)["task_id"] for r in records}) == tasks["sent"]
    return figures
