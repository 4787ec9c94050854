"""Import hand annotations (LabelMe, COCO instances) as :class:`~logicode.scene.Scene` objects.

Both importers rasterise every shape to a mask and build components with
:func:`~logicode.measure.component_from_mask`, so an imported component is measured exactly
like a synthetic or perceived one. The mean colour is taken from the image when it can be
read (``image_root``, then the annotation file's folder, then LabelMe's embedded
``imageData``); otherwise components have no colour. Labels are checked against
``vocabulary`` when one is given (pass ``load_spec(category).vocabulary``).

Pixel conventions:

* LabelMe points are pixel-centre coordinates; shapes are drawn as LabelMe draws them
  (Pillow ``ImageDraw`` with the outline included), so a mask equals LabelMe's own export.
  ``rectangle`` takes two opposite corners, ``circle`` its centre and a point on the rim,
  ``mask`` a box ``[[x1, y1], [x2, y2]]`` and a base64 PNG of the box's pixels. ``point``,
  ``line``, ``linestrip`` and ``points`` shapes have no area and are skipped with a warning.
* COCO coordinates are pixel edges (pixel ``(x, y)`` covers ``[x, x+1) x [y, y+1)``): a
  pixel belongs to a polygon or box when its centre lies inside, which agrees with
  ``pycocotools`` to a few boundary pixels. RLE (compressed or uncompressed) is decoded
  exactly.

Attributes: the key=value pairs of a LabelMe shape's ``description`` (separated by newlines,
``;`` or ``,``; e.g. ``kind=cherry; rotated=true``) and its ``flags`` that are set and named
``key=value`` (e.g. ``{"kind=cherry": true}``) become component attributes. Values
``true``/``false`` become booleans and numbers become int or float; other text is kept as a
string. Plain words and plain flags are ignored. COCO annotations' ``attributes`` objects
(as CVAT writes them) are copied; ``iscrowd: 1`` adds ``iscrowd: true``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from skimage.draw import polygon as _sk_polygon

from logicode import mask as rle
from logicode.errors import ImportFormatError, LogicodeError
from logicode.imageio import decode_image, read_image
from logicode.measure import component_from_mask
from logicode.scene import Component, ImageInfo, Scene, file_sha256

logger = logging.getLogger(__name__)

BOUNDS_TOLERANCE = 1.0
"""How far (pixels) a coordinate may lie outside the image before it is an error."""

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_NO_AREA = frozenset({"point", "points", "line", "linestrip"})
_AREA_SHAPES = frozenset({"polygon", "rectangle", "circle", "mask"})


# --- shared helpers ------------------------------------------------------------------------


def _load_source(path_or_dict: str | Path | Mapping[str, Any]) -> tuple[Any, str, Path | None]:
    """Return the decoded JSON, a name for messages and the folder of the file (if any)."""
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict), "<annotation>", None
    path = Path(path_or_dict)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read annotation file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not a UTF-8 JSON file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    return data, str(path), path.parent


def _parse_value(text: str) -> str | int | float | bool:
    v = text.strip().strip("'\"")
    low = v.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if _INT.match(v):
        return int(v)
    if _FLOAT.match(v):
        return float(v)
    return v


def parse_attributes(
    description: str | None = None, flags: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Component attributes from a LabelMe shape's ``description`` and ``flags``.

    Args:
        description: Free text; its ``key=value`` pairs (separated by newlines, ``;`` or
            ``,``) become attributes, other words are ignored.
        flags: LabelMe flags; a flag named ``key=value`` that is set becomes an attribute.

    Returns:
        ``{key: value}`` with ``true``/``false`` as bool and numbers as int/float.

    Example:
        >>> parse_attributes("kind=cherry; tilt=2.5", {"upright=true": True})
        {'upright': True, 'kind': 'cherry', 'tilt': 2.5}
    """
    out: dict[str, Any] = {}
    for name, on in (flags or {}).items():
        if on is True and "=" in name:
            key, _, value = name.partition("=")
            if _KEY.match(key.strip()):
                out[key.strip()] = _parse_value(value)
    for token in re.split(r"[\n;,]", description or ""):
        if "=" not in token:
            continue
        key, _, value = token.partition("=")
        if _KEY.match(key.strip()):
            out[key.strip()] = _parse_value(value)
    return out


def _posix(path: str) -> str:
    return str(PurePosixPath(path.replace("\\", "/")))


