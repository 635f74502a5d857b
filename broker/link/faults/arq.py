"""ARQ: a failed frame is sent again, up to a retry limit; each try costs air time and bytes."""

from __future__ import annotations

import numpy as np

from ..channel import GilbertElliott

__all__ = ["arq_tries"]


def arq_tries(p_fail: np.ndarray, retry_limit: int, rng: np.random.Generator,
              gilbert: GilbertElliott | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tries per frame, failed mask): a frame is tried until success or ``retry_limit + 1`` tries.

    Without Gilbert–Elliott the tries are geometric; with it each try also
    steps the chain, so losses come in bursts.
    """
    most = retry_limit + 1
    if gilbert is None:
        p_ok = np.clip(1.0 - p_fail, 1e-12, 1.0)
        needed = rng.geometric(p_ok)
        return np.minimum(needed, most), needed > most
    tries = np.zeros(len(p_fail), dtype=np.int64)
    failed = np.zeros(len(p_fail), dtype=bool)
    for i, p in enumerate(p_fail):
        for k in range(1, most + 1):
            lost = bool(gilbert.losses(1)[0]) or rng.random() < p
            if not lost:
                tries[i] = k
                break
        else:
            tries[i] = most
            failed[i] = True
    return tries, failed
