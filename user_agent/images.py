"""Where the users' images come from: procedural by default, or a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aaas import ConfigError
from aaas.config import Limits
from aaas.images import random_mask, synthetic_image

__all__ = ["ImageSource"]

_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


POOL = Limits().image_pool
"""Procedural images a source draws from by default: the scenario's default (ImageSource.pool)."""


class ImageSource:
    """Clean images and masks for the requests (the clean one stays with the user)."""

    def __init__(self, *, size: int, rng: np.random.Generator, folder: Path | None = None,
                 mask_fraction: float = 0.25, noise: float = 0.0, pool: int = POOL) -> None:
        self.size = size
        self.noise = noise
        """Sensor noise (grey levels) on procedural images: photo-sized PNGs."""
        self.rng = rng
        self.mask_fraction = mask_fraction
        self.pool = pool
        """Procedural images: each task takes one of this many, made on first use and
        kept (0: a new one for every task; the scenario's ``limits.image_pool``). Like a
        folder of photos, a finite set; the mask (and the noise) is new for every task.
        Making an image costs about half a millisecond, a sixth of what the demo's
        process spends on a task at 300 tasks/s (docs/performance.md)."""
        self._made: dict[int, np.ndarray] = {}
        self._pool_seed = int(rng.integers(2**63)) if pool > 0 else 0
        self.files: list[Path] = []
        if folder is not None:
            if not folder.is_dir():
                raise ConfigError(f"--images {folder}: not a directory")
            self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTS)
            if not self.files:
                raise ConfigError(f"--images {folder}: no images ({', '.join(sorted(_EXTS))})")

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """(clean H×W×3 uint8 image, H×W bool mask)."""
        if self.files:
            path = self.files[int(self.rng.integers(len(self.files)))]
            with Image.open(path) as im:
                clean = np.asarray(im.convert("RGB").resize((self.size, self.size)),
                                   dtype=np.uint8)
        else:
            clean = self._procedural()
            if self.noise > 0:
                grain = self.rng.normal(0.0, self.noise, clean.shape)
                clean = np.clip(clean + grain, 0, 255).astype(np.uint8)
        return clean, random_mask(self.rng, self.size, fraction=self.mask_fraction)

    def _procedural(self) -> np.ndarray:
        if self.pool <= 0:
            return synthetic_image(self.rng, self.size)
        i = int(self.rng.integers(self.pool))
        image = self._made.get(i)
        if image is None:  # its own generator: the same image whenever it is drawn
            image = synthetic_image(np.random.default_rng([self._pool_seed, i]), self.size)
            image.setflags(write=False)
            self._made[i] = image
        return image
