"""Whole emulated runs end to end, on the embedded broker and on a real Mosquitto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aaas import TOPICS, BrokerURL, NodeStatus, decode
from testbed.demo import DemoOptions, run_demo
from tests.helpers.stack import small_scenario

OUTCOMES = ("finished", "crashed", "rejected", "error", "undeliverable", "lost")


def _accounted(summary: dict) -> None:
    tasks = summary["tasks"]
    assert tasks["sent"] > 0
    assert sum(tasks[o] for o in OUTCOMES) == tasks["sent"], tasks


async def test_demo_accounts_for_every_task(broker_url: BrokerURL) -> None:
    # ~8 tasks run at once on 4 x 1000 steps: least_loaded never overloads a node.
    scenario = small_scenario(asps=4, workload={"users": 20, "horizon_s": 100_000,
                                                "arrival_rate": 0.0003})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=broker_url,
                                         time_scale=20_000, progress=False))
    _accounted(summary)
    tasks = summary["tasks"]
    assert tasks["finished"] == tasks["sent"] and tasks["lost"] == 0
    assert summary["crashes"] == 0
    assert summary["processes"] == 1  # 6 tasks/s: one process carries it (testbed.spread)
    assert 0 < summary["quality"]["mean"] <= 1
    # The latency is the runtime model's plus a little messaging.
    assert 100 * 60 <= summary["latency_s"]["p50"] <= 60_000
    assert summary["bytes"]["up"] > 0 and summary["bytes"]["down"] > 0


async def test_overload_crashes_lose_tasks_and_are_accounted(broker_url: BrokerURL) -> None:
    # Two small ASPs and round-robin: tasks pile up and crash the nodes.
    scenario = small_scenario(asps=2, capacity=300, users=20, horizon_s=150_000,
                              workload={"users": 20, "horizon_s": 150_000,
                                        "arrival_rate": 0.0005})
    summary = await run_demo(DemoOptions(scenario=scenario, broker=broker_url, time_scale=20_000,
                                         policy="round_robin", progress=False))
    _accounted(summary)
    tasks = summary["tasks"]
    assert summary["crashes"] > 0
    assert tasks["rejected"] >= summary["crashes"]  # each crash turns away its new task
    assert tasks["lost"] == 0
    assert summary["reward"]["total"] < summary["reward"]["utility"]


def _aaas(*args: str) -> list[str]:
    return [sys.executable, "-m", "testbed.cli", "--log-level", "WARNING", *args]


@pytest.mark.mosquitto
def test_separate_processes_on_mosquitto_and_clean_shutdown(mosquitto: BrokerURL,
                                                             tmp_path: Path) -> None:
    scen = tmp_path / "tiny.toml"
    scen.write_text('name = "tiny"\nseed = 3\n[asps]\ncount = 3\n'
                    '[workload]\nusers = 6\nhorizon_s = 60000\narrival_rate = 0.0003\n')
    common = ["--broker", f"mqtt://{mosquitto.host}:{mosquitto.port}", "--scenario", str(scen)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Only the orchestrator is told the time scale; the others adopt its retained clock.
    orch = subprocess.Popen(_aaas("orchestrator", *common, "--policy", "upper_bound",
                                  "--time-scale", "20000"), env=env, stderr=subprocess.PIPE)
    common.append("--follow-clock")
    nodes = subprocess.Popen(_aaas("edge-node", *common), env=env, stderr=subprocess.PIPE)
    try:
        out = tmp_path / "qos.json"
        users = subprocess.run(_aaas("user-agent", *common, "--json", str(out)), env=env,
                               capture_output=True, timeout=120, check=False)
        assert users.returncode == 0, users.stderr.decode()[-2000:]
        qos = json.loads(out.read_text())
        tasks = qos["tasks"]  # the demo's schema (was: sent, outcomes.*)
        assert tasks["sent"] > 0
        assert sum(tasks[o] for o in OUTCOMES) == tasks["sent"]
        assert tasks["finished"] == tasks["sent"]
    finally:
        for proc in (orch, nodes):
            proc.send_signal(signal.SIGINT)
        codes = [p.wait(20) for p in (orch, nodes)]
    assert codes == [0, 0], [p.stderr.read().decode()[-2000:] for p in (orch, nodes)]
    # After a clean shutdown the nodes' retained status says offline.
    sub = subprocess.run(["mosquitto_sub", "-h", mosquitto.host, "-p", str(mosquitto.port),
                          "-t", TOPICS.status.topic.filter, "-C", "3", "-W", "5"],
                         capture_output=True, timeout=20, check=True)
    states = {decode(line, NodeStatus).state for line in sub.stdout.splitlines()}
    assert states == {"offline"}


def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "testbed.cli", "demo", "--users", "20", "--no-progress", "--json",
           str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the log says when the users are in and sending
            if b"users connected" in line:
                break
        import time

        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    summary = json.loads(out.read_text())
    _accounted(summary)  # what was sent before Ctrl-C is still accounted for
