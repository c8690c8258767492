"""The wire contract: generated code matches the .proto files and buf is clean."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_PKG = ROOT / "proto" / "spoor" / "federation" / "v1"
BUF = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")


class TestGeneratedCode:
    def test_committed_code_matches_proto(self, tmp_path: Path) -> None:
        """Regenerating from the .proto files reproduces the committed code byte for byte."""
        env = {**os.environ, "PYTHON": sys.executable}
        subprocess.run(
            [str(ROOT / "scripts" / "gen-proto"), str(tmp_path)],
            check=True,
            env=env,
            capture_output=True,
        )
        generated = sorted(p.name for p in (tmp_path / "spoor/federation/v1").iterdir())
        assert generated, "generation produced no files"
        for name in generated:
            fresh = tmp_path / "spoor/federation/v1" / name
            committed = PROTO_PKG / name
            assert committed.exists(), f"{name} is generated but not committed"
            assert filecmp.cmp(fresh, committed, shallow=False), (
                f"{name} drifted from the .proto; run scripts/gen-proto and commit"
            )

    def test_match_request_carries_required_fields(self) -> None:
        """MatchRequest has every field the protocol promises, including room for a held setup."""
        from spoor.federation.v1 import federation_pb2 as pb

        names = {f.name for f in pb.MatchRequest.DESCRIPTOR.fields}
        assert {
            "protocol_version",
            "key_scheme_version",
            "purpose",
            "legal_basis",
            "case_reference",
            "requesting_officer",
            "reveal_mode",
            "psi_request",
            "held_setup_digest",
        } <= names
        describe = {f.name for f in pb.DescribeResponse.DESCRIPTOR.fields}
        assert {
            "agency_id",
            "country",
            "protocol_version",
            "key_scheme_version",
            "capabilities",
        } <= describe


class TestBuf:
    def test_lint_clean(self) -> None:
        """buf lint (STANDARD + COMMENTS) reports nothing."""
        assert BUF is not None, "buf not found: install the dev dependencies (buf-bin)"
        result = subprocess.run(
            [BUF, "lint"], check=False, cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_format_clean(self) -> None:
        """buf format leaves the .proto files unchanged."""
        assert BUF is not None, "buf not found: install the dev dependencies (buf-bin)"
        result = subprocess.run(
            [BUF, "format", "-d", "--exit-code"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
