"""Discover components in unannotated reference images, for the user to name once.

The second way to give the labeler its references (the first is annotated images, see
:mod:`logicode.perception.refs`): :func:`discover` cuts a few images of normal products into
regions, clusters the regions across the images (:mod:`logicode.perception.discover_regions`)
and writes into a folder:

* ``clusters.yaml``: one entry per cluster with ``label: null`` for the user to fill with a
  label of the category's vocabulary (or ``ignore``), what helps decide (size, colour,
  regions per image, the sheet to look at), and per-label options for parts that contain
  other parts (``includes``, ``fill_holes``; see :data:`YAML_HEADER`);
* ``cluster_NN.png``: a contact sheet per cluster, a few crops with the region outlined;
* ``overview_NN.png``: each reference with its regions tinted and numbered by cluster;
* ``regions.npz``: the region maps, so the named folder rebuilds its references without
  clustering again (:mod:`logicode.perception.discovered`).

Once named, the folder is a references folder: ``load_references(folder, spec)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from logicode.color import color_name
from logicode.errors import LogicodeError
from logicode.imageio import read_image
from logicode.perception.discover_regions import (
    DiscoverParams,
    cluster_regions,
    segment_references,
    standardise,
)
from logicode.perception.overlay import PALETTE
from logicode.scene import file_sha256
from logicode.spec import CategorySpec

logger = logging.getLogger(__name__)

CLUSTERS_FILE = "clusters.yaml"
"""The file the user names the clusters in."""
REGIONS_FILE = "regions.npz"
"""Region maps of the references (``map_<i>``: working-resolution region index per pixel;
``cluster_<i>``: cluster of each region)."""
FORMAT = "logicode-discovery/1"
"""Value of ``format`` in ``clusters.yaml``."""
IGNORE = "ignore"
"""The label of clusters that are no component (background, shadows, reflections)."""
SHEET_CROPS = 8
"""Crops per contact sheet."""
TILE = 180
"""Side (pixels) of a crop tile in a contact sheet."""

YAML_HEADER = """\
# Components discovered by `logicode refs discover` in {n} reference images of {category!r}.
#
# Name every cluster ONCE: look at its sheet (cluster_NN.png: a few of its regions outlined
# in magenta) and at overview_NN.png (every region tinted and numbered by cluster), then set
#   label: <one of the vocabulary labels below>   or   label: ignore   (background, shadow...)
# Several clusters may get the same label (a part split by colour or shading); touching
# regions of one label make one component, separate ones make separate components.
# Attributes the spec asks for may be set per cluster, e.g. `attributes: {{kind: cherry}}`;
# a component takes the value of the clusters giving one that cover most of it.
#
# Parts that hold other parts (a bottle holding juice and labels, a box holding its
# contents) are not one colour region. Say it under `labels:` for that label:
#   includes: [liquid, top_label]  # the component also takes the touching regions of
#                                  # these labels (and everything it then encloses)
#   fill_holes: true               # the component also takes whatever it encloses
#   single: true                   # one per product: the largest piece and the pieces
#                                  # near it are the component, stray pieces are dropped
#   scattered: true                # one per product in many pieces (toppings): all its
#                                  # pieces in the image make the one component
#   count: 22                      # a normal product holds 22: touching regions of the
#                                  # label (walls meeting walls, a nut on a screw) are kept
#                                  # apart, or strays joined, to make 22 per image
# A region named `liquid` stays a liquid too: one pixel may belong to nested components.
#
# Vocabulary of {category!r} (the spec has no part hierarchy; use `includes`):
{vocabulary}
# Then: logicode annotate --category {category} --refs THIS_FOLDER IMAGES...
"""


class DiscoverError(LogicodeError):
    """Discovery cannot run (no images, unreadable image, unusable output folder)."""


@dataclass
class Discovery:
    """What :func:`discover` found and wrote.

    Attributes:
        out: The output folder.
        images: The reference images (as given).
        clusters: One summary dict per cluster (as in ``clusters.yaml``).
        regions: Number of regions per image.
        silhouettes: Silhouette of the split chosen in each colour class (0: not split).
    """

    out: Path
    images: list[Path]
    clusters: list[dict[str, Any]]
    regions: list[int]
    silhouettes: dict[int, float] = field(default_factory=dict)

    @property
    def yaml_path(self) -> Path:
        """The ``clusters.yaml`` to fill in."""
        return self.out / CLUSTERS_FILE


def _vocab_comment(spec: CategorySpec) -> str:
    lines = []
    for c in spec.components:
        attrs = []
        for a in c.attributes:
            vals = "|".join(a.values) if a.values else a.type
            attrs.append(f"{a.name}: {vals}")
        extra = f" (attributes: {'; '.join(attrs)})" if attrs else ""
        desc = " ".join(c.description.split())
        lines.append(f"#   {c.label}{extra}: {desc}"[:160])
    lines.append(f"#   {IGNORE}: not a component")
    return "\n".join(lines)


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive
        return path.resolve().as_posix()


def _upscaled(region_mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(
        region_mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST
    ).astype(bool)


def _tile(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A square crop around ``mask`` (full resolution) with its outline drawn."""
    h, w = image.shape[:2]
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    side = int(max(y1 - y0, x1 - x0) * 1.4) + 8
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    ty0, tx0 = max(cy - side // 2, 0), max(cx - side // 2, 0)
    ty1, tx1 = min(ty0 + side, h), min(tx0 + side, w)
    crop = np.ascontiguousarray(image[ty0:ty1, tx0:tx1])
    m = mask[ty0:ty1, tx0:tx1].astype(np.uint8)
    f = TILE / max(crop.shape[:2])
    size = (max(int(crop.shape[1] * f), 1), max(int(crop.shape[0] * f), 1))
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(crop, contours, -1, (255, 0, 255), 2)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    tile[: crop.shape[0], : crop.shape[1]] = crop
    return tile


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise DiscoverError(f"{path}: cannot write the picture; check the folder is writable")


def _sheet(tiles: list[np.ndarray], title: str) -> np.ndarray:
    cols = min(4, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    out = np.full((rows * TILE + 24, cols * TILE, 3), 30, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[24 + r * TILE : 24 + (r + 1) * TILE, c * TILE : (c + 1) * TILE] = t
    cv2.putText(out, title, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return out


def _overview(image: np.ndarray, region_map: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """The working-resolution image, regions tinted by cluster and numbered."""
    h, w = region_map.shape
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    f = max(1.0, 640 / max(h, w))
    size = (int(w * f), int(h * f))
    cmap = clusters[region_map]
    colours = np.array([PALETTE[c % len(PALETTE)] for c in range(int(clusters.max()) + 1)])
    tinted = 0.55 * small + 0.45 * colours[cmap]
    out = cv2.resize(np.clip(tinted, 0, 255).astype(np.uint8), size, cv2.INTER_NEAREST)
    big = cv2.resize(region_map.astype(np.int32), size, interpolation=cv2.INTER_NEAREST)
    edges = np.zeros(big.shape, bool)
    edges[:-1] |= big[:-1] != big[1:]
    edges[:, :-1] |= big[:, :-1] != big[:, 1:]
    out[edges] = (0, 0, 0)
    for r in range(int(region_map.max()) + 1):
        ys, xs = np.nonzero(big == r)
        if ys.size < 30:
            continue
        k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
        org = (int(xs[k]) - 6, int(ys[k]) + 5)
        text = str(int(clusters[r]))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    return out


def _summaries(
    images: list[np.ndarray],
    maps: list[np.ndarray],
    per_image: list[np.ndarray],
    n_clusters: int,
) -> list[dict[str, Any]]:
    """Per-cluster facts for the YAML: regions, images, size, colour."""
    out = []
    n_img = len(images)
    for c in range(n_clusters):
        count = [int(np.count_nonzero(cl == c)) for cl in per_image]
        share, rgb_sum, px, border = 0.0, np.zeros(3), 0, 0
        for im, rm, cl in zip(images, maps, per_image, strict=True):
            m = np.isin(rm, np.flatnonzero(cl == c))
            if not m.any():
                continue
            small = cv2.resize(im, (rm.shape[1], rm.shape[0]), interpolation=cv2.INTER_AREA)
            share += float(m.mean())
            rgb_sum += small[m].astype(np.float64).sum(axis=0)
            px += int(np.count_nonzero(m))
            border += int(m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())
        rgb = [int(round(v)) for v in rgb_sum / max(px, 1)]
        out.append(
            {
                "id": c,
                "label": None,
                "attributes": {},
                "sheet": f"cluster_{c:02d}.png",
                "regions": sum(count),
                "images_with": sum(1 for k in count if k),
                "per_image": round(sum(count) / n_img, 2),
                "image_share": round(share / n_img, 4),
                "color": color_name(rgb),
                "rgb": rgb,
                "touches_border": border >= max(1, sum(1 for k in count if k)),
            }
        )
    return out


def _sheets(
    out: Path,
    images: list[np.ndarray],
    maps: list[np.ndarray],
    per_image: list[np.ndarray],
    n_clusters: int,
) -> None:
    for c in range(n_clusters):
        cands = []  # (area, image, region), the largest of each image first
        for i, (rm, cl) in enumerate(zip(maps, per_image, strict=True)):
            sizes = np.bincount(rm.ravel(), minlength=len(cl))
            regs = sorted(np.flatnonzero(cl == c), key=lambda r, s=sizes: -s[r])
            cands += [(rank, -int(sizes[r]), i, int(r)) for rank, r in enumerate(regs)]
        tiles = []
        for _, _, i, r in sorted(cands)[:SHEET_CROPS]:
            mask = _upscaled(maps[i] == r, images[i].shape[:2])
            tiles.append(_tile(images[i], mask))
        n_reg = sum(int(np.count_nonzero(cl == c)) for cl in per_image)
        _write_png(out / f"cluster_{c:02d}.png", _sheet(tiles, f"cluster {c}: {n_reg} regions"))
    for i, (im, rm, cl) in enumerate(zip(images, maps, per_image, strict=True)):
        _write_png(out / f"overview_{i:02d}.png", _overview(im, rm, cl))


def write_yaml(
    path: Path,
    spec: CategorySpec,
    image_entries: list[dict[str, str]],
    clusters: list[dict[str, Any]],
    labels: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Write ``clusters.yaml`` (header comment, images, per-label options, clusters)."""
    header = YAML_HEADER.format(
        n=len(image_entries), category=spec.category, vocabulary=_vocab_comment(spec)
    )
    opts = labels or {
        lab: {"includes": [], "fill_holes": False, "single": False} for lab in spec.vocabulary
    }
    body = {
        "format": FORMAT,
        "category": spec.category,
        "regions_file": REGIONS_FILE,
        "images": image_entries,
        "labels": opts,
        "clusters": clusters,
    }
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=100)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(header + "\n" + text, encoding="utf-8")
    tmp.replace(path)


def discover(
    images: list[Path],
    spec: CategorySpec,
    *,
    out: Path,
    max_clusters: int | None = None,
    params: DiscoverParams | None = None,
) -> Discovery:
    """Discover and cluster the regions of unannotated reference images; write ``out/``.

    Args:
        images: A few images of normal products (5 are plenty; no annotations).
        spec: The category (its vocabulary goes into the YAML comments).
        out: Output folder (created; a previous discovery there is overwritten).
        max_clusters: Most clusters (default ``params.max_clusters``).
        params: Discovery settings.

    Returns:
        The :class:`Discovery`; the user then names ``out/clusters.yaml``.

    Raises:
        DiscoverError: No images, an unreadable image, or ``out`` is a file.
    """
    p = params or DiscoverParams()
    if max_clusters is not None:
        if max_clusters < 2:
            raise DiscoverError(f"--max-clusters must be at least 2, not {max_clusters}")
        p = DiscoverParams(**{**p.__dict__, "max_clusters": max_clusters})
    if not images:
        raise DiscoverError("no reference images given; give a few images of normal products")
    if out.exists() and not out.is_dir():
        raise DiscoverError(f"{out}: exists and is not a folder; give a folder for the output")
    pics = []
    for path in images:
        try:
            pics.append(read_image(path))
        except LogicodeError as exc:
            raise DiscoverError(f"{path}: reference image unreadable: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    maps, descs, colours = segment_references(pics, p)
    x = standardise(np.concatenate(descs))
    lab, scores = cluster_regions(x, np.concatenate(colours), p)
    per_image, start = [], 0
    for d in descs:
        per_image.append(lab[start : start + len(d)])
        start += len(d)
    n_clusters = int(lab.max()) + 1
    clusters = _summaries(pics, maps, per_image, n_clusters)
    _sheets(out, pics, maps, per_image, n_clusters)
    arrays: dict[str, np.ndarray] = {}
    for i, (rm, cl) in enumerate(zip(maps, per_image, strict=True)):
        arrays[f"map_{i}"] = rm.astype(np.int32)
        arrays[f"cluster_{i}"] = cl.astype(np.int32)
    np.savez_compressed(out / REGIONS_FILE, **arrays)
    entries = [{"path": _rel(pth, out), "sha256": file_sha256(pth)} for pth in images]
    write_yaml(out / CLUSTERS_FILE, spec, entries, clusters)
    logger.info("%d clusters of %d regions written to %s", n_clusters, len(lab), out)
    return Discovery(
        out=out,
        images=list(images),
        clusters=clusters,
        regions=[len(d) for d in descs],
        silhouettes={k: round(v, 4) for k, v in scores.items()},
    )
