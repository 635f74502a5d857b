"""The modeled backend: the paper's runtime model, cheap classical content.

The task takes runtime(t) emulated seconds (an interruptible sleep on the
emulated clock); the content comes from OpenCV's Telea inpainting at half the
resolution, so the user still receives a real restored image. The node reports the
ASP's q(t).
"""

from __future__ import annotations

import asyncio

import numpy as np

from aaas import AspSpec, EmulatedClock, RuntimeModel, Scenario
from aaas.images import encode_png

from .base import INLINE_MAX_PIXELS, InpaintBackend, InpaintJob, InpaintOutput
from .registry import BACKENDS, BackendPlugin

__all__ = ["CONTENT_SCALE", "ModeledBackend", "classical_inpaint"]

CONTENT_SCALE = 2
"""The modeled backend inpaints at 1/CONTENT_SCALE of the resolution and scales the
hole back up: at the paper's 64×64 with a quarter masked, 0.36 ms instead of 1.1 ms for
0.6 dB less PSNR against the clean image (23.9 against 24.5; the damaged image: 11.5).
tests/edge/test_modeled_content.py; docs/performance.md."""


MAX_HOLE_GROWTH = 1.5
"""classical_inpaint shrinks a box only when the shrunk hole covers at most this many
times the pixels of the hole itself (a 32×32 rectangle at any offset: 1.13)."""


def classical_inpaint(image: np.ndarray, mask: np.ndarray, radius: int = 3, *,
                      scale: int = 1) -> np.ndarray:
    """Telea fast-marching inpainting (OpenCV); known pixels are kept exactly.

    Only the hole's bounding box and a margin around it are inpainted: Telea reads the
    known pixels within *radius* of the hole, and OpenCV's distance field around it
    reaches *radius* further, so a margin of 2·radius + 2 gives the pixels the whole
    image gives (tests/edge/test_modeled_crop.py), in about a tenth less time at the
    paper's 64×64 with a quarter of it masked (1.17 → 1.05 ms; docs/history.md, stop 19).

    With *scale* > 1 the box is shrunk by *scale* (area averaging), inpainted there with
    the radius shrunk too (rounded up) and the hole's pixels are taken from it scaled
    back up (bilinear); a small pixel is part of the hole when any of its pixels is. A
    box too small to shrink, or a hole that shrinking would grow by more than
    MAX_HOLE_GROWTH (scattered pixels, thin lines: known pixels would be lost), is
    inpainted as it is, with that radius.
    """
    import cv2  # imported here: the user agent never needs OpenCV

    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if rows.size == 0:
        return np.array(image, dtype=np.uint8)
    if scale > 1:  # the same reach in the image's pixels, at least one small pixel
        radius = max(1, -(-radius // scale))
    margin = scale * (2 * radius + 2)
    y0, y1 = max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)
    box, hole = np.ascontiguousarray(image[y0:y1, x0:x1]), mask[y0:y1, x0:x1]
    h, w = hole.shape
    patch = None
    if scale > 1 and min(h, w) >= 4 * scale:
        small = (w // scale, h // scale)
        # float32: a small pixel with any hole pixel in it stays a hole (no rounding to 0)
        small_hole = cv2.resize(hole.astype(np.float32), small,
                                interpolation=cv2.INTER_AREA) > 0
        if small_hole.sum() * scale * scale <= MAX_HOLE_GROWTH * hole.sum():
            filled = cv2.inpaint(cv2.resize(box, small, interpolation=cv2.INTER_AREA),
                                 small_hole.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
            patch = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    if patch is None:
        patch = cv2.inpaint(box, hole.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    out = np.array(image, dtype=np.uint8)
    out[y0:y1, x0:x1][hole] = patch[hole]
    return out


class ModeledBackend(InpaintBackend):
    """Sleeps runtime(t) on the emulated clock, then inpaints classically."""

    name = "modeled"
    models_runtime = True

    def __init__(self, *, clock: EmulatedClock, runtime: RuntimeModel) -> None:
        import cv2  # noqa: F401  # now, not on the event loop at the first task (60 ms)

        self.clock = clock
        self.runtime = runtime

    async def run(self, job: InpaintJob) -> InpaintOutput:
        runtime_s = self.runtime(job.steps)
        start = self.clock.now() if job.started_at is None else job.started_at
        if job.image.shape[0] * job.image.shape[1] <= INLINE_MAX_PIXELS:
            # A few tenths of a millisecond: cheaper on the loop than in a worker thread
            # (base.INLINE_MAX_PIXELS), and done before the runtime starts passing.
            image, png = _inpaint_png(job.image, job.mask)
            await self.clock.sleep_until(start + runtime_s)
            return InpaintOutput(image=image, runtime_s=runtime_s, png=png)
        # Larger content is made in a worker thread (the event loop keeps serving MQTT)
        # while the modelled runtime passes, so the task ends when the model says it
        # does: at a high time scale a thread hop after the runtime was a tenth of a
        # runtime more on the node's capacity than the simulator holds it.
        # Encoded there too: one thread hop instead of two, and none after the runtime.
        content = asyncio.ensure_future(asyncio.to_thread(_inpaint_png, job.image, job.mask))
        try:
            await self.clock.sleep_until(start + runtime_s)
            image, png = await content
        finally:
            content.cancel()  # a crash cancelled the task: its content is not wanted
        return InpaintOutput(image=image, runtime_s=runtime_s, png=png)


def _inpaint_png(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bytes]:
    out = classical_inpaint(image, mask, scale=CONTENT_SCALE)
    return out, encode_png(out)


def _make_modeled(spec: AspSpec, *, scenario: Scenario, clock: EmulatedClock,
                  device: str | None) -> InpaintBackend:
    return ModeledBackend(clock=clock, runtime=scenario.runtime)


BACKENDS.add("modeled", BackendPlugin(factory=_make_modeled, requires=("cv2",), extra="edge"))
