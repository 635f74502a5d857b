"""The orchestrator's view of the cluster: reported loads plus its own pending assignments.

A node's load report says which assignment it processed last (``seq``).
Everything assigned after that is *pending*: the orchestrator counts its steps
as used until a report covers it, so two quick tasks do not both see the same
free capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aaas import NodeLoad, Scenario

from .policies import Observation

__all__ = ["ClusterView", "NodeState"]


@dataclass(kw_only=True)
class NodeState:
    """What the orchestrator knows about one node."""

    node_id: str
    capacity: int
    used: int = 0
    online: bool = False
    reported_seq: int = -1
    next_seq: int = 0
    pending: dict[int, int] = field(default_factory=dict)
    """Assignment seq -> steps, not yet covered by a load report."""
    inflight: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """task_id -> (user_id, steps) assigned to the node and not yet finished."""

    @property
    def free(self) -> int:
        return self.capacity - self.used - sum(self.pending.values())


class ClusterView:
    """Node states in the scenario's order (the policies' ASP indices)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.nodes = [NodeState(node_id=a.id, capacity=a.capacity) for a in scenario.asps]
        self.index = {n.node_id: i for i, n in enumerate(self.nodes)}

    def observation(self, steps: int, domain: int = 0) -> Observation:
        return Observation(
            capacity_M=np.array([n.capacity for n in self.nodes], dtype=np.int64),
            free_M=np.array([n.free for n in self.nodes], dtype=np.int64),
            online_M=np.array([n.online for n in self.nodes], dtype=bool),
            steps=steps,
            runtime_s=self.scenario.runtime(steps),
            domain=domain,
        )

    @property
    def online_count(self) -> int:
        return sum(n.online for n in self.nodes)

    def apply_load(self, load: NodeLoad) -> None:
        node = self.nodes[self.index[load.node_id]]
        node.capacity = load.capacity
        node.used = load.used
        if load.seq < node.reported_seq:
            # The node restarted and counts from scratch: nothing of ours is pending there.
            node.pending.clear()
            node.next_seq = max(node.next_seq, load.seq + 1)
        node.reported_seq = load.seq
        for seq in [s for s in node.pending if s <= load.seq]:
            del node.pending[seq]

    def assign(self, node_index: int, task_id: str, user_id: str, steps: int,
               domain: int = 0) -> int:
        """Record an assignment (of a task of domain index *domain*); returns its per-node
        sequence number."""
        node = self.nodes[node_index]
        seq = max(node.next_seq, node.reported_seq + 1)
        node.next_seq = seq + 1
        node.pending[seq] = steps
        node.inflight[task_id] = (user_id, steps, domain)
        return seq
