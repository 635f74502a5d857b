"""Where the users' images come from: procedural by default (each content domain's
family, :data:`aaas.images.DOMAIN_IMAGES`), or a folder (whatever the domain)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from aaas import ConfigError
from aaas.config import Limits
from aaas.images import domain_image, encode_png, random_mask

__all__ = ["Content", "ImageSource"]

_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


POOL = Limits().image_pool
"""Procedural images a source draws from by default: the scenario's default (ImageSource.pool)."""

Content = tuple[np.ndarray, bytes, bytes]
"""A request's content: the clean H×W×3 image (the user keeps it), and the damaged image
(the mask's pixels black) and the mask, each as PNG."""


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
        """Procedural content: each task takes one of this many image and mask pairs, made
        on first use and kept, PNGs included (0: a new pair for every task; the
        scenario's ``limits.image_pool``). Like a folder of photos, a finite set; the
        noise is new for every task. Making and encoding a pair costs about 0.9 ms, a
        quarter of what the demo's process spends on a task at 300 tasks/s
        (docs/performance.md)."""
        self._made: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._encoded: dict[tuple[str, int], Content] = {}
        self._pool_seed = int(rng.integers(2**63)) if pool > 0 else 0
        self.files: list[Path] = []
        if folder is not None:
            if not folder.is_dir():
                raise ConfigError(f"--images {folder}: not a directory")
            self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTS)
            if not self.files:
                raise ConfigError(f"--images {folder}: no images ({', '.join(sorted(_EXTS))})")

    def next(self, domain: str = "generic") -> tuple[np.ndarray, np.ndarray]:
        """(clean H×W×3 uint8 image of *domain*'s family, H×W bool mask)."""
        if self.files:
            path = self.files[int(self.rng.integers(len(self.files)))]
            with Image.open(path) as im:
                clean = np.asarray(im.convert("RGB").resize((self.size, self.size)),
                                   dtype=np.uint8)
            return clean, self._mask(self.rng)
        if self.pool <= 0:
            return domain_image(domain, self.rng, self.size), self._mask(self.rng)
        clean, mask = self._pair(domain, int(self.rng.integers(self.pool)))
        if self.noise > 0:
            grain = self.rng.normal(0.0, self.noise, clean.shape)
            clean = np.clip(clean + grain, 0, 255).astype(np.uint8)
        return clean, mask

    def content(self, domain: str = "generic") -> Content:
        """The next request's content, of *domain*. A pooled pair without noise is encoded
        once."""
        if self.files or self.pool <= 0 or self.noise > 0:
            return _encoded(*self.next(domain))
        key = (domain, int(self.rng.integers(self.pool)))
        made = self._encoded.get(key)
        if made is None:
            made = self._encoded[key] = _encoded(*self._pair(*key))
        return made

    def _pair(self, domain: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self._made.get((domain, i))
        if pair is None:  # its own generator: the same pair whenever it is drawn
            words = [self._pool_seed, i] if domain == "generic" else \
                [self._pool_seed, i, zlib.crc32(domain.encode())]
            rng = np.random.default_rng(words)
            pair = (domain_image(domain, rng, self.size), self._mask(rng))
            for a in pair:
                a.setflags(write=False)
            self._made[domain, i] = pair
        return pair

    def _mask(self, rng: np.random.Generator) -> np.ndarray:
        return random_mask(rng, self.size, fraction=self.mask_fraction)


def _encoded(clean: np.ndarray, mask: np.ndarray) -> Content:
    damaged = clean.copy()
    damaged[mask] = 0
    return clean, encode_png(damaged), encode_png(mask)
