"""Inpainting backends: ``modeled`` (always available) and ``repaint`` (torch + diffusers)."""

from .base import InpaintBackend, InpaintJob, InpaintOutput
from .modeled import ModeledBackend, classical_inpaint

__all__ = ["InpaintBackend", "InpaintJob", "InpaintOutput", "ModeledBackend", "classical_inpaint"]
