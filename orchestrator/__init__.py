"""The orchestrator: policies, the live assigner, and (later) the simulator and trainer."""

from .cluster import ClusterView, NodeState
from .service import Orchestrator, RewardLedger

__all__ = ["ClusterView", "NodeState", "Orchestrator", "RewardLedger"]
