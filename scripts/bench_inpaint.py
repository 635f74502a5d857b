#!/usr/bin/env python
"""Benchmark the inpainting backends and the quality metrics.

Measures, for the repaint backend's pipeline on the chosen device:
  * UNet calls per second at each batch size (``--batches``), from a short
    RePaint run of ``--probe-steps`` steps (calls = batch × steps, r = 1);
  * memory per task on CUDA (peak allocated at batch B minus the weights, / B);
  * the wall time of one ``--task-steps``-step task at batch 1;
and, on the CPU, the modeled backend's per-task cost and the metrics'
per-image overhead. With no ``--model``, a randomly initialised UNet is built:
``--arch repaint256`` is the 256×256 DDPM/RePaint CelebA-HQ architecture
(the one of google/ddpm-ema-celebahq-256), ``--arch tiny`` the test model.

GPU (fp16):  .venv/bin/python scripts/bench_inpaint.py --arch repaint256 --device cuda \
                 --dtype float16 --batches 1,4,16 --task-steps 250 --json bench_gpu.json
CPU (tiny):  .venv/bin/python scripts/bench_inpaint.py --arch tiny --device cpu \
                 --batches 1,4,16 --task-steps 250 --metrics-overhead --modeled
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

log = logging.getLogger("bench_inpaint")

ARCHS: dict[str, dict[str, Any]] = {
    "tiny": {"sample_size": 32, "block_out_channels": (32, 64), "layers_per_block": 1,
             "norm_num_groups": 8, "down_block_types": ("DownBlock2D", "DownBlock2D"),
             "up_block_types": ("UpBlock2D", "UpBlock2D")},
    "repaint256": {"sample_size": 256, "block_out_channels": (128, 128, 256, 256, 512, 512),
                   "layers_per_block": 2,
                   "down_block_types": ("DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D",
                                        "AttnDownBlock2D", "DownBlock2D"),
                   "up_block_types": ("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D",
                                      "UpBlock2D", "UpBlock2D")},
}


def build_model(arch: str, folder: Path) -> str:
    """Save a randomly initialised UNet + RePaintScheduler; return the folder."""
    import torch
    from diffusers import RePaintScheduler, UNet2DModel

    torch.manual_seed(0)
    UNet2DModel(in_channels=3, out_channels=3, **ARCHS[arch]).save_pretrained(folder / "unet")
    RePaintScheduler().save_pretrained(folder / "scheduler")
    return str(folder)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _inputs(size: int, n: int, rng: np.random.Generator) -> tuple[list[Any], list[Any]]:
    from aaas.images import random_mask, synthetic_image

    return ([synthetic_image(rng, size) for _ in range(n)],
            [random_mask(rng, size) for _ in range(n)])


def bench_pipeline(m: Any, batches: list[int], probe_steps: int, task_steps: int) -> dict[str, Any]:
    import torch

    from edge_node.backends.repaint_pipeline import inpaint_batch

    rng = np.random.default_rng(0)
    size = m.sample_size
    out: dict[str, Any] = {"device": m.device, "dtype": str(m.dtype), "sample_size": size,
                           "unet_params": sum(p.numel() for p in m.pipe.unet.parameters())}
    images, masks = _inputs(size, max(batches), rng)
    inpaint_batch(m, images[:1], masks[:1], steps=2, seeds=[0])  # warm-up
    cuda = m.device.startswith("cuda")
    weights = torch.cuda.memory_allocated() if cuda else 0
    for b in batches:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        _sync(m.device)
        start = time.perf_counter()
        inpaint_batch(m, images[:b], masks[:b], steps=probe_steps, seeds=list(range(b)))
        _sync(m.device)
        took = time.perf_counter() - start
        out[f"batch{b}_unet_calls_per_s"] = b * probe_steps / took
        if cuda:
            peak = torch.cuda.max_memory_allocated() - weights
            out[f"batch{b}_mem_per_task_mib"] = peak / b / 2**20
        log.info("batch %d: %.1f UNet calls/s", b, b * probe_steps / took)
    if cuda:
        out["weights_mib"] = weights / 2**20
    start = time.perf_counter()
    inpaint_batch(m, images[:1], masks[:1], steps=task_steps, seeds=[1])
    _sync(m.device)
    out[f"task_{task_steps}_steps_s"] = time.perf_counter() - start
    return out


def bench_metrics(sizes: list[int], repeats: int = 3) -> dict[str, float]:
    from edge_node.quality import METRICS, BrisqueUnavailableError, evaluate

    rng = np.random.default_rng(1)
    out = {}
    for size in sizes:
        images, _ = _inputs(size, 1, rng)
        for name in METRICS:
            try:
                evaluate(images, [name], references=images)  # warm-up (and BRISQUE model load)
            except BrisqueUnavailableError:
                continue
            start = time.perf_counter()
            for _ in range(repeats):
                evaluate(images, [name], references=images)
            out[f"{name}_{size}px_ms"] = (time.perf_counter() - start) / repeats * 1000
    return out


def bench_modeled(size: int = 64, n: int = 20) -> dict[str, float]:
    from aaas import EmulatedClock, RuntimeModel
    from edge_node.backends import InpaintJob, ModeledBackend

    backend = ModeledBackend(clock=EmulatedClock(scale=1e12), runtime=RuntimeModel())
    images, masks = _inputs(size, n, np.random.default_rng(2))

    async def go() -> float:
        start = time.perf_counter()
        for i in range(n):
            await backend.run(InpaintJob(task_id=str(i), steps=250, image=images[i],
                                         mask=masks[i]))
        return (time.perf_counter() - start) / n

    return {f"modeled_task_{size}px_ms": asyncio.run(go()) * 1000}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default=None, help="checkpoint dir or hub id (default: random init)")
    p.add_argument("--arch", choices=sorted(ARCHS), default="repaint256")
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--batches", default="1,4,16")
    p.add_argument("--probe-steps", type=int, default=10)
    p.add_argument("--task-steps", type=int, default=250)
    p.add_argument("--metrics-overhead", action="store_true")
    p.add_argument("--modeled", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    from edge_node.backends.repaint_pipeline import load_repaint_model

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_model(args.arch, Path(tmp))
        m = load_repaint_model(model, device=args.device, dtype=args.dtype,
                               threads=args.threads)
        results["model"] = args.model or f"random-init {args.arch}"
        results |= bench_pipeline(m, [int(b) for b in args.batches.split(",")],
                                  args.probe_steps, args.task_steps)
    if args.metrics_overhead:
        results |= bench_metrics([64, 256])
    if args.modeled:
        results |= bench_modeled()
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)  # the benchmark's output is its report
    return 0


if __name__ == "__main__":
    sys.exit(main())
