"""A uniform replay buffer of transitions, in preallocated numpy arrays."""

from __future__ import annotations

import numpy as np

from aaas import ConfigError

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """Ring buffer of (obs, action, reward, next_obs, done); adds whole batches."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        if capacity < 1:
            raise ConfigError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self._pos = 0

    def add(self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray,
            next_obs: np.ndarray, done: np.ndarray) -> None:
        n = obs.shape[0]
        idx = (self._pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.next_obs[idx] = next_obs
        self.action[idx] = action
        self.reward[idx] = reward
        self.done[idx] = done
        self._pos = int((self._pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        i = rng.integers(0, self.size, n)
        return self.obs[i], self.action[i], self.reward[i], self.next_obs[i], self.done[i]
