"""Pieces shared by the command modules: --home, loading a node, error exits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from node import store
from node.app.config import ConfigError, NodeConfig, load_config
from node.app.home import NodeHome

F = TypeVar("F", bound=Callable[..., Any])


def home_option(func: F) -> F:
    """``--home PATH``: the node home (default ``$SPOOR_HOME``, else ./spoor-home)."""
    return click.option(
        "--home",
        "home",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        envvar="SPOOR_HOME",
        show_envvar=True,
        help="Node home directory (default: ./spoor-home).",
    )(func)


def load_node(home_arg: str | None) -> tuple[NodeHome, NodeConfig]:
    """Resolve the home, read its config and bring its database up to date, or exit clearly."""
    home = NodeHome.resolve(home_arg)
    try:
        config = load_config(home)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if store.exists(home.db_path):
        # Every command upgrades an older home (after a backup) or refuses a newer one first.
        try:
            store.ensure_current(home.db_path)
        except store.StoreError as exc:
            raise click.ClickException(str(exc)) from exc
    return home, config
