"""ASP-selection policies behind one interface (see :mod:`._base`)."""

from ._base import Observation, Policy
from ._benchmarks import LeastLoadedPolicy, RandomPolicy, RoundRobinPolicy, UpperBoundPolicy
from ._registry import POLICY_NAMES, make_policy

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
