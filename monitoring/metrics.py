"""Metric definitions: one container per service, on an injected registry.

Names follow Prometheus conventions (base units, ``_total``, ``_seconds``,
``_bytes``); labels are low-cardinality (node ids, policies, outcomes, reasons;
never a task or user id). Every metric is documented in ``docs/metrics.md``.
Durations are emulated seconds unless the name says ``wall``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aaas import Outcome

__all__ = ["LATENCY_BUCKETS_S", "EdgeMetrics", "OrchestratorMetrics", "UserMetrics",
           "byte_counter"]

# Emulated seconds: a task runs 5,000-45,000 s in the paper's model; a real-time
# testbed sees tens of seconds. One set of buckets spans both.
LATENCY_BUCKETS_S = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
                     10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 75_000, 100_000)
QUALITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
EDGE_OUTCOMES = ("admitted", "finished", "crashed", "rejected", "error")


def byte_counter(counter: Counter, *labels: str) -> Callable[[str, int], None]:
    """An ``MqttSession.on_bytes`` that adds to *counter*, labelled *labels* and the
    direction: it is called for every message, so each child is looked up once (the
    lookup was a few per cent of a busy process's time)."""
    children: dict[str, Counter] = {}

    def count(direction: str, n: int) -> None:
        c = children.get(direction)
        if c is None:
            c = children[direction] = counter.labels(*labels, direction)
        c.inc(n)

    return count


WALL_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class EdgeMetrics:
    """Edge nodes (label ``node``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.tasks = Counter("aaas_edge_tasks", "Tasks by outcome at the node "
                             "(admitted, finished, crashed = lost in a crash, rejected, error)",
                             ["node", "outcome"], registry=registry)
        self.crashes = Counter("aaas_edge_crashes", "Crash events (overload)", ["node"],
                               registry=registry)
        self.lost_progress = Counter("aaas_edge_lost_progress", "Sum of the progress (0..1) "
                                     "of the tasks lost in crashes", ["node"], registry=registry)
        self.lost_utility = Counter("aaas_edge_lost_utility", "Sum of q_i(t) of the tasks lost "
                                    "in crashes", ["node"], registry=registry)
        self.penalty = Counter("aaas_edge_crash_penalty", "Sum of the crash penalties",
                               ["node"], registry=registry)
        self.capacity = Gauge("aaas_edge_capacity_steps", "Capacity C_i in diffusion steps",
                              ["node"], registry=registry)
        self.used = Gauge("aaas_edge_used_steps", "Steps held by running tasks", ["node"],
                          registry=registry)
        self.free = Gauge("aaas_edge_free_steps", "Free capacity in steps", ["node"],
                          registry=registry)
        self.running = Gauge("aaas_edge_running_tasks", "Tasks running", ["node"],
                             registry=registry)
        self.inference = Histogram("aaas_edge_inference_seconds", "Inference time per task "
                                   "(emulated s)", ["node", "backend"], buckets=LATENCY_BUCKETS_S,
                                   registry=registry)
        self.bad_input = Counter("aaas_edge_bad_input", "Rejected messages by reason",
                                 ["node", "reason"], registry=registry)
        self.bytes = Counter("aaas_edge_payload_bytes", "MQTT payload bytes by direction "
                             "(sent, received)", ["node", "direction"], registry=registry)
        self.quality = Histogram("aaas_edge_delivered_quality", "Quality q_i(t) of the tasks "
                                 "the node finished", ["node"], buckets=QUALITY_BUCKETS,
                                 registry=registry)
        self.resent = Counter("aaas_edge_results_resent", "Results sent again from the node's "
                              "result cache (the request was repeated)", ["node"],
                              registry=registry)
        self.stale = Counter("aaas_edge_stale_assignments", "Assignments dropped without running: "
                             "made to an earlier run of the node's process, or for a task "
                             "already answered and acknowledged", ["node"], registry=registry)
        self.refused = Counter("aaas_edge_refused_assignments", "Re-sent assignments of tasks "
                               "the node never had, refused for want of room (placed anew)",
                               ["node"], registry=registry)

    def init_node(self, node: str) -> None:
        """Create *node*'s series at 0, so "no crash yet" reads 0 rather than no data."""
        for outcome in EDGE_OUTCOMES:
            self.tasks.labels(node, outcome)
        for c in (self.crashes, self.lost_progress, self.lost_utility, self.penalty,
                  self.quality, self.refused):
            c.labels(node)
        for direction in ("sent", "received"):
            self.bytes.labels(node, direction)


class OrchestratorMetrics:
    """The orchestrator (label ``policy``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("aaas_orchestrator_requests", "Valid task requests received",
                                ["policy"], registry=registry)
        self.decisions = Counter("aaas_orchestrator_decisions", "Assignments by chosen node",
                                 ["policy", "node"], registry=registry)
        self.decision_time = Histogram("aaas_orchestrator_decision_wall_seconds", "Wall time of "
                                       "one policy decision", ["policy"], buckets=WALL_BUCKETS_S,
                                       registry=registry)
        self.events = Counter("aaas_orchestrator_events", "Task events from the nodes by kind "
                              "(admitted, finished, crashed)", ["policy", "kind"],
                              registry=registry)
        self.reward = Gauge("aaas_orchestrator_reward", "Cumulative reward: q_i(t) per admission "
                            "minus crash penalties", ["policy"], registry=registry)
        self.utility = Counter("aaas_orchestrator_utility", "Sum of q_i(t) of admitted tasks",
                               ["policy"], registry=registry)
        self.rejected = Counter("aaas_orchestrator_rejected", "Tasks the orchestrator rejected "
                                "by reason", ["policy", "reason"], registry=registry)
        self.queued = Gauge("aaas_orchestrator_queued_tasks", "Tasks waiting for a node online",
                            ["policy"], registry=registry)
        self.nodes_online = Gauge("aaas_orchestrator_nodes_online", "Edge nodes online",
                                  ["policy"], registry=registry)
        self.bad_input = Counter("aaas_orchestrator_bad_input", "Rejected messages by reason",
                                 ["reason"], registry=registry)
        self.bytes = Counter("aaas_orchestrator_payload_bytes", "MQTT payload bytes by "
                             "direction (sent, received)", ["direction"], registry=registry)
        self.info = Gauge("aaas_orchestrator_info", "1 for the running orchestrator's policy "
                          "and scenario (join other services' metrics to it for a policy label)",
                          ["policy", "scenario"], registry=registry)
        self.lost_tasks = Counter("aaas_orchestrator_lost_tasks", "Running tasks lost in crashes "
                                  "of the chosen nodes", ["policy"], registry=registry)
        self.lost_progress = Counter("aaas_orchestrator_lost_progress", "Sum of the progress "
                                     "(0..1) of the tasks lost in crashes", ["policy"],
                                     registry=registry)
        self.quality = Histogram("aaas_orchestrator_task_quality", "Quality q_i(t) of the tasks "
                                 "the nodes finished (from their events)", ["policy"],
                                 buckets=QUALITY_BUCKETS, registry=registry)
        self.duplicates = Counter("aaas_orchestrator_duplicate_requests", "Requests for a task "
                                  "already open in the run (answered, not run again)",
                                  ["policy"], registry=registry)
        self.reassigned = Counter("aaas_orchestrator_reassigned_tasks", "Tasks placed again "
                                  "after their node was lost, by reason (offline, restarted, "
                                  "lost_answer)", ["policy", "reason"], registry=registry)
        self.open_tasks = Gauge("aaas_orchestrator_open_tasks", "Tasks in the orchestrator's "
                                "table (not yet acknowledged by their users)", ["policy"],
                                registry=registry)

    def init_policy(self, policy: str, scenario: str) -> None:
        """Mark *policy* as running and create its series at 0."""
        self.info.labels(policy, scenario).set(1)
        for kind in ("admitted", "finished", "crashed"):
            self.events.labels(policy, kind)
        for c in (self.requests, self.utility, self.lost_tasks, self.lost_progress,
                  self.quality, self.queued, self.reward):
            c.labels(policy)
        for direction in ("sent", "received"):
            self.bytes.labels(direction)


class UserMetrics:
    """User agents (QoS as the users see it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("aaas_user_tasks_sent", "Tasks sent (first tries)", registry=registry)
        self.outcomes = Counter("aaas_user_tasks", "Tasks by final outcome (finished, crashed, "
                                "rejected, error, lost)", ["outcome"], registry=registry)
        self.latency = Histogram("aaas_user_latency_seconds", "End-to-end latency of finished "
                                 "tasks (emulated s), by the node that served them", ["node"],
                                 buckets=LATENCY_BUCKETS_S, registry=registry)
        self.quality = Histogram("aaas_user_quality", "Quality of delivered content, by the "
                                 "node that served it", ["node"], buckets=QUALITY_BUCKETS,
                                 registry=registry)
        self.domain_quality = Histogram("aaas_user_domain_quality", "Quality of delivered "
                                        "content, by the task's content domain", ["domain"],
                                        buckets=QUALITY_BUCKETS, registry=registry)
        self.domain_tasks = Counter("aaas_user_domain_tasks", "Tasks by content domain and final "
                                    "outcome", ["domain", "outcome"], registry=registry)
        self.retries = Counter("aaas_user_retries", "Requests sent again, by reason",
                               ["reason"], registry=registry)
        self.bytes = Counter("aaas_user_payload_bytes", "MQTT payload bytes by direction "
                             "(sent, received)", ["direction"], registry=registry)
        self.bad_input = Counter("aaas_user_bad_input", "Unusable messages received, by reason",
                                 ["reason"], registry=registry)
        self.outstanding = Gauge("aaas_user_outstanding_tasks", "Tasks sent and not yet answered",
                                 registry=registry)
        self.duplicates = Counter("aaas_user_duplicate_replies", "duplicate replies received (the "
                                  "orchestrator has the task; the user goes on waiting)",
                                  registry=registry)
        self.repeats = Counter("aaas_user_repeats", "Tasks users asked for again after a "
                               "result below their quality threshold, a crash or a rejection",
                               registry=registry)
        self.repeat_bytes = Counter("aaas_user_repeat_payload_bytes", "MQTT payload bytes of the "
                                    "repeats, by direction (sent, received)", ["direction"],
                                    registry=registry)
        for outcome in Outcome:
            self.outcomes.labels(outcome)
        for direction in ("sent", "received"):
            self.bytes.labels(direction)
            self.repeat_bytes.labels(direction)
