"""The training simulator: a Gymnasium env and its vectorised batch twin."""

# the learned policies' input (policies.features), which the simulators build too
from ..policies.features import LAYOUTS, FeatureSpec
from .batch import BatchSim, BatchStep
from .bound import BoundResult, episode_bounds, hindsight_bound  # light: scipy only when solved
from .env import AaasEnv
from .episode import Episode, draw_episode
from .stats import DomainStats, EpisodeStats, quality_table
from .stream import Arrival, ArrivalStream, BatchStream

__all__ = [
    "LAYOUTS",
    "AaasEnv",
    "Arrival",
    "ArrivalStream",
    "BatchSim",
    "BatchStep",
    "BatchStream",
    "BoundResult",
    "DomainStats",
    "Episode",
    "EpisodeStats",
    "FeatureSpec",
    "draw_episode",
    "episode_bounds",
    "hindsight_bound",
    "quality_table",
]
