"""The inpainting models shipped with the project, as package data.

Each is a small DDPM trained by ``aaas train-inpainter`` on one content domain's
procedural image family (:data:`aaas.images.DOMAIN_IMAGES`), in a diffusers pipeline
folder (``unet/`` + ``scheduler/``) with its ``sampler.json`` (the RePaint settings it
was measured with) and ``train.json`` (how it was made). A scenario or the CLI names one
as ``builtin:DOMAIN``; :func:`resolve_model` turns that into the folder. Model cards:
docs/inpainting.md.
"""

from __future__ import annotations

from pathlib import Path

from aaas import ConfigError

__all__ = ["BUILTIN_PREFIX", "MODELS_DIR", "builtin_path", "resolve_model", "shipped_models"]

BUILTIN_PREFIX = "builtin:"
"""A model name with this prefix is a shipped model's short name."""

MODELS_DIR = Path(__file__).resolve().parent
"""Where the shipped model folders live (one per domain)."""


def shipped_models() -> list[str]:
    """The short names of the shipped models (``builtin:faces`` …), sorted."""
    return sorted(f"{BUILTIN_PREFIX}{d.name}" for d in MODELS_DIR.iterdir()
                  if (d / "unet" / "config.json").is_file())


def builtin_path(name: str) -> Path:
    """The folder of shipped model *name* (``builtin:faces`` or just ``faces``);
    ConfigError naming the shipped ones when there is none of that name."""
    short = name.removeprefix(BUILTIN_PREFIX)
    folder = MODELS_DIR / short
    if not short or "/" in short or not (folder / "unet" / "config.json").is_file():
        known = ", ".join(shipped_models()) or "none (the package data is missing)"
        raise ConfigError(f"no shipped model {name!r}; shipped: {known}")
    return folder


def resolve_model(model: str) -> str:
    """*model* itself, or the folder of a ``builtin:NAME`` short name."""
    if model.startswith(BUILTIN_PREFIX):
        return str(builtin_path(model))
    return model
