import numpy as np
import pytest

from logicode.measure import component_from_mask, orientation_deg


def test_component_geometry_and_colour():
    m = np.zeros((60, 100), bool)
    m[10:20, 10:70] = True
    img = np.zeros((60, 100, 3), np.uint8)
    img[m] = (20, 40, 200)
    c = component_from_mask("c0", "cable", m, img, attributes={"k": 1})
    assert c.bbox == (10.0, 10.0, 70.0, 20.0)
    assert c.area == 600
    assert c.centroid == (40.0, 15.0)
    assert c.orientation == 0.0
    assert c.color.rgb == (20, 40, 200) and c.color.name == "blue"
    assert c.attributes == {"k": 1}


def test_orientation_sign_convention():
    # A line going down-right on screen (y grows downwards) has a positive angle.
    m = np.zeros((100, 100), bool)
    for i in range(80):
        m[10 + i, 10 + i] = True
    assert orientation_deg(m) == pytest.approx(45.0, abs=1)
    vertical = np.zeros((50, 50), bool)
    vertical[5:45, 24:26] = True
    assert orientation_deg(vertical) == pytest.approx(-90.0, abs=1e-6)


def test_empty_mask_and_shape_mismatch():
    with pytest.raises(ValueError, match="empty"):
        component_from_mask("c0", "x", np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="shape"):
        component_from_mask("c0", "x", np.ones((4, 4), bool), np.zeros((5, 4, 3), np.uint8))


def test_orientation_near_vertical_folds_into_range():
    from logicode.data.synth.kit import rect_mask

    for angle in (89.99, 90.0, 90.01, -90.0, 270.0):
        m = rect_mask((200, 200), (100, 100), (120, 60), angle)
        theta = orientation_deg(m)
        assert -90.0 <= theta < 90.0
        component_from_mask("c0", "x", m)  # must validate
