"""spoor officers: enrol with password and TOTP, list, reset, deactivate."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pyotp
from click.testing import CliRunner, Result

from node import store
from node.cli.credentials_input import PASSWORD_ENV, TOTP_ENV
from node.cli.main import cli
from tests.conftest import init_node

PASSWORD = "a long enough passphrase"


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=stdin)


def enrol(home: str, name: str, *roles: str) -> str:
    """Enrol through the CLI; the TOTP secret it printed."""
    role_args = [a for r in roles for a in ("--role", r)]
    added = run("officers", "add", name, "--home", home, *role_args, env={PASSWORD_ENV: PASSWORD})
    assert added.exit_code == 0, added.output
    found = re.search(r"TOTP secret: ([A-Z2-7]+)", added.output)
    assert found is not None
    return found.group(1)


def audit_events(home: str) -> list[str]:
    with store.opened(Path(home) / "node.db") as conn:
        return [r[0] for r in conn.execute("SELECT event FROM audit_entries ORDER BY seq")]


class TestOfficersCommand:
    def test_add_list_remove(self, tmp_path: Path) -> None:
        """An officer is registered with roles, listed, then deactivated but still listed."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        added = run("officers", "add", "Adv. Njeri", "--home", home, "--role",
                    "legal_officer", "--role", "head_of_unit",
                    env={PASSWORD_ENV: PASSWORD})  # fmt: skip
        assert added.exit_code == 0, added.output
        assert "legal_officer, head_of_unit" in added.output
        listed = run("officers", "list", "--home", home)
        assert "Adv. Njeri" in listed.output
        assert "yes" in listed.output
        removed = run("officers", "remove", "Adv. Njeri", "--home", home)
        assert removed.exit_code == 0
        assert "no" in run("officers", "list", "--home", home).output
        again = run("officers", "remove", "Adv. Njeri", "--home", home)
        assert again.exit_code == 1
        assert "no active officer" in again.output

    def test_unknown_role_is_refused(self, tmp_path: Path) -> None:
        """A role outside the policy vocabulary is refused with the allowed roles listed."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        result = run("officers", "add", "X", "--home", home, "--role", "judge")
        assert result.exit_code == 2
        assert "legal_officer" in result.output
        listed = run("officers", "list", "--home", home)
        assert "No officers yet" in listed.output


class TestEnrolment:
    def test_enrolment_prints_a_working_totp_secret_and_an_id(self, tmp_path: Path) -> None:
        """'officers add' shows the secret and provisioning URI once; 'list' shows only the id."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        secret = enrol(home, "Adv. Njeri", "legal_officer")
        listed = run("officers", "list", "--home", home).output
        assert secret not in listed
        assert re.search(r"off-[0-9a-f]{12}", listed)
        assert "officer.enrolled" in audit_events(home)
        again = run("officers", "add", "Adv. Njeri", "--home", home, "--role", "head_of_unit")
        assert again.exit_code == 0
        assert "TOTP secret" not in again.output  # roles change; credentials stay

    def test_short_password_is_refused_and_nothing_is_registered(self, tmp_path: Path) -> None:
        """A password under 12 characters is refused; the officer is not on the roster."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        result = run("officers", "add", "Adv. N", "--home", home, "--role", "legal_officer",
                     "--password-stdin", stdin="short\n")  # fmt: skip
        assert result.exit_code == 1
        assert "at least 12 characters" in result.output
        assert "nothing was changed" in result.output
        assert "No officers yet" in run("officers", "list", "--home", home).output

    def test_no_option_takes_a_password_on_the_command_line(self, tmp_path: Path) -> None:
        """Secrets on argv are visible to every user of the machine, so there is no such option."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        result = run("officers", "add", "Adv. N", "--home", home, "--role", "legal_officer",
                     "--password", PASSWORD)  # fmt: skip
        assert result.exit_code == 2
        assert "No such option" in result.output


