"""The demo's summary: what the testbed measured, collected once the users are done.

:func:`summarise` asks the spread children for their reports (lag samples, metrics,
link totals) while they still run, judges whether the run kept up with its clock
(:mod:`aaas.lag`), and puts the users' QoS summary and the testbed's sections together
in a :class:`DemoSummary` (``aaas demo --json``; docs/cli.md lists its keys).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace
from prometheus_client import CollectorRegistry

from aaas.errors import AaasError
from aaas.lag import EmulationReport, LagMeter, emulation_report
from user_agent import QoSSummary, TaskRecord

from .delivery import DeliveryTotals, delivery_totals

if TYPE_CHECKING:
    from link import LinkStats
    from link.metrics import ClassStats
    from orchestrator import RewardLedger
    from user_agent import UserAgent

    from .demo_options import DemoOptions
    from .wiring import Testbed

__all__ = ["DemoSummary", "LinkTotals", "RewardTotals", "summarise"]

log = logging.getLogger("aaas.demo")

_CLASS_ORDER = {"near": 0, "far": 1, "deep_fade": 2}


class RewardTotals(msgspec.Struct, kw_only=True):
    total: float
    """The paper's reward summed over the run (crash penalties included)."""
    utility: float
    """Quality of the admitted tasks summed (the reward without penalties)."""


class ClassTotals(msgspec.Struct, kw_only=True):
    """What large content costs on the air for the users of one channel class
    (near, far, deep_fade: link.user.CHANNEL_CLASSES, docs/link.md)."""

    users: int
    tasks: int
    """Tasks those users sent (repeats included) that the summary still holds."""
    air_per_byte_up: float | None
    """Uplink bytes on the air per byte delivered (1.0: no resend); None: nothing sent."""
    air_per_byte_down: float | None
    retransmissions_per_task: float | None
    """Frame tries beyond the first, both directions, per task."""
    closed: int
    """Packets whose connection the link closed (retry limit, long outage)."""
    repeat_bytes: int
    """Content bytes, up and down, of the tasks those users asked for again."""

    @classmethod
    def of(cls, c: ClassStats, records: list[TaskRecord]) -> ClassTotals:
        mine = [r for r in records if r.user_id in c.users]
        return cls(
            users=len(c.users), tasks=len(mine),
            air_per_byte_up=round(c.air_up / c.delivered_up, 3) if c.delivered_up else None,
            air_per_byte_down=(round(c.air_down / c.delivered_down, 3)
                               if c.delivered_down else None),
            retransmissions_per_task=round(c.retransmissions / len(mine), 1) if mine else None,
            closed=c.closed,
            repeat_bytes=sum(r.bytes_up + r.bytes_down for r in mine if r.repeat > 0))


class LinkTotals(msgspec.Struct, kw_only=True):
    """What the emulated wireless link carried (bytes on air include resends)."""

    air_up: int
    air_down: int
    retx_bytes_up: int
    retx_bytes_down: int
    retransmissions: int
    outages: int
    outage_s: float
    closed_by_link: int
    corrupted_packets: int
    by_class: dict[str, ClassTotals] = msgspec.field(default_factory=dict)
    """The cost on the air by the users' channel class (ClassTotals)."""

    @classmethod
    def of(cls, stats: LinkStats, records: list[TaskRecord] | None = None) -> LinkTotals:
        return cls(
            by_class={k: ClassTotals.of(c, records or []) for k, c in
                      sorted(stats.by_class.items(), key=lambda kc: _CLASS_ORDER.get(kc[0], 9))},
            air_up=stats.bytes_on_air_up,
            air_down=stats.bytes_on_air_down,
            retx_bytes_up=stats.bytes_retx_up,
            retx_bytes_down=stats.bytes_retx_down,
            retransmissions=stats.retransmissions,
            outages=stats.outages,
            outage_s=stats.outage_s,
            closed_by_link=stats.closed_by_link,
            corrupted_packets=stats.corrupted_packets,
        )


class DemoSummary(QoSSummary, frozen=True, kw_only=True, omit_defaults=True):
    """``aaas demo``'s JSON summary: the user agent's QoS summary plus the testbed's sections."""

    scenario: str
    policy: str
    broker: str
    """Which broker ran: ``mosquitto`` (a private child), ``embedded`` (amqtt) or ``external``."""
    time_scale: float
    wall_s: float
    processes: int
    """Python processes the testbed ran in: 1, or up to 4 when spread (edge nodes,
    orchestrator and link in their own; testbed.spread). The broker's is not counted."""
    users: int
    asps: int
    crashes: int
    """Crash events of the edge nodes (the orchestrator's ledger)."""
    reward: RewardTotals
    emulation: EmulationReport | None = None
    """Whether the processes kept up with the emulated clock (aaas.lag)."""
    link: LinkTotals | None = None
    """None (left out) with --no-link."""
    delivery: DeliveryTotals | None = None
    """Bytes through the broker and over WebRTC, fallbacks (docs/performance.md)."""
    records: list[dict[str, Any]] | None = None
    """Every task's record, with --json-records (``aaas report`` plots them)."""
    time_scale_reason: str | None = None
    """Why the run has its time scale (a given one, the probes, or the real ASPs' cap)."""
    samples: list[dict[str, Any]] | None = None
    """With --json-samples N: up to N received results per ASP (base64 PNGs of the
    original, damaged image, mask and restoration; the node's backend and model)."""
    cpu_s: dict[str, float] = msgspec.field(default_factory=dict)
    """CPU seconds each Python process used while the users ran and drained: ``users``
    (the demo's own process; with the orchestrator, edge nodes and link unless they
    run in children) and each child by its role (docs/performance.md)."""


