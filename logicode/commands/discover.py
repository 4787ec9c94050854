"""``logicode refs discover``: cluster the regions of a few unannotated images, to name once.

Registered in :mod:`logicode.cli` as a ``refs`` sub-app command::

    refs_app = typer.Typer(help="References: discover components to name.", no_args_is_help=True)
    app.add_typer(refs_app, name="refs")
    refs_app.command("discover")(friendly_errors(discover_command))

Bad input (no image, unreadable image, unknown category, bad option) prints one line and
exits 1. The output folder then holds ``clusters.yaml`` to fill in, a contact sheet per
cluster and an overview per image; once named it is a ``--refs`` folder of ``annotate``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

logger = logging.getLogger(__name__)


def discover_command(
    images: Annotated[
        list[Path],
        typer.Argument(help="A few images of normal products (files or folders; 5 are plenty)."),
    ],
    category: Annotated[
        str, typer.Option("--category", "-c", help="Category name or spec YAML path.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (clusters.yaml, sheets).")
    ],
    max_clusters: Annotated[
        int, typer.Option("--max-clusters", min=2, help="Most clusters to name.")
    ] = 60,
    colour_tol: Annotated[
        float,
        typer.Option(
            "--colour-tol",
            min=0.5,
            help="Colour spread (CIE Lab) allowed in one colour class; lower it when two "
            "parts of similar colour end up in one cluster.",
        ),
    ] = 6.0,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Look for images in sub-folders too.")
    ] = False,
) -> None:
    """Find the components of a few unannotated images; name the clusters once in a YAML."""
    from logicode.cli import friendly_errors

    @friendly_errors
    def _go() -> None:
        from rich.console import Console

        from logicode.imageio import find_images
        from logicode.perception.discover import discover
        from logicode.perception.discover_regions import DiscoverParams
        from logicode.spec import load_spec

        spec = load_spec(category)
        files = find_images(images, recursive)  # ImageError when nothing is there
        params = DiscoverParams(colour_tol=colour_tol, max_clusters=max_clusters)
        found = discover(files, spec, out=out, params=params)
        Console().print(
            f"{len(found.clusters)} clusters in {len(files)} images -> {found.yaml_path}\n"
            f"Name each cluster there (a label of {spec.category!r} or 'ignore'; see "
            f"cluster_NN.png), then: logicode annotate -c {category} --refs {out} IMAGES...",
            highlight=False,
            soft_wrap=True,
        )

    _go()
