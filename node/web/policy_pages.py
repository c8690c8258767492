"""Policies for lawyers: the policy as a document, versions and redlines, editor, drafts."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

import policy as policy_lang
from node.app.policy_history import PolicyHistory
from node.app.policy_holder import PolicyHolder
from node.officers.credentials import AuthenticatedOfficer
from node.web import drafts as drafts_mod
from node.web import i18n
from node.web.context import Console, console_of, form_of, officer_of, render
from node.web.i18n import N_
from node.web.redline import Change, redline
from node.web.redline_pdf import redline_pdf
from node.web.sessions import Session
from policy.conditions import describe


def _history(console: Console) -> PolicyHistory:
    return PolicyHistory.beside(console.home.db_path)


def _drafts(console: Console) -> drafts_mod.DraftStore:
    return drafts_mod.DraftStore(console.home.root / "policy-drafts")


def _files(policy_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(policy_dir).as_posix()
        for p in policy_dir.rglob("*.y*ml")
        if not any(part.startswith(".") for part in p.relative_to(policy_dir).parts)
    )


async def document(request: Request) -> Response:
    session, officer = officer_of(request)
    console = console_of(request)
    vetting = drafts_mod.vet(console.policy_path)
    try:
        loaded = policy_lang.load_policy(console.policy_path)
    except policy_lang.PolicyError as exc:
        return render(
            request,
            "policy_document.html",
            session=session,
            officer=officer,
            policy=None,
            problems=getattr(exc, "problems", []),
            vetting=vetting,
        )
    return render(
        request,
        "policy_document.html",
        session=session,
        officer=officer,
        policy=loaded,
        describe=describe,
        active=_history(console).active(),
        problems=[],
        vetting=vetting,
    )


async def versions(request: Request) -> Response:
    session, officer = officer_of(request)
    entries = list(reversed(_history(console_of(request)).entries()))
    return render(
        request, "policy_versions.html", session=session, officer=officer, entries=entries
    )


def _load_version(console: Console, version: str) -> policy_lang.Policy | None:
    path = _history(console).path_of(version)
    if path is None:
        return None
    try:
        return policy_lang.load_policy(path)
    except policy_lang.PolicyError:
        return None


def _redline_of(
    request: Request,
) -> tuple[Session, AuthenticatedOfficer, str, str, list[Change] | None]:
    """The signed-in officer, the two versions asked for, and their redline (None: unknown)."""
    session, officer = officer_of(request)
    console = console_of(request)
    old_v = request.query_params.get("old", "")
    new_v = request.query_params.get("new", "")
    old, new = _load_version(console, old_v), _load_version(console, new_v)
    changes = None if old is None or new is None else redline(old, new)
    return session, officer, old_v, new_v, changes


async def redline_page(request: Request) -> Response:
    session, officer, old_v, new_v, changes = _redline_of(request)
    if changes is None:
        return render(
            request,
            "not_found.html",
            session=session,
            officer=officer,
            what=f"{old_v} → {new_v}",
            status_code=404,
        )
    return render(
        request,
        "policy_redline.html",
        session=session,
        officer=officer,
        old_version=old_v,
        new_version=new_v,
        changes=changes,
    )


async def redline_pdf_page(request: Request) -> Response:
    """The same redline as a PDF file to keep or send (labels in the reader's language)."""
    session, officer, old_v, new_v, changes = _redline_of(request)
    if changes is None:
        return render(
            request,
            "not_found.html",
            session=session,
            officer=officer,
            what=f"{old_v} → {new_v}",
            status_code=404,
        )
    language = i18n.language_of(session, request.headers.get("accept-language"))
    body = redline_pdf(
        changes,
        agency=console_of(request).config.agency_id,
        old_version=old_v,
        new_version=new_v,
        gettext=i18n.translations(language).gettext,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    name = f"redline-{old_v[:12]}-{new_v[:12]}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def editor(request: Request) -> Response:
    session, officer = officer_of(request)
    console = console_of(request)
    files = _files(console.policy_path)
    chosen = request.query_params.get("file") or (files[0] if files else "")
    try:
        text = drafts_mod.safe_member(console.policy_path, chosen).read_text(encoding="utf-8")
    except (ValueError, OSError):
        return render(
            request,
            "not_found.html",
            session=session,
            officer=officer,
            what=chosen,
            status_code=404,
        )
    return render(
        request,
        "policy_editor.html",
        session=session,
        officer=officer,
        files=files,
        chosen=chosen,
        text=text,
    )


async def live_check(request: Request) -> Response:
    session, officer = officer_of(request)
    form = await form_of(request, session)
    console = console_of(request)
    try:
        vetting = drafts_mod.vet_text(
            console.policy_path, form.get("file", ""), form.get("text", "")
        )
    except ValueError as exc:
        return HTMLResponse(f"<p class='problem'>{_escape(str(exc))}</p>", status_code=400)
    return render(request, "_problems.html", session=session, officer=officer, vetting=vetting)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


async def save_draft(request: Request) -> Response:
    session, officer = officer_of(request)
    form = await form_of(request, session)
    console = console_of(request)
    try:
        draft = _drafts(console).create(
            console.policy_path,
            {form.get("file", ""): form.get("text", "")},
            officer.name,
            officer.officer_id,
        )
    except ValueError as exc:
        return HTMLResponse(f"<p class='problem'>{_escape(str(exc))}</p>", status_code=400)
    return RedirectResponse(f"/policy/drafts/{draft.draft_id}", status_code=303)


def _draft_page(
    request: Request, draft_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    session, officer = officer_of(request)
    console = console_of(request)
    draft = _drafts(console).get(draft_id)
    if draft is None:
        return render(
            request, "not_found.html", session=session, officer=officer, what=draft_id,
            status_code=404,
        )  # fmt: skip
    tree = draft.tree_dir(_drafts(console).root)
    vetting = drafts_mod.vet(tree)
    changes = []
    with contextlib.suppress(policy_lang.PolicyError):
        changes = redline(
            policy_lang.load_policy(console.policy_path), policy_lang.load_policy(tree)
        )
    return render(
        request,
        "policy_draft.html",
        session=session,
        officer=officer,
        draft=draft,
        vetting=vetting,
        changes=changes,
        error=error,
        may_activate=vetting.ok
        and draft.state == "review"
        and draft.author_id != officer.officer_id,
        status_code=status_code,
    )


async def draft_page(request: Request) -> Response:
    return _draft_page(request, str(request.path_params["draft_id"]))


async def activate_draft(request: Request) -> Response:
    session, officer = officer_of(request)
    await form_of(request, session)
    console = console_of(request)
    store = _drafts(console)
    draft_id = str(request.path_params["draft_id"])
    draft = store.get(draft_id)
    if draft is None or draft.state != "review":
        return _draft_page(request, draft_id, error=N_("This draft is not awaiting review."),
                           status_code=409)  # fmt: skip
    if draft.author_id == officer.officer_id:
        return _draft_page(
            request,
            draft_id,
            error=N_(
                "A second officer must activate this draft: its author may not. "
                "Nothing was changed."
            ),
            status_code=409,
        )
    tree = draft.tree_dir(store.root)
    vetting = drafts_mod.vet(tree)
    if not vetting.ok:
        return _draft_page(
            request,
            draft_id,
            error=N_(
                "This draft does not check clean or a case test fails; the policy in force "
                "was kept. Nothing was changed."
            ),
            status_code=409,
        )
    drafts_mod.install(tree, console.policy_path)
    holder = PolicyHolder(console.policy_path, console.home.db_path)
    holder.activate_files(officer.officer_id)  # vetted just above: checked and tested
    draft.state = "activated"
    draft.decided_by = officer.officer_id
    store.save(draft)
    return RedirectResponse("/policy/versions", status_code=303)


EXPLAIN_FIELDS = ("requester", "purpose", "legal_basis", "case_reference", "officer")


async def explain_page(request: Request) -> Response:
    """Decide a hypothetical request for one stored record and show the full explanation."""
    session, officer = officer_of(request)
    console = console_of(request)
    query = request.query_params
    values = {k: query.get(k, "") for k in (*EXPLAIN_FIELDS, "record_id", "fields", "charges")}
    explanation = error = None
    error_args: dict[str, str] = {}
    if values["record_id"]:
        explanation, error, error_args = _explain(console, values)
    return render(
        request,
        "policy_explain.html",
        session=session,
        officer=officer,
        values=values,
        explanation=explanation,
        error=error,
        error_args=error_args,
    )


def _explain(
    console: Console, values: dict[str, str]
) -> tuple[str | None, str | None, dict[str, str]]:
    """The decision's explanation, or a message (for ``_()``) and its values."""
    from datetime import UTC, datetime

    from node.records.facts import facts
    from node.store import records as record_store
    from policy.cases import make_request
    from policy.explain import render as render_decision

    raw: dict[str, object] = {k: values[k] for k in EXPLAIN_FIELDS if values[k]}
    raw["requested_fields"] = [f.strip() for f in values["fields"].split(",") if f.strip()]
    raw["potential_charges"] = [c.strip() for c in values["charges"].split(",") if c.strip()]
    raw["now"] = datetime.now(UTC)
    try:
        ctx = make_request(raw)
    except (ValueError, TypeError) as exc:
        return (
            None,
            N_("The request is incomplete or uses an unknown value: %(problem)s"),
            {"problem": str(exc)},
        )
    with console.db() as conn:
        record = record_store.get(conn, values["record_id"].strip())
    if record is None:
        return (
            None,
            N_("No record %(record)s is held on this node."),
            {"record": repr(values["record_id"].strip())},
        )
    try:
        loaded = policy_lang.load_policy(console.policy_path)
    except policy_lang.PolicyError:
        return None, N_("The policy in force does not check clean; see the Policy page."), {}
    decision = policy_lang.evaluate_disclosure(loaded, ctx, facts(record))
    return render_decision(decision), None, {}


def routes() -> list[Route]:
    return [
        Route("/policy", document),
        Route("/policy/explain", explain_page),
        Route("/policy/versions", versions),
        Route("/policy/redline", redline_page),
        Route("/policy/redline.pdf", redline_pdf_page),
        Route("/policy/editor", editor),
        Route("/policy/check", live_check, methods=["POST"]),
        Route("/policy/drafts", save_draft, methods=["POST"]),
        Route("/policy/drafts/{draft_id}", draft_page),
        Route("/policy/drafts/{draft_id}/activate", activate_draft, methods=["POST"]),
    ]
