"""The orchestrator: policies, the live assigner, and (later) the simulator and trainer."""

from ._cluster import ClusterView, NodeState
from ._service import Orchestrator, RewardLedger

__all__ = ["ClusterView", "NodeState", "Orchestrator", "RewardLedger"]
