"""The training simulator: a Gymnasium env and its vectorised batch twin."""

from ._batch import BatchSim, BatchStep
from ._env import AaasEnv
from ._episode import Episode, draw_episode
from ._features import LAYOUTS, FeatureSpec
from ._stats import EpisodeStats, quality_table

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
