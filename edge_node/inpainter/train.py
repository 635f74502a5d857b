"""Training a small DDPM on one content domain's procedural image family.

The model is a diffusers ``UNet2DModel`` trained with ``DDPMScheduler.add_noise`` on the
epsilon objective (the loop of diffusers' ``train_unconditional.py`` example, cut down to
what a CPU needs). Images are drawn fresh from :func:`aaas.images.domain_image` every
batch, so the data never repeats and there is no overfitting to watch for. The output
folder is a diffusers pipeline layout (``unet/`` + ``scheduler/``) that
:func:`edge_node.backends.repaint_pipeline.load_repaint_model` loads as it is.

Why hand-written and not ``accelerate``/``train_unconditional.py``: that script needs a
dataset on disk, ``accelerate`` and ``datasets``; here a 40-line loop over generated
images does the same, with a time budget and resume that the script lacks.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aaas import ConfigError
from aaas.images import DOMAIN_IMAGES, domain_image

from ..backends.repaint_pipeline import SAMPLER_FILE, SAMPLERS

__all__ = ["TrainConfig", "TrainResult", "build_unet", "sample_batch", "train_inpainter"]

log = logging.getLogger("aaas.edge.inpainter")

CHECKPOINT = "checkpoint.pt"
LOSS_LOG = "loss.jsonl"
CARD = "train.json"


@dataclass(kw_only=True)
class TrainConfig:
    """What to train, for how long and where to."""

    domain: str
    """Content domain whose image family the model learns (``aaas.images.DOMAIN_IMAGES``)."""
    out: Path
    """Output folder: ``unet/``, ``scheduler/``, the loss log and a resumable checkpoint."""
    size: int = 32
    """The UNet's sample size, in pixels a side."""
    image_size: int = 64
    """Images are drawn at this size (the users' size) and resized to ``size``, as the
    ``repaint`` backend resizes what users send."""
    time_budget_s: float = 1200.0
    """Training stops after this many wall seconds in total (a resumed run counts its
    earlier time)."""
    max_steps: int | None = None
    """Optional cap on optimiser steps (smoke tests)."""
    batch_size: int = 32
    """Images per optimiser step."""
    lr: float = 1e-3
    """Peak AdamW learning rate (after a linear warm-up, then cosine decay over the budget)."""
    warmup_steps: int = 100
    """Linear learning-rate warm-up, in optimiser steps."""
    channels: tuple[int, ...] = (32, 64, 64)
    """``block_out_channels`` of the UNet."""
    schedule: str = "squaredcos_cap_v2"
    """``DDPMScheduler.beta_schedule``: ``squaredcos_cap_v2`` (cosine) or ``linear``."""
    train_timesteps: int = 1000
    """Diffusion steps of the noise schedule."""
    device: str = "cpu"
    """``cpu`` or ``cuda``."""
    seed: int = 0
    """Seed of the weights, the images and the noise."""
    log_every: int = 20
    """Write a loss-log line every this many steps."""
    save_every_s: float = 120.0
    """Save the resumable checkpoint every this many wall seconds."""
    resume: bool = True
    """Continue from ``out/checkpoint.pt`` when it is there."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes copied into ``train.json`` (the command line, the hardware)."""
    threads: int | None = None
    """torch's CPU threads (process-wide), when set."""


@dataclass(kw_only=True)
class TrainResult:
    """What a training run did."""

    steps: int
    """Optimiser steps in total (resumed runs included)."""
    wall_s: float
    """Wall seconds of training in total."""
    cpu_s: float
    """Process CPU seconds of training in total."""
    loss: float
    """Mean loss of the last 200 steps (the epsilon MSE)."""
    out: Path


