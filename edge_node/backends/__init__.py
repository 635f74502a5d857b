"""Inpainting backends behind one interface (:mod:`.base`), built by name from the
registry :data:`BACKENDS` (:mod:`.registry`): ``modeled`` (OpenCV) and ``repaint``
(torch + diffusers, imported when a model loads)."""

from .base import INLINE_MAX_PIXELS, InpaintBackend, InpaintJob, InpaintOutput, PreviewHook
from .modeled import CONTENT_SCALE, ModeledBackend, classical_inpaint
from .registry import BACKENDS, BackendFactory, BackendPlugin, check_backends
from .repaint import RepaintBackend, load_repaint_backend

__all__ = [
    "BACKENDS",
    "CONTENT_SCALE",
    "INLINE_MAX_PIXELS",
    "BackendFactory",
    "BackendPlugin",
    "InpaintBackend",
    "InpaintJob",
    "InpaintOutput",
    "ModeledBackend",
    "PreviewHook",
    "RepaintBackend",
    "check_backends",
    "classical_inpaint",
    "load_repaint_backend",
]
