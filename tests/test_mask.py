import numpy as np
import pytest

from logicode import mask as rle


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_random_masks(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        m = rng.random((int(rng.integers(1, 50)), int(rng.integers(1, 50)))) < rng.random()
        r = rle.encode(m)
        assert r["size"] == list(m.shape)
        assert (rle.decode(r) == m).all()
        assert rle.area(r) == int(m.sum())


def test_matches_pycocotools_strings():
    mask_api = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(7)
    for _ in range(50):
        m = rng.random((int(rng.integers(1, 70)), int(rng.integers(1, 70)))) < 0.4
        ref = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
        assert rle.encode(m)["counts"] == ref["counts"].decode()


def test_uncompressed_counts_and_errors():
    m = np.array([[0, 1], [1, 1]], bool)
    # column-major runs: 0 (1 zero), then 1,1,1 -> [1, 3]
    assert (rle.decode({"size": [2, 2], "counts": [1, 3]}) == m).all()
    with pytest.raises(ValueError, match="cover"):
        rle.decode({"size": [2, 2], "counts": [1, 2]})
    with pytest.raises(ValueError, match="2-D"):
        rle.encode(np.zeros(4, bool))


def test_bbox():
    m = np.zeros((10, 20), bool)
    m[2:5, 3:9] = True
    assert rle.bbox_xyxy(m) == (3.0, 2.0, 9.0, 5.0)
    assert rle.bbox_xyxy(np.zeros((3, 3), bool)) == (0.0, 0.0, 0.0, 0.0)


def test_encode_crop_equals_full_encode():
    rng = np.random.default_rng(3)
    for _ in range(500):
        h, w = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = int(rng.integers(y0 + 1, h + 1)), int(rng.integers(x0 + 1, w + 1))
        full = np.zeros((h, w), bool)
        full[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < rng.random()
        assert rle.encode_crop(full[y0:y1, x0:x1], x0, y0, h, w) == rle.encode(full)
    with pytest.raises(ValueError, match="does not fit"):
        rle.encode_crop(np.ones((3, 3), bool), 8, 0, 10, 10)
