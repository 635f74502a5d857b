"""The ``repaint`` backend: real diffusion inpainting with diffusers' RePaint.

Jobs wait in a short gather window; jobs with the same steps t (the only
per-job setting that changes the scheduler's timesteps) then run as one
batched pipeline call, up to ``max_batch`` at a time, in one worker thread so
the event loop (and the node's MQTT loop) keeps running. A job whose waiter
is cancelled (the node crashed) is dropped; a running batch that nobody waits
for any more stops at its next step.

Previews: a job with ``preview_every = k`` gets the batch's current x0 prediction of
its image every k UNet steps, cut down to at most :data:`PREVIEW_SIZE` pixels a side in
the worker thread (cheap) and handed to the job's hook on the event loop's thread
(``loop.call_soon_threadsafe``); the hook encodes and sends it off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aaas import AspSpec, ConfigError, EmulatedClock, RuntimeModel, Scenario

from .base import InpaintBackend, InpaintJob, InpaintOutput
from .registry import BACKENDS, BackendPlugin
from .repaint_pipeline import (
    SAMPLERS,
    BatchStoppedError,
    RepaintModel,
    StepHook,
    inpaint_batch,
    load_repaint_model,
    unet_call_formula,
)

__all__ = ["PREVIEW_SIZE", "PacedRepaintBackend", "RepaintBackend", "load_repaint_backend"]

PREVIEW_SIZE = 64
"""Previews are at most this many pixels a side."""

log = logging.getLogger("aaas.edge.repaint")


@dataclass(kw_only=True)
class _Pending:
    job: InpaintJob
    future: asyncio.Future[InpaintOutput]
    seed: int
    queued_at: float = field(default_factory=time.monotonic)


def _check_job(job: InpaintJob) -> None:
    img, mask = job.image, job.mask
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ConfigError(f"job {job.task_id}: image must be H×W×3 uint8, "
                          f"got {img.shape} {img.dtype}")
    if mask.shape != img.shape[:2] or mask.dtype != np.bool_:
        raise ConfigError(f"job {job.task_id}: mask must be H×W bool matching the image, "
                          f"got {mask.shape} {mask.dtype}")
    if job.steps < 1:
        raise ConfigError(f"job {job.task_id}: steps must be >= 1, got {job.steps}")


class RepaintBackend(InpaintBackend):
    """RePaint inpainting on a loaded model; batches concurrent same-steps jobs."""

    name = "repaint"

    def __init__(self, *, model: RepaintModel, clock: EmulatedClock,
                 jump_length: int | None = None, jump_n_sample: int | None = None,
                 eta: float | None = None, max_batch: int = 4,
                 gather_window_s: float = 0.02, rng: np.random.Generator | None = None,
                 metrics: tuple[str, ...] = ()) -> None:
        """The sampler settings left None are the model's (its folder's ``sampler.json``,
        else ``ddim``: eta 0, j = r = 1)."""
        if max_batch < 1:
            raise ConfigError(f"max_batch must be >= 1, got {max_batch}")
        sampler = model.sampler.replace(eta=eta, jump_length=jump_length,
                                        jump_n_sample=jump_n_sample)
        self.model = model
        self.clock = clock
        self.jump_length = sampler.jump_length
        self.jump_n_sample = sampler.jump_n_sample
        self.eta = sampler.eta
        self.max_batch = max_batch
        self.gather_window_s = gather_window_s
        self.metrics = metrics
        self._rng = rng if rng is not None else np.random.default_rng()
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repaint")
        self.batches_run = 0
        """How many pipeline calls ran (for tests and monitoring)."""

    def unet_calls(self, steps: int) -> int:
        """UNet calls a t-step task costs with this backend's jump settings."""
        t = min(steps, self.model.train_steps)
        return unet_call_formula(t, self.jump_length, self.jump_n_sample)

    async def run(self, job: InpaintJob) -> InpaintOutput:
        _check_job(job)
        loop = asyncio.get_running_loop()
        pending = _Pending(job=job, future=loop.create_future(),
                           seed=int(self._rng.integers(0, 2**63 - 1)))
        self._pending.append(pending)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="repaint-dispatch")
        self._wake.set()
        return await pending.future  # cancelling this cancels the future: the job is dropped

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._take_live():
                await asyncio.sleep(self.gather_window_s)
                batch = self._next_batch()
                if batch:
                    await self._run_batch(batch)

    def _take_live(self) -> bool:
        self._pending = [p for p in self._pending if not p.future.done()]
        return bool(self._pending)

    def _next_batch(self) -> list[_Pending]:
        """The oldest live job and up to max_batch − 1 others with the same steps."""
        if not self._take_live():
            return []
        steps = self._pending[0].job.steps
        batch = [p for p in self._pending if p.job.steps == steps][: self.max_batch]
        self._pending = [p for p in self._pending if p not in batch]
        return batch

    async def _run_batch(self, batch: list[_Pending]) -> None:
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._executor, self._infer, batch, stop,
                                    _preview_hook(batch, loop, self.unet_calls(batch[0].job.steps)))
        watchers: list[asyncio.Future[Any]] = [p.future for p in batch]
        while not work.done():
            await asyncio.wait([work, *watchers], return_when=asyncio.FIRST_COMPLETED)
            watchers = [f for f in watchers if not f.done()]
            if not watchers:  # everybody gave up: stop the batch at its next step
                stop.set()
                break
        try:
            outputs = await work
        except BatchStoppedError:
            log.info("dropped a batch of %d cancelled job(s)", len(batch))
            return
        except Exception as exc:  # a model failure fails its jobs, not the node
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        self.batches_run += 1
        for p, out in zip(batch, outputs, strict=True):
            if not p.future.done():
                p.future.set_result(out)

    def _infer(self, batch: list[_Pending], stop: threading.Event,
               on_step: StepHook | None = None) -> list[InpaintOutput]:
        """Worker thread: one pipeline call, then the no-reference metrics."""
        jobs = [p.job for p in batch]
        start = time.perf_counter()
        images = inpaint_batch(self.model, [j.image for j in jobs], [j.mask for j in jobs],
                               steps=jobs[0].steps, seeds=[p.seed for p in batch],
                               jump_length=self.jump_length, jump_n_sample=self.jump_n_sample,
                               eta=self.eta, stop=stop, on_step=on_step)
        wall_s = time.perf_counter() - start
        scores: list[dict[str, float]] = [{} for _ in jobs]
        if self.metrics:
            from edge_node.quality import evaluate

            scores = _evaluate_each(evaluate, images, self.metrics)
        log.debug("batch of %d × %d steps took %.3f s", len(jobs), jobs[0].steps, wall_s)
        return [InpaintOutput(image=img, runtime_s=wall_s * self.clock.scale, metrics=s)
                for img, s in zip(images, scores, strict=True)]

    async def aclose(self) -> None:
        for p in self._pending:
            p.future.cancel()
        self._pending.clear()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        if self.model.device.startswith("cuda"):
            import torch

            self.model.pipe.to("cpu")
            torch.cuda.empty_cache()


