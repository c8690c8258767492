"""Peers repository: counterpart agencies, their pinned CA and revocation list."""

from __future__ import annotations

from typing import Any

from node.store.backend import Connection


def upsert(
    conn: Connection,
    agency_id: str,
    address: str,
    ca_pem: str,
    country: str | None,
    added_at: str,
) -> None:
    conn.execute(
        "INSERT INTO peers (agency_id, address, ca_pem, country, added_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT (agency_id) DO UPDATE SET address = excluded.address, "
        "ca_pem = excluded.ca_pem, country = excluded.country, added_at = excluded.added_at",
        (agency_id, address, ca_pem, country, added_at),
    )


def set_crl(conn: Connection, agency_id: str, crl_pem: str | None) -> None:
    conn.execute("UPDATE peers SET crl_pem = ? WHERE agency_id = ?", (crl_pem, agency_id))


def delete(conn: Connection, agency_id: str) -> bool:
    """Remove a peer; False when there was none."""
    return int(conn.execute("DELETE FROM peers WHERE agency_id = ?", (agency_id,)).rowcount) > 0


_COLUMNS = "agency_id, address, ca_pem, country, added_at, crl_pem"


def get(conn: Connection, agency_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM peers WHERE agency_id = ?",  # noqa: S608
        (agency_id,),
    ).fetchone()
    return dict(row) if row else None


def all_peers(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM peers ORDER BY agency_id")  # noqa: S608
    return [dict(r) for r in rows]
