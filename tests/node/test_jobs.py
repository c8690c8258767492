"""A node's background jobs: checkpoints and retention purges, in one pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from node import audit, store
from node.app.config import load_config
from node.app.home import NodeHome
from node.app.jobs import BackgroundJobs
from node.app.policy_holder import PolicyHolder
from node.audit.chain import append_entry
from node.store import audit as audit_repo
from node.store import disclosures
from node.store.timecodec import format_ts
from tests.conftest import init_node


def received(retain_until: datetime) -> dict[str, object]:
    return {
        "disclosure_id": "d-1",
        "item_id": f"i-{retain_until:%Y%m%d}",
        "peer": "ke-kws",
        "record_id": "VN-Q-1",
        "match_key": "v1|container|MSCU1234566",
        "fields": "{}",
        "transforms": "{}",
        "handling_code": "H2",
        "use_limited_to_purpose": 1,
        "use_limited_to_case": 1,
        "purpose": "criminal_investigation",
        "case_reference": "VN-1",
        "onward_transfer": "prohibited",
        "judicial_use": "prohibited",
        "retention_days": 30,
        "received_at": format_ts(retain_until - timedelta(days=30)),
        "retain_until": format_ts(retain_until),
    }


class TestBackgroundJobs:
    def test_one_pass_purges_what_is_past_retention_and_checkpoints(self, tmp_path: Path) -> None:
        """Expired released details and old personal audit content go; the rest stays, and a
        checkpoint pins the chain, which still verifies."""
        home = NodeHome(init_node(tmp_path, "vn-customs", "VN"))
        config = load_config(home)
        config.audit.retention_days = 5
        now = datetime.now(UTC)
        with store.opened(home.db_path) as conn, store.transaction(conn):
            old = append_entry(
                conn,
                "match.served",
                {"counterpart": "ke-kws", "officer": "Insp. Old", "status": "OK"},
                now=now - timedelta(days=10),
            )
            disclosures.add_received(conn, received(now - timedelta(days=1)))
            disclosures.add_received(conn, received(now + timedelta(days=1)))
        policies = PolicyHolder(home.root / config.policy.path, home.db_path)
        policies.load_initial()
        BackgroundJobs(home, config, policies).run_once()
        with store.opened(home.db_path) as conn:
            kept = disclosures.received(conn)
            personal_seqs = {seq for seq, *_ in audit_repo.personal(conn)}
            assert audit.verify(conn).ok
            assert audit_repo.checkpoints(conn)
        assert [r["retain_until"] for r in kept] == [format_ts(now + timedelta(days=1))]
        assert old.seq not in personal_seqs
        assert personal_seqs  # entries within retention keep their personal content
