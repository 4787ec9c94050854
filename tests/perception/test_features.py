"""Instance shape measures: the extent along the major axis (``axis_len``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from logicode.perception.features import LENGTH_FEATURES, instance_features, shape_measures


def _bar(length: int, angle: float, width: int) -> np.ndarray:
    """A ``length`` x ``width`` rectangle turned by ``angle`` degrees, in a 400 x 400 mask."""
    m = np.zeros((400, 400), np.uint8)
    box = cv2.boxPoints(((200.0, 200.0), (float(length), float(width)), angle))
    cv2.fillPoly(m, [np.round(box).astype(np.int32)], 1)
    return m.astype(bool)


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 135.0])
def test_axis_len_is_the_extent_along_the_major_axis(angle: float) -> None:
    bar = _bar(300, angle, width=12)
    sm = shape_measures(bar)
    assert sm["axis_len"] == pytest.approx(300, abs=6)
    # a wide bar: its Feret diameter is the diagonal, its axis extent the length
    wide = shape_measures(_bar(300, angle, width=80))
    assert wide["feret"] > 310
    assert wide["axis_len"] == pytest.approx(300, abs=6)


def test_axis_len_of_a_ring_is_its_outer_diameter_and_is_an_instance_feature() -> None:
    yy, xx = np.mgrid[0:200, 0:200]
    r = np.hypot(xx - 100, yy - 100)
    ring = (r <= 60) & (r >= 32)
    assert shape_measures(ring)["axis_len"] == pytest.approx(121, abs=2)
    image = np.full((200, 200, 3), 128, np.uint8)
    f = instance_features(image, ring)
    assert f["axis_len"] == pytest.approx(121, abs=2)
    big = instance_features(image, ring, max_pixels=1500)  # measured on a downsampled crop
    assert big["axis_len"] == pytest.approx(121, rel=0.05)
    assert "axis_len" in LENGTH_FEATURES
