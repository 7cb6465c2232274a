"""Pixel scales: a frame's significant bits, its full scale, and the one conversion to 8 bits.

Mono10/12/14/16 frames arrive LSB-aligned in ``uint16`` containers; their significant bits come
from the GenICam pixel format (``Mono12`` → 12), never from the container width.  Every 8-bit
view of a frame — the face finder's crops, the crops handed to the matcher, the histograms of
:mod:`~lanecam.quality.kernels` — uses :func:`to_dn8`, so a face the ranker scored as well
exposed reaches the matcher at the same level.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import LimitError
from ..frames import Frame

__all__ = ["bit_depth_of", "full_scale", "to_dn8"]

_MONO = re.compile(r"^Mono(\d+)")


def bit_depth_of(frame: Frame) -> int | None:
    """Significant bits from the frame's GenICam pixel format (``Mono12`` → 12), else ``None``."""
    m = _MONO.match(frame.meta.pixel_format or "")
    return int(m.group(1)) if m else None


def full_scale(dtype: np.dtype, bit_depth: int | None) -> tuple[int, int]:
    """``(bit_depth, 2**bit_depth - 1)`` for a frame dtype; validates ``bit_depth``.

    ``uint8`` frames are 8-bit; ``uint16`` frames default to 16 and accept 8–16 (LSB-aligned
    Mono10/12/14 in a 16-bit container).
    """
    dt = np.dtype(dtype)
    if dt == np.uint8:
        limit = 8
    elif dt == np.uint16:
        limit = 16
    else:
        raise LimitError("frames must be uint8 or uint16", feature="dtype",
                         allowed=["uint8", "uint16"])
    depth = limit if bit_depth is None else int(bit_depth)
    if not 8 <= depth <= limit:
        raise LimitError(f"bit_depth {depth} does not fit a {dt.name} frame",
                         feature="bit_depth", allowed=(8, limit))
    return depth, (1 << depth) - 1


def to_dn8(image: np.ndarray, bit_depth: int | None) -> np.ndarray:
    """``image`` on the 8-bit scale (DN8): a ``bit_depth``-bit value ``v`` becomes
    ``v >> (bit_depth - 8)`` (the histogram bin of :mod:`~lanecam.quality.kernels`), values
    above the declared depth saturate at 255.  Always a C-contiguous ``uint8`` array (the input
    itself when it already is one)."""
    depth, _ = full_scale(image.dtype, bit_depth)
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    return np.minimum(image >> (depth - 8), 255).astype(np.uint8)  # a fresh C-contiguous copy
