"""``spoor policy status``, ``history``, ``activate`` and ``rollback``: which version is live.

``activate`` and ``rollback`` put a version in force, so they need an officer
signed in with password and TOTP code (as ``spoor approvals approve`` does);
the history and the audit trail record the officer's id. Exit codes as for the
other policy commands: 0 done, 1 the version may not go live or the officer was
not signed in (nothing changed), 2 usage errors (unknown version, not a node home).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from node import store
from node.app.home import NodeHome
from node.app.policy_history import Activation, PolicyHistory, policy_tree, version_of
from node.app.policy_holder import PolicyHolder, audit_policy_event, now_iso
from node.cli.common import home_option, load_node
from node.cli.credentials_input import credentials_options, sign_in
from node.officers import credentials
from policy import PolicyError
from policy.activation import vet_policy

EXIT_PROBLEMS = 1


def _node(home_arg: str | None) -> tuple[NodeHome, Path, PolicyHistory]:
    home, config = load_node(home_arg)
    if not store.exists(home.db_path):
        raise click.UsageError(f"{home.root} has no database; create the node with 'spoor init'")
    return home, home.root / config.policy.path, PolicyHistory.beside(home.db_path)


def _line(entry: Activation, active: bool) -> str:
    mark = "*" if active else " "
    return (
        f"{mark} {entry.version}  {entry.activated_at}  {entry.reason:<8}  "
        f"{entry.activated_by}  digest {entry.digest[:12]}"
    )


@click.command("status")
@home_option
def status(home: str | None) -> None:
    """Show the policy version in force, and why the last edit was refused, if it was."""
    _, policy_path, history = _node(home)
    active = history.active()
    if active is None:
        click.echo("No policy version has gone live on this node yet (start the node first).")
    else:
        click.echo(
            f"Active version {active.version} (digest {active.digest}), activated "
            f"{active.activated_at} by {active.activated_by} ({active.reason})."
        )
    on_disk = version_of(policy_tree(policy_path)) if policy_path.exists() else None
    if active is not None and on_disk == active.version:
        click.echo(f"{policy_path} holds exactly this version.")
    elif on_disk is not None:
        click.echo(f"{policy_path} holds version {on_disk}, which is not active.")
    refusal = history.last_refusal()
    if (
        refusal
        and refusal.get("version") == on_disk
        and (active is None or on_disk != active.version)
    ):
        click.secho(
            f"Version {on_disk} was refused at {refusal.get('at')} ({refusal.get('by')}); "
            "the previous version stays in force. Problems:",
            fg="red",
        )
        for problem in refusal.get("problems") or []:
            click.echo(f"  {problem}")
        click.echo(
            "Fix them ('spoor policy check', 'spoor policy test'); the node retries on save."
        )


@click.command("history")
@home_option
def history(home: str | None) -> None:
    """List every policy version that went live on this node, newest first."""
    _, _, kept = _node(home)
    entries = kept.entries()
    if not entries:
        click.echo("No policy version has gone live on this node yet.")
        return
    click.echo("  VERSION           ACTIVATED                  REASON    BY  DIGEST")
    for i, entry in enumerate(reversed(entries)):
        click.echo(_line(entry, active=i == 0))


def _signed_in(home: NodeHome, officer: str, from_stdin: bool) -> credentials.AuthenticatedOfficer:
    with store.opened(home.db_path) as conn:
        return sign_in(conn, officer, from_stdin)


def _print_problems(what: str, exc: PolicyError) -> None:
    for p in exc.problems:
        click.secho(p.format(), fg="red", err=True)
    click.secho(
        f"{what} may not go live: {len(exc.problems)} problem(s); nothing was changed.",
        fg="red",
        err=True,
    )


@click.command("activate")
@home_option
@credentials_options
def activate(home: str | None, officer: str, credentials_stdin: bool) -> None:
    """Put the files now in the policy directory in force, in your name.

    They are checked and their case tables run first; if they may not go live,
    nothing changes (the refusal is recorded, as 'spoor policy status' shows).
    The activation is audited with your officer id.
    """
    node_home, policy_path, kept = _node(home)
    signed_in = _signed_in(node_home, officer, credentials_stdin)
    active = kept.active()
    on_disk = policy_tree(policy_path) if policy_path.exists() else {}
    if active is not None and active.version == version_of(on_disk):
        click.echo(f"version {active.version} is already active; nothing to do.")
        return
    holder = PolicyHolder(policy_path, node_home.db_path, kept)
    try:
        version = holder.activate_files(signed_in.officer_id)
    except PolicyError as exc:
        _print_problems(f"the files in {policy_path}", exc)
        sys.exit(EXIT_PROBLEMS)
    click.echo(
        f"version {version} is active, activated by {signed_in.name} ({signed_in.officer_id}); "
        "a running node picks it up at its next policy check."
    )


@click.command("rollback")
@click.argument("version")
@home_option
@credentials_options
def rollback(version: str, home: str | None, officer: str, credentials_stdin: bool) -> None:
    """Put a kept policy VERSION back in force (see 'spoor policy history').

    The version is checked and its case tables run again first, as for any
    activation; if it may not go live today (an instrument or assurance expired
    since), nothing changes. The files now in the policy directory are kept in
    the history too. The rollback is audited with the signed-in officer's id.
    """
    node_home, policy_path, kept = _node(home)
    source = kept.path_of(version.strip().lower())
    if source is None:
        raise click.BadParameter(
            f"no kept version {version!r}; 'spoor policy history' lists them", param_hint="VERSION"
        )
    signed_in = _signed_in(node_home, officer, credentials_stdin)
    try:
        loaded, _ = vet_policy(source)
    except PolicyError as exc:
        _print_problems(f"version {source.name}", exc)
        sys.exit(EXIT_PROBLEMS)
    active = kept.active()
    on_disk = policy_tree(policy_path) if policy_path.exists() else None
    if active is not None and active.version == source.name == version_of(on_disk or {}):
        click.echo(f"version {source.name} is already active; nothing to do.")
        return
    if on_disk:
        current = kept.keep(on_disk)
        click.echo(f"the files now in {policy_path} are kept as version {current}")
    _replace_directory(source, policy_path)
    by = signed_in.officer_id
    entry = Activation(
        source.name,
        loaded.digest,
        now_iso(),
        by,
        "rollback",
        active.version if active else None,
    )
    kept.record(entry)
    audit_policy_event(
        node_home.db_path,
        "policy.loaded",
        loaded.digest,
        "OK",
        {"version": source.name, "reason": "rollback", "previous": entry.previous},
        actor=by,
    )
    click.echo(
        f"version {source.name} (digest {loaded.digest[:12]}) is active, put back by "
        f"{signed_in.name} ({signed_in.officer_id}); "
        "a running node picks it up at its next policy check."
    )


def _replace_directory(source: Path, target: Path) -> None:
    """Swap ``target`` for a copy of ``source`` with two renames (never half-written)."""
    staging = target.parent / f".{target.name}.incoming"
    old = target.parent / f".{target.name}.replaced"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(source, staging)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)
