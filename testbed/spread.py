"""The demo's testbed spread over processes: edge nodes, orchestrator and link each get one.

One Python process runs on one core at a time. At the paper's workload sped up to
x10^5 (about 100 tasks per wall second) the demo's single process needs more than a
core (docs/performance.md): every event then happens late and the run is not the
model's (docs/fidelity.md). With ``spread`` the demo keeps the users in its own
process and starts three children:

* ``edge``: every edge node of the scenario (:func:`edge_node.start_nodes`);
* ``orchestrator``: the orchestrator with the demo's policy (it reports ready once
  every edge node is online);
* ``link``: the emulated wireless link (:class:`link.LinkProxy`).

They are the same objects the one-process demo builds, on the same clock (the clock
is passed, epoch included) and broker; they talk to the rest over MQTT as before.
Each child answers ``report`` with what the summary needs (its lag samples, its
metrics, its CPU seconds, the link's totals, the orchestrator's ledger) and ``stop``
by shutting down in order and exiting.
Children ignore Ctrl-C: the demo stops them itself, after the users.

``multiprocessing`` with the ``spawn`` start method rather than ``aaas edge-node`` and
``aaas link`` subprocesses: the scenario, clock and settings are passed as the
objects themselves (a scenario given as an object, with ``--users`` applied, has no
file a command line could name), and the reports come back over the same pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from aaas.clock import EmulatedClock
from aaas.config import Scenario
from aaas.datachannel import DeliverySettings
from aaas.errors import AaasError
from aaas.lag import LagMeter
from aaas.mqtt import BrokerURL

from .runner import freeze_heap

__all__ = ["SPREAD_MIN_TASKS_PER_S", "Child", "Part", "PartReport", "run_part", "should_spread",
           "wait_nodes_online"]

log = logging.getLogger("aaas.demo")

Role = Literal["edge", "orchestrator", "link"]

SPREAD_MIN_TASKS_PER_S = 30.0
"""``spread`` left to the demo: spread when the workload offers at least this many tasks
per wall second. Below it one process keeps up on a 2-core machine (the paper's
workload at x10^4, 10 tasks/s, is valid in one process) and the children's start-up
(about 2 s of imports) is not worth it."""

START_TIMEOUT_S = 60.0
"""Wall seconds a child has to import, connect and report ready."""


def should_spread(*, spread: bool | None, tasks_per_s: float, metrics_port: int | None,
                  delivery: DeliverySettings, link_tls: object | None) -> bool:
    """Whether the demo spreads: *spread* if given, else by the rule in the module doc.

    Left to the demo it stays in one process where a child cannot take part yet: a live
    ``/metrics`` (``--metrics-port`` serves one registry), WebRTC delivery (the UDP
    relay shares the link's channels) and a TLS link (``--secure``)."""
    if spread is not None:
        return spread
    return ((os.cpu_count() or 1) >= 2 and tasks_per_s >= SPREAD_MIN_TASKS_PER_S
            and metrics_port is None and delivery.mode == "mqtt" and link_tls is None)


@dataclass(frozen=True, kw_only=True)
class Part:
    """What one child runs (pickled to it)."""

    role: Role
    scenario: Scenario
    url: BrokerURL
    clock: EmulatedClock
    seed: int
    max_lag_share: float
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    log_level: int = logging.WARNING
    policy: str = "least_loaded"
    """The orchestrator's policy (role ``orchestrator``)."""
    checkpoint: str | None = None
    """The policy's checkpoint (role ``orchestrator``; None: the shipped one)."""


@dataclass(kw_only=True)
class PartReport:
    """What a child reports back: its lag samples, metrics, CPU and role's totals."""

    lag: tuple[list[str], list[float], list[float]] = ([], [], [])
    metrics: list[Metric] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU seconds the child used since it was ready (user and system)."""
    link_stats: Any = None
    """The link's :class:`link.LinkStats` (role ``link``)."""
    ledger: Any = None
    """The orchestrator's :class:`orchestrator.RewardLedger` (role ``orchestrator``)."""
    policy: str | None = None
    """The orchestrator's policy name (role ``orchestrator``)."""

    def lag_meter(self, process: str, max_share: float) -> LagMeter:
        meter = LagMeter(process, max_share=max_share)
        kinds, lag_s, share = self.lag
        meter.kinds, meter.lag_s, meter.share = list(kinds), list(lag_s), list(share)
        return meter

    def registry(self) -> CollectorRegistry:
        """The child's metrics as they were at the report, for reading (testbed.delivery)."""
        registry = CollectorRegistry(auto_describe=True)
        registry.register(_Snapshot(self.metrics))
        return registry


class _Snapshot:
    """A collector that yields metrics collected elsewhere (a child's registry)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return iter(self._metrics)


# -- the child's side ----------------------------------------------------------------


def run_part(part: Part, conn: Connection) -> None:
    """The child process's entry point (``multiprocessing`` target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the demo stops its children itself
    from .options import setup_logging

    setup_logging(logging.getLevelName(part.log_level))
    try:
        asyncio.run(_serve_part(part, conn))
    except Exception as exc:  # say why to the parent instead of a bare exit code
        logging.getLogger(f"aaas.{part.role}").exception("the %s process failed", part.role)
        with contextlib.suppress(OSError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


async def _serve_part(part: Part, conn: Connection) -> None:
    registry = CollectorRegistry()
    lag = LagMeter(_PROCESS_NAMES[part.role], max_share=part.max_lag_share,
                   logger=logging.getLogger(f"aaas.{part.role}"))
    async with contextlib.AsyncExitStack() as stack:
        started = _STARTERS[part.role]
        ready, report = await started(part, stack, registry, lag)
        conn.send(("ready", ready))
        cpu0 = time.process_time()  # what it uses from now on: the run, not the imports
        freeze_heap()
        while True:
            command = await _receive(conn)
            if command == "report":
                conn.send(("report", PartReport(
                    lag=(lag.kinds, lag.lag_s, lag.share), metrics=list(registry.collect()),
                    cpu_s=time.process_time() - cpu0, **report())))
            else:  # "stop", or the parent is gone
                break


_PROCESS_NAMES = {"edge": "edge nodes", "orchestrator": "orchestrator", "link": "link"}
Started = tuple[Any, Callable[[], dict[str, Any]]]
"""What a child's service gives when it runs: what ``ready`` says, and what its reports
add (:class:`PartReport`'s role fields)."""


async def _start_edge(part: Part, stack: contextlib.AsyncExitStack,
                      registry: CollectorRegistry, lag: LagMeter) -> Started:
    from edge_node import start_nodes
    from monitoring import DeliveryMetrics, EdgeMetrics

    await stack.enter_async_context(start_nodes(
        scenario=part.scenario, specs=part.scenario.asps, url=part.url, clock=part.clock,
        metrics=EdgeMetrics(registry), lag=lag, delivery=part.delivery,
        delivery_metrics=DeliveryMetrics(registry)))
    return None, dict


async def _start_orchestrator(part: Part, stack: contextlib.AsyncExitStack,
                              registry: CollectorRegistry, lag: LagMeter) -> Started:
    import numpy as np

    from monitoring import OrchestratorMetrics
    from orchestrator import Orchestrator
    from orchestrator.policies import make_policy

    policy = make_policy(part.policy, part.scenario, rng=np.random.default_rng([part.seed, 2]),
                         checkpoint=part.checkpoint)
    orch = await stack.enter_async_context(Orchestrator(
        scenario=part.scenario, policy=policy, url=part.url, clock=part.clock,
        metrics=OrchestratorMetrics(registry), lag=lag))
    await wait_nodes_online(orch, len(part.scenario.asps))
    return None, lambda: {"ledger": orch.ledger, "policy": orch.policy.name}


async def _start_link(part: Part, stack: contextlib.AsyncExitStack,
                      registry: CollectorRegistry, lag: LagMeter) -> Started:
    import numpy as np

    from link import LinkProxy, load_link_profiles

    link = await stack.enter_async_context(LinkProxy(
        upstream=part.url, profiles=load_link_profiles(part.scenario), clock=part.clock,
        rng=np.random.default_rng([part.seed, 3]), registry=registry))
    return link.url, lambda: {"link_stats": link.stats()}


_STARTERS = {"edge": _start_edge, "orchestrator": _start_orchestrator, "link": _start_link}


async def wait_nodes_online(orch: Any, n: int, timeout: float = 30.0) -> None:
    """Until the orchestrator *orch* sees *n* edge nodes online; AaasError after *timeout*."""
    deadline = time.monotonic() + timeout
    while orch.cluster.online_count < n:
        if time.monotonic() > deadline:
            raise AaasError(f"only {orch.cluster.online_count} of {n} edge nodes came online "
                            f"within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    log.info("all %d edge nodes online", n)


async def _receive(conn: Connection) -> str:
    """The parent's next command; ``stop`` when the parent closed the pipe (it died)."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(conn.fileno(), ready.set)
    try:
        await ready.wait()
    finally:
        loop.remove_reader(conn.fileno())
    try:
        return str(conn.recv())
    except (EOFError, OSError):
        return "stop"


# -- the parent's side ---------------------------------------------------------------


@dataclass(kw_only=True)
class Child:
    """A running child, as the demo sees it."""

    role: Role
    process: Any  # multiprocessing.process.BaseProcess
    conn: Connection
    ready: Any = None
    """What the child said when ready (the link's :class:`BrokerURL`)."""

    async def report(self, timeout_s: float = 30.0) -> PartReport:
        try:
            self.conn.send("report")
        except OSError:  # the child is gone: say how it ended
            await asyncio.to_thread(self.process.join, 5.0)
            raise AaasError(f"the {self.role} process exited (code {self.process.exitcode}) "
                            f"during the run; its log is above") from None
        kind, payload = await self._answer(timeout_s)
        if kind != "report":
            raise AaasError(f"the {self.role} process failed: {payload}")
        return payload  # type: ignore[no-any-return]

    async def _answer(self, timeout_s: float) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not self.conn.poll():
            if not self.process.is_alive():
                raise AaasError(f"the {self.role} process exited (code "
                                f"{self.process.exitcode}) without answering; its log is above")
            if time.monotonic() > deadline:
                raise AaasError(f"the {self.role} process did not answer within "
                                f"{timeout_s:.0f} s")
            await asyncio.sleep(0.02)
        answer: tuple[str, Any] = self.conn.recv()
        return answer


@contextlib.asynccontextmanager
async def child(part: Part) -> AsyncIterator[Child]:
    """Start a child running *part*; stop it (in order, then by force) on exit."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads and a loop
    parent_end, child_end = ctx.Pipe()
    process = ctx.Process(target=run_part, args=(part, child_end), name=f"aaas-{part.role}",
                          daemon=True)
    process.start()
    child_end.close()
    handle = Child(role=part.role, process=process, conn=parent_end)
    try:
        kind, payload = await handle._answer(START_TIMEOUT_S)
        if kind != "ready":
            raise AaasError(f"the {part.role} process failed to start: {payload}")
        handle.ready = payload
        log.info("%s running in process %d", _PROCESS_NAMES[part.role], process.pid)
        yield handle
    finally:
        with contextlib.suppress(OSError):
            parent_end.send("stop")
        await asyncio.to_thread(process.join, 15.0)
        if process.is_alive():
            log.warning("the %s process did not stop within 15 s; terminating it", part.role)
            process.terminate()
            await asyncio.to_thread(process.join, 5.0)
        parent_end.close()
