"""Console sign-in: password and TOTP, lockout, session rotation, CSRF, expiry, headers."""

from __future__ import annotations

from node.web.sessions import COOKIE, token_hash
from tests.officers_support import PASSWORD, code
from tests.store.backends import store_dump
from tests.web.support import ConsoleHome, csrf_of, sign_in


class TestSignIn:
    def test_pages_need_a_signed_in_officer(self, home: ConsoleHome) -> None:
        """Without signing in, the inbox redirects to the sign-in page."""
        client = home.client()
        answer = client.get("/tickets")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"

    def test_password_and_code_sign_in(self, home: ConsoleHome) -> None:
        """The right password and a fresh code open the inbox under the officer's name and id."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/tickets")
        assert page.status_code == 200
        assert "Adv. Wanjiru" in page.text
        assert "off-" in page.text
        events = [r[0] for r in home.node.conn.execute("SELECT event FROM audit_entries")]
        assert "officer.signed_in" in events

    def test_wrong_code_is_refused(self, home: ConsoleHome) -> None:
        """A wrong TOTP code is refused with a message that does not say which factor failed."""
        client = home.client()
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={"csrf": token, "name": "Adv. Wanjiru", "password": PASSWORD, "code": "000000"},
        )
        assert answer.status_code == 401
        assert "name, password or code was not accepted" in answer.text
        assert client.get("/tickets").status_code == 303

    def test_brute_force_locks_the_account(self, home: ConsoleHome) -> None:
        """Five wrong passwords lock the account; the right credentials are then refused too."""
        client = home.client()
        for _ in range(5):
            token = csrf_of(client.get("/login").text)
            client.post(
                "/login",
                data={"csrf": token, "name": "Adv. Kamau", "password": "guess guess guess",
                      "code": code(home.node.conn, "Adv. Kamau")},
            )  # fmt: skip
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={"csrf": token, "name": "Adv. Kamau", "password": PASSWORD,
                  "code": code(home.node.conn, "Adv. Kamau")},
        )  # fmt: skip
        assert answer.status_code == 403
        assert "locked" in answer.text
        assert client.get("/tickets").status_code == 303


class TestSessions:
    def test_session_id_is_rotated_at_sign_in(self, home: ConsoleHome) -> None:
        """An id planted before sign-in (fixation) is replaced at sign-in and opens nothing."""
        attacker = home.client()
        attacker.get("/login")
        planted = attacker.cookies[COOKIE]
        victim = home.client()
        victim.cookies.set(COOKIE, planted, domain="testserver.local")
        sign_in(victim, home, "Adv. Wanjiru")
        assert victim.cookies[COOKIE] != planted
        assert attacker.get("/tickets").status_code == 303  # the planted id is worthless

    def test_cookie_flags(self, home: ConsoleHome) -> None:
        """The session cookie is HttpOnly and SameSite=Strict, and Secure when served over TLS."""
        plain = home.client().get("/login").headers["set-cookie"].lower()
        assert "httponly" in plain
        assert "samesite=strict" in plain
        tls = home.client(secure_cookies=True).get("/login").headers["set-cookie"].lower()
        assert "secure" in tls

    def test_sign_out_ends_the_session(self, home: ConsoleHome) -> None:
        """After signing out, the old session id no longer opens the inbox."""
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        old = client.cookies[COOKIE]
        client.post("/logout", data={"csrf": token})
        replay = home.client()
        replay.cookies.set(COOKIE, old, domain="testserver.local")
        assert replay.get("/tickets").status_code == 303

    def test_sessions_expire(self, home: ConsoleHome) -> None:
        """A session idle for longer than its lifetime (30 minutes by default) is gone."""
        from datetime import UTC, datetime, timedelta

        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert client.get("/tickets").status_code == 200
        store = client.app.state.console.sessions  # type: ignore[attr-defined]
        later = datetime.now(UTC) + timedelta(minutes=31)
        store._now = lambda: later
        assert client.get("/tickets").status_code == 303


class TestSessionsInTheStore:
    def test_a_session_outlives_a_restart_and_is_shared_by_replicas(
        self, home: ConsoleHome
    ) -> None:
        """A session opened on one console process opens the inbox on a fresh one."""
        first = home.client()
        sign_in(first, home, "Adv. Wanjiru")
        restarted = home.client()  # a new application over the same database
        restarted.cookies.set(COOKIE, first.cookies[COOKIE], domain="testserver.local")
        page = restarted.get("/tickets")
        assert page.status_code == 200
        assert "Adv. Wanjiru" in page.text

    def test_the_store_keeps_only_a_hash_of_the_token(self, home: ConsoleHome) -> None:
        """The database holds the token's SHA-256 and the officer id, never the token itself."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        token = client.cookies[COOKIE]
        rows = home.node.conn.execute(
            "SELECT token_hash, officer_name FROM console_sessions WHERE officer_id IS NOT NULL"
        ).fetchall()
        assert [(r[0], r[1]) for r in rows] == [(token_hash(token), "Adv. Wanjiru")]
        assert token not in store_dump(home.node.conn)  # nowhere in any table
        db = home.root / "node.db"
        if db.is_file():  # on SQLite, not in the file's pages either
            assert token.encode() not in db.read_bytes()

    def test_a_credentials_reset_signs_the_officer_out_everywhere(self, home: ConsoleHome) -> None:
        """After 'spoor officers reset', every session opened with the old factors is closed."""
        from node import store
        from node.officers import credentials

        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert client.get("/tickets").status_code == 200
        with store.transaction(home.node.conn):
            credentials.enrol(home.node.conn, "Adv. Wanjiru", PASSWORD, actor="admin")
        assert client.get("/tickets").status_code == 303

    def test_sign_out_on_one_replica_ends_the_session_on_all(self, home: ConsoleHome) -> None:
        """Signing out through one console process closes the session for the others too."""
        first = home.client()
        token = sign_in(first, home, "Adv. Wanjiru")
        other = home.client()
        other.cookies.set(COOKIE, first.cookies[COOKIE], domain="testserver.local")
        assert other.get("/tickets").status_code == 200
        first.post("/logout", data={"csrf": token})
        assert other.get("/tickets").status_code == 303


class TestHeaders:
    def test_strict_content_security_policy(self, home: ConsoleHome) -> None:
        """Every page forbids inline scripts, framing and foreign form targets."""
        headers = home.client().get("/login").headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"

    def test_htmx_is_served_locally(self, home: ConsoleHome) -> None:
        """htmx comes from the node itself, never from a CDN."""
        client = home.client()
        assert client.get("/static/htmx.min.js").status_code == 200
        assert "https://" not in client.get("/login").text
