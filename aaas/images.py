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
    "DOMAIN_IMAGES",
    "check_pixels",
    "checksum",
    "decode_image",
    "decode_mask",
    "domain_image",
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


def _grid(size: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
    return yy, xx


def face_image(rng: np.random.Generator, size: int = 64) -> U8Array:
    """A faces-like image, aligned and centred as CelebA-HQ's are: a plain background,
    a skin-toned oval under a cap of hair, two eyes with brows, a nose and a mouth."""
    yy, xx = _grid(size)
    top, bottom = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    img = top[None, None, :] * (1 - yy[..., None]) + bottom[None, None, :] * yy[..., None]
    cx, cy = 0.5 + rng.uniform(-0.05, 0.05), 0.55 + rng.uniform(-0.04, 0.04)
    rx, ry = rng.uniform(0.24, 0.32), rng.uniform(0.32, 0.4)
    skin = np.array([0.95, 0.78, 0.62]) * rng.uniform(0.45, 1.0) + rng.uniform(-0.04, 0.04, 3)
    hair = rng.uniform(0.02, 0.5) * np.array([1.0, 0.8, 0.6]) + rng.uniform(0, 0.1, 3)
    head = ((xx - cx) / (rx * 1.12)) ** 2 + ((yy - cy + 0.04) / (ry * 1.1)) ** 2 < 1
    img[head & (yy < cy + rng.uniform(0.0, 0.25))] = hair  # hair, short or long
    face = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
    img[face & (yy > cy - ry * rng.uniform(0.5, 0.75))] = skin
    ex, ey = rx * rng.uniform(0.38, 0.5), cy - ry * rng.uniform(0.1, 0.25)
    eye_r = rng.uniform(0.035, 0.055)
    iris = rng.uniform(0.0, 0.45, 3)
    for side in (-1, 1):
        ox = cx + side * ex
        white = ((xx - ox) / (eye_r * 1.6)) ** 2 + ((yy - ey) / eye_r) ** 2 < 1
        img[white] = (0.95, 0.95, 0.95)
        img[(xx - ox) ** 2 + (yy - ey) ** 2 < (eye_r * 0.7) ** 2] = iris
        brow = (np.abs(yy - (ey - eye_r * 2.2)) < 0.012) & (np.abs(xx - ox) < eye_r * 1.8)
        img[brow] = hair
    nose = (np.abs(xx - cx) < 0.012) & (yy > ey + 0.02) & (yy < cy + ry * 0.25)
    img[nose] = skin * 0.8
    my, mw = cy + ry * rng.uniform(0.45, 0.6), rx * rng.uniform(0.3, 0.5)
    smile = rng.uniform(-0.6, 1.0)
    mouth = (np.abs(yy - my - smile * 0.12 * ((xx - cx) / mw) ** 2 * -1) < 0.018) & (
        np.abs(xx - cx) < mw)
    img[mouth] = np.array([0.75, 0.2, 0.25]) * rng.uniform(0.7, 1.0)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def place_image(rng: np.random.Generator, size: int = 64) -> U8Array:
    """A scene-like image, in the spirit of Places2: a sky over a horizon, a striped
    field in perspective, buildings with rows of windows, sometimes a sun."""
    yy, xx = _grid(size)
    horizon = rng.uniform(0.4, 0.65)
    zenith = np.array([0.2, 0.4, 0.85]) * rng.uniform(0.5, 1.1)
    haze = np.array([0.8, 0.85, 0.95]) * rng.uniform(0.7, 1.0)
    t = np.clip(yy / horizon, 0, 1)[..., None]
    img = zenith * (1 - t) + haze * t
    if rng.random() < 0.5:
        sx, sy = rng.uniform(0.1, 0.9), rng.uniform(0.05, horizon - 0.1)
        img[(xx - sx) ** 2 + (yy - sy) ** 2 < rng.uniform(0.04, 0.08) ** 2] = (1.0, 0.9, 0.5)
    ground = yy >= horizon
    field_a = np.array([0.25, 0.5, 0.15]) * rng.uniform(0.6, 1.2)
    field_b = np.array([0.5, 0.4, 0.2]) * rng.uniform(0.6, 1.2)
    depth = (yy - horizon) / max(1 - horizon, 1e-6)  # 0 at the horizon, 1 at the bottom
    stripes = np.sin(2 * np.pi * rng.uniform(3, 8) * np.sqrt(np.maximum(depth, 0)) * 3) > 0
    img[ground & stripes] = field_a
    img[ground & ~stripes] = field_b
    x = rng.uniform(-0.05, 0.2)
    while x < 1.0:
        w, h = rng.uniform(0.08, 0.22), rng.uniform(0.1, horizon * 0.85)
        wall = rng.uniform(0.25, 0.85) * np.array([1.0, 0.95, 0.9])
        body = (xx >= x) & (xx < x + w) & (yy >= horizon - h) & (yy < horizon + 0.02)
        img[body] = wall
        win = (np.sin(2 * np.pi * (xx - x) / w * rng.integers(2, 5)) > 0.3) & (
            np.sin(2 * np.pi * (yy - horizon) * rng.uniform(14, 22)) > 0.3)
        img[body & win] = wall * 0.35
        x += w + rng.uniform(0.0, 0.25)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


DOMAIN_IMAGES = {"generic": synthetic_image, "faces": face_image, "places": place_image}
"""The procedural image family of each content domain the emulator knows. ``generic``
is the single-domain scenarios' family (gradients and discs); ``faces`` and ``places``
stand in for the paper's CelebA-HQ and Places2 (its Fig. 2E)."""


def domain_image(domain: str, rng: np.random.Generator, size: int = 64) -> U8Array:
    """An image of *domain*'s family (``KeyError`` names the known ones)."""
    try:
        family = DOMAIN_IMAGES[domain]
    except KeyError:
        raise KeyError(f"no image family for domain {domain!r}; known: "
                       f"{', '.join(sorted(DOMAIN_IMAGES))}") from None
    return family(rng, size)


def random_mask(rng: np.random.Generator, size: int = 64, *, fraction: float = 0.25) -> BoolArray:
    """A rectangular hole covering about *fraction* of the image."""
    side = max(1, round(size * float(np.sqrt(fraction))))
    x0, y0 = rng.integers(0, size - side + 1, 2)
    mask = np.zeros((size, size), dtype=bool)
    mask[y0:y0 + side, x0:x0 + side] = True
    return mask
