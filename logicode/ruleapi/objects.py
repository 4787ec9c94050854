"""The read-only objects handed to rule code: Scene, Region, Component and their Box base.

Immutable (``__slots__``; assignment and deletion raise); private state lives in ``_``-names
that RestrictedPython's ``safer_getattr`` refuses; nothing leads to modules, files, masks,
ground truth or the input dict (values are copied, lists frozen into tuples).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from logicode.color import color_name
from logicode.ruleapi.geometry import (
    _div,
    _geom,
    _is_number,
    _major_length,
    above,
    below,
    distance,
    inside,
    left_of,
    overlaps,
    right_of,
)


class _Frozen:
    """Base of the read-only API objects: assignment and deletion raise."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} objects are read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(
            f"{type(self).__name__} objects are read-only (cannot delete {name!r})"
        )

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: name what does exist, for the repair prompt.
        raise AttributeError(_no_such_attribute(type(self), name))


class Point(NamedTuple):
    """A point (x, y) in px; unpacks like a tuple."""

    x: float
    y: float


class Placement(tuple):
    """Where one box lies in another, as fractions 0..1 of the other's width and height.

    Unpacks as ``rx, ry`` (the centre); ``.top`` / ``.bottom`` / ``.left`` / ``.right`` are
    the edges, e.g. ``.top`` = how far down the other box this box's top edge lies.
    """

    _edges: tuple[float, float, float, float]

    def __new__(
        cls, x: float, y: float, left: float, top: float, right: float, bottom: float
    ) -> Placement:
        """Build from the centre and edge fractions."""
        obj = super().__new__(cls, (x, y))
        obj._edges = (left, top, right, bottom)
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "_edges" or hasattr(self, "_edges"):
            raise AttributeError("Placement objects are read-only")
        object.__setattr__(self, name, value)

    @property
    def x(self) -> float:
        """Centre, as a fraction of the other box's width from its left edge."""
        return self[0]

    @property
    def y(self) -> float:
        """Centre, as a fraction of the other box's height from its top edge."""
        return self[1]

    @property
    def left(self) -> float:
        """Left edge, as a fraction of the other box's width from its left edge."""
        return self._edges[0]

    @property
    def top(self) -> float:
        """Top edge, as a fraction of the other box's height from its top edge."""
        return self._edges[1]

    @property
    def right(self) -> float:
        """Right edge, as a fraction of the other box's width from its left edge."""
        return self._edges[2]

    @property
    def bottom(self) -> float:
        """Bottom edge, as a fraction of the other box's height from its top edge."""
        return self._edges[3]

    def __repr__(self) -> str:
        return (
            f"Placement(x={self.x:.2f}, y={self.y:.2f}, left={self.left:.2f}, "
            f"top={self.top:.2f}, right={self.right:.2f}, bottom={self.bottom:.2f})"
        )


