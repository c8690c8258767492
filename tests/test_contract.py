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
# Every versioned proto package whose generated code is committed.
PROTO_PACKAGES = ("spoor/federation/v1", "spoor/lookup/v1", "spoor/replicas/v1")
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
        for package in PROTO_PACKAGES:
            generated = sorted(p.name for p in (tmp_path / package).iterdir())
            assert generated, f"generation produced no files for {package}"
            for name in generated:
                fresh = tmp_path / package / name
                committed = ROOT / "proto" / package / name
                assert committed.exists(), f"{package}/{name} is generated but not committed"
                assert filecmp.cmp(fresh, committed, shallow=False), (
                    f"{package}/{name} drifted from the .proto; run scripts/gen-proto and commit"
                )

    def test_every_proto_package_is_checked_for_drift(self) -> None:
        """Each directory holding a .proto file is one of the packages the drift check covers."""
        found = {
            str(p.parent.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto")
        }
        assert found == set(PROTO_PACKAGES)

    def test_held_setup_contract_carries_epoch_and_request_only(self) -> None:
        """A held lookup sends its epoch and PSI request and gets back only the response."""
        from spoor.federation.v1 import held_setups_pb2 as hs

        request = {f.name for f in hs.MatchHeldRequest.DESCRIPTOR.fields}
        assert {"epoch_id", "generation", "psi_request", "request_id", "purpose"} <= request
        assert "server_setup" not in {f.name for f in hs.MatchHeldResponse.DESCRIPTOR.fields}
        assert (
            hs.DESCRIPTOR.services_by_name["HeldSetupService"]
            .methods_by_name["SyncSetups"]
            .server_streaming
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
