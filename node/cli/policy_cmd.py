"""``spoor policy``: check, test, explain and diff policies; status, history, activate, rollback.

Exit codes: 0 all good, 1 the policy has problems or cases fail, 2 usage errors
(wrong options, unreadable request or record files).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from node.app.home import NodeHome
from node.cli.policy_versions_cmd import activate, history, rollback, status
from policy import (
    Policy,
    PolicyError,
    Problem,
    evaluate_disclosure,
    evaluate_participation,
    evaluate_release,
    load_policy,
)
from policy.cases import REQUEST_KEYS, find_case_files, load_cases, make_request
from policy.diff import diff_policies
from policy.explain import render
from policy.testing import TestReport, run_case_set

EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _policy_path(path: str | None, home: str | None) -> Path:
    if path:
        return Path(path)
    return NodeHome.resolve(home).policy_dir


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        click.secho(p.format(), fg=colour, err=True)


def _load(path: Path, today: date | None = None) -> Policy:
    try:
        return load_policy(path, today=today)
    except PolicyError as exc:
        _print_problems(exc.problems)
        click.secho(
            f"{len(exc.problems)} error(s) in {path}; nothing was changed. "
            "Fix them and run 'spoor policy check' again.",
            fg="red",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)


def _coverage_warnings(policy: Policy, report: TestReport) -> list[Problem]:
    out = []
    for rule in policy.rules:
        gap = report.gaps.get(rule.id)
        if gap:
            o = rule.origin
            out.append(
                Problem(
                    o.file,
                    o.line,
                    o.column,
                    f"rule {rule.id} is not fully tested: {gap}",
                    "add a case to the policy's *.cases.yaml table",
                    "warning",
                )
            )
    return out


home_opt = click.option(
    "--home",
    "home",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    envvar="SPOOR_HOME",
    help="Node home; its policy/ directory is used when PATH is not given.",
)
today_opt = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date for expiry warnings (default: today, UTC).",
)


@click.group("policy")
def policy() -> None:
    """Check, test, explain and compare release policies; see and roll back what is live."""


policy.add_command(status)
policy.add_command(history)
policy.add_command(activate)
policy.add_command(rollback)


@policy.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=str))
@home_opt
@today_opt
def check(path: str | None, home: str | None, today: datetime | None) -> None:
    """Check a policy file or directory for errors and warnings.

    Every error is printed as file:line:column with a hint. Warnings cover
    instruments or assurances expiring within 30 days and rules without tests.
    """
    where = _policy_path(path, home)
    loaded = _load(where, today.date() if today else None)
    warnings = list(loaded.warnings)
    case_files = find_case_files(where)
    if not case_files:
        warnings.append(
            Problem(
                str(where),
                1,
                1,
                "no test cases found; every rule is untested",
                "add a <name>.cases.yaml table next to the policy",
                "warning",
            )
        )
    else:
        report = run_case_set(loaded, load_cases(case_files))
        warnings += _coverage_warnings(loaded, report)
        warnings += report.problems
        if report.failed:
            warnings.append(
                Problem(
                    str(where),
                    1,
                    1,
                    f"{len(report.failed)} test case(s) fail",
                    "run 'spoor policy test' for details",
                    "warning",
                )
            )
    _print_problems(warnings)
    click.echo(
        f"{where}: OK — {len(loaded.rules)} rules ({len(loaded.guards)} guards, "
        f"{len(loaded.participation)} participation, {len(loaded.release)} release), "
        f"{len(warnings)} warning(s)"
    )
    click.echo(f"digest {loaded.digest}")


@policy.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=str))
@click.argument("cases", nargs=-1, type=click.Path(exists=True, path_type=str))
@home_opt
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
def test(path: str | None, cases: tuple[str, ...], home: str | None, verbose: bool) -> None:
    """Run case tables against a policy and enforce the coverage rule.

    CASES default to the *.cases.yaml files next to the policy (and cases/).
    Every rule needs a case where it matches and one where it does not; every
    guard a case where it fires.
    """
    where = _policy_path(path, home)
    loaded = _load(where)
    files = [Path(c) for c in cases] or find_case_files(where)
    if not files:
        click.secho(
            f"no case files found for {where}; add a <name>.cases.yaml table", fg="red", err=True
        )
        sys.exit(EXIT_PROBLEMS)
    report = run_case_set(loaded, load_cases(files))
    _print_problems(report.problems)
    for result in report.results:
        c = result.case
        if result.passed:
            if verbose:
                click.echo(f"PASS {c.file}:{c.line}: {c.name}")
            continue
        click.secho(f"FAIL {c.file}:{c.line}: {c.name}", fg="red")
        for failure in result.failures:
            click.echo(f"       {failure}")
    passed = f"{len(report.results) - len(report.failed)} passed, {len(report.failed)} failed"
    if report.problems or not report.results:
        click.echo(f"{passed}; coverage not computed: fix the case files first")
        sys.exit(EXIT_PROBLEMS)
    for gap in _coverage_warnings(loaded, report):
        click.secho(gap.format().replace(": warning:", ": coverage:"), fg="yellow")
    covered = len(report.coverage) - len(report.gaps)
    click.echo(f"{passed}; coverage {covered}/{len(report.coverage)} rules")
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


def _read_yaml(path: str, what: str) -> dict[str, Any]:
    try:
        with Path(path).open(encoding="utf-8") as stream:  # the stream names the file in errors
            data = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as exc:
        raise click.BadParameter(f"cannot read the {what} file: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"the {what} file must hold a mapping of 'key: value' lines")
    return data


def _stored_facts(home: str | None, record_id: str | None) -> dict[str, Any]:
    """The facts the policy sees of a record stored in the node home."""
    # Deferred: only this option needs the node database.
    from node import store
    from node.app.home import NodeHome
    from node.records.facts import facts
    from node.store import records as record_store

    node_home = NodeHome.resolve(home)
    if not store.exists(node_home.db_path):
        raise click.UsageError(f"--record-id needs a node home; {node_home.root} has no database")
    try:
        with store.opened(node_home.db_path) as conn:
            record = record_store.get(conn, str(record_id))
    except store.StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if record is None:
        raise click.BadParameter(
            f"no record {record_id!r} in {node_home.root} (see 'spoor records list')",
            param_hint="--record-id",
        )
    return dict(facts(record))


@policy.command("explain")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=str))
@home_opt
@click.option(
    "--request",
    "request_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file with the request (requester, purpose, legal_basis, ...).",
)
@click.option(
    "--record",
    "record_file",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML file with the record's facts.",
)
@click.option(
    "--record-id",
    help="A record stored in the node (needs --home): explain the decision on its facts.",
)
@click.option(
    "--decision",
    "decision_id",
    help="A past disclosure decision (item, ticket or disclosure id; needs --home): "
    "show exactly what was sent.",
)
@click.option(
    "--stage",
    type=click.Choice(["disclosure", "release", "participation"]),
    default="disclosure",
    show_default=True,
    help="disclosure: what a disclosure request gets (participation for this request, "
    "then release); or one stage alone.",
)
@click.option("--requester")
@click.option("--purpose")
@click.option("--legal-basis")
@click.option("--case-reference")
@click.option("--officer")
@click.option("--now", help="Time of the request, e.g. 2026-03-01T10:00:00Z (default: now).")
@click.option("--justification")
@click.option("--field", "fields", multiple=True, help="Requested field or field group.")
@click.option("--charge", "charges", multiple=True, help="Potential charge (offence class).")
@click.option("--assurance", "assurances", multiple=True, help="Assurance id given.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision record as JSON.")
def explain(
    *,
    path: str | None,
    home: str | None,
    request_file: str | None,
    record_file: str | None,
    record_id: str | None,
    decision_id: str | None,
    stage: str,
    as_json: bool,
    fields: tuple[str, ...],
    charges: tuple[str, ...],
    assurances: tuple[str, ...],
    **inline: str | None,
) -> None:
    """Decide one request for one record and show the full decision record.

    The request comes from --request and/or the inline options (inline wins).
    With --decision, nothing is evaluated: the stored decision is shown as it
    was sent, with the explanation written by the evaluation that made it.
    """
    if decision_id is not None:
        if request_file or record_file or record_id or any(v is not None for v in inline.values()):
            raise click.UsageError("--decision shows a past decision; give it alone (with --home)")
        _explain_stored(home, decision_id, as_json)
        return
    raw: dict[str, Any] = _read_yaml(request_file, "request") if request_file else {}
    for key, value in inline.items():
        if value is not None:
            raw[key] = value
    if fields:
        raw["requested_fields"] = list(fields)
    if charges:
        raw["potential_charges"] = list(charges)
    if assurances:
        raw["assurances"] = list(assurances)
    raw.setdefault("now", datetime.now(UTC))
    unknown = sorted(set(raw) - set(REQUEST_KEYS))
    if unknown:
        raise click.BadParameter(
            f"unknown request key(s): {', '.join(unknown)}", param_hint="--request"
        )
    try:
        ctx = make_request(raw)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from None
    if (record_file is None) == (record_id is None):
        raise click.UsageError("give exactly one of --record FILE or --record-id ID")
    record = _read_yaml(record_file, "record") if record_file else _stored_facts(home, record_id)
    loaded = _load(_policy_path(path, home))
    evaluate = {
        "participation": evaluate_participation,
        "release": evaluate_release,
        "disclosure": evaluate_disclosure,
    }[stage]
    decision = evaluate(loaded, ctx, record)
    if as_json:
        out = decision.explanation.as_dict()
        out["released_values"] = decision.fields
        out["denied_by"] = decision.denied_by
        click.echo(json.dumps(out, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(render(decision))


def _explain_stored(home: str | None, decision_id: str, as_json: bool) -> None:
    # Deferred: only this option needs the node database.
    from node import store
    from node.disclosure.decisions import render_stored, stored_decisions
    from node.errors import DisclosureNotFound

    node_home = NodeHome.resolve(home)
    if not store.exists(node_home.db_path):
        raise click.UsageError(f"--decision needs a node home; {node_home.root} has no database")
    try:
        with store.opened(node_home.db_path) as conn:
            found = stored_decisions(conn, decision_id)
    except DisclosureNotFound:
        raise click.BadParameter(
            f"no disclosure decision {decision_id!r} in {node_home.root}",
            param_hint="--decision",
        ) from None
    except store.StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        data: Any = [d.as_dict() for d in found]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False))
    else:
        click.echo(("\n\n" + "-" * 72 + "\n\n").join(render_stored(d) for d in found))


@policy.command("diff")
@click.argument("old", type=click.Path(exists=True, path_type=str))
@click.argument("new", type=click.Path(exists=True, path_type=str))
@click.option(
    "--cases",
    "cases",
    multiple=True,
    type=click.Path(exists=True, path_type=str),
    help="Case table(s) to compare on (default: those next to both versions).",
)
def diff(old: str, new: str, cases: tuple[str, ...]) -> None:
    """Show which rules and which test-case decisions change between OLD and NEW."""
    old_policy, new_policy = _load(Path(old)), _load(Path(new))
    files: list[Path] = [Path(c) for c in cases]
    if not files:
        seen: set[str] = set()
        for candidate in find_case_files(Path(new)) + find_case_files(Path(old)):
            if candidate.name not in seen:  # the new version's table wins
                seen.add(candidate.name)
                files.append(candidate)
    report = diff_policies(old_policy, new_policy, load_cases(files))
    _print_problems(report.problems)
    click.echo(report.render())
