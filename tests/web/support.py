"""A console over a responder's home with pending tickets, and a browser-like client."""

from __future__ import annotations

import re
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from node import store
from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
from node.store import watchlists as watch_store
from node.web.app import create_app
from tests.disclosure.helpers import POLICY_DIR, ResponderNode, make_responder
from tests.officers_support import PASSWORD, code

DATA = Path(__file__).parent / "data"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class ConsoleHome:
    """A responder node home the console serves."""

    root: Path
    node: ResponderNode

    def client(self, **kwargs: object) -> TestClient:
        home = NodeHome(self.root)
        config = NodeConfig(agency_id=self.node.config.agency_id, country="KE")
        return TestClient(create_app(home, config, **kwargs), follow_redirects=False)  # type: ignore[arg-type]


def console_home(root: Path) -> ConsoleHome:
    node = make_responder(root)
    shutil.copytree(POLICY_DIR, root / "policy", dirs_exist_ok=True)
    shutil.copy(DATA / "console.cases.yaml", root / "policy" / "console.cases.yaml")
    save_config(NodeHome(root), node.config)
    return ConsoleHome(root, node)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "page has no CSRF field"
    return found.group(1)


def sign_in(
    client: TestClient,
    home: ConsoleHome,
    name: str,
    *,
    steps_ahead: int = 0,
    password: str = PASSWORD,
) -> str:
    """Sign ``name`` in through the form; the CSRF token of the signed-in session."""
    page = client.get("/login")
    token = csrf_of(page.text)
    answer = client.post(
        "/login",
        data={
            "csrf": token,
            "name": name,
            "password": password,
            "code": code(home.node.conn, name, steps_ahead),
        },
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/tickets").text)


PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
PDF_TEXT = re.compile(rb"\((.*?)(?<!\\)\) Tj")


def pdf_lines(pdf: bytes) -> list[str]:
    """The text a PDF draws, one string per text operation (its streams inflated)."""
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    lines: list[str] = []
    for stream in PDF_STREAM.findall(pdf):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue  # an image or font stream, not page content
        for raw in PDF_TEXT.findall(content):
            lines.append(raw.replace(rb"\(", b"(").replace(rb"\)", b")").decode("latin-1"))
    return lines


WATCH_ID = "5f0c2d7e-1111-4c2b-9d7a-000000000001"
WATCH_XSS = '<img src=x onerror="alert(1)">'


def standing_watchlist(home: ConsoleHome) -> None:
    """A watchlist on two counterparts: vn-customs found two rows (one already reported)."""
    conn = home.node.conn
    watch = watch_store.Watchlist(
        watch_id=WATCH_ID,
        source="seizure-suspects.csv",
        rows=[{"record_id": "Q-1"}, {"record_id": "Q-2"}],
        peers=["vn-customs", "th-dnp"],
        every_s=86400,
        purpose="criminal_investigation",
        legal_bases={"vn-customs": "KE-VN-MoU-2024", "th-dnp": "KE-TH-MoU-2025"},
        case_reference=f"KE-IVORY-7 {WATCH_XSS}",
        officer="Insp. Otieno",
        webhook_url=None,
        created_at="2026-11-30T08:00:00+00:00",
        last_run_at="2026-12-01T08:00:00+00:00",
    )
    with store.transaction(conn):
        watch_store.add(conn, watch)
        for peer, status, reason in (
            ("vn-customs", "done", ""),
            ("th-dnp", "failed", f"counterpart said {WATCH_XSS}"),
        ):
            watch_store.add_run(
                conn,
                watch_store.RunRow(
                    WATCH_ID, peer, "2026-12-01T08:00:00+00:00", status, reason, "M-1", 2
                ),
            )
        old = watch_store.WatchHit(
            WATCH_ID, "vn-customs", "Q-1", "passport", "M-0", "2026-11-30T08:00:05+00:00"
        )
        new = watch_store.WatchHit(
            WATCH_ID, "vn-customs", "Q-2", "phone", "M-1", "2026-12-01T08:00:07+00:00"
        )
        watch_store.record_hit(conn, old)
        watch_store.record_hit(conn, new)
        watch_store.mark_reported(conn, [old], "cli", "2026-11-30T09:00:00+00:00")
