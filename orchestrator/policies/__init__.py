"""ASP-selection policies behind one interface (see :mod:`.base`), built by name from
the registry :data:`POLICIES` (see :mod:`.registry`)."""

from .base import Observation, Policy
from .benchmarks import LeastLoadedPolicy, RandomPolicy, RoundRobinPolicy, UpperBoundPolicy
from .registry import POLICIES, PolicyFactory, make_policy
from .sac import SacPolicy, default_checkpoint  # light: torch only when a checkpoint loads

# isort: split
from .lookahead import OPT_IN, LookaheadPolicy  # light: scipy only when it solves (after sac)

__all__ = [
    "OPT_IN",
    "POLICIES",
    "LeastLoadedPolicy",
    "LookaheadPolicy",
    "Observation",
    "Policy",
    "PolicyFactory",
    "RandomPolicy",
    "RoundRobinPolicy",
    "SacPolicy",
    "UpperBoundPolicy",
    "default_checkpoint",
    "make_policy",
]