def _find_image(rel: str, roots: Iterable[Path | None]) -> Path | None:
    rel_path = Path(_posix(rel))
    for root in roots:
        if root is None:
            continue
        for cand in (root / rel_path, root / rel_path.name):
            if cand.is_file():
                return cand
    if rel_path.is_absolute() and rel_path.is_file():
        return rel_path
    return None


def _colour_image(
    found: Path | None, width: int, height: int, source: str
) -> tuple[np.ndarray | None, str | None]:
    """Read the image for colours; returns (pixels, sha256) or (None, None)."""
    if found is None:
        return None, None
    try:
        image = read_image(found)
    except LogicodeError as exc:
        logger.warning("%s: image unreadable, components get no colour: %s", source, exc)
        return None, None
    if image.shape[:2] != (height, width):
        raise ImportFormatError(
            f"{source}: image {found} is {image.shape[1]}x{image.shape[0]} but the annotation "
            f"says {width}x{height}"
        )
    return image, file_sha256(found)


def _check_label(label: str, vocabulary: set[str] | None, where: str, category: str) -> None:
    if vocabulary is not None and label not in vocabulary:
        raise ImportFormatError(
            f"{where}: label {label!r} is not in the {category!r} vocabulary {sorted(vocabulary)}"
        )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- LabelMe -------------------------------------------------------------------------------


def _labelme_points(shape: dict[str, Any], where: str) -> list[tuple[float, float]]:
    pts = shape.get("points")
    if not isinstance(pts, list):
        raise ImportFormatError(f"{where}: 'points' must be a list of [x, y]")
    out = []
    for p in pts:
        if not (isinstance(p, list | tuple) and len(p) == 2 and all(_number(v) for v in p)):
            raise ImportFormatError(f"{where}: point {p!r} is not [x, y]")
        out.append((float(p[0]), float(p[1])))
    return out


def _check_bounds(pts: list[tuple[float, float]], w: int, h: int, where: str) -> None:
    t = BOUNDS_TOLERANCE
    for x, y in pts:
        if not (-t <= x <= w + t and -t <= y <= h + t):
            raise ImportFormatError(f"{where}: point [{x:g}, {y:g}] lies outside the {w}x{h} image")


def _decode_b64_mask(text: Any, where: str) -> np.ndarray:
    if not isinstance(text, str) or not text:
        raise ImportFormatError(f"{where}: a 'mask' shape needs a base64 PNG in 'mask'")
    try:
        raw = base64.b64decode(text, validate=False)
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            arr = np.asarray(im.convert("L")) > 0
    except (binascii.Error, OSError, ValueError, SyntaxError):
        raise ImportFormatError(f"{where}: 'mask' is not a base64-encoded image") from None
    return arr


