"""The repaint backend's previews: every k steps, small, on the event loop's thread, and
the results exactly those of a run without previews."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

from repaint_tiny import save_tiny_repaint

from aaas import EmulatedClock
from aaas.images import random_mask, synthetic_image
from edge_node.backends.base import InpaintJob, PreviewHook
from edge_node.backends.repaint import PREVIEW_SIZE, load_repaint_backend

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model_96(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny UNet larger than a preview, so that previews are cut down."""
    return save_tiny_repaint(tmp_path_factory.mktemp("tiny-repaint-96"), sample_size=96)


async def _run_pair(model: Path, hook: PreviewHook | None, every: int) -> list[np.ndarray]:
    """Two same-steps jobs in one batch; only the first asks for previews."""
    backend = load_repaint_backend(model=str(model), clock=EmulatedClock(),
                                   rng=np.random.default_rng(4), metrics=(), max_batch=2,
                                   gather_window_s=0.05)
    rng = np.random.default_rng(9)
    jobs = [InpaintJob(task_id=f"p{k}", steps=10, image=synthetic_image(rng, 80),
                       mask=random_mask(rng, 80, fraction=0.3),
                       preview=hook if k == 0 else None, preview_every=every)
            for k in range(2)]
    try:
        outs = await asyncio.gather(*(backend.run(j) for j in jobs))
    finally:
        await backend.aclose()
    assert backend.batches_run == 1
    return [o.image for o in outs]


async def test_previews_every_k_steps_small_and_on_the_loop(model_96: Path) -> None:
    loop_thread = threading.get_ident()
    got: list[tuple[int, tuple[int, ...], bool]] = []

    def hook(step: int, image: np.ndarray) -> None:
        assert image.dtype == np.uint8
        got.append((step, image.shape, threading.get_ident() == loop_thread))

    with_previews = await _run_pair(model_96, hook, every=2)
    # 10 steps, one job asked, every 2; none at the last step (the result follows)
    assert [s for s, _, _ in got] == [2, 4, 6, 8]
    assert all(shape == (PREVIEW_SIZE, PREVIEW_SIZE, 3) for _, shape, _ in got)
    assert all(on_loop for _, _, on_loop in got)
    without = await _run_pair(model_96, None, every=0)
    for a, b in zip(with_previews, without, strict=True):
        np.testing.assert_array_equal(a, b)  # watching the steps changes nothing
