"""Binary masks as COCO run-length encoding (RLE), the mask format of scene JSON.

An RLE is a dict ``{"size": [height, width], "counts": str}`` in the compressed string
form used by COCO (``pycocotools.mask.encode``): runs are counted in column-major
(Fortran) order, starting with a run of zeros, then encoded as a LEB128-like string of
printable characters with delta coding. Arrays are ``HW bool`` (True = object).
"""

from __future__ import annotations

import numpy as np


def _runs(mask: np.ndarray) -> list[int]:
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0, *runs]
    return runs


def _encode_counts(runs: list[int]) -> str:
    out: list[str] = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def _decode_counts(counts: str) -> list[int]:
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x = 0
        k = 0
        more = True
        while more:
            if p >= len(counts):
                raise ValueError("truncated RLE counts string")
            c = ord(counts[p]) - 48
            if c < 0 or c > 63:
                raise ValueError(f"invalid character {counts[p]!r} in RLE counts")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def encode(mask: np.ndarray) -> dict:
    """Encode an ``HW`` boolean mask as compressed COCO RLE.

    Args:
        mask: Array of shape ``(height, width)``; non-zero means object.

    Returns:
        ``{"size": [height, width], "counts": str}``.

    Example:
        >>> encode(np.array([[0, 1], [1, 1]], bool))["size"]
        [2, 2]

    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (height, width), got shape {mask.shape}")
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": _encode_counts(_runs(mask))}


def encode_crop(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """Encode a mask given only its bounding-box crop (fast for small parts of big images).

    Equal to ``encode(full)`` where ``full`` is a ``height x width`` zero mask with ``crop``
    pasted at column ``x0``, row ``y0``; the cost grows with the crop, not the image.
    """
    crop = np.asarray(crop, dtype=bool)
    bh, bw = crop.shape
    if x0 < 0 or y0 < 0 or x0 + bw > width or y0 + bh > height:
        raise ValueError(f"crop {bw}x{bh} at ({x0}, {y0}) does not fit a {width}x{height} image")
    padded = np.zeros((bh + 2, bw), dtype=np.int8)
    padded[1:-1] = crop
    flat = padded.ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # starts of new runs in padded coords
    col, row = np.divmod(change, bh + 2)
    full = (x0 + col) * height + (y0 - 1 + row)
    # A run of ones that ends at the bottom of one column and restarts at the top of the next
    # is one run in the full image: drop such end/start pairs.
    bounds = full.tolist()
    merged: list[int] = []
    for b in bounds:
        if merged and merged[-1] == b and len(merged) % 2 == 0:
            merged.pop()
        else:
            merged.append(b)
    runs: list[int] = []
    prev = 0
    for b in merged:
        runs.append(b - prev)
        prev = b
    if prev < height * width or not runs:
        runs.append(height * width - prev)
    return {"size": [int(height), int(width)], "counts": _encode_counts(runs)}


def decode(rle: dict) -> np.ndarray:
    """Decode a compressed COCO RLE (or an uncompressed one with a list of counts).

    Returns:
        ``HW bool`` array.

    Raises:
        ValueError: If the counts do not add up to ``height * width``.

    """
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    runs = list(counts) if isinstance(counts, list) else _decode_counts(counts)
    if any(r < 0 for r in runs):
        raise ValueError("RLE has a negative run length")
    total = sum(runs)
    if total != h * w:
        raise ValueError(f"RLE runs cover {total} pixels, expected {h}x{w}={h * w}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape((h, w), order="F")


def area(rle: dict) -> int:
    """Number of object pixels of an RLE without decoding it to an array."""
    counts = rle["counts"]
    runs = list(counts) if isinstance(counts, list) else _decode_counts(counts)
    return int(sum(runs[1::2]))


def bbox_xyxy(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Tight bounding box ``(x0, y0, x1, y1)`` of a mask in pixel edges (x1, y1 exclusive).

    Returns ``(0, 0, 0, 0)`` for an empty mask.
    """
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
