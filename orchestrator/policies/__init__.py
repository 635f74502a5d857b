"""ASP-selection policies behind one interface (see :mod:`.base`), built by name from
the registry :data:`POLICIES` (see :mod:`.registry`)."""

from .base import Observation, Policy
from .benchmarks import LeastLoadedPolicy, RandomPolicy, RoundRobinPolicy, UpperBoundPolicy
from .features import LAYOUTS, FeatureSpec
from .registry import POLICIES, PolicyFactory, make_policy
from .sac import SacPolicy, default_checkpoint  # light: torch only when a checkpoint loads

# isort: off
# registered after sac, so the registry's first five names stay the paper's comparison
from .bid_price import BidPricePolicy  # numpy only
from .d2sac import D2sacPolicy  # light: torch only when a checkpoint loads
from .lookahead import OPT_IN, LookaheadPolicy  # light: scipy only when it solves
# isort: on

__all__ = [
    "LAYOUTS",
    "OPT_IN",
    "POLICIES",
    "BidPricePolicy",
    "D2sacPolicy",
    "FeatureSpec",
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