class Box(_Frozen):
    """Geometry of anything with a box: scene, Region, Component.

    Attributes:
        left, top, right, bottom: Box edges in px (right/bottom exclusive).
        width, height: Box size in px.
        x, y: Centre (the centroid for a Component).
        bbox: Tuple (left, top, right, bottom).
        center, centroid: The point (x, y); p.x and p.y work too.
    """

    __slots__ = ("left", "top", "right", "bottom", "width", "height", "x", "y", "_scene")

    left: float
    top: float
    right: float
    bottom: float
    width: float
    height: float
    x: float
    y: float
    _scene: Scene | None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom)."""
        return (self.left, self.top, self.right, self.bottom)

    @property
    def center(self) -> Point:
        """(x, y), also as .x and .y."""
        return Point(self.x, self.y)

    @property
    def centroid(self) -> Point:
        """Same as center."""
        return self.center

    def find(self, *labels: str) -> Group:
        """Components with these labels whose centre lies in this box (never the box itself).

        Example:
            stickers = cup.find("sticker")
        """
        if self._scene is None:
            raise ValueError(
                "this region comes from a plain (x0, y0, x1, y1) tuple and knows no components; "
                "use scene.region(x0, y0, x1, y1) instead"
            )
        return Group(c for c in self._scene.find(*labels) if c is not self and self.contains(c))

    def count(self, *labels: str) -> int:
        """Number of components with these labels whose centre lies in this box.

        Example:
            if tray.left_half().count("nut") != 2: ...
        """
        return len(self.find(*labels))

    def one(self, *labels: str) -> Component | None:
        """The component with these labels in this box (largest if several); None if none."""
        return _largest(self.find(*labels))

    def relative_to(self, other: Box) -> Placement:
        """Where this lies in other's box, 0..1: (rx, ry) of its centre, .top .bottom etc. of edges.

        Unpacks as (rx, ry), the centre (0, 0 = other's top-left corner); p.top, p.bottom,
        p.left, p.right are this box's edges, e.g. p.top = how far down other's height this
        box's top edge lies (0.25 = a quarter of the way down from other's top).

        Example:
            rx, ry = logo.relative_to(lid)
            top = logo.relative_to(lid).top  # logo's top edge, share of lid height below lid.top
        """
        left, top, right, bottom, _, _ = _geom(other, "relative_to", "other")
        w, h = right - left, bottom - top

        def fx(v: float) -> float:
            return _div(v - left, w)

        def fy(v: float) -> float:
            return _div(v - top, h)

        return Placement(
            fx(self.x), fy(self.y), fx(self.left), fy(self.top), fx(self.right), fy(self.bottom)
        )

    def subregion(self, x0: float, y0: float, x1: float, y1: float) -> Region:
        """Region covering fractions x0..x1, y0..y1 (0..1) of this box.

        Example:
            upper_third = tray.subregion(0, 0, 1, 1 / 3)
        """
        w, h = self.right - self.left, self.bottom - self.top
        return Region(
            self._scene,
            self.left + x0 * w,
            self.top + y0 * h,
            self.left + x1 * w,
            self.top + y1 * h,
        )

    def left_half(self) -> Region:
        """Same as self.subregion(0, 0, 0.5, 1)."""
        return self.subregion(0.0, 0.0, 0.5, 1.0)

    def right_half(self) -> Region:
        """Same as self.subregion(0.5, 0, 1, 1)."""
        return self.subregion(0.5, 0.0, 1.0, 1.0)

    def top_half(self) -> Region:
        """Same as self.subregion(0, 0, 1, 0.5)."""
        return self.subregion(0.0, 0.0, 1.0, 0.5)

    def bottom_half(self) -> Region:
        """Same as self.subregion(0, 0.5, 1, 1)."""
        return self.subregion(0.0, 0.5, 1.0, 1.0)

    def grid(self, rows: int, cols: int) -> list[Region]:
        """Same as grid(self, rows, cols)."""  # noqa: D402
        return grid(self, rows, cols)

    def is_above(self, other: Box) -> bool:
        """Same as above(self, other)."""
        return above(self, other)

    def is_below(self, other: Box) -> bool:
        """Same as below(self, other)."""
        return below(self, other)

    def is_left_of(self, other: Box) -> bool:
        """Same as left_of(self, other)."""
        return left_of(self, other)

    def is_right_of(self, other: Box) -> bool:
        """Same as right_of(self, other)."""
        return right_of(self, other)

    def is_inside(self, other: Box, tol: float | None = None) -> bool:
        """Same as inside(self, other, tol)."""
        return inside(self, other, tol)

    def overlaps(self, other: Box) -> bool:
        """Same as overlaps(self, other)."""  # noqa: D402
        return overlaps(self, other)

    def distance_to(self, other: Box) -> float:
        """Same as distance(self, other)."""
        return distance(self, other)

    def contains(self, thing: Any) -> bool:
        """True if thing's centre (or an (x, y) point) lies in this box.

        Example:
            cell = [r for r in tray.grid(2, 3) if r.contains(nut)]
        """
        x, y = _point(thing, "contains")
        return self.left <= x < self.right and self.top <= y < self.bottom


class Region(Box):
    """A rectangle of the image, from box halves, subregion or grid, or scene.region.

    Attributes:
        row, col: Cell position in a grid (0-based); 0, 0 otherwise.
    """

    __slots__ = ("row", "col")

    row: int
    col: int

    def __init__(
        self,
        scene: Scene | None,
        left: float,
        top: float,
        right: float,
        bottom: float,
        row: int = 0,
        col: int = 0,
    ) -> None:
        left, right = sorted((float(left), float(right)))
        top, bottom = sorted((float(top), float(bottom)))
        self._init(
            _scene=scene,
            left=left,
            top=top,
            right=right,
            bottom=bottom,
            width=right - left,
            height=bottom - top,
            x=(left + right) / 2,
            y=(top + bottom) / 2,
            row=int(row),
            col=int(col),
        )

    def __repr__(self) -> str:
        return (
            f"Region(row={self.row}, col={self.col}, left={self.left:g}, top={self.top:g}, "
            f"right={self.right:g}, bottom={self.bottom:g})"
        )


class Component(Box):
    """One detected part, from scene.find / scene.one. c.x, c.y is its centroid.

    Attributes:
        id: Unique id (str), used as evidence.
        label: Its name in the category vocabulary.
        area: Pixel area of its mask.
        score: Detection confidence 0..1.
        angle: Major-axis angle in degrees, -90..90 (0 = horizontal, +-90 = vertical).
        tilt: Degrees (0..45) away from the nearest of horizontal/vertical; 0 = straight.
        length: Length along its major axis in px (e.g. a bolt), about +-10%.
        color: Colour name of its own pixels, or None: black gray white red orange
            yellow green cyan blue purple pink brown.
        rgb: Mean colour (r, g, b) 0..255, or None.
    """

    __slots__ = (
        "id",
        "label",
        "area",
        "score",
        "angle",
        "tilt",
        "length",
        "color",
        "rgb",
        "_attrs",
    )

    id: str
    label: str
    area: float
    score: float
    angle: float
    tilt: float
    length: float
    color: str | None
    rgb: tuple[int, int, int] | None
    _attrs: Mapping[str, Any]

    def __init__(self, data: Mapping[str, Any], scene: Scene | None = None) -> None:
        if not isinstance(data, Mapping):
            raise TypeError(f"a component must be a mapping, got {type(data).__name__}")
        left, top, right, bottom = (float(v) for v in data["bbox"])
        width, height = right - left, bottom - top
        cx, cy = data.get("centroid") or ((left + right) / 2, (top + bottom) / 2)
        area = float(data.get("area", width * height))
        angle = float(data.get("orientation", 0.0) or 0.0)
        attrs = {str(k): _freeze(v) for k, v in (data.get("attributes") or {}).items()}
        color = data.get("color") or None
        rgb = tuple(int(v) for v in color["rgb"]) if color and color.get("rgb") else None
        name = None
        if color:
            name = color.get("name") or (color_name(rgb) if rgb else None)
        length = attrs.get("length")
        if not _is_number(length):
            length = _major_length(width, height, angle, area)
        folded = abs(angle) % 90.0
        self._init(
            _scene=scene,
            id=str(data["id"]),
            label=str(data["label"]),
            left=left,
            top=top,
            right=right,
            bottom=bottom,
            width=width,
            height=height,
            x=float(cx),
            y=float(cy),
            area=area,
            score=float(data.get("score", 1.0)),
            angle=angle,
            tilt=min(folded, 90.0 - folded),
            length=float(length),
            color=name,
            rgb=rgb,
            _attrs=attrs,
        )

    def __getattr__(self, name: str) -> Any:
        # c.kind works like c.attr("kind") for the attributes this part carries.
        attrs = object.__getattribute__(self, "_attrs")
        if not name.startswith("_") and name in attrs:
            return attrs[name]
        raise AttributeError(_no_such_attribute(Component, name, attrs=attrs))

    def attr(self, name: str, default: Any = None) -> Any:
        """Value of an attribute from the vocabulary, or default if absent (c.kind works too).

        Example:
            if sticker.attr("kind") != lid.attr("kind"): ...
        """
        return self._attrs.get(name, default)

    def __repr__(self) -> str:
        return f"Component(id={self.id!r}, label={self.label!r}, x={self.x:g}, y={self.y:g})"


class Group(list):
    """What find() returns: a list of components (loop, index, len) that also acts as their union.

    Index, loop and len() it like a list; its box, centre and area describe all its members
    together, so it can be passed wherever a component is (above(), inside(), ratio()...).

    Attributes:
        area: Total area of the members (0 if empty).
        x, y: Area-weighted centre of the members.
        left, top, right, bottom, width, height: The box around all members.
        bbox, center, centroid: As for a component.
    """

    __slots__ = ()

    def _members(self, what: str) -> list[Component]:
        if not self:
            raise ValueError(
                f"group.{what}: the group is empty (nothing of that label was found); "
                "check `if not group:` or len(group) first"
            )
        return list(self)

    @property
    def area(self) -> float:
        """Total area."""
        return float(sum(c.area for c in self))

    @property
    def x(self) -> float:
        """Area-weighted centre x."""
        return _weighted(self._members("x"), "x")

    @property
    def y(self) -> float:
        """Area-weighted centre y."""
        return _weighted(self._members("y"), "y")

    @property
    def center(self) -> Point:
        """(x, y), also as .x and .y."""
        return Point(self.x, self.y)

    @property
    def centroid(self) -> Point:
        """Same as center."""
        return self.center

    @property
    def left(self) -> float:
        """Leftmost edge."""
        return self.bbox[0]

    @property
    def top(self) -> float:
        """Topmost edge."""
        return self.bbox[1]

    @property
    def right(self) -> float:
        """Rightmost edge."""
        return self.bbox[2]

    @property
    def bottom(self) -> float:
        """Lowest edge."""
        return self.bbox[3]

    @property
    def width(self) -> float:
        """Width of the box around all members."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """Height of the box around all members."""
        return self.bottom - self.top

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the box around all members."""
        members = self._members("bbox")
        return (
            min(c.left for c in members),
            min(c.top for c in members),
            max(c.right for c in members),
            max(c.bottom for c in members),
        )

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(_no_such_attribute(Group, name, group=True))


