"""Loading and running diffusers' RePaint pipeline (torch imported lazily).

RePaint's resampling makes the number of UNet calls differ from the steps t:
the scheduler walks t inference steps down, and every ``jump_length`` steps
(except the last stretch) it jumps ``jump_length`` steps back up and walks
them down again, ``jump_n_sample − 1`` extra times. So, with j = jump_length,
r = jump_n_sample and K = ceil(t/j) − 1 jump points (0 when t ≤ j):

    UNet calls      = t + (r − 1)·j·K
    undo (re-noise) = (r − 1)·j·K      (cheap: no UNet call)

With the default r = 1 a task of t steps is exactly t UNet calls.
:func:`unet_calls` counts them from the scheduler's own timestep list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aaas import ConfigError

from ..models import resolve_model

if TYPE_CHECKING:
    import torch

__all__ = [
    "SAMPLERS",
    "BatchStoppedError",
    "RepaintModel",
    "SamplerSettings",
    "StepHook",
    "inpaint_batch",
    "load_repaint_model",
    "unet_call_formula",
    "unet_call_rate",
    "unet_calls",
]

log = logging.getLogger("aaas.edge.repaint")

StepHook = Callable[[int, "torch.Tensor"], None]
"""Called in the worker thread after every UNet step of a batch with the step's number
(1, 2, …, counting UNet calls) and the scheduler's current x0 prediction (B×3×H×W in
[-1, 1], on the model's device). It must be quick: the diffusion loop waits for it."""


