"""Entry point of the ``spoor`` command."""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """Spoor: private federated lookups between wildlife-crime agencies."""


def main() -> None:
    cli()
