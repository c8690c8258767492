"""The closed vocabulary of audit events (documented in docs/audit.md)."""

from __future__ import annotations

from types import MappingProxyType

EVENTS = MappingProxyType(
    {
        "match.requested": "this node asked a counterpart to match (requester side)",
        "match.served": "this node answered a counterpart's match request (responder side)",
        "match.refused": "this node refused a counterpart's match request",
        "auth.refused": "calls with a certificate from a pinned CA failed per-call checks "
        "(aggregated per agency and reason)",
        "disclose.refused": "this node refused a counterpart's disclosure request before "
        "deciding it (malformed, budget, version)",
        "quota.refused": "calls over a peer's fair share of the server were refused "
        "(aggregated per peer and share)",
        "tls.refused": "connections failed the TLS handshake (aggregated per host and reason)",
        "disclosure.requested": "this node asked a counterpart to disclose details after hits",
        "disclosure.received": "a counterpart asked this node to disclose details",
        "disclosure.decided": "the release policy decided a received disclosure request",
        "disclosure.approved": "a legal officer approved a pending disclosure ticket",
        "disclosure.refused": "a legal officer refused a pending disclosure ticket",
        "disclosure.fetched": "released details were fetched by or from a counterpart",
        "ticket.reopened": "a decided disclosure ticket was reopened",
        "officer.enrolled": "an officer was given (or reset) a password and a TOTP second factor",
        "officer.signed_in": "an officer signed in to the console with password and TOTP",
        "officer.signin_refused": "an officer's sign-in was refused (bad credentials or lockout)",
        "policy.loaded": "a release policy was loaded and put in force",
        "policy.rejected": "a policy failed its checks and the previous one stayed in force",
        "peer.added": "a counterpart agency was added as a peer",
        "peer.removed": "a counterpart agency was removed as a peer",
        "config.changed": "the node configuration changed",
        "records.imported": "records were imported into the node",
        "records.deleted": "records were deleted from the node",
        "records.purged": "records past their review or retention date were purged",
        "certificate.issued": "a CA or node certificate was issued",
        "certificate.revoked": "certificates were revoked (added to the agency CRL)",
        "node.initialized": "the node home was created",
        "audit.purged": "personal content in audit entries past retention was purged",
        "audit.exported": "audit entries were exported for oversight",
        "audit.key_created": "the node's checkpoint signing key was created",
        "audit.key_rotated": "the signing key was replaced by a new one it endorsed",
        "audit.key_lost": "the signing key was declared lost and a new one put in force",
        "audit.witnessed": "this node witnessed and countersigned a counterpart's checkpoint",
        "audit.witness_alarm": "a counterpart showed this node a head inconsistent with one it saw",
        "node.backed_up": "a backup of the node home was written",
        "node.restored": "this node home was restored from a backup",
        "watch.added": "a standing watchlist was added",
        "watch.removed": "a standing watchlist was removed",
        "watch.ran": "a standing watchlist was re-matched against a counterpart",
        "watch.skipped": "a watchlist run was skipped (the budget could not cover it)",
    }
)