def _rasterise_labelme(shape: dict[str, Any], w: int, h: int, where: str) -> np.ndarray:
    kind = shape.get("shape_type") or "polygon"
    pts = _labelme_points(shape, where)
    _check_bounds(pts, w, h, where)
    if kind == "mask":
        if len(pts) != 2:
            raise ImportFormatError(f"{where}: a 'mask' shape needs 2 points (its box)")
        crop = _decode_b64_mask(shape.get("mask"), where)
        x0 = int(min(pts[0][0], pts[1][0]))
        y0 = int(min(pts[0][1], pts[1][1]))
        out = np.zeros((h, w), dtype=bool)
        ch, cw = crop.shape
        ys, xs = slice(max(y0, 0), min(y0 + ch, h)), slice(max(x0, 0), min(x0 + cw, w))
        out[ys, xs] = crop[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        return out
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    if kind == "polygon":
        if len(pts) < 3:
            raise ImportFormatError(f"{where}: a polygon needs at least 3 points, got {len(pts)}")
        draw.polygon(pts, outline=1, fill=1)
    elif kind == "rectangle":
        if len(pts) not in (2, 4):
            raise ImportFormatError(f"{where}: a rectangle needs 2 corner points, got {len(pts)}")
        xs_, ys_ = [p[0] for p in pts], [p[1] for p in pts]
        draw.rectangle([min(xs_), min(ys_), max(xs_), max(ys_)], outline=1, fill=1)
    elif kind == "circle":
        if len(pts) != 2:
            raise ImportFormatError(f"{where}: a circle needs 2 points (centre, rim)")
        (cx, cy), (px, py) = pts
        r = math.hypot(px - cx, py - cy)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:  # pragma: no cover - filtered by the caller
        raise ImportFormatError(f"{where}: unsupported shape_type {kind!r}")
    return np.asarray(canvas, dtype=np.uint8) > 0


def labelme_to_scene(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    category: str,
    vocabulary: Iterable[str] | None = None,
    label_map: Mapping[str, str | None] | None = None,
    image_root: str | Path | None = None,
) -> Scene:
    """Convert one LabelMe JSON annotation into a :class:`Scene`.

    Shapes that share a ``group_id`` and a (mapped) label form one component; every other
    shape is a component of its own. Component ids are ``c0``, ``c1``, ... in order of first
    appearance.

    Args:
        path_or_dict: The LabelMe ``.json`` file or its decoded object.
        category: Product category of the scene.
        vocabulary: Allowed component labels (after ``label_map``); None: no check.
        label_map: LabelMe label -> vocabulary label; a label mapped to None is dropped.
        image_root: Folder to look for ``imagePath`` in (before the JSON's own folder).

    Returns:
        The scene, with ``meta = {"source": "labelme", "annotation": ..., ...}``.

    Raises:
        ImportFormatError: A missing or malformed field, an unknown shape type, a point
            outside the image, an empty shape, a label outside the vocabulary, or
            conflicting attributes inside a group; the message names the shape index.
    """
    data, source, base = _load_source(path_or_dict)
    if not isinstance(data, dict):
        raise ImportFormatError(f"{source}: a LabelMe annotation must be a JSON object")
    for key in ("shapes", "imagePath", "imageHeight", "imageWidth"):
        if key not in data:
            raise ImportFormatError(f"{source}: missing key {key!r} (not a LabelMe file?)")
    w, h = data["imageWidth"], data["imageHeight"]
    if not (_positive_int(w) and _positive_int(h)):
        raise ImportFormatError(f"{source}: imageWidth/imageHeight must be positive integers")
    image_path = data["imagePath"]
    if not isinstance(image_path, str) or not image_path:
        raise ImportFormatError(f"{source}: 'imagePath' must be a non-empty string")
    shapes = data["shapes"]
    if not isinstance(shapes, list):
        raise ImportFormatError(f"{source}: 'shapes' must be a list")
    vocab = set(vocabulary) if vocabulary is not None else None
    lmap = dict(label_map or {})

    roots = [Path(image_root) if image_root is not None else None, base]
    found = _find_image(image_path, roots)
    image, sha = _colour_image(found, w, h, source)
    if image is None and isinstance(data.get("imageData"), str) and data["imageData"]:
        try:
            embedded = decode_image(base64.b64decode(data["imageData"]), source=source)
        except (LogicodeError, binascii.Error, ValueError) as exc:
            logger.warning("%s: embedded imageData unreadable: %s", source, exc)
        else:
            if embedded.shape[:2] == (h, w):
                image = embedded
            else:
                logger.warning("%s: embedded imageData size differs; no colours", source)

    groups: dict[Any, dict[str, Any]] = {}
    for i, shape in enumerate(shapes):
        where = f"{source}: shapes[{i}]"
        if not isinstance(shape, dict):
            raise ImportFormatError(f"{where}: a shape must be an object")
        raw_label = shape.get("label")
        if not isinstance(raw_label, str) or not raw_label:
            raise ImportFormatError(f"{where}: missing or empty 'label'")
        where = f"{where} ({raw_label})"
        label = lmap.get(raw_label, raw_label)
        if label is None:
            logger.debug("%s: dropped by label_map", where)
            continue
        kind = shape.get("shape_type") or "polygon"
        if kind in _NO_AREA:
            logger.warning("%s: shape_type %r has no area, skipped", where, kind)
            continue
        if kind not in _AREA_SHAPES:
            raise ImportFormatError(
                f"{where}: unsupported shape_type {kind!r}; use polygon, rectangle, circle or mask"
            )
        _check_label(label, vocab, where, category)
        m = _rasterise_labelme(shape, w, h, where)
        if not m.any():
            raise ImportFormatError(f"{where}: the shape covers no pixel of the image")
        flags = shape.get("flags")
        desc = shape.get("description")
        attrs = parse_attributes(
            desc if isinstance(desc, str) else None, flags if isinstance(flags, dict) else None
        )
        gid = shape.get("group_id")
        key: Any = (label, gid) if gid is not None else ("shape", i)
        group = groups.get(key)
        if group is None:
            groups[key] = {"label": label, "mask": m, "attributes": attrs, "shapes": [i]}
            continue
        for name, value in attrs.items():
            old = group["attributes"].get(name, value)
            if old != value:
                raise ImportFormatError(
                    f"{where}: attribute {name}={value!r} conflicts with {name}={old!r} of "
                    f"shapes{group['shapes']} in group_id {gid}"
                )
        group["mask"] |= m
        group["attributes"].update(attrs)
        group["shapes"].append(i)

    components: list[Component] = []
    for k, group in enumerate(groups.values()):
        components.append(
            component_from_mask(
                f"c{k}", group["label"], group["mask"], image, attributes=group["attributes"]
            )
        )
    meta: dict[str, Any] = {"source": "labelme", "annotation": source}
    if isinstance(data.get("version"), str):
        meta["labelme_version"] = data["version"]
    meta["shapes"] = [g["shapes"] for g in groups.values()]
    return Scene(
        image=ImageInfo(path=_posix(image_path), width=w, height=h, sha256=sha),
        category=category,
        components=components,
        meta=meta,
    )


# --- COCO ----------------------------------------------------------------------------------


def _require(obj: Any, keys: Iterable[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ImportFormatError(f"{where}: must be an object")
    for key in keys:
        if key not in obj:
            raise ImportFormatError(f"{where}: missing key {key!r}")


def _polygon_mask(poly: list[float], w: int, h: int) -> np.ndarray:
    xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    out = np.zeros((h, w), dtype=bool)
    rr, cc = _sk_polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, shape=(h, w))
    out[rr, cc] = True
    return out


def _box_mask(bbox: list[float], w: int, h: int) -> np.ndarray:
    x, y, bw, bh = (float(v) for v in bbox)
    x0, y0 = max(math.ceil(x - 0.5), 0), max(math.ceil(y - 0.5), 0)
    x1, y1 = min(math.ceil(x + bw - 0.5), w), min(math.ceil(y + bh - 0.5), h)
    out = np.zeros((h, w), dtype=bool)
    out[y0:y1, x0:x1] = True
    return out


def _coco_mask(ann: dict[str, Any], w: int, h: int, where: str) -> np.ndarray:
    seg = ann.get("segmentation")
    t = BOUNDS_TOLERANCE
    if isinstance(seg, dict):
        _require(seg, ("size", "counts"), f"{where}: segmentation")
        size = seg["size"]
        if not (isinstance(size, list) and [int(v) for v in size] == [h, w]):
            raise ImportFormatError(
                f"{where}: RLE size {size!r} does not match the image [height, width] = [{h}, {w}]"
            )
        if not isinstance(seg["counts"], list | str):
            raise ImportFormatError(f"{where}: RLE 'counts' must be a list or a string")
        try:
            return rle.decode({"size": [h, w], "counts": seg["counts"]})
        except (ValueError, TypeError) as exc:
            raise ImportFormatError(f"{where}: invalid RLE ({exc})") from None
    if isinstance(seg, list) and seg:
        out = np.zeros((h, w), dtype=bool)
        for k, poly in enumerate(seg):
            if (
                not isinstance(poly, list)
                or len(poly) < 6
                or len(poly) % 2
                or not all(_number(v) for v in poly)
            ):
                raise ImportFormatError(
                    f"{where}: segmentation[{k}] must be a flat list of at least 3 x, y pairs"
                )
            xs, ys = poly[0::2], poly[1::2]
            if min(xs) < -t or min(ys) < -t or max(xs) > w + t or max(ys) > h + t:
                raise ImportFormatError(
                    f"{where}: segmentation[{k}] lies outside the {w}x{h} image "
                    f"(x {min(xs):g}..{max(xs):g}, y {min(ys):g}..{max(ys):g})"
                )
            out |= _polygon_mask(poly, w, h)
        return out
    if seg not in (None, []):
        raise ImportFormatError(f"{where}: segmentation must be polygons, an RLE object or empty")
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        raise ImportFormatError(f"{where}: no segmentation and no valid bbox [x, y, w, h]")
    x, y, bw, bh = bbox
    if bw < 0 or bh < 0 or x < -t or y < -t or x + bw > w + t or y + bh > h + t:
        raise ImportFormatError(f"{where}: bbox {bbox} lies outside the {w}x{h} image")
    return _box_mask(bbox, w, h)


def _coco_attributes(ann: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attrs = ann.get("attributes")
    if isinstance(attrs, dict):
        for key, value in attrs.items():
            ok = value is None or isinstance(value, str | int | float | bool)
            if isinstance(value, list):
                ok = all(isinstance(v, str | int | float | bool) for v in value)
            if ok:
                out[str(key)] = value
            else:
                logger.warning("%s: attribute %r is not a scalar or list, skipped", where, key)
    if ann.get("iscrowd") in (1, True):
        out["iscrowd"] = True
    return out


def coco_to_scenes(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    category: str,
    vocabulary: Iterable[str] | None = None,
    image_root: str | Path | None = None,
) -> list[Scene]:
    """Convert a COCO instances JSON into one :class:`Scene` per image.

    Segmentation may be polygons, uncompressed RLE (``counts`` list) or compressed RLE
    (``counts`` string); an annotation without segmentation uses its ``bbox``. The COCO
    category name is the component label. Components are ``c0``, ``c1``, ... in annotation
    order; ``scene.meta["coco_annotation_ids"]`` lists their annotation ids.

    Args:
        path_or_dict: The COCO ``.json`` file or its decoded object.
        category: Product category of the scenes.
        vocabulary: Allowed component labels; None: no check.
        image_root: Folder holding the images (``file_name`` relative to it), for colours.

    Returns:
        Scenes in the order of ``images`` (an image without annotations gives an empty
        scene).

    Raises:
        ImportFormatError: A missing key, an annotation pointing to an unknown image or
            category, a polygon or box outside its image, an invalid RLE, an empty mask or
            a label outside the vocabulary; the message names the annotation id.
    """
    data, source, base = _load_source(path_or_dict)
    if not isinstance(data, dict):
        raise ImportFormatError(f"{source}: a COCO file must be a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ImportFormatError(f"{source}: missing key {key!r} (a list) (not a COCO file?)")
    vocab = set(vocabulary) if vocabulary is not None else None

    images: dict[Any, dict[str, Any]] = {}
    for i, img in enumerate(data["images"]):
        where = f"{source}: images[{i}]"
        _require(img, ("id", "file_name", "width", "height"), where)
        if not (_positive_int(img["width"]) and _positive_int(img["height"])):
            raise ImportFormatError(f"{where}: width/height must be positive integers")
        if img["id"] in images:
            raise ImportFormatError(f"{where}: duplicate image id {img['id']!r}")
        images[img["id"]] = img
    names: dict[Any, str] = {}
    for i, cat in enumerate(data["categories"]):
        _require(cat, ("id", "name"), f"{source}: categories[{i}]")
        names[cat["id"]] = str(cat["name"])

    per_image: dict[Any, list[tuple[Any, str, np.ndarray, dict[str, Any], float]]] = {
        k: [] for k in images
    }
    seen_ids: set[Any] = set()
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "id" not in ann:
            raise ImportFormatError(f"{source}: annotations[{i}]: missing key 'id'")
        where = f"{source}: annotation id {ann['id']}"
        _require(ann, ("image_id", "category_id"), where)
        if ann["id"] in seen_ids:
            raise ImportFormatError(f"{where}: duplicate annotation id")
        seen_ids.add(ann["id"])
        img = images.get(ann["image_id"])
        if img is None:
            raise ImportFormatError(f"{where}: image_id {ann['image_id']!r} is not in 'images'")
        label = names.get(ann["category_id"])
        if label is None:
            raise ImportFormatError(
                f"{where}: category_id {ann['category_id']!r} is not in 'categories'"
            )
        _check_label(label, vocab, where, category)
        m = _coco_mask(ann, img["width"], img["height"], where)
        if not m.any():
            raise ImportFormatError(f"{where}: the segmentation covers no pixel")
        score = ann.get("score", 1.0)
        if not (_number(score) and 0.0 <= score <= 1.0):
            raise ImportFormatError(f"{where}: score {score!r} must be a number in 0..1")
        attrs = _coco_attributes(ann, where)
        per_image[ann["image_id"]].append((ann["id"], label, m, attrs, float(score)))

    scenes: list[Scene] = []
    roots = [Path(image_root) if image_root is not None else None, base]
    for image_id, img in images.items():
        w, h = img["width"], img["height"]
        file_name = str(img["file_name"])
        image, sha = _colour_image(_find_image(file_name, roots), w, h, f"{source}: {file_name}")
        anns = per_image[image_id]
        components = [
            component_from_mask(f"c{k}", label, m, image, score=score, attributes=attrs)
            for k, (_, label, m, attrs, score) in enumerate(anns)
        ]
        scenes.append(
            Scene(
                image=ImageInfo(path=_posix(file_name), width=w, height=h, sha256=sha),
                category=category,
                components=components,
                meta={
                    "source": "coco",
                    "annotation": source,
                    "coco_image_id": image_id,
                    "coco_annotation_ids": [a[0] for a in anns],
                },
            )
        )
    return scenes
