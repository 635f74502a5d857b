"""Image payloads: PNG encoding, checksums and the procedural test images.

Light on purpose (numpy + Pillow): the user agent runs on a Raspberry Pi.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import numpy.typing as npt
from PIL import Image

from .errors import ProtocolError
from .schemas import ErrorCode

__all__ = [
    "check_pixels",
    "checksum",
    "decode_image",
    "decode_mask",
    "encode_png",
    "random_mask",
    "synthetic_image",
]

U8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]


def checksum(*parts: bytes) -> str:
    """sha256 hex of the parts, concatenated (the contract's content checksum)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def encode_png(array: npt.NDArray[np.generic]) -> bytes:
    """PNG bytes of an H×W×3 uint8 image or an H×W bool/uint8 mask."""
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def _header(data: bytes, what: str, max_pixels: int | None) -> Image.Image:
    """The image with only its header read (Pillow decodes lazily), size checked."""
    try:
        img = Image.open(io.BytesIO(data))
    except Exception as exc:  # Pillow raises many types for bad data
        raise ProtocolError(ErrorCode.BAD_IMAGE, f"{what} is not a readable image: {exc}") from None
    w, h = img.size
    if max_pixels is not None and w * h > max_pixels:
        raise ProtocolError(ErrorCode.IMAGE_TOO_LARGE, f"{what} is {w}x{h} pixels; the limit "
                            f"is {max_pixels} pixels")
    return img


def check_pixels(data: bytes, what: str, max_pixels: int) -> int:
    """The pixels *data*'s header says it has, read without decoding; ProtocolError
    when they are more than *max_pixels* or the header is not an image's."""
    w, h = _header(data, what, max_pixels).size
    return int(w * h)


def _open(data: bytes, what: str, max_pixels: int | None) -> Image.Image:
    img = _header(data, what, max_pixels)
    try:
        img.load()
    except Exception as exc:  # Pillow raises many types for bad data
        raise ProtocolError(ErrorCode.BAD_IMAGE, f"{what} is not a readable image: {exc}") from None
    return img


def decode_image(data: bytes, *, max_pixels: int | None = None) -> U8Array:
    """H×W×3 uint8 array of an encoded image (refused from its header above *max_pixels*)."""
    return np.asarray(_open(data, "image", max_pixels).convert("RGB"), dtype=np.uint8)


def decode_mask(data: bytes, *, max_pixels: int | None = None) -> BoolArray:
    """H×W bool array (True = missing pixel) of an encoded mask."""
    return np.asarray(_open(data, "mask", max_pixels).convert("L"), dtype=np.uint8) > 127


def synthetic_image(rng: np.random.Generator, size: int = 64) -> U8Array:
    """A procedural natural-looking image: smooth colour gradients plus discs."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
    img = np.zeros((size, size, 3))
    for c in range(3):
        a, b, k = rng.uniform(-1, 1, 3)
        wave = np.sin(2 * np.pi * (k * 2) * (xx + yy))
        img[..., c] = 0.5 + 0.25 * (a * xx + b * yy) + 0.15 * wave
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0, 1, 2)
        r = rng.uniform(0.08, 0.3)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[disc] = rng.uniform(0, 1, 3)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def random_mask(rng: np.random.Generator, size: int = 64, *, fraction: float = 0.25) -> BoolArray:
    """A rectangular hole covering about *fraction* of the image."""
    side = max(1, round(size * float(np.sqrt(fraction))))
    x0, y0 = rng.integers(0, size - side + 1, 2)
    mask = np.zeros((size, size), dtype=bool)
    mask[y0:y0 + side, x0:x0 + side] = True
    return mask
