"""A console over a responder's home with pending tickets, and a browser-like client."""

from __future__ import annotations

import re
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
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
