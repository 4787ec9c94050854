from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logicode.errors import ImageError
from logicode.imageio import decode_image, image_size, read_image, read_mask


def _save(path: Path, arr: np.ndarray, mode: str | None = None, **kw: object) -> Path:
    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    im.save(path, **kw)
    return path


def test_rgb_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = read_image(_save(tmp_path / "a.png", arr))
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3)
    assert np.array_equal(out, arr)


def test_grey_expands_to_rgb(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = read_image(_save(tmp_path / "g.png", arr))
    assert out.shape == (3, 4, 3)
    assert np.array_equal(out[:, :, 0], arr) and np.array_equal(out[:, :, 2], arr)


def test_rgba_drops_alpha(tmp_path: Path) -> None:
    arr = np.zeros((2, 3, 4), np.uint8)
    arr[..., 0] = 200
    arr[..., 3] = 10
    out = read_image(_save(tmp_path / "a.png", arr))
    assert out.shape == (2, 3, 3) and (out[..., 0] == 200).all() and (out[..., 1] == 0).all()


def test_16bit_scaled(tmp_path: Path) -> None:
    arr = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    path = _save(tmp_path / "d.png", arr)
    assert Image.open(path).mode.startswith("I")
    out = read_image(path)
    assert out.dtype == np.uint8
    assert out[0, :, 0].tolist() == [0, 100, 255]
    assert read_mask(path)[0].tolist() == [0, 100, 255]


def test_palette_and_jpeg(tmp_path: Path) -> None:
    arr = np.zeros((4, 4, 3), np.uint8)
    arr[:2] = (255, 0, 0)
    out = read_image(_save(tmp_path / "p.png", arr, "P"))
    assert out.shape == (4, 4, 3) and tuple(out[0, 0]) == (255, 0, 0)
    out = read_image(_save(tmp_path / "j.jpg", np.full((8, 8, 3), 128, np.uint8), quality=95))
    assert out.shape == (8, 8, 3) and abs(int(out[4, 4, 0]) - 128) <= 3


def test_read_mask_keeps_values(tmp_path: Path) -> None:
    m = np.zeros((4, 5), np.uint8)
    m[1, 1] = 255
    m[2, 2] = 244
    out = read_mask(_save(tmp_path / "m.png", m))
    assert out.dtype == np.uint8 and out.shape == (4, 5)
    assert np.array_equal(out, m)
    bits = read_mask(_save(tmp_path / "b.png", m > 0, "1"))
    assert sorted(np.unique(bits).tolist()) == [0, 255]
    rgb = read_mask(_save(tmp_path / "c.png", np.repeat(m[:, :, None], 3, axis=2)))
    assert np.array_equal(rgb, m)


def test_image_size_without_decoding(tmp_path: Path) -> None:
    path = _save(tmp_path / "s.png", np.zeros((9, 13, 3), np.uint8))
    assert image_size(path) == (13, 9)


def test_exif_orientation(tmp_path: Path) -> None:
    arr = np.zeros((4, 6, 3), np.uint8)
    arr[0, 0] = 255
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    path = tmp_path / "o.jpg"
    im.save(path, exif=exif, quality=100)
    assert read_image(path).shape == (6, 4, 3)
    assert image_size(path) == (4, 6)


def test_missing_file(tmp_path: Path) -> None:
    for fn in (read_image, read_mask, image_size):
        with pytest.raises(ImageError, match="not found") as exc:
            fn(tmp_path / "nope.png")
        assert "nope.png" in str(exc.value)


def test_directory(tmp_path: Path) -> None:
    for fn in (read_image, read_mask, image_size):
        with pytest.raises(ImageError, match="folder"):
            fn(tmp_path)


def test_not_an_image(tmp_path: Path) -> None:
    p = tmp_path / "x.png"
    p.write_text("hello, not an image")
    for fn in (read_image, read_mask, image_size):
        with pytest.raises(ImageError, match="unsupported image format"):
            fn(p)


def test_truncated(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    full = _save(tmp_path / "f.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt") as exc:
        read_image(cut)
    assert "\n" not in str(exc.value) and "cut.png" in str(exc.value)


def test_corrupt_body(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    full = _save(tmp_path / "f.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = bytearray(full.read_bytes())
    for i in range(100, 400):
        data[i] ^= 0x5A
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="bad.png"):
        read_image(bad)


def test_decompression_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path / "big.png", np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 2x the limit raises in Pillow
    with pytest.raises(ImageError, match="too large"):
        read_image(path)


def test_decode_image_bytes() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.full((3, 2, 3), 7, np.uint8)).save(buf, format="PNG")
    assert decode_image(buf.getvalue()).shape == (3, 2, 3)
    with pytest.raises(ImageError, match="<embedded>"):
        decode_image(b"junk", source="<embedded>")