def build_unet(size: int, channels: tuple[int, ...]) -> Any:
    """The small UNet: ResNet blocks at every level, self-attention at the lowest one."""
    from diffusers import UNet2DModel

    n = len(channels)
    down = ("DownBlock2D",) * (n - 1) + ("AttnDownBlock2D",)
    up = ("AttnUpBlock2D",) + ("UpBlock2D",) * (n - 1)
    return UNet2DModel(sample_size=size, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=channels, down_block_types=down,
                       up_block_types=up, norm_num_groups=min(32, channels[0] // 2),
                       attention_head_dim=channels[-1] // 2)


def sample_batch(domain: str, rng: np.random.Generator, *, count: int, size: int,
                 image_size: int) -> np.ndarray:
    """count×3×size×size float32 in [−1, 1]: fresh images of *domain*'s family."""
    from PIL import Image

    out = np.empty((count, size, size, 3), dtype=np.float32)
    for k in range(count):
        img = domain_image(domain, rng, image_size)
        if image_size != size:
            img = np.asarray(Image.fromarray(img).resize((size, size),
                                                         Image.Resampling.BICUBIC))
        out[k] = img
    return (out / 127.5 - 1.0).transpose(0, 3, 1, 2).copy()


def _check(cfg: TrainConfig) -> None:
    if cfg.domain not in DOMAIN_IMAGES:
        raise ConfigError(f"unknown domain {cfg.domain!r}; known: "
                          f"{', '.join(sorted(DOMAIN_IMAGES))}")
    if cfg.size < 8 or cfg.size % 2 ** (len(cfg.channels) - 1):
        raise ConfigError(f"size {cfg.size} must be >= 8 and divisible by "
                          f"{2 ** (len(cfg.channels) - 1)}")
    if cfg.time_budget_s <= 0 or cfg.batch_size < 1:
        raise ConfigError("time budget and batch size must be positive")
    if cfg.schedule not in ("squaredcos_cap_v2", "linear", "scaled_linear"):
        raise ConfigError(f"unknown noise schedule {cfg.schedule!r}")


def _lr_factor(step: int, elapsed_s: float, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10 % over the time budget."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    frac = min(1.0, elapsed_s / cfg.time_budget_s)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))


@dataclass(kw_only=True)
class _State:
    unet: Any
    optimizer: Any
    rng: np.random.Generator
    step: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    recent: list[float] = field(default_factory=list)


def _init_state(cfg: TrainConfig) -> _State:
    import torch

    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    unet = build_unet(cfg.size, cfg.channels).to(cfg.device)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=0.0)
    state = _State(unet=unet, optimizer=opt, rng=np.random.default_rng(cfg.seed))
    ckpt = cfg.out / CHECKPOINT
    if cfg.resume and ckpt.is_file():
        saved = torch.load(ckpt, map_location=cfg.device, weights_only=False)
        unet.load_state_dict(saved["unet"])
        opt.load_state_dict(saved["optimizer"])
        state.rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        state.step, state.wall_s, state.cpu_s = saved["step"], saved["wall_s"], saved["cpu_s"]
        state.recent = list(saved.get("recent", []))
        log.info("resumed %s at step %d (%.0f s trained)", ckpt, state.step, state.wall_s)
    return state


def _save(cfg: TrainConfig, state: _State, scheduler: Any) -> None:
    import torch

    cfg.out.mkdir(parents=True, exist_ok=True)
    state.unet.save_pretrained(cfg.out / "unet")
    from diffusers import RePaintScheduler

    RePaintScheduler.from_config(scheduler.config).save_pretrained(cfg.out / "scheduler")
    plateau = SAMPLERS["plateau"]  # the sampler the repaint backend runs it with
    (cfg.out / SAMPLER_FILE).write_text(json.dumps(
        {"eta": plateau.eta, "jump_length": plateau.jump_length,
         "jump_n_sample": plateau.jump_n_sample}) + "\n")
    tmp = cfg.out / (CHECKPOINT + ".tmp")
    torch.save({"unet": state.unet.state_dict(), "optimizer": state.optimizer.state_dict(),
                "rng": state.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "step": state.step, "wall_s": state.wall_s, "cpu_s": state.cpu_s,
                "recent": state.recent[-200:]}, tmp)
    tmp.replace(cfg.out / CHECKPOINT)


def _train_step(cfg: TrainConfig, state: _State, scheduler: Any) -> float:
    import torch
    import torch.nn.functional as F  # noqa: N812

    x0 = torch.from_numpy(sample_batch(cfg.domain, state.rng, count=cfg.batch_size,
                                       size=cfg.size, image_size=cfg.image_size)).to(cfg.device)
    noise = torch.randn_like(x0)
    t = torch.randint(0, cfg.train_timesteps, (x0.shape[0],), device=cfg.device)
    noisy = scheduler.add_noise(x0, noise, t)
    loss = F.mse_loss(state.unet(noisy, t).sample, noise)
    for group in state.optimizer.param_groups:
        group["lr"] = cfg.lr * _lr_factor(state.step, state.wall_s, cfg)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(state.unet.parameters(), 1.0)
    state.optimizer.step()
    return float(loss.item())


def _log_line(loss_log: Any, state: _State, every: int) -> None:
    mean = float(np.mean(state.recent[-every:]))
    loss_log.write(json.dumps({"step": state.step, "wall_s": round(state.wall_s, 2),
                               "cpu_s": round(state.cpu_s, 2), "loss": round(mean, 5)}) + "\n")
    loss_log.flush()


def train_inpainter(cfg: TrainConfig,
                    on_progress: Callable[[float, float], None] | None = None) -> TrainResult:
    """Train until the time budget (or ``max_steps``) is spent; save and return.

    *on_progress(done_s, loss)* is called after every step (the CLI's progress bar).
    """
    from diffusers import DDPMScheduler

    _check(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    scheduler = DDPMScheduler(num_train_timesteps=cfg.train_timesteps,
                              beta_schedule=cfg.schedule, clip_sample=True)
    state = _init_state(cfg)
    state.unet.train()
    last_save = time.monotonic()
    with (cfg.out / LOSS_LOG).open("a") as loss_log:
        while state.wall_s < cfg.time_budget_s and (cfg.max_steps is None
                                                    or state.step < cfg.max_steps):
            w0, c0 = time.perf_counter(), time.process_time()
            loss = _train_step(cfg, state, scheduler)
            state.wall_s += time.perf_counter() - w0
            state.cpu_s += time.process_time() - c0
            state.step += 1
            state.recent = [*state.recent[-199:], loss]
            if state.step % cfg.log_every == 0:
                _log_line(loss_log, state, cfg.log_every)
            if on_progress is not None:
                on_progress(state.wall_s, loss)
            if time.monotonic() - last_save > cfg.save_every_s:
                _save(cfg, state, scheduler)
                last_save = time.monotonic()
    _save(cfg, state, scheduler)
    result = TrainResult(steps=state.step, wall_s=state.wall_s, cpu_s=state.cpu_s,
                         loss=float(np.mean(state.recent)) if state.recent else float("nan"),
                         out=cfg.out)
    _write_card(cfg, result, state.unet)
    return result


def _write_card(cfg: TrainConfig, result: TrainResult, unet: Any) -> None:
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    params = sum(p.numel() for p in unet.parameters())
    card = {"config": config, "parameters": params, "steps": result.steps,
            "wall_s": round(result.wall_s, 1), "cpu_s": round(result.cpu_s, 1),
            "loss": round(result.loss, 5)}
    (cfg.out / CARD).write_text(json.dumps(card, indent=2) + "\n")
