"""The training simulator: a Gymnasium env and its vectorised batch twin."""

from .batch import BatchSim, BatchStep
from .env import AaasEnv
from .episode import Episode, draw_episode
from .features import LAYOUTS, FeatureSpec
from .stats import EpisodeStats, quality_table

__all__ = [
    "LAYOUTS",
    "AaasEnv",
    "BatchSim",
    "BatchStep",
    "Episode",
    "EpisodeStats",
    "FeatureSpec",
    "draw_episode",
    "quality_table",
]