class PacedRepaintBackend(RepaintBackend):
    """RePaint content on the scenario's runtime model (an ASP's ``timing = "model"``).

    The task ends runtime(t) after its admission, as with ``modeled``; the real inference
    runs meanwhile and must be done by then. When it is not, the task ends when it is,
    and the node's finish lag (:mod:`aaas.lag`) shows by how much: the demo's emulation
    check then says the real ASP did not keep up with the time scale."""

    models_runtime = True

    def __init__(self, *, runtime: RuntimeModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    async def run(self, job: InpaintJob) -> InpaintOutput:
        start = self.clock.now() if job.started_at is None else job.started_at
        out = await super().run(job)
        runtime_s = self.runtime(job.steps)
        await self.clock.sleep_until(start + runtime_s)
        return InpaintOutput(image=out.image, runtime_s=runtime_s, metrics=out.metrics,
                             png=out.png)


def _preview_hook(batch: list[_Pending], loop: asyncio.AbstractEventLoop,
                  last: int) -> StepHook | None:
    """The step hook that sends the batch's jobs their previews, or None if none asks.
    The *last* step (the batch's UNet calls) has none: the result itself follows."""
    wanted = [(k, p) for k, p in enumerate(batch)
              if p.job.preview is not None and p.job.preview_every > 0]
    if not wanted:
        return None

    def on_step(step: int, x0: Any) -> None:  # worker thread: keep it quick
        due = [(k, p) for k, p in wanted if step % p.job.preview_every == 0
               and step < last and not p.future.done()]
        if not due:
            return
        small = _small_uint8(x0[[k for k, _ in due]])
        for (_, p), image in zip(due, small, strict=True):
            hook = p.job.preview
            assert hook is not None
            _call_soon(loop, hook, step, image)

    return on_step


def _call_soon(loop: asyncio.AbstractEventLoop, hook: Callable[[int, np.ndarray], None],
               step: int, image: np.ndarray) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed (the node stopped): no one to tell
        loop.call_soon_threadsafe(hook, step, image)


def _small_uint8(x0: Any) -> list[np.ndarray]:
    """B×3×H×W in [-1, 1] (torch) to B images H'×W'×3 uint8, at most PREVIEW_SIZE a side."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    with torch.no_grad():
        x = x0.detach().float()
        h, w = x.shape[-2:]
        if max(h, w) > PREVIEW_SIZE:
            f = PREVIEW_SIZE / max(h, w)
            x = F.interpolate(x, size=(max(1, round(h * f)), max(1, round(w * f))),
                              mode="area")
        x = ((x / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        arr = x.permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(a) for a in arr]


def _evaluate_each(evaluate: Any, images: list[np.ndarray],
                   names: tuple[str, ...]) -> list[dict[str, float]]:
    """Metrics per image (images of a batch may differ in size)."""
    return [evaluate([img], names)[0] for img in images]


def load_repaint_backend(*, model: str, clock: EmulatedClock, device: str | None = None,
                         dtype: str | None = None, jump_length: int | None = None,
                         jump_n_sample: int | None = None, eta: float | None = None,
                         sampler: str | None = None, max_batch: int = 4,
                         gather_window_s: float = 0.02,
                         rng: np.random.Generator | None = None,
                         metrics: tuple[str, ...] | None = None,
                         threads: int | None = None,
                         runtime: RuntimeModel | None = None) -> RepaintBackend:
    """Load the model (a directory, a hub id or a ``builtin:`` short name) and build
    the backend.

    The sampler is the model's own (``sampler.json`` in its folder; the shipped models
    have ``plateau``), else ``ddim``; *sampler* names one of :data:`SAMPLERS` instead,
    and *eta*, *jump_length*, *jump_n_sample* change single settings of either.

    ``metrics=None`` picks the no-reference metrics that work here: TV, and
    BRISQUE when its SVM model is installed (a warning says how otherwise).
    With *runtime* the backend is a :class:`PacedRepaintBackend`: a task takes
    runtime(t) emulated seconds, not its measured wall time × the scale.
    Loading blocks: call it from a worker thread (``asyncio.to_thread``)
    when an event loop is already running.
    """
    from edge_node.quality import parse_metrics

    if metrics is None:
        metrics = _default_metrics()
    else:
        metrics = parse_metrics(metrics, have_reference=False)
        if "brisque" in metrics:
            from edge_node.quality import find_brisque_weights

            find_brisque_weights()  # fail now, with the install hint, not at the first task
    if sampler is not None and sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {sampler!r}; known: {', '.join(SAMPLERS)}")
    loaded = load_repaint_model(model, device=device, dtype=dtype, threads=threads)
    if sampler is not None:
        loaded.sampler = SAMPLERS[sampler]
    settings: dict[str, Any] = {
        "model": loaded, "clock": clock, "jump_length": jump_length,
        "jump_n_sample": jump_n_sample, "eta": eta, "max_batch": max_batch,
        "gather_window_s": gather_window_s, "rng": rng, "metrics": metrics}
    if runtime is not None:
        return PacedRepaintBackend(runtime=runtime, **settings)
    return RepaintBackend(**settings)


def _default_metrics() -> tuple[str, ...]:
    from edge_node.quality import BrisqueUnavailableError, find_brisque_weights

    try:
        find_brisque_weights()
    except BrisqueUnavailableError as exc:
        log.warning("results will carry TV only: %s", exc)
        return ("tv",)
    return ("tv", "brisque")


def _make_repaint(spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                  device: str | None) -> InpaintBackend:
    if not spec.model:
        raise ConfigError(f"ASP {spec.id} uses the repaint backend but names no model "
                          "(set model = DIR, hub id or builtin:NAME in its [[asps.override]])")
    from .repaint_pipeline import pick_device

    # On the CPU one torch thread per process: a process hosts several nodes (the demo
    # all of them), and threads spinning against each other ran 3-60x slower.
    threads = 1 if pick_device(device) == "cpu" else None
    return load_repaint_backend(model=spec.model, clock=clock, device=device, threads=threads,
                                runtime=scenario.runtime if spec.timing == "model" else None)


BACKENDS.add("repaint", BackendPlugin(factory=_make_repaint, requires=("torch", "diffusers"),
                                      extra="edge"))
