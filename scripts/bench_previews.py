#!/usr/bin/env python3
"""What repaint previews cost the diffusion loop: one task's wall time with a preview every
K steps against none (docs/performance.md#previews).

Builds the tests' tiny random RePaint UNet (tests/edge/repaint_tiny.py) at
``--size`` pixels, runs one ``--steps``-step task per setting on the CPU with one torch
thread, alternating the settings ``--rounds`` times, and prints JSON: per K, the wall
seconds of each run and the previews the hook got. The preview hook here only counts,
so this is the cost inside the backend (the x0 cut to 64×64 and the hand-over to the
event loop), not the PNG encode or the send, which run off the loop in the node.

    .venv/bin/python scripts/bench_previews.py --size 128 --steps 50 --every 0 1 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "edge"))


async def _once(model: Path, size: int, steps: int, every: int) -> tuple[float, int]:
    from aaas import EmulatedClock
    from aaas.images import random_mask, synthetic_image
    from edge_node.backends.base import InpaintJob
    from edge_node.backends.repaint import load_repaint_backend

    backend = load_repaint_backend(model=str(model), clock=EmulatedClock(), metrics=(),
                                   rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    got = [0]

    def hook(_step: int, _image: np.ndarray) -> None:
        got[0] += 1

    job = InpaintJob(task_id="bench", steps=steps, image=synthetic_image(rng, size),
                     mask=random_mask(rng, size, fraction=0.3), preview=hook,
                     preview_every=every)
    try:
        start = time.perf_counter()
        await backend.run(job)
        return time.perf_counter() - start, got[0]
    finally:
        await backend.aclose()


async def _main(args: argparse.Namespace) -> dict[str, object]:
    import torch
    from repaint_tiny import save_tiny_repaint

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model = save_tiny_repaint(Path(tmp), sample_size=args.size)
        await _once(model, args.size, args.steps, 0)  # warm up
        runs: dict[int, list[float]] = {k: [] for k in args.every}
        previews: dict[int, int] = {}
        for _ in range(args.rounds):
            for k in args.every:
                wall, n = await _once(model, args.size, args.steps, k)
                runs[k].append(round(wall, 3))
                previews[k] = n
    return {"size": args.size, "steps": args.steps,
            "by_every": {str(k): {"wall_s": runs[k], "median_s": float(np.median(runs[k])),
                                  "previews": previews[k]} for k in args.every}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128, help="the UNet's sample size (pixels)")
    p.add_argument("--steps", type=int, default=50, help="diffusion steps of the task")
    p.add_argument("--every", type=int, nargs="+", default=[0, 1, 5],
                   help="preview settings to compare (0: none)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each setting")
    print(json.dumps(asyncio.run(_main(p.parse_args())), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
