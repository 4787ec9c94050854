import pytest

from logicode.color import COLOR_NAMES, color_distance, color_name


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((200, 30, 30), "red"),
        ((240, 150, 20), "orange"),
        ((235, 220, 40), "yellow"),
        ((40, 160, 60), "green"),
        ((40, 60, 200), "blue"),
        ((245, 245, 240), "white"),
        ((128, 128, 128), "gray"),
        ((10, 10, 12), "black"),
        ((120, 70, 30), "brown"),
        ((140, 40, 180), "purple"),
    ],
)
def test_color_names(rgb, name):
    assert color_name(rgb) == name
    assert name in COLOR_NAMES


def test_color_distance():
    assert color_distance((10, 20, 30), (10, 20, 30)) == 0
    assert color_distance((255, 0, 0), (0, 0, 255)) > color_distance((255, 0, 0), (230, 20, 20))
