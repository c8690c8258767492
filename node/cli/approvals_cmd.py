"""``spoor approvals``: the legal officers' desk for pending disclosure tickets."""

from __future__ import annotations

import json
from collections.abc import Callable

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from node import officers, store
from node.cli.common import home_option, load_node
from node.cli.credentials_input import credentials_options, sign_in
from node.cli.ids import resolve_id, table_console, wide_option
from node.cli.render import MAX_PROSE, cells, safe_markup, safe_text
from node.disclosure import tickets
from node.errors import DisclosureNotFound, InvalidRequest, TicketStateConflict


@click.group("approvals")
def approvals() -> None:
    """List, read and decide disclosure tickets awaiting a legal officer."""


def _run(
    home: str | None,
    officer: str,
    credentials_stdin: bool,
    action: Callable[..., tickets.Ticket],
    ticket_id: str,
    **kwargs: object,
) -> tickets.Ticket:
    """Sign the officer in (password + TOTP), then act on the ticket as them."""
    node_home, _ = load_node(home)
    try:
        with store.opened(node_home.db_path) as conn:
            signed_in = sign_in(conn, officer, credentials_stdin)
            # The ticket id as typed (perhaps only its start).
            ticket_id = resolve_id(conn, "ticket", ticket_id)
            return action(conn, ticket_id, signed_in, **kwargs)
    except (DisclosureNotFound, InvalidRequest, TicketStateConflict) as exc:
        raise click.ClickException(f"{exc}. Nothing was changed.") from exc
    except officers.OfficerNotAuthorized as exc:
        raise click.ClickException(str(exc)) from exc


def _state(ticket: tickets.Ticket) -> str:
    if ticket.overdue:
        return "[bold red]OVERDUE[/bold red]"
    colour = {"approved": "green", "denied": "red"}.get(ticket.status, "yellow")
    return f"[{colour}]{safe_markup(ticket.status)}[/{colour}]"


@approvals.command("list")
@home_option
@click.option("--overdue", "overdue_only", is_flag=True, help="Only tickets past their deadline.")
@click.option("--all", "include_decided", is_flag=True, help="Include decided tickets.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@wide_option
def list_cmd(
    home: str | None, overdue_only: bool, include_decided: bool, as_json: bool, wide: bool
) -> None:
    """Tickets awaiting a decision, earliest deadline first (overdue ones marked)."""
    node_home, _ = load_node(home)
    with store.opened(node_home.db_path) as conn:
        found = tickets.list_tickets(
            conn, include_decided=include_decided, overdue_only=overdue_only
        )
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in found], indent=2, ensure_ascii=False))
        return
    table = Table(title="Disclosure tickets")
    for col in ("ticket", "counterpart", "record", "state", "deadline", "approvals", "roles"):
        table.add_column(col)
    for t in found:
        table.add_row(
            *cells(t.ticket_id, t.counterpart, t.record_id),
            Text.from_markup(_state(t)),
            *cells(t.deadline, f"{len(t.approvers)}/{t.approvals_needed}", ", ".join(t.roles)),
        )
    table_console(wide, width=160).print(table)
    overdue = sum(1 for t in found if t.overdue)
    if overdue:
        click.echo(f"{overdue} ticket(s) OVERDUE: reopen with a new deadline or deny them")