class TestSignInOnTheCommandLine:
    def test_wrong_code_is_refused_and_audited(self, tmp_path: Path) -> None:
        """An approval with a wrong TOTP code exits 1 and the refusal is in the audit trail."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        enrol(home, "Adv. Njeri", "legal_officer")
        result = run("approvals", "approve", "T-000000000000", "--home", home,
                     "--officer", "Adv. Njeri",
                     env={PASSWORD_ENV: PASSWORD, TOTP_ENV: "000000"})  # fmt: skip
        assert result.exit_code == 1
        assert "could not be signed in" in result.output
        assert audit_events(home)[-1] == "officer.signin_refused"

    def test_credentials_from_stdin_sign_in(self, tmp_path: Path) -> None:
        """Password and code on stdin sign the officer in (the ticket is then looked up)."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        secret = enrol(home, "Adv. Njeri", "legal_officer")
        result = run("approvals", "approve", "T-000000000000", "--home", home,
                     "--officer", "Adv. Njeri", "--credentials-stdin",
                     stdin=f"{PASSWORD}\n{pyotp.TOTP(secret).now()}\n")  # fmt: skip
        assert result.exit_code == 1
        assert "no ticket 'T-000000000000'" in result.output  # signed in, then not found

    def test_lockout_after_five_failures_and_reset_lifts_it(self, tmp_path: Path) -> None:
        """Five wrong passwords lock the account even for the right one; a reset lifts it."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        secret = enrol(home, "Adv. Njeri", "legal_officer")
        args = ("approvals", "approve", "T-000000000000", "--home", home, "--officer", "Adv. Njeri")
        for _ in range(5):
            bad = run(*args, env={PASSWORD_ENV: "wrong password!", TOTP_ENV: "123456"})
            assert bad.exit_code == 1
        assert "locked" in bad.output
        right = run(*args, env={PASSWORD_ENV: PASSWORD, TOTP_ENV: pyotp.TOTP(secret).now()})
        assert right.exit_code == 1
        assert "locked" in right.output
        reset = run("officers", "reset", "Adv. Njeri", "--home", home,
                    env={PASSWORD_ENV: PASSWORD})  # fmt: skip
        assert reset.exit_code == 0
        new_secret = re.search(r"TOTP secret: ([A-Z2-7]+)", reset.output)
        assert new_secret is not None
        assert new_secret.group(1) != secret
        after = run(
            *args, env={PASSWORD_ENV: PASSWORD, TOTP_ENV: pyotp.TOTP(new_secret.group(1)).now()}
        )
        assert "no ticket" in after.output

    def test_a_code_is_accepted_only_once(self, tmp_path: Path) -> None:
        """Replaying the same TOTP code is refused even with the right password."""
        home = str(init_node(tmp_path, "ke-kws", "KE"))
        secret = enrol(home, "Adv. Njeri", "legal_officer")
        env = {PASSWORD_ENV: PASSWORD, TOTP_ENV: pyotp.TOTP(secret).now()}
        args = ("approvals", "approve", "T-000000000000", "--home", home, "--officer", "Adv. Njeri")
        assert "no ticket" in run(*args, env=env).output
        assert "could not be signed in" in run(*args, env=env).output


class TestEnrolmentQrCode:
    def test_enrolment_shows_a_qr_code_of_the_otpauth_uri(self, tmp_path: Path) -> None:
        """The QR code printed at enrolment encodes the otpauth URI printed beside it."""
        from node.officers.qr import enrolment_qr, qr_text

        home = str(init_node(tmp_path, "ke-kws", "KE"))
        added = run("officers", "add", "Adv. Njeri", "--home", home, "--role", "legal_officer",
                    env={PASSWORD_ENV: PASSWORD})  # fmt: skip
        assert added.exit_code == 0, added.output
        found = re.search(r"provisioning URI: (otpauth://totp/\S+)", added.output)
        assert found is not None
        uri = found.group(1)
        secret = re.search(r"TOTP secret: ([A-Z2-7]+)", added.output)
        assert secret is not None
        assert pyotp.parse_uri(uri).secret == secret.group(1)
        assert qr_text(uri) in added.output
        assert "▀" in added.output  # drawn in block characters
        assert enrolment_qr(uri).designator.endswith("-M")

    def test_reset_writes_the_qr_code_for_its_owner_only(self, tmp_path: Path) -> None:
        """A reset's --qr-svg file is an SVG of the new secret's URI, readable by its owner only."""
        from node.officers.qr import enrolment_qr

        home = str(init_node(tmp_path, "ke-kws", "KE"))
        old = enrol(home, "Adv. Njeri", "legal_officer")
        target = tmp_path / "njeri-qr.svg"
        reset = run("officers", "reset", "Adv. Njeri", "--home", home, "--qr-svg", str(target),
                    env={PASSWORD_ENV: PASSWORD})  # fmt: skip
        assert reset.exit_code == 0, reset.output
        found = re.search(r"provisioning URI: (otpauth://totp/\S+)", reset.output)
        assert found is not None
        assert pyotp.parse_uri(found.group(1)).secret != old
        assert target.stat().st_mode & 0o777 == 0o600
        svg = target.read_bytes()
        assert svg.startswith(b"<?xml")
        assert b"<svg" in svg

        expected = BytesIO()
        enrolment_qr(found.group(1)).save(expected, kind="svg", scale=6, border=4)
        assert svg == expected.getvalue()
