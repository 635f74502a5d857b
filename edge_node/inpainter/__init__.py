"""Training small DDPM inpainters on the content domains' image families, and measuring
them (``aaas train-inpainter``, ``aaas bench inpaint``). torch and diffusers are imported
when a function runs."""

from __future__ import annotations

from .train import TrainConfig, TrainResult, build_unet, sample_batch, train_inpainter

__all__ = ["TrainConfig", "TrainResult", "build_unet", "sample_batch", "train_inpainter"]
