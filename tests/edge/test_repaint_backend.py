"""The repaint backend on a tiny UNet saved by the test and loaded by the real code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

from repaint_tiny import save_tiny_repaint

from aaas import ConfigError, EmulatedClock
from aaas.images import random_mask, synthetic_image
from edge_node.backends.base import InpaintJob
from edge_node.backends.repaint import RepaintBackend, load_repaint_backend
from edge_node.backends.repaint_pipeline import (
    load_repaint_model,
    unet_call_formula,
    unet_calls,
)

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_repaint(tmp_path_factory.mktemp("tiny-repaint"))


def _job(rng: np.random.Generator, task_id: str, steps: int, size: int = 48) -> InpaintJob:
    return InpaintJob(task_id=task_id, steps=steps, image=synthetic_image(rng, size),
                      mask=random_mask(rng, size, fraction=0.3))


async def test_restores_with_known_pixels_kept(tiny_model_dir: Path) -> None:
    backend = load_repaint_backend(model=str(tiny_model_dir), clock=EmulatedClock(scale=60.0),
                                   rng=np.random.default_rng(1), metrics=("tv",))
    assert backend.model.device == "cpu"
    rng = np.random.default_rng(0)
    job = _job(rng, "t1", steps=8)
    try:
        out = await backend.run(job)
    finally:
        await backend.aclose()
    assert out.image.shape == job.image.shape
    assert out.image.dtype == np.uint8
    np.testing.assert_array_equal(out.image[~job.mask], job.image[~job.mask])
    assert not np.array_equal(out.image[job.mask], job.image[job.mask])  # the hole was filled
    assert out.runtime_s > 0
    assert set(out.metrics) == {"tv"}


async def test_concurrent_same_steps_jobs_share_one_batch(tiny_model_dir: Path) -> None:
    backend = load_repaint_backend(model=str(tiny_model_dir), clock=EmulatedClock(),
                                   rng=np.random.default_rng(2), metrics=(), max_batch=4,
                                   gather_window_s=0.05)
    rng = np.random.default_rng(3)
    jobs = [_job(rng, f"t{i}", steps=5) for i in range(3)] + [_job(rng, "odd", steps=6)]
    try:
        outs = await asyncio.gather(*(backend.run(j) for j in jobs))
    finally:
        await backend.aclose()
    assert backend.batches_run == 2  # three 5-step jobs together, the 6-step job alone
    for j, o in zip(jobs, outs, strict=True):
        np.testing.assert_array_equal(o.image[~j.mask], j.image[~j.mask])
    assert outs[0].runtime_s == outs[1].runtime_s == outs[2].runtime_s


async def test_inference_does_not_block_the_event_loop(tiny_model_dir: Path) -> None:
    backend = load_repaint_backend(model=str(tiny_model_dir), clock=EmulatedClock(),
                                   rng=np.random.default_rng(4), metrics=())
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    try:
        start = time.perf_counter()
        out = await backend.run(_job(np.random.default_rng(5), "slow", steps=40, size=64))
        took = time.perf_counter() - start
    finally:
        tick_task.cancel()
        await backend.aclose()
    during = [t for t in ticks if start <= t <= start + took]
    assert took > 0.2, "the job must be long enough for the check to mean something"
    assert len(during) >= 5
    assert max(np.diff(during)) < max(0.15, took / 4)
    assert out.runtime_s > 0


async def test_cancelled_job_is_dropped_and_backend_keeps_working(tiny_model_dir: Path) -> None:
    backend = load_repaint_backend(model=str(tiny_model_dir), clock=EmulatedClock(),
                                   rng=np.random.default_rng(6), metrics=())
    rng = np.random.default_rng(7)
    try:
        task = asyncio.create_task(backend.run(_job(rng, "lost", steps=200)))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        start = time.perf_counter()
        out = await backend.run(_job(rng, "next", steps=3))
        assert time.perf_counter() - start < 5.0  # the lost batch stopped early
        assert out.image.shape == (48, 48, 3)
    finally:
        await backend.aclose()


def test_unet_calls_match_the_scheduler(tiny_model_dir: Path) -> None:
    model = load_repaint_model(str(tiny_model_dir))
    sched = model.pipe.scheduler
    for t, j, r in [(10, 1, 1), (50, 10, 1), (50, 10, 10), (37, 5, 3), (8, 10, 4), (250, 10, 10)]:
        sched.set_timesteps(t, j, r)
        assert unet_calls(sched.timesteps) == unet_call_formula(t, j, r), (t, j, r)
    assert unet_call_formula(250, 1, 1) == 250


def test_bad_model_path_and_settings_are_config_errors(tmp_path: Path,
                                                       tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError):
        load_repaint_model(str(tmp_path / "missing"))
    with pytest.raises(ConfigError):
        load_repaint_model(str(tmp_path))  # exists, but holds no model
    model = load_repaint_model(str(tiny_model_dir))
    with pytest.raises(ConfigError):
        RepaintBackend(model=model, clock=EmulatedClock(), jump_length=0)


async def test_bad_job_is_rejected(tiny_model_dir: Path) -> None:
    backend = load_repaint_backend(model=str(tiny_model_dir), clock=EmulatedClock(), metrics=())
    img = np.zeros((16, 16, 3), np.uint8)
    try:
        with pytest.raises(ConfigError):
            await backend.run(InpaintJob(task_id="x", steps=5, image=img,
                                         mask=np.zeros((8, 8), bool)))
    finally:
        await backend.aclose()