async def summarise(bed: Testbed, opts: DemoOptions, *, started: float,
                    cpu_from: float) -> DemoSummary:
    """The run's summary; *started* is the ``time.perf_counter()`` it began at, *cpu_from*
    this process's ``time.process_time()`` when its users began."""
    measured = await _measure(bed, opts)
    measured.cpu_s["users"] = time.process_time() - cpu_from
    ledger, scenario = measured.ledger, bed.scenario
    return DemoSummary(
        **msgspec.structs.asdict(bed.agent.summary()),
        scenario=scenario.name,
        policy=measured.policy,
        broker=bed.broker.kind,
        time_scale=opts.time_scale,
        wall_s=round(time.perf_counter() - started, 2),
        users=scenario.workload.users,
        asps=len(scenario.asps),
        crashes=ledger.crashes,
        reward=RewardTotals(total=ledger.reward, utility=ledger.utility),
        emulation=_emulation(bed, opts, measured),
        link=(LinkTotals.of(measured.link_stats, list(bed.agent.records.values()))
              if measured.link_stats is not None else None),
        records=_records(bed.agent) if opts.json_records else None,
        time_scale_reason=opts.time_scale_reason,
        samples=_samples(bed) if bed.agent.samples is not None else None,
        delivery=delivery_totals(measured.registries, opts.delivery.mode, bed.relay),
        processes=1 + len(bed.children),
        cpu_s={k: round(v, 3) for k, v in measured.cpu_s.items()},
    )


@dataclass(kw_only=True)
class _Measured:
    """What the testbed's processes measured: this one's, and its children's reports."""

    registries: list[CollectorRegistry]
    edge_lag: LagMeter
    link_stats: LinkStats | None
    ledger: RewardLedger
    policy: str
    orch_lag: LagMeter
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds by process (the children's, from their reports)."""
    died: list[str] = field(default_factory=list)
    """Children that could not report (the run went on without them)."""


async def _measure(bed: Testbed, opts: DemoOptions) -> _Measured:
    from orchestrator import RewardLedger

    orch = bed.orch
    m = _Measured(registries=[bed.registry], edge_lag=bed.edge_lag,
                  link_stats=bed.link.stats() if bed.link is not None else None,
                  ledger=orch.ledger if orch is not None else RewardLedger(),
                  policy=orch.policy.name if orch is not None else opts.policy,
                  orch_lag=orch.lag if orch is not None else LagMeter("orchestrator"))
    for c in bed.children:  # what the children measured, while they still run
        try:
            report = await c.report()
        except AaasError as exc:  # the run went on without it: say so, keep the rest
            log.error("%s; its measurements are missing from the summary", exc)
            m.died.append(str(exc))
            continue
        m.registries.append(report.registry())
        m.cpu_s[c.role] = report.cpu_s
        if c.role == "edge":
            m.edge_lag = report.lag_meter("edge nodes", opts.max_lag_share)
        elif c.role == "orchestrator":
            m.orch_lag = report.lag_meter("orchestrator", opts.max_lag_share)
            m.ledger, m.policy = report.ledger, report.policy or opts.policy
        else:
            m.link_stats = report.link_stats
    return m


def _emulation(bed: Testbed, opts: DemoOptions, measured: _Measured) -> EmulationReport:
    """Whether every process kept up with the clock; not valid if a child died."""
    emulation = emulation_report((bed.agent.lag, measured.orch_lag, measured.edge_lag),
                                 time_scale=opts.time_scale, max_share=opts.max_lag_share)
    if measured.died:
        emulation = replace(emulation, valid=False, reason="; ".join(measured.died))
    if not emulation.valid:
        log.warning("this run did not keep up with its clock: %s", emulation.reason)
    return emulation


def _samples(bed: Testbed) -> list[dict[str, Any]]:
    """The users' sample of received results, each with its node's backend and model."""
    assert bed.agent.samples is not None
    labels = {a.id: {"backend": a.backend, "model": a.model} for a in bed.scenario.asps}
    return bed.agent.samples.as_json(labels)


def _records(agent: UserAgent) -> list[dict[str, Any]]:
    """Every task as its user saw it (times: emulated seconds)."""
    keys = ("task_id", "steps", "sent_at", "outcome", "latency_s", "quality", "node_id",
            "error", "attempts", "bytes_up", "bytes_down", "domain")
    return [{k: getattr(r, k) for k in keys} for r in agent.records.values()]
