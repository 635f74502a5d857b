"""The training simulator: a Gymnasium env and its vectorised batch twin."""

from .batch import BatchSim, BatchStep
from .bound import BoundResult, episode_bounds, hindsight_bound  # light: scipy only when solved
from .env import AaasEnv
from .episode import Episode, draw_episode
from .features import LAYOUTS, FeatureSpec
from .stats import EpisodeStats, quality_table

__all__ = [
    "LAYOUTS",
    "AaasEnv",
    "BatchSim",
    "BatchStep",
    "BoundResult",
    "Episode",
    "EpisodeStats",
    "FeatureSpec",
    "draw_episode",
    "episode_bounds",
    "hindsight_bound",
    "quality_table",
]