@approvals.command("show")
@home_option
@click.argument("ticket_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--lang",
    "language",
    type=click.Choice(["en", "fr", "pt", "vi", "zh"]),
    default=None,
    help="Also give the request's codes (purpose, charges, fields, reason) in this language.",
)
def show_cmd(home: str | None, ticket_id: str, as_json: bool, language: str | None) -> None:
    """The request, the policy's decision and explanation, and the record."""
    node_home, _ = load_node(home)
    try:
        with store.opened(node_home.db_path) as conn:
            detail = tickets.ticket_detail(conn, resolve_id(conn, "ticket", ticket_id))
    except DisclosureNotFound as exc:
        raise click.ClickException(f"{exc}. Nothing was changed.") from exc
    data = {
        "ticket": detail.ticket.as_dict(),
        "request": detail.request,
        "decision": detail.decision,
        "record": detail.record,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    t = detail.ticket
    console = Console(width=120)
    console.print(
        f"[bold]Ticket {safe_markup(t.ticket_id)}[/bold]  {_state(t)}  "
        f"deadline {safe_markup(t.deadline)}  "
        f"approvals {len(t.approvers)}/{t.approvals_needed}"
        f"{' (two-person rule)' if t.two_person else ''}  "
        f"roles: {safe_markup(', '.join(t.roles))}"
    )
    # The request is the counterpart's text: every value is shown literally and whole
    # (up to its bound), so nothing in it can hide or restyle another part.
    console.print("\n[bold]Request[/bold]")
    for key, value in detail.request.items():
        console.print(
            Text.assemble("  ", safe_text(key), ": ", safe_text(value, MAX_PROSE, multiline=True))
        )
    if language is not None:
        _print_labels(console, detail, language)
    console.print("\n[bold]Policy decision[/bold]")
    dec = detail.decision
    console.print(Text.assemble("  outcome: ", *_parts(dec["outcome"], " (", dec["reason_code"])))
    console.print(Text.assemble("  fields to release: ", _json_text(dec["fields"])))
    console.print(Text.assemble("  obligations: ", safe_text(dec["obligations"], MAX_PROSE)))
    console.print("\n[bold]Explanation[/bold]")
    console.print(safe_text(dec["explanation"], MAX_PROSE * 4, multiline=True))
    console.print("\n[bold]Record[/bold]")
    console.print(_json_text(detail.record, indent=2))
    if t.history:
        console.print("\n[bold]History[/bold]")
        for a in t.history:
            console.print(
                safe_text(
                    f"  round {a.round} {a.at} {a.officer}: {a.decision}"
                    f"{' — ' + a.note if a.note else ''}",
                    MAX_PROSE,
                )
            )


def _print_labels(console: Console, detail: tickets.TicketDetail, language: str) -> None:
    """The request's codes in the reader's language (free text stays as written)."""
    from node.web.i18n import code_label, translations

    catalogue = translations(language)
    req, dec = detail.request, detail.decision

    def labels(kind: str, codes: list[str]) -> str:
        return ", ".join(f"{code_label(catalogue, kind, c)} ({c})" for c in codes) or "-"

    console.print(f"\n[bold]{catalogue.gettext('The request')}[/bold]")
    rows = (
        ("Purpose", labels("purpose", [req["purpose"]])),
        ("Potential charges", labels("charge", list(req["potential_charges"]))),
        ("Requested fields", labels("field", list(req["requested_fields"]))),
        ("Why approval is needed", labels("reason", [dec["reason_code"]])),
    )
    for label, text in rows:
        console.print(Text.assemble(f"  {catalogue.gettext(label)}: ", safe_text(text, MAX_PROSE)))
    console.print(
        Text.assemble(
            f"  {catalogue.gettext('Justification')} "
            f"({catalogue.gettext('shown as written; not translated')}): ",
            safe_text(req["justification"], MAX_PROSE, multiline=True),
        )
    )


def _parts(outcome: object, sep: str, code: object) -> tuple[Text, ...]:
    return safe_text(outcome), Text(sep), safe_text(code), Text(")")


def _json_text(value: object, indent: int | None = None) -> Text:
    return safe_text(
        json.dumps(value, indent=indent, ensure_ascii=False), MAX_PROSE * 4, multiline=True
    )


@approvals.command("approve")
@home_option
@click.argument("ticket_id")
@credentials_options
@click.option("--note", default=None, help="A note for the record.")
def approve_cmd(
    home: str | None, ticket_id: str, officer: str, credentials_stdin: bool, note: str | None
) -> None:
    """Approve a ticket (the two-person rule needs a second, different officer)."""
    t = _run(home, officer, credentials_stdin, tickets.approve, ticket_id, note=note)
    if t.status == "approved":
        click.echo(
            f"ticket {t.ticket_id} approved by {t.decided_by}; the counterpart can "
            "now fetch the released details"
        )
    else:
        click.echo(
            f"approval by {officer} recorded ({len(t.approvers)}/{t.approvals_needed}); "
            "a second, different officer must approve before anything is released"
        )


def _refuse(
    home: str | None, ticket_id: str, officer: str, credentials_stdin: bool, reason: str
) -> None:
    t = _run(home, officer, credentials_stdin, tickets.deny, ticket_id, reason=reason)
    click.echo(
        f"ticket {t.ticket_id} denied by {officer}; the counterpart is told only "
        "that the record is not releasable"
    )


@approvals.command("refuse")
@home_option
@click.argument("ticket_id")
@credentials_options
@click.option("--reason", required=True, help="Why (stays on this node; never sent).")
def refuse_cmd(
    home: str | None, ticket_id: str, officer: str, credentials_stdin: bool, reason: str
) -> None:
    """Refuse a ticket; the counterpart sees only NOT_RELEASABLE."""
    _refuse(home, ticket_id, officer, credentials_stdin, reason)


@approvals.command("deny")
@home_option
@click.argument("ticket_id")
@credentials_options
@click.option("--reason", required=True, help="Why (stays on this node; never sent).")
def deny_cmd(
    home: str | None, ticket_id: str, officer: str, credentials_stdin: bool, reason: str
) -> None:
    """Refuse a ticket (same as 'refuse'); the counterpart sees only NOT_RELEASABLE."""
    _refuse(home, ticket_id, officer, credentials_stdin, reason)


@approvals.command("reopen")
@home_option
@click.argument("ticket_id")
@credentials_options
@click.option("--deadline-hours", type=int, required=True, help="New deadline from now.")
@click.option("--note", default=None, help="A note for the record.")
def reopen_cmd(
    home: str | None,
    ticket_id: str,
    officer: str,
    credentials_stdin: bool,
    deadline_hours: int,
    note: str | None,
) -> None:
    """Reopen an overdue or denied ticket with a new deadline (earlier approvals lapse)."""
    t = _run(
        home,
        officer,
        credentials_stdin,
        tickets.reopen,
        ticket_id,
        deadline_hours=deadline_hours,
        note=note,
    )
    click.echo(f"ticket {t.ticket_id} reopened (round {t.round}); new deadline {t.deadline}")


@approvals.command("remind")
@home_option
def remind_cmd(home: str | None) -> None:
    """Send reminders for tickets due within console.remind_hours_before (e-mail/webhook)."""
    from node.disclosure import reminders

    node_home, config = load_node(home)
    c = config.console
    settings = reminders.ReminderSettings(
        c.remind_hours_before, c.reminder_webhook, c.smtp_host, c.smtp_port, c.mail_from, c.mail_to
    )
    if not settings.enabled:
        raise click.ClickException(
            "no reminder channel is set: give console.reminder_webhook or console.smtp_host and "
            "console.mail_to in spoor.toml"
        )
    try:
        with store.opened(node_home.db_path) as conn:
            sent = reminders.send(conn, config.agency_id, settings, node_home.root)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"reminders could not be sent: {exc}") from exc
    click.echo(f"{len(sent)} reminder(s) sent" + (": " + ", ".join(sent) if sent else ""))
