"""Tamper-evident audit trail: hash chain, signed and witnessed checkpoints, verify, stats.

Callers record an action and its audit entry in one transaction::

    with node.store.transaction(conn):
        ...  # the action
        node.audit.append(conn, "records.imported", actor="node", elements=120)

If the entry cannot be written the whole transaction rolls back (audit or nothing).
"""

from __future__ import annotations

from node.audit.chain import GENESIS_HASH, PERSONAL_FIELDS, AuditEntry, append_entry
from node.audit.checkpoint import (
    Checkpoint,
    ensure_signing_key,
    load_checkpoint_file,
    maybe_checkpoint,
    node_public_key,
    write_checkpoint,
)
from node.audit.errors import (
    AuditError,
    CheckpointError,
    InvalidAuditFieldError,
    NotInTransactionError,
    SigningKeyMismatchError,
    SigningKeyMissingError,
    UnknownEventError,
)
from node.audit.events import EVENTS
from node.audit.export import ExportSummary, export_jsonl
from node.audit.export_verify import verify_export
from node.audit.keys import create_first_key, key_location
from node.audit.purge import DEFAULT_RETENTION_DAYS, PurgeReport, purge_personal
from node.audit.reconcile import ReconcileReport, reconcile
from node.audit.stats import CounterpartStats, StatsReport, compute_stats
from node.audit.verify import Problem, VerifyReport, WitnessedHead, verify
from node.store.backend import Connection

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "EVENTS",
    "GENESIS_HASH",
    "PERSONAL_FIELDS",
    "AuditEntry",
    "AuditError",
    "Checkpoint",
    "CheckpointError",
    "CounterpartStats",
    "ExportSummary",
    "InvalidAuditFieldError",
    "NotInTransactionError",
    "Problem",
    "PurgeReport",
    "ReconcileReport",
    "SigningKeyMismatchError",
    "SigningKeyMissingError",
    "StatsReport",
    "UnknownEventError",
    "VerifyReport",
    "WitnessedHead",
    "append",
    "compute_stats",
    "create_first_key",
    "ensure_signing_key",
    "export_jsonl",
    "key_location",
    "load_checkpoint_file",
    "maybe_checkpoint",
    "node_public_key",
    "purge_personal",
    "reconcile",
    "verify",
    "verify_export",
    "write_checkpoint",
]


def append(conn: Connection, event: str, **fields: object) -> AuditEntry:
    """Append one entry to the audit chain inside the caller's open transaction.

    ``fields`` (all optional): ``actor``, ``counterpart``, ``purpose``,
    ``legal_basis``, ``case_reference``, ``officer``, ``justification``,
    ``request_id``, ``transcript_hash``, ``policy_digest``, ``key_types``
    (list of key type names), ``elements`` and ``hits`` (non-negative ints),
    ``status`` and ``details`` (a small dict of non-personal counts and ids).
    ``actor``, ``officer``, ``justification`` and ``case_reference`` are
    personal content: the chain holds a salted-hash commitment, the clear value
    sits in a purgeable side table. Raises :class:`NotInTransactionError` outside a
    transaction, :class:`UnknownEventError` or :class:`InvalidAuditFieldError` for bad
    input (nothing is written; the caller's transaction should roll back).
    """
    return append_entry(conn, event, fields)
