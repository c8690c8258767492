"""What ``spoor status`` and ``spoor doctor`` check, without touching the node's state.

Each check gives :class:`Finding` rows at one of three levels; the worst level
sets the command's exit code (:data:`EXIT_CODES`, documented in
docs/operators.md): 0 all ok, 1 warnings only, 2 at least one error. Nothing
here upgrades the store, writes a file or reaches the network; the peer
reachability check, which needs the transport, lives in the CLI.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from node import peers, pki, store
from node.app.config import ConfigError, NodeConfig, load_config
from node.app.home import NodeHome
from node.app.lock import holder_of, ops_address_of
from node.app.policy_history import PolicyHistory
from node.ops.server import ops_address, split_address
from node.store import audit as audit_repo
from node.store import migrations
from node.store import records as records_repo
from node.store.backend import BACKEND, DatabaseError
from node.store.timecodec import parse_ts

#: A store that cannot be read (engine error or misconfigured location).
_UNREADABLE: tuple[type[Exception], ...] = (*DatabaseError, store.StoreError)

Level = Literal["ok", "warning", "error"]
EXIT_CODES: dict[Level, int] = {"ok": 0, "warning": 1, "error": 2}
CERT_WARN_DAYS = 30
DISK_WARN_FREE = 0.10
DISK_ERROR_FREE = 0.02


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    area: str
    name: str
    level: Level
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def worst(findings: Iterable[Finding]) -> Level:
    levels = {f.level for f in findings}
    return "error" if "error" in levels else "warning" if "warning" in levels else "ok"


def check_config(home: NodeHome) -> tuple[NodeConfig | None, list[Finding]]:
    try:
        config = load_config(home)
    except ConfigError as exc:
        return None, [Finding("config", "spoor.toml", "error", str(exc))]
    data = {
        "agency_id": config.agency_id,
        "country": config.country,
        "listen": config.server.listen,
        "ops_listen": ops_address(config.ops.listen),
        "tls": not config.server.insecure,
    }
    level: Level = "warning" if config.server.insecure else "ok"
    detail = f"{config.agency_id} ({config.country}), gRPC {config.server.listen}"
    if config.server.insecure:
        detail += ", PLAINTEXT (server.insecure): debugging only"
    return config, [Finding("config", "spoor.toml", level, detail, data)]


def check_serving(home: NodeHome, config: NodeConfig, timeout_s: float = 2.0) -> list[Finding]:
    """Is a node serving this home (its lock), and what does its ops port say (/readyz)?"""
    pid = holder_of(home.root)
    if pid is None:
        return [Finding("node", "process", "warning", "not running (no process holds the home)")]
    out = [Finding("node", "process", "ok", f"running as process {pid}", {"pid": pid})]
    address = ops_address_of(home.root) or ops_address(config.ops.listen)
    if not address:
        out.append(Finding("node", "readiness", "warning", "ops port turned off ([ops] listen)"))
        return out
    host, port = split_address(address)
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - reading the bind address, not binding
        host = "127.0.0.1"
    url = f"http://{host}:{port}/readyz"
    try:
        # A local probe never goes through a proxy the environment may name.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=timeout_s) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    except (OSError, ValueError) as exc:
        out.append(
            Finding("node", "readiness", "error", f"ops port {address} not answering: {exc}")
        )
        return out
    failed = [c["name"] for c in body.get("checks", []) if not c.get("ok")]
    if body.get("ready"):
        out.append(Finding("node", "readiness", "ok", f"ready ({url})", body))
    else:
        out.append(Finding("node", "readiness", "error", f"not ready: {', '.join(failed)}", body))
    return out


def _expiry(area: str, name: str, pem: bytes, now: datetime) -> Finding:
    cert = pki.load_certificate(pem)
    left = cert.not_valid_after_utc - now
    days = left.total_seconds() / 86400
    data = {
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": round(days, 1),
        "fingerprint": pki.fingerprint(cert),
    }
    if days < 0:
        return Finding(area, name, "error", f"EXPIRED on {cert.not_valid_after_utc:%Y-%m-%d}", data)
    level: Level = "warning" if days < CERT_WARN_DAYS else "ok"
    hint = " — renew it: spoor pki renew" if level == "warning" and name == "node" else ""
    return Finding(
        area,
        name,
        level,
        f"expires {cert.not_valid_after_utc:%Y-%m-%d} ({days:.0f} days){hint}",
        data,
    )


def check_certificates(home: NodeHome, now: datetime | None = None) -> list[Finding]:
    now = now or datetime.now(UTC)
    out: list[Finding] = []
    for name, path in (("node", home.node_cert_path), ("ca", home.ca_cert_path)):
        if not path.is_file():
            out.append(Finding("certificates", name, "error", f"{path} missing"))
            continue
        try:
            out.append(_expiry("certificates", name, path.read_bytes(), now))
        except (pki.CertificateError, ValueError) as exc:
            out.append(Finding("certificates", name, "error", f"{path} unreadable: {exc}"))
    for path in (home.node_key_path, home.ca_key_path, home.audit_key_path):
        if path.exists() and path.stat().st_mode & 0o077:
            mode = oct(path.stat().st_mode & 0o777)
            out.append(
                Finding("certificates", path.name, "error", f"{path} is {mode}; chmod 600 it")
            )
    return out


def _crl_finding(name: str, pem: bytes, now: datetime) -> Finding:
    crl = pki.load_crl(pem)
    last = crl.last_update_utc
    nxt = crl.next_update_utc
    age = (now - last).total_seconds() / 86400
    data = {
        "last_update": last.isoformat(),
        "next_update": nxt.isoformat() if nxt else None,
        "age_days": round(age, 1),
        "revoked": len(list(crl)),
    }
    if nxt is not None and nxt < now:
        return Finding("crl", name, "warning", f"stale: next update was due {nxt:%Y-%m-%d}", data)
    due = f", next update {nxt:%Y-%m-%d}" if nxt else ""
    return Finding("crl", name, "ok", f"{data['revoked']} revoked, {age:.0f} days old{due}", data)


def check_crls(home: NodeHome, now: datetime | None = None) -> list[Finding]:
    """The agency's own CRL and each peer's pinned one: age and next update."""
    now = now or datetime.now(UTC)
    out: list[Finding] = []
    own = pki.crl_path(home)
    if own.is_file():
        out.append(_crl_finding("own", own.read_bytes(), now))
    else:
        out.append(Finding("crl", "own", "ok", "none published (nothing revoked)"))
    with store.opened(home.db_path, check_schema=False) as conn:
        known = peers.list_peers(conn)
    for peer in known:
        if peer.crl_pem:
            out.append(_crl_finding(peer.agency_id, peer.crl_pem.encode(), now))
        else:
            out.append(Finding("crl", peer.agency_id, "ok", "no CRL pinned for this peer"))
    return out


def check_policy(home: NodeHome, config: NodeConfig) -> list[Finding]:
    history = PolicyHistory.beside(home.db_path)
    active = history.active()
    if active is None:
        return [
            Finding("policy", "active", "warning", "no activation recorded yet (start the node)")
        ]
    data = {
        "version": active.version,
        "digest": active.digest,
        "activated_at": active.activated_at,
        "activated_by": active.activated_by,
        "reason": active.reason,
    }
    out = [
        Finding(
            "policy",
            "active",
            "ok",
            f"{active.version} (digest {active.digest[:16]}…) since {active.activated_at}",
            data,
        )
    ]
    refusal = history.last_refusal()
    if refusal is not None and _later(str(refusal.get("at", "")), active.activated_at):
        out.append(
            Finding(
                "policy",
                "refused",
                "warning",
                "the files on disk were refused; the previous version stays in force "
                "(spoor policy check)",
                refusal,
            )
        )
    return out


def _later(a: str, b: str) -> bool:
    try:
        return parse_ts(a) > parse_ts(b)
    except ValueError:
        return False


def check_store(home: NodeHome) -> list[Finding]:
    path = home.db_path
    try:
        where = store.located(path)
    except store.StoreError as exc:
        return [Finding("store", "database", "error", str(exc))]
    if not store.exists(path):
        return [Finding("store", "database", "error", f"{path} missing — run 'spoor init'")]
    try:
        with store.opened(path, check_schema=False) as conn:
            version = migrations.recorded_version(conn, BACKEND.tables(conn))
            records = records_repo.count(conn) if version else 0
            head = audit_repo.head(conn) if version else None
            checkpoint = audit_repo.last_checkpoint(conn) if version else None
    except _UNREADABLE as exc:
        return [Finding("store", "database", "error", f"{where.describe()} cannot be read: {exc}")]
    data = {
        "backend": where.engine,
        "schema_version": version,
        "latest": migrations.LATEST,
        "records": records,
        "audit_entries": head[0] if head else 0,
        "last_checkpoint": checkpoint[1] if checkpoint else None,
    }
    if version > migrations.LATEST:
        level: Level = "error"
        detail = f"schema {version} is newer than this release knows ({migrations.LATEST})"
    elif version < migrations.LATEST:
        level = "warning"
        detail = f"schema {version}, latest {migrations.LATEST}: upgraded at the next start"
    else:
        level, detail = "ok", f"schema {version} (latest), {records} records"
    return [Finding("store", "database", level, detail, data)]


def check_disk(root: Path) -> list[Finding]:
    usage = shutil.disk_usage(root)
    free = usage.free / usage.total if usage.total else 0.0
    data = {"free_bytes": usage.free, "total_bytes": usage.total, "free_ratio": round(free, 3)}
    level: Level = (
        "error" if free < DISK_ERROR_FREE else "warning" if free < DISK_WARN_FREE else "ok"
    )
    return [
        Finding("disk", str(root), level, f"{usage.free / 2**30:.1f} GiB free ({free:.0%})", data)
    ]
