"""An officer's account page: moving the TOTP factor to a new app through a QR code."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pyotp
from starlette.testclient import TestClient

from tests.officers_support import PASSWORD, code, totp_secret
from tests.web.support import ConsoleHome, csrf_of, sign_in

OFFICER = "Adv. Wanjiru"


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no field {name}"
    return found.group(1)


def start(client: TestClient, home: ConsoleHome, token: str, password: str = PASSWORD) -> str:
    answer = client.post(
        "/account/totp",
        data={"csrf": token, "password": password, "code": code(home.node.conn, OFFICER, 1)},
    )
    return answer.text if answer.status_code == 200 else f"{answer.status_code}"


class TestNewAuthenticator:
    def test_qr_code_then_a_code_from_the_new_app_switches_the_factor(
        self, home: ConsoleHome
    ) -> None:
        """The page shows the new secret as a QR code and as text; its code then replaces it."""
        client = home.client()
        token = sign_in(client, home, OFFICER)
        old = totp_secret(home.node.conn, OFFICER)
        page = start(client, home, token)
        secret = field(page, "secret")
        assert secret != old
        assert 'src="data:image/svg+xml' in page
        qr = re.search(r'id="totp-qr" src="([^"]+)"', page)
        assert qr is not None
        assert "<svg" in unquote(qr.group(1))
        uri = re.search(r'id="totp-uri">([^<]+)<', page)
        assert uri is not None
        assert pyotp.parse_uri(uri.group(1).replace("&amp;", "&")).secret == secret
        assert totp_secret(home.node.conn, OFFICER) == old  # not before the new app answers
        done = client.post(
            "/account/totp/confirm",
            data={"csrf": csrf_of(page), "secret": secret, "expires": field(page, "expires"),
                  "seal": field(page, "seal"), "new_code": pyotp.TOTP(secret).now()},
        )  # fmt: skip
        assert done.status_code == 200
        assert 'id="totp-replaced"' in done.text
        assert totp_secret(home.node.conn, OFFICER) == secret
        events = home.node.conn.execute(
            "SELECT status FROM audit_entries WHERE event = 'officer.enrolled'"
        ).fetchall()
        assert ("TOTP_REPLACED",) in [tuple(r) for r in events]

    def test_the_password_is_asked_again(self, home: ConsoleHome) -> None:
        """A wrong password at the first step is refused and shows no secret."""
        client = home.client()
        token = sign_in(client, home, OFFICER)
        assert start(client, home, token, password="not my password at all") == "401"

    def test_a_substituted_secret_is_refused(self, home: ConsoleHome) -> None:
        """A secret other than the one the console offered cannot be confirmed."""
        client = home.client()
        token = sign_in(client, home, OFFICER)
        old = totp_secret(home.node.conn, OFFICER)
        page = start(client, home, token)
        mine = pyotp.random_base32()
        answer = client.post(
            "/account/totp/confirm",
            data={"csrf": csrf_of(page), "secret": mine, "expires": field(page, "expires"),
                  "seal": field(page, "seal"), "new_code": pyotp.TOTP(mine).now()},
        )  # fmt: skip
        assert answer.status_code == 409
        assert "Nothing was changed" in answer.text
        assert totp_secret(home.node.conn, OFFICER) == old

    def test_a_wrong_code_from_the_new_app_keeps_the_old_one(self, home: ConsoleHome) -> None:
        """A code that is not the new app's keeps the current secret, and says so."""
        client = home.client()
        token = sign_in(client, home, OFFICER)
        old = totp_secret(home.node.conn, OFFICER)
        page = start(client, home, token)
        secret = field(page, "secret")
        wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1000000:06d}"
        answer = client.post(
            "/account/totp/confirm",
            data={"csrf": csrf_of(page), "secret": secret, "expires": field(page, "expires"),
                  "seal": field(page, "seal"), "new_code": wrong},
        )  # fmt: skip
        assert answer.status_code == 422
        assert "current app stays in use" in answer.text
        assert totp_secret(home.node.conn, OFFICER) == old

    def test_the_form_needs_the_session_token(self, home: ConsoleHome) -> None:
        """Without the CSRF token the first step is refused before any check."""
        client = home.client()
        sign_in(client, home, OFFICER)
        answer = client.post(
            "/account/totp",
            data={"password": PASSWORD, "code": code(home.node.conn, OFFICER, 1)},
        )
        assert answer.status_code == 403