class Scene(Region):
    """The scene passed to check(scene): the whole image, as a Region with its components.

    Attributes:
        width, height: Image size in px.
        category: Product category name.
        components: Tuple of all components.
    """

    __slots__ = ("category", "components")

    category: str
    components: tuple[Component, ...]

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise TypeError(f"a scene must be a mapping, got {type(data).__name__}")
        image = data.get("image") or {}
        width, height = float(image.get("width", 0)), float(image.get("height", 0))
        super().__init__(None, 0.0, 0.0, width, height)
        comps = [Component(c, self) for c in data.get("components") or ()]
        comps.sort(key=_reading_order)
        object.__setattr__(self, "_scene", self)
        self._init(category=str(data.get("category", "")), components=tuple(comps))

    def find(self, *labels: str) -> Group:
        """Components with any of these labels (all if none), top-to-bottom then left-to-right.

        Example:
            nuts = scene.find("nut")
            parts = scene.find("nut", "bolt")
        """
        wanted = set(_flatten_labels(labels))
        return Group(c for c in self.components if not wanted or c.label in wanted)

    def count(self, *labels: str) -> int:
        """Number of components with any of these labels.

        Example:
            if scene.count("lid") != 1:
                return [violation("expected 1 lid", *scene.find("lid"))]
        """
        return len(self.find(*labels))

    def one(self, *labels: str) -> Component | None:
        """The component with this label; None if there is none; the largest if several.

        Example:
            lid = scene.one("lid")
            if lid is None:
                return [violation("no lid")]
        """
        return _largest(self.find(*labels))

    def labels(self) -> list[str]:
        """Sorted distinct labels present in the scene."""
        return sorted({c.label for c in self.components})

    def counts(self) -> dict[str, int]:
        """Number of components per label, e.g. {"nut": 2, "bolt": 1}."""
        out: dict[str, int] = {}
        for c in self.components:
            out[c.label] = out.get(c.label, 0) + 1
        return out

    def region(self, x0: float, y0: float, x1: float, y1: float) -> Region:
        """Region with these pixel edges (left, top, right, bottom)."""
        return Region(self, x0, y0, x1, y1)

    def __repr__(self) -> str:
        return (
            f"Scene(category={self.category!r}, width={self.width:g}, height={self.height:g}, "
            f"components={len(self.components)})"
        )