def unet_call_formula(steps: int, jump_length: int, jump_n_sample: int) -> int:
    """UNet calls of a t-step RePaint run (the closed form in the module docstring)."""
    jumps = max(0, -(-steps // jump_length) - 1) if steps > jump_length else 0
    return steps + (jump_n_sample - 1) * jump_length * jumps


def unet_call_rate(m: RepaintModel, *, batch: int = 1, calls: int = 8) -> float:
    """Image-UNet calls per wall second through *m*'s UNet at *batch* images a call:
    one call to warm up, then *calls* timed (RePaint's own work between calls is small)."""
    import time

    import torch

    s = m.sample_size
    x = torch.randn(batch, m.pipe.unet.config.in_channels, s, s, dtype=m.dtype,
                    generator=torch.Generator("cpu").manual_seed(0)).to(m.device)
    t = torch.full((batch,), m.train_steps // 2, device=m.device)
    with torch.no_grad():
        m.pipe.unet(x, t)
        if m.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            m.pipe.unet(x, t)
        if m.device.startswith("cuda"):
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
    return batch * calls / wall


def unet_calls(timesteps: Any) -> int:
    """UNet calls in a RePaint timestep list: the entries that go down in time."""
    ts = np.asarray(timesteps)
    if ts.size == 0:
        return 0
    return int(1 + np.sum(ts[1:] < ts[:-1]))


def pick_device(device: str | None) -> str:
    """``cuda`` when available (and not overridden), else ``cpu``."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for but torch sees no CUDA device")
    return device


def pick_dtype(dtype: str | None, device: str) -> torch.dtype:
    """fp16 on CUDA, fp32 on the CPU, unless given (float16|float32|bfloat16)."""
    import torch

    if dtype is None:
        return torch.float16 if device.startswith("cuda") else torch.float32
    table = {"float16": torch.float16, "fp16": torch.float16, "float32": torch.float32,
             "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if dtype not in table:
        raise ConfigError(f"unknown dtype {dtype!r} (one of {sorted(table)})")
    return table[dtype]


@dataclass(frozen=True, kw_only=True)
class SamplerSettings:
    """RePaint's sampler: the noise weight and the resampling schedule."""

    eta: float = 0.0
    """DDIM (0) … DDPM (1) noise weight."""
    jump_length: int = 1
    """j: steps of each jump back in time."""
    jump_n_sample: int = 1
    """r: how many times each jump's stretch is walked down (r − 1 resamplings)."""

    def __post_init__(self) -> None:
        if self.jump_length < 1 or self.jump_n_sample < 1:
            raise ConfigError("jump_length and jump_n_sample must be >= 1")
        if not 0.0 <= self.eta <= 1.0:
            raise ConfigError(f"eta must be in [0, 1], got {self.eta}")

    def replace(self, *, eta: float | None = None, jump_length: int | None = None,
                jump_n_sample: int | None = None) -> SamplerSettings:
        """These settings with the given (not None) ones changed."""
        return SamplerSettings(eta=self.eta if eta is None else eta,
                               jump_length=self.jump_length if jump_length is None else jump_length,
                               jump_n_sample=(self.jump_n_sample if jump_n_sample is None
                                              else jump_n_sample))


SAMPLERS: dict[str, SamplerSettings] = {
    "ddim": SamplerSettings(eta=0.0, jump_length=1, jump_n_sample=1),
    "plateau": SamplerSettings(eta=1.0, jump_length=10, jump_n_sample=2),
    "repaint": SamplerSettings(eta=1.0, jump_length=10, jump_n_sample=10),
}
"""Named sampler settings. ``ddim``: one UNet call per step (the paper's runtime model;
quality falls again past ~50 steps). ``plateau``: DDPM noise with one resampling per
10-step jump, about twice the UNet calls; quality levels off as in the paper's Fig. 3.
``repaint``: the RePaint paper's own setting (j = 10, r = 10), about 10× the calls."""

SAMPLER_FILE = "sampler.json"
"""A model folder's sampler settings (``{eta, jump_length, jump_n_sample}``)."""


def read_sampler(folder: Path) -> SamplerSettings:
    """The settings of *folder*'s ``sampler.json``, or ``ddim`` when there is none."""
    import json

    path = folder / SAMPLER_FILE
    if not path.is_file():
        return SAMPLERS["ddim"]
    try:
        data = json.loads(path.read_text())
        return SamplerSettings(eta=float(data["eta"]), jump_length=int(data["jump_length"]),
                               jump_n_sample=int(data["jump_n_sample"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"bad sampler settings in {path}: {exc}") from None


@dataclass(kw_only=True)
class RepaintModel:
    """A loaded RePaint pipeline and where it runs."""

    pipe: Any
    """The diffusers ``RePaintPipeline`` (UNet2DModel + RePaintScheduler)."""
    device: str
    """Torch device string."""
    dtype: Any
    """Torch dtype of the UNet."""
    source: str
    """The directory, hub id or ``builtin:`` name it came from."""
    sampler: SamplerSettings = SAMPLERS["ddim"]
    """The folder's ``sampler.json`` (the settings it is meant to run with), else ``ddim``."""

    @property
    def sample_size(self) -> int:
        size = self.pipe.unet.config.sample_size
        return int(size[0] if isinstance(size, list | tuple) else size)

    @property
    def train_steps(self) -> int:
        return int(self.pipe.scheduler.config.num_train_timesteps)


def load_repaint_model(model: str, *, device: str | None = None, dtype: str | None = None,
                       local_files_only: bool | None = None,
                       threads: int | None = None) -> RepaintModel:
    """Load a RePaint-capable UNet2DModel from a directory, a hub id or a shipped
    model's short name (``builtin:faces``, see :mod:`edge_node.models`).

    The directory (or repo) is a diffusers pipeline (``unet/`` + ``scheduler/``)
    or a bare UNet2DModel folder; the scheduler becomes a RePaintScheduler
    built from the saved scheduler config when there is one. A local directory
    never touches the network. ``threads`` sets torch's (process-wide) CPU
    thread count: on a shared CPU, 1 avoids OpenMP threads spinning against
    other processes (measured 3–60× faster on a busy 2-core machine).
    """
    from diffusers import RePaintPipeline

    dev = pick_device(device)
    if threads is not None:
        import torch

        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    torch_dtype = pick_dtype(dtype, dev)
    source, model = model, resolve_model(model)
    path = Path(model)
    is_dir = path.is_dir()
    if not is_dir and (path.is_absolute() or model.startswith((".", "~"))):
        raise ConfigError(f"model directory {model!r} does not exist")
    offline = is_dir if local_files_only is None else local_files_only
    try:
        unet, scheduler = _load_parts(model, torch_dtype, has_unet_dir=(path / "unet").is_dir(),
                                      is_dir=is_dir, local_files_only=offline)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load a RePaint model from {model!r}: {exc}") from None
    pipe = _stoppable(RePaintPipeline)(unet=unet, scheduler=scheduler).to(dev)
    pipe.set_progress_bar_config(disable=True)
    log.info("loaded RePaint model %s on %s (%s), %d×%d", source, dev, torch_dtype,
             unet.config.sample_size, unet.config.sample_size)
    return RepaintModel(pipe=pipe, device=dev, dtype=torch_dtype, source=source,
                        sampler=read_sampler(path) if is_dir else SAMPLERS["ddim"])


def _load_parts(model: str, torch_dtype: Any, *, has_unet_dir: bool, is_dir: bool,
                local_files_only: bool) -> tuple[Any, Any]:
    """UNet2DModel + RePaintScheduler from a pipeline layout (unet/, scheduler/)
    or a flat one (config.json [+ scheduler_config.json]) like google/ddpm-*."""
    from diffusers import RePaintScheduler, UNet2DModel

    kw: dict[str, Any] = {"local_files_only": local_files_only}
    unet_kw: dict[str, Any] = {**kw, "low_cpu_mem_usage": False}  # no `accelerate` needed
    if has_unet_dir or not is_dir:
        try:
            unet = UNet2DModel.from_pretrained(model, subfolder="unet", torch_dtype=torch_dtype,
                                               **unet_kw)
            return unet, RePaintScheduler.from_pretrained(model, subfolder="scheduler", **kw)
        except (OSError, ValueError):
            if has_unet_dir:
                raise
    unet = UNet2DModel.from_pretrained(model, torch_dtype=torch_dtype, **unet_kw)
    try:
        scheduler = RePaintScheduler.from_pretrained(model, **kw)
    except (OSError, ValueError):
        log.info("no scheduler config with %s: using RePaintScheduler's defaults", model)
        scheduler = RePaintScheduler()
    return unet, scheduler


class BatchStoppedError(Exception):
    """A batch was stopped between two steps because nobody waits for it any more."""


def _stoppable(base: type) -> type:
    """RePaintPipeline whose step loop checks a stop event (via its progress bar hook)."""

    class StoppableRePaintPipeline(base):
        stop_event: threading.Event | None = None

        def progress_bar(self, iterable: Iterable[Any] | None = None,
                         total: int | None = None) -> Iterator[Any]:
            for item in () if iterable is None else iterable:
                if self.stop_event is not None and self.stop_event.is_set():
                    raise BatchStoppedError
                yield item

    return StoppableRePaintPipeline


def _resize(a: np.ndarray, size: int, *, nearest: bool) -> np.ndarray:
    from PIL import Image

    if a.shape[0] == size and a.shape[1] == size:
        return a
    mode = Image.Resampling.NEAREST if nearest else Image.Resampling.BICUBIC
    img = Image.fromarray(a.astype(np.uint8) * 255 if a.dtype == np.bool_ else a)
    out = np.asarray(img.resize((size, size), mode))
    return out > 127 if a.dtype == np.bool_ else out


def _to_batch(m: RepaintModel, images: Sequence[np.ndarray],
              masks: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    s = m.sample_size
    img = np.stack([_resize(i, s, nearest=False) for i in images]).astype(np.float32)
    known = np.stack([~_resize(k, s, nearest=True) for k in masks]).astype(np.float32)
    img_B3HW = torch.from_numpy(img / 127.5 - 1.0).permute(0, 3, 1, 2)
    known_B1HW = torch.from_numpy(known)[:, None]
    return img_B3HW.to(m.device, m.dtype), known_B1HW.to(m.device, m.dtype)


def inpaint_batch(m: RepaintModel, images: Sequence[np.ndarray], masks: Sequence[np.ndarray], *,
                  steps: int, seeds: Sequence[int], jump_length: int = 1, jump_n_sample: int = 1,
                  eta: float = 0.0, stop: threading.Event | None = None,
                  on_step: StepHook | None = None) -> list[np.ndarray]:
    """Inpaint same-sized-after-resize images in one RePaint pipeline call.

    Images are resized to the UNet's sample size and back; the known pixels of
    every result are the input's, exactly. Blocking: run it in a worker thread.
    *on_step* (see :data:`StepHook`) sees every step's x0 prediction (previews).
    """
    import torch

    img_B3HW, known_B1HW = _to_batch(m, images, masks)
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    m.pipe.stop_event = stop
    scheduler = m.pipe.scheduler
    if on_step is not None:
        _observe_steps(scheduler, on_step)
    try:
        out = m.pipe(image=img_B3HW, mask_image=known_B1HW, num_inference_steps=steps, eta=eta,
                     jump_length=jump_length, jump_n_sample=jump_n_sample,
                     generator=generators, output_type="np").images
    finally:
        m.pipe.stop_event = None
        if on_step is not None:
            del scheduler.step  # back to the class's own step
    results = []
    for k, (image, mask) in enumerate(zip(images, masks, strict=True)):
        restored = np.clip(np.rint(np.asarray(out[k], dtype=np.float32) * 255), 0, 255)
        restored = _resize_hw(restored.astype(np.uint8), image.shape[:2]).copy()
        restored[~mask] = image[~mask]
        results.append(restored)
    return results


def _observe_steps(scheduler: Any, on_step: StepHook) -> None:
    """Make *scheduler*'s ``step`` report its x0 prediction to *on_step*.

    Hand-written: diffusers' RePaintPipeline has no per-step callback (its loop calls
    ``scheduler.step`` and keeps the sample to itself), so the one scheduler call that
    sees ``pred_original_sample`` is wrapped, on the instance, for one pipeline call
    (the caller removes it). Batches run one at a time in one worker thread.
    """
    step = type(scheduler).step
    count = 0

    def observed(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        out = step(scheduler, *args, **kwargs)
        count += 1
        on_step(count, out.pred_original_sample)
        return out

    scheduler.step = observed


def _resize_hw(a: np.ndarray, hw: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    if a.shape[:2] == tuple(hw):
        return a
    return np.asarray(Image.fromarray(a).resize((hw[1], hw[0]), Image.Resampling.BICUBIC))
