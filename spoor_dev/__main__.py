"""``python -m spoor_dev``: the demo federation, three agencies on this machine.

Run from a checkout by ``scripts/demo``; it is not part of the installed node.
"""

from __future__ import annotations

from pathlib import Path

import click

from spoor_dev.demo import DemoDirectoryInUse, run_demo


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-federation"),
    show_default=True,
    help="Where the three node homes are made (replaced if an earlier demo made it).",
)
@click.option(
    "--background",
    type=click.IntRange(0, 200_000),
    default=3000,
    show_default=True,
    help="Synthetic background records per agency.",
)
def demo(directory: Path, background: int) -> None:
    """Run Kenya Wildlife Service, Viet Nam Customs and Mozambique's PGR as real nodes on
    127.0.0.1, with generated PKI, their own policies and records, and real matches,
    disclosures and audit checks between them."""

    try:
        run_demo(directory.resolve(), background)
    except DemoDirectoryInUse as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    demo()
