"""Training and evaluation of policies in the simulators (needs torch).

``train`` runs discrete SAC on the batch simulator and writes a checkpoint;
``evaluate_policy`` runs any policy on the single-episode simulator;
``bench_sim`` measures the simulators' speed.
"""

from .bench import bench_sim
from .evaluation import PolicyResult, evaluate_policy, summarise
from .plots import plot_domains, plot_fig5, plot_fig6, read_log
from .replay import ReplayBuffer
from .sac_algo import SacAlgorithm, SacParams, UpdateStats
from .trainer import VALIDATION_SEED, TrainConfig, TrainResult, greedy_eval, train

__all__ = [
    "VALIDATION_SEED",
    "PolicyResult",
    "ReplayBuffer",
    "SacAlgorithm",
    "SacParams",
    "TrainConfig",
    "TrainResult",
    "UpdateStats",
    "bench_sim",
    "evaluate_policy",
    "greedy_eval",
    "plot_domains",
    "plot_fig5",
    "plot_fig6",
    "read_log",
    "summarise",
    "train",
]
