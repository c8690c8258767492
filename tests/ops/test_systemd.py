"""The systemd units and timers in deploy/systemd: valid for systemd and wired to real commands."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from node.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SPOOR = "/opt/spoor/bin/spoor"


def sections(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> values (systemd allows repeated keys)."""
    out: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = out.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path.name}: {line!r} outside a section"
        current.setdefault(key, []).append(value)
    return out


def spoor_args(exec_line: str) -> list[str]:
    args = exec_line.split()
    assert args[0] == SPOOR
    return [a for a in args[1:] if not a.startswith("%d")]


class TestUnitsAndTimers:
    def test_every_timer_starts_an_existing_service(self) -> None:
        """Each timer names a calendar and a service file that exists here."""
        timers = sorted(UNITS.glob("*.timer"))
        assert {t.name for t in timers} >= {"spoor-backup.timer", "spoor-doctor.timer"}
        for timer in timers:
            unit = sections(timer)
            assert unit["Timer"]["OnCalendar"], timer.name
            assert unit["Timer"]["Persistent"] == ["true"]
            (service,) = unit["Timer"]["Unit"]
            assert (UNITS / service).is_file()
            assert unit["Install"]["WantedBy"] == ["timers.target"]

    def test_backup_job_is_encrypted_private_and_sandboxed(self) -> None:
        """The backup reads its passphrase from a credential file; runs as spoor, umask 077."""
        unit = sections(UNITS / "spoor-backup.service")["Service"]
        (start,) = unit["ExecStart"]
        assert "--passphrase-file %d/backup-passphrase" in start
        assert unit["LoadCredential"] == ["backup-passphrase:/etc/spoor/backup-passphrase"]
        assert unit["User"] == ["spoor"]
        assert unit["UMask"] == ["0077"]
        assert unit["ProtectSystem"] == ["strict"]
        assert "/var/backups/spoor" in unit["ReadWritePaths"][0]

    def test_every_unit_runs_a_spoor_command_that_exists(self) -> None:
        """Each ExecStart is a spoor command whose options the CLI accepts (checked with --help)."""
        for service in sorted(UNITS.glob("*.service")):
            (start,) = sections(service)["Service"]["ExecStart"]
            args = spoor_args(start)
            command = args[0]
            help_text = CliRunner().invoke(cli, [command, "--help"]).output
            assert "Usage:" in help_text, service.name
            for option in (a for a in args[1:] if a.startswith("--")):
                assert option in help_text, f"{service.name}: {option} unknown to spoor {command}"

    def test_doctor_warnings_do_not_fail_the_unit(self) -> None:
        """spoor doctor exits 1 on warnings: the unit treats that as success, 2 as failure."""
        unit = sections(UNITS / "spoor-doctor.service")["Service"]
        assert unit["SuccessExitStatus"] == ["1"]

    @pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
    def test_systemd_analyze_verify_is_clean(self, tmp_path: Path) -> None:
        """systemd-analyze verify reports nothing (the spoor path points at a stand-in)."""
        stand_in = tmp_path / "bin" / "spoor"
        stand_in.parent.mkdir()
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
        for unit in UNITS.iterdir():
            (tmp_path / unit.name).write_text(unit.read_text().replace(SPOOR, str(stand_in)))
        files = sorted(str(p) for p in tmp_path.glob("spoor-*"))
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", "--generators=no", *files],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        problems = [line for line in done.stderr.splitlines() if re.search(r"\S", line)]
        assert done.returncode == 0, done.stderr
        assert problems == []
