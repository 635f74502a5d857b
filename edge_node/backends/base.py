"""The inpainting backend interface every edge node backend implements."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = ["INLINE_MAX_PIXELS", "InpaintBackend", "InpaintJob", "InpaintOutput", "PreviewHook"]

INLINE_MAX_PIXELS = 128 * 128
"""Content up to this many pixels is decoded (the node) and inpainted (``modeled``) on
the event loop, not in a worker thread: at the paper's 64×64 that work takes a few
tenths of a millisecond, less than what a worker thread costs the loop. The loop's MQTT
sessions release the GIL at every send and receive; a worker that takes it then keeps
it until its own next release, and the loop waits. At 150 tasks/s the edge process's
loop spent a quarter of its time in such waits (docs/performance.md, "The content path";
docs/history.md, "The GIL after all")."""

PreviewHook = Callable[[int, np.ndarray], None]
"""Gets a task's intermediate image (step, H×W×3 uint8, at most 64×64), called on the
event loop's thread. Backends that have no intermediate images never call it."""


@dataclass(frozen=True, kw_only=True)
class InpaintJob:
    """One task's inpainting work."""

    task_id: str
    steps: int
    """Diffusion steps t asked for."""
    image: np.ndarray
    """H×W×3 uint8, the damaged image."""
    mask: np.ndarray
    """H×W bool, True where pixels are missing."""
    started_at: float | None = None
    """Emulated time the node admitted the task: a modelled runtime ends runtime(t)
    after it, however long the node took to decode the content (None: from now)."""
    preview: PreviewHook | None = None
    """Where intermediate previews go (the ``repaint`` backend; None: none are made)."""
    preview_every: int = 0
    """A preview every this many steps (0: none)."""


@dataclass(frozen=True, kw_only=True)
class InpaintOutput:
    """What a backend returns for a job."""

    image: np.ndarray
    """H×W×3 uint8, known pixels kept."""
    runtime_s: float
    """Emulated seconds the inference took (measured wall s × clock scale for real backends)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """No-reference quality metrics of the result (may be empty)."""
    png: bytes | None = None
    """``image`` already encoded as PNG, when the backend made it so while the runtime
    passed (the node then sends it as it is instead of encoding after the runtime)."""


class InpaintBackend(abc.ABC):
    """Restores damaged images. ``run`` must never block the event loop (work on
    content up to :data:`INLINE_MAX_PIXELS` may run on it: it is shorter than a thread
    hop) and must be cancellable: when the node crashes it cancels the awaiting task."""

    name: ClassVar[str]
    models_runtime: ClassVar[bool] = False
    """Its runtime is the paper's model on the emulated clock, not measured: the node
    frees a task's capacity when that runtime is over even if the task's content is
    still on its way (``modeled``). A backend that computes holds it while it computes."""

    @abc.abstractmethod
    async def run(self, job: InpaintJob) -> InpaintOutput:
        """Inpaint *job* (awaits the inference; cancellable)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Free the backend's resources."""