def grid(box: Box, rows: int, cols: int) -> list[Region]:
    """Cut a box (component, region or scene) into rows x cols cells, row by row.

    Example:
        for cell in grid(tray, 3, 5):
            if cell.count("nut") != 1:
                out.append(violation(f"cell {cell.row},{cell.col}: {cell.count('nut')} nuts"))
    """
    left, top, right, bottom, _, _ = _geom(box, "grid", "box")
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError(f"grid(): rows and cols must be >= 1, got {rows} x {cols}")
    scene = box._scene if isinstance(box, Box) else None
    w, h = (right - left) / cols, (bottom - top) / rows
    return [
        Region(scene, left + c * w, top + r * h, left + (c + 1) * w, top + (r + 1) * h, r, c)
        for r in range(rows)
        for c in range(cols)
    ]


# --- private helpers -------------------------------------------------------------------------


def _flatten_labels(labels: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for item in labels:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            out.extend(_flatten_labels(item))
        else:
            raise TypeError(
                f"labels must be strings, got {type(item).__name__}; to look inside a part,"
                " use part.find(label)"
            )
    return out


def _weighted(comps: list[Component], axis: str) -> float:
    total = sum(c.area for c in comps)
    if total <= 0:
        return sum(getattr(c, axis) for c in comps) / len(comps)
    return sum(getattr(c, axis) * c.area for c in comps) / total


def _point(thing: Any, fn: str) -> tuple[float, float]:
    """(x, y) of an (x, y) pair, else the centre of a component, region or box tuple."""
    if isinstance(thing, (tuple, list)) and len(thing) == 2 and all(_is_number(v) for v in thing):
        return (float(thing[0]), float(thing[1]))
    _, _, _, _, x, y = _geom(thing, fn, "thing")
    return (x, y)


def _public_names(cls: type) -> list[str]:
    names: dict[str, None] = {}
    for klass in cls.__mro__:
        if klass in (object, list, _Frozen):
            continue
        for name in [*getattr(klass, "__slots__", ()), *vars(klass)]:
            if not name.startswith("_"):
                names[name] = None
    return sorted(names)


def _no_such_attribute(
    cls: type, name: str, *, group: bool = False, attrs: Mapping[str, Any] | None = None
) -> str:
    kind = cls.__name__
    names = _public_names(cls)
    extra = sorted(attrs or ())
    text = f"{kind} has no attribute {name!r}"
    guess = _suggest(name, names, extra)
    if guess:
        text += f" (did you mean {guess!r}?)"
    if extra:
        text += f"; its own attributes (c.name or c.attr(name)): {', '.join(extra)}"
    elif cls is Component:
        text += "; it carries no attributes of its own"
    text += f"; it has: {', '.join(names)}"
    if group:
        text += "; it is a list: loop over it or index it for single components"
    return text


def _suggest(name: str, names: list[str], own: list[str]) -> str | None:
    """The existing name closest to a wrong one, or None.

    The part's own attribute names are tried first (a looser match), then a close spelling
    or a word of the wrong name among the API names.
    """
    for pool, cutoff in ((own, 0.7), (names, 0.8)):
        close = difflib.get_close_matches(name, pool, n=1, cutoff=cutoff)
        if close:
            return close[0]
    words = [w for w in name.lower().split("_") if w]
    hits = [n for n in [*own, *names] if n in words]
    return hits[0] if hits else None


def _largest(comps: list[Component]) -> Component | None:
    best = None
    for c in comps:
        if best is None or c.area > best.area:
            best = c
    return best


def _reading_order(c: Component) -> tuple[float, float, str]:
    return (c.y, c.x, c.id)


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple((str(k), _freeze(v)) for k, v in value.items())
    return value
