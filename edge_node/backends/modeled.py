"""The modeled backend: the paper's runtime model, cheap classical content.

The task takes runtime(t) emulated seconds (an interruptible sleep on the
emulated clock); the content comes from OpenCV's Telea inpainting, so the user
still receives a real restored image. The node reports the ASP's q(t).
"""

from __future__ import annotations

import asyncio

import numpy as np

from aaas import AspSpec, EmulatedClock, RuntimeModel, Scenario
from aaas.images import encode_png

from .base import InpaintBackend, InpaintJob, InpaintOutput
from .registry import BACKENDS, BackendPlugin

__all__ = ["ModeledBackend", "classical_inpaint"]


def classical_inpaint(image: np.ndarray, mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """Telea fast-marching inpainting (OpenCV); known pixels are kept exactly.

    Only the hole's bounding box and a margin around it are inpainted: Telea reads the
    known pixels within *radius* of the hole, and OpenCV's distance field around it
    reaches *radius* further, so a margin of 2·radius + 2 gives the pixels the whole
    image gives (tests/edge/test_modeled_crop.py), in about a tenth less time at the
    paper's 64×64 with a quarter of it masked (docs/performance.md).
    """
    import cv2  # imported here: the user agent never needs OpenCV

    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if rows.size == 0:
        return np.array(image, dtype=np.uint8)
    margin = 2 * radius + 2
    y0, y1 = max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)
    box, hole = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    patch = cv2.inpaint(np.ascontiguousarray(box), hole.astype(np.uint8) * 255, radius,
                        cv2.INPAINT_TELEA)
    out = np.array(image, dtype=np.uint8)
    out[y0:y1, x0:x1][hole] = patch[hole]
    return out


class ModeledBackend(InpaintBackend):
    """Sleeps runtime(t) on the emulated clock, then inpaints classically."""

    name = "modeled"

    def __init__(self, *, clock: EmulatedClock, runtime: RuntimeModel) -> None:
        self.clock = clock
        self.runtime = runtime

    async def run(self, job: InpaintJob) -> InpaintOutput:
        runtime_s = self.runtime(job.steps)
        # The content is made in a worker thread (the event loop keeps serving MQTT)
        # while the modelled runtime passes, so the task ends when the model says it
        # does: at a high time scale a thread hop after the runtime was a tenth of a
        # runtime more on the node's capacity than the simulator holds it.
        # Encoded there too: one thread hop instead of two, and none after the runtime.
        content = asyncio.ensure_future(asyncio.to_thread(_inpaint_png, job.image, job.mask))
        try:
            start = self.clock.now() if job.started_at is None else job.started_at
            await self.clock.sleep_until(start + runtime_s)
            image, png = await content
        finally:
            content.cancel()  # a crash cancelled the task: its content is not wanted
        return InpaintOutput(image=image, runtime_s=runtime_s, png=png)


def _inpaint_png(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bytes]:
    out = classical_inpaint(image, mask)
    return out, encode_png(out)


def _make_modeled(spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                  device: str | None) -> InpaintBackend:
    return ModeledBackend(clock=clock, runtime=scenario.runtime)


BACKENDS.add("modeled", BackendPlugin(factory=_make_modeled, requires=("cv2",), extra="edge"))
