"""RePaint throughput of a model on this machine: UNet calls/s and tasks/s per batch size."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from aaas.images import random_mask, synthetic_image

from ..backends.repaint_pipeline import inpaint_batch, load_repaint_model, unet_call_formula

__all__ = ["throughput"]


def throughput(model: str, *, batches: tuple[int, ...] = (1, 4, 16), task_steps: int = 50,
               repeats: int = 10) -> dict[str, Any]:
    """UNet calls per second (timed forward passes, after a warm-up) and RePaint tasks
    per second (one batched *task_steps*-step task with the model's sampler) per batch."""
    import torch

    m = load_repaint_model(model, device="cpu")
    unet, size = m.pipe.unet, m.sample_size
    calls: dict[str, float] = {}
    tasks: dict[str, float] = {}
    rng = np.random.default_rng(0)
    s = m.sampler
    for b in batches:
        x = torch.randn(b, 3, size, size)
        t = torch.full((b,), 500)
        with torch.no_grad():
            unet(x, t)
            start = time.perf_counter()
            for _ in range(repeats):
                unet(x, t)
        calls[str(b)] = b * repeats / (time.perf_counter() - start)
        images = [synthetic_image(rng, size) for _ in range(b)]
        masks = [random_mask(rng, size) for _ in range(b)]
        start = time.perf_counter()
        inpaint_batch(m, images, masks, steps=task_steps, seeds=list(range(b)), eta=s.eta,
                      jump_length=s.jump_length, jump_n_sample=s.jump_n_sample)
        tasks[str(b)] = b / (time.perf_counter() - start)
    return {"model": model, "threads": torch.get_num_threads(), "task_steps": task_steps,
            "sampler": f"eta {s.eta}, j {s.jump_length}, r {s.jump_n_sample}",
            "unet_calls_per_task": unet_call_formula(task_steps, s.jump_length,
                                                     s.jump_n_sample),
            "unet_calls_per_s": calls, "tasks_per_s": tasks}
