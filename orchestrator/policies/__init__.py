"""ASP-selection policies behind one interface (see :mod:`._base`)."""

from .base import Observation, Policy
from .benchmarks import LeastLoadedPolicy, RandomPolicy, RoundRobinPolicy, UpperBoundPolicy
from .registry import POLICY_NAMES, make_policy

__all__ = [
    "POLICY_NAMES",
    "LeastLoadedPolicy",
    "Observation",
    "Policy",
    "RandomPolicy",
    "RoundRobinPolicy",
    "UpperBoundPolicy",
    "make_policy",
]
