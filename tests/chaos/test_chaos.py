"""Chaos tests: one fault at a time on a testbed of separate processes on Mosquitto.

Each asserts the delivery guarantee of docs/reliability.md: every task a user
sent ends in exactly one outcome at that user (sent = the sum of the outcomes),
nothing is lost, no task is falsely reported crashed, and the fault causes no
overload crash (the workload fits the cluster even with a node lost, so every
task must finish).
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from chaos_testbed import ChaosBed, assert_guarantee, metric, wait_until

from broker import mosquitto_exe

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(autouse=True)
def _mosquitto_installed() -> None:
    if mosquitto_exe() is None:  # as tests/conftest.py: never silently in CI
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed: run scripts/setup.sh")
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")


def test_orchestrator_sigkill_and_restart(tmp_path: Path) -> None:
    with ChaosBed(tmp_path) as bed:
        bed.wait_sent(10)
        bed.orch.signal(signal.SIGKILL)
        time.sleep(3)  # the outage: requests and events wait in its persistent session
        bed.orch.start()
        summary = bed.finish()
        assert_guarantee(summary, bed)
    # The new orchestrator rebuilt its open tasks from its state file.
    assert "rebuilt" in bed.orch.text(), bed.orch.text()[-3000:]


def test_edge_process_sigkill_reassigns_its_tasks(tmp_path: Path) -> None:
    with ChaosBed(tmp_path, orchestrator_args=("--node-grace", "2")) as bed:
        wait_until(lambda: bed.running_on(0) > 0, 60, "a task running on asp-00")
        bed.edges[0].signal(signal.SIGKILL)
        wait_until(lambda: "asp-00 went offline with" in bed.orch.text(), 30,
                   "the orchestrator giving up on asp-00 after its grace")
        bed.edges[0].start()  # a new run of the process (another boot)
        summary = bed.finish()
        assert_guarantee(summary, bed)
        moved = metric(bed.port("orch"), "aaas_orchestrator_reassigned_tasks_total")
    assert moved >= 1, bed.orch.text()[-3000:]
    assert re.search(r"asp-00 went offline with [1-9]", bed.orch.text())


def test_mosquitto_sigkill_three_times(tmp_path: Path) -> None:
    with ChaosBed(tmp_path) as bed:
        for i, outage in enumerate((2, 5, 9)):
            bed.wait_sent(5 + 12 * i)
            bed.broker.stop(signal.SIGKILL)
            time.sleep(outage)
            bed.broker.start()
        summary = bed.finish()
        assert_guarantee(summary, bed)


def test_mosquitto_graceful_restart_causes_no_false_node_death(tmp_path: Path) -> None:
    with ChaosBed(tmp_path) as bed:
        wait_until(lambda: bed.running_on(1) > 0, 60, "tasks running")
        bed.broker.stop(signal.SIGTERM)  # publishes every node's last will as it goes
        time.sleep(2)
        bed.broker.start()
        summary = bed.finish()
        assert_guarantee(summary, bed)
        moved = metric(bed.port("orch"), "aaas_orchestrator_reassigned_tasks_total")
    assert moved == 0, bed.orch.text()[-3000:]
    assert "went offline with" not in bed.orch.text()


def test_node_frozen_past_keepalive_then_resumed_keeps_its_tasks(tmp_path: Path) -> None:
    with ChaosBed(tmp_path, edge_args=("--keepalive", "2"),
                  orchestrator_args=("--node-grace", "30")) as bed:
        wait_until(lambda: bed.running_on(1) > 0, 60, "tasks running on asp-01/asp-02")
        bed.edges[1].signal(signal.SIGSTOP)  # the host is cut off: no packets at all
        try:
            # The broker gives up after 1.5 keepalives and publishes the last will.
            wait_until(lambda: "asp-01 is offline" in bed.orch.text(), 30,
                       "the broker declaring asp-01 offline")
            # Both of its nodes stay away well within their grace: asp-00 alone cannot
            # run the workload, so tasks that fit nowhere must wait, not crash asp-00
            # (in CI a slow keepalive check left it alone long enough to crash).
            time.sleep(10)
        finally:
            bed.edges[1].signal(signal.SIGCONT)
        summary = bed.finish()
        assert_guarantee(summary, bed)
        moved = metric(bed.port("orch"), "aaas_orchestrator_reassigned_tasks_total")
    assert "asp-01 is back within its grace period" in bed.orch.text()
    assert moved == 0
