"""An origin node and an in-process witness node for the witness and tamper tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import node.store
from node import audit
from node.app.config import NodeConfig, save_config
from node.app.home import NodeHome
from node.audit import keys
from node.audit import witness as wit
from node.audit.verify import VerifyReport, WitnessedHead
from node.cli.audit_witness_heads import witnessed_heads
from node.store.backend import BACKEND
from tests.audit.helpers import record

ORIGIN = "ke-kws"
WITNESS = "vn-ems"


def make_home(root: Path, agency: str, country: str) -> NodeHome:
    root.mkdir(parents=True)
    home = NodeHome(root)
    save_config(home, NodeConfig(agency_id=agency, country=country))
    return home


class LocalWitness:
    """A witness node answering in-process, as the gRPC servicer would."""

    def __init__(self, home: NodeHome, origin: str = ORIGIN) -> None:
        self.home = home
        self.origin = origin
        self.peer_id = WITNESS
        self.conn = node.store.open_store(home.db_path)

    def witness(self, call: wit.WitnessCall) -> wit.WitnessAnswer:
        with node.store.transaction(self.conn):
            return wit.observe(self.conn, self.home, WITNESS, self.origin, call)

    def witnessed_head(self) -> wit.WitnessAnswer:
        with node.store.transaction(self.conn):
            return wit.report_head(self.conn, self.home, WITNESS, self.origin)

    def alarms(self) -> list[tuple[object, ...]]:
        return node.store.audit.alarms(self.conn)

    def close(self) -> None:
        self.conn.close()


@dataclass
class Federation:
    """An origin trail of 14 entries: checkpoint and witness at 10, an unwitnessed tail after."""

    home: NodeHome
    conn: node.store.Connection
    witness: LocalWitness
    backup: Path
    alarms_raised: list[str] = field(default_factory=list)

    def public_key(self) -> str | None:
        return audit.node_public_key(self.home)

    def verify_alone(self) -> VerifyReport:
        """What 'spoor audit verify' checks with the node's own database (and stored
        countersignatures) and key only."""
        return audit.verify(
            self.conn,
            node_public_key=self.public_key(),
            witnessed=witnessed_heads(self.conn, ORIGIN),
        )

    def heads(self) -> list[WitnessedHead]:
        stored = witnessed_heads(self.conn, ORIGIN)
        answer = self.witness.witnessed_head()
        asked = []
        if answer.cosignature is not None:
            c = answer.cosignature
            asked.append(WitnessedHead(WITNESS, c.entry_count, c.head_hash, "asked", c.valid()))
        return [*stored, *asked]

    def verify_witnessed(self) -> VerifyReport:
        return audit.verify(self.conn, node_public_key=self.public_key(), witnessed=self.heads())

    def submit(self) -> wit.SubmitResult:
        result = wit.submit(self.conn, self.witness)
        if result.status in wit.ALARMS:
            self.alarms_raised.append(result.status)
        return result

    def checkpoint(self) -> audit.Checkpoint:
        return audit.write_checkpoint(self.conn, self.home)

    def signer(self) -> keys.Signer:
        signer = keys.load_signer(self.home)
        assert signer is not None
        return signer


SNAPSHOT = "snap_"


def take_backup(conn: node.store.Connection, home: NodeHome, backup: Path) -> None:
    """An old copy of the whole store: the file on SQLite, snapshot tables on PostgreSQL."""
    if node.store.located(home.db_path).engine == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(FULL)")
        shutil.copy(home.db_path, backup)
        return
    for table in sorted(BACKEND.tables(conn)):
        conn.execute(f"CREATE TABLE {SNAPSHOT}{table} AS SELECT * FROM {table}")


def restore_backup(fed: Federation) -> None:
    """Put the store back as :func:`take_backup` saw it (an operator restoring an old backup)."""
    if node.store.located(fed.home.db_path).engine == "sqlite":
        fed.conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(fed.home.db_path) + suffix).unlink(missing_ok=True)
        shutil.copy(fed.backup, fed.home.db_path)
        fed.conn = node.store.open_store(fed.home.db_path)
        return
    tables = sorted(t for t in BACKEND.tables(fed.conn) if not t.startswith(SNAPSHOT))
    with node.store.transaction(fed.conn):
        fed.conn.execute("SET LOCAL session_replication_role = replica")  # rows in any order
        fed.conn.execute(f"TRUNCATE {', '.join(tables)}")
        for table in tables:
            fed.conn.execute(f"INSERT INTO {table} SELECT * FROM {SNAPSHOT}{table}")


def build_federation(tmp_path: Path) -> Federation:
    origin = make_home(tmp_path / ORIGIN, ORIGIN, "KE")
    witness_home = make_home(tmp_path / WITNESS, WITNESS, "VN")
    conn = node.store.open_store(origin.db_path)
    with node.store.transaction(conn):
        audit.create_first_key(conn, origin)  # entry 1, as 'spoor init' writes it
    backup = tmp_path / "backup.db"
    for n in range(2, 11):
        record(
            conn,
            "disclosure.approved",
            counterpart=WITNESS,
            officer=f"officer {n}",
            justification=f"case note {n}",
            details={"ticket_id": f"t-{n}"},
        )
        if n == 7:
            take_backup(conn, origin, backup)
    fed = Federation(origin, conn, LocalWitness(witness_home), backup)
    fed.checkpoint()
    assert fed.submit().status == wit.ACCEPTED
    for n in range(11, 15):
        record(conn, "match.served", counterpart=WITNESS, elements=n)
    return fed
