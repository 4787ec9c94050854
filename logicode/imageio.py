"""Safe image reading: one place that turns any image file into a well-formed array.

Every reader raises :class:`~logicode.errors.ImageError` with one line naming the file for a
missing path, a directory, a file that is not an image, a truncated or corrupt file, or an
image larger than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS`` is left
on). Conversions:

* :func:`read_image` returns ``HWC uint8`` RGB. Grey, palette and 1-bit images are expanded
  to three channels; alpha is dropped (not composited); 16-bit and 32-bit integer images are
  scaled to 8 bit (``v / 257``); float images are clipped to ``0..255`` (or scaled from
  ``0..1`` when their maximum is at most 1). The EXIF orientation tag is applied, as image
  viewers and annotation tools do.
* :func:`read_mask` returns ``HW uint8`` and keeps the stored values (MVTec LOCO masks code
  the defect in the pixel value; palette masks keep their indices; 1-bit masks become 0/255).
  No EXIF orientation is applied to masks.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from logicode.errors import ImageError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)
"""File suffixes (lower case) treated as images when scanning folders."""


def find_images(inputs: Sequence[Path], recursive: bool = False) -> list[Path]:
    """Files named by ``inputs``: files as given (any kind), folders scanned for images.

    Folder scans keep files with an :data:`IMAGE_SUFFIXES` suffix, sorted, skipping hidden
    files and ``*.overlay.png`` pictures that logicode itself writes.

    Args:
        inputs: Files and folders.
        recursive: Scan folders recursively.

    Raises:
        ImageError: A path does not exist, or nothing was found.
    """
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            pattern = p.rglob("*") if recursive else p.iterdir()
            out.extend(
                sorted(
                    f
                    for f in pattern
                    if f.is_file()
                    and f.suffix.lower() in IMAGE_SUFFIXES
                    and not f.name.endswith(".overlay.png")
                    and not f.name.startswith(".")
                )
            )
        elif p.exists() or p.is_symlink():
            out.append(p)
        else:
            raise ImageError(f"{p}: no such image file or folder")
    if not out:
        names = ", ".join(str(p) for p in inputs)
        raise ImageError(f"no images found in {names} (use --recursive for nested folders)")
    return out


_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ImageError(f"{path}: image file not found")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")


@contextlib.contextmanager
def _pillow_errors(source: object) -> Iterator[None]:
    """Turn what Pillow raises on a bad file into one-line :class:`ImageError` messages."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{source}: image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{source}: not an image or an unsupported image format") from None
    except PermissionError:
        raise ImageError(f"{source}: permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageError(f"{source}: truncated or corrupt image ({reason})") from None


def _open_loaded(path: Path | None, data: bytes | None, source: str) -> Image.Image:
    """Open and fully decode an image from a path or from bytes, mapping errors to ImageError."""
    with _pillow_errors(source), _strict_decoding():
        fp = io.BytesIO(data) if data is not None else path
        im = Image.open(fp)  # type: ignore[arg-type]
        im.load()
    return im


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    """Refuse truncated files while decoding, whatever another library set globally.

    Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` is process-wide and some libraries turn it on
    at import (WeasyPrint does), which would make a truncated image load as a padded picture.
    """
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale a 16/32-bit integer or float array to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float64))
        if a.size and float(a.max()) <= 1.0:
            a = a * 255.0
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    a = arr.astype(np.int64)
    return np.clip(np.rint(a / 257.0), 0, 255).astype(np.uint8)


def _rgb_array(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("RGB",):
        return np.asarray(im, dtype=np.uint8).copy()
    if mode.startswith("I") or mode == "F":
        grey = _to_uint8(np.asarray(im))
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def _exif_transposed(im: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # a broken EXIF block must not make the image unreadable
        logger.debug("ignoring unreadable EXIF orientation")
        return im


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``HWC uint8`` RGB.

    Args:
        path: Image file (PNG, JPEG, BMP, TIFF, WebP, ... anything Pillow decodes).

    Returns:
        Array of shape ``(height, width, 3)``, dtype uint8.

    Raises:
        ImageError: Missing file, folder, unsupported format, truncated or corrupt data.
    """
    path = Path(path)
    _check_path(path)
    im = _open_loaded(path, None, str(path))
    return _rgb_array(_exif_transposed(im))


def decode_image(data: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes (e.g. LabelMe's embedded ``imageData``) as ``HWC uint8`` RGB.

    Raises:
        ImageError: If the bytes are not a decodable image; the message starts with ``source``.
    """
    im = _open_loaded(None, data, source)
    return _rgb_array(_exif_transposed(im))


def _mask_array(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("L", "P"):
        return np.asarray(im, dtype=np.uint8).copy()
    if mode == "1":
        return np.asarray(im, dtype=bool).astype(np.uint8) * 255
    if mode == "LA" or mode == "PA":
        return np.asarray(im, dtype=np.uint8)[:, :, 0].copy()
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(im)
        if arr.size and np.issubdtype(arr.dtype, np.integer) and int(arr.max()) <= 255:
            return arr.astype(np.uint8)
        return _to_uint8(arr)
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2]):
        return rgb[:, :, 0].copy()
    return np.asarray(im.convert("L"), dtype=np.uint8).copy()


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask file as ``HW uint8``, keeping the stored pixel values.

    Grey (``L``) and palette (``P``) masks keep their values or indices; 1-bit masks become
    0/255; colour masks whose three channels are equal give that channel, other colour masks
    are converted to luminance; alpha is dropped.

    Raises:
        ImageError: Missing file, folder, unsupported format, truncated or corrupt data.
    """
    path = Path(path)
    _check_path(path)
    return _mask_array(_open_loaded(path, None, str(path)))


def image_size(path: str | Path) -> tuple[int, int]:
    """Width and height of an image file, read from its header (pixels are not decoded).

    The EXIF orientation is honoured, so the size matches :func:`read_image`.

    Raises:
        ImageError: Missing file, folder, or a file Pillow does not recognise.
    """
    path = Path(path)
    _check_path(path)
    with _pillow_errors(path), Image.open(path) as im:
        w, h = im.size
        orientation = 1
        try:
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1))
        except Exception:  # broken EXIF: use the stored size
            orientation = 1
    if orientation in _TRANSPOSED_ORIENTATIONS:
        return int(h), int(w)
    return int(w), int(h)
