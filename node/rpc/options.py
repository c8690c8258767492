"""Channel options shared by the server and the client, so limits and keepalive agree."""

from __future__ import annotations

from typing import Any

from node.app.config import NodeConfig


def channel_options(config: NodeConfig) -> list[tuple[str, Any]]:
    """Options shared by server and client so limits and keepalive agree on both sides."""
    limit = config.max_message_bytes
    return [
        # Same message-size limits on both sides, derived from the largest sets accepted.
        ("grpc.max_send_message_length", limit),
        ("grpc.max_receive_message_length", limit),
        # Keepalive pings every 60 s detect dead peers behind NAT/firewalls...
        ("grpc.keepalive_time_ms", 60_000),
        # ...and a peer silent for 20 s after a ping is considered gone.
        ("grpc.keepalive_timeout_ms", 20_000),
        # No pings on idle connections (the server would answer GOAWAY/too_many_pings).
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.http2.max_pings_without_data", 2),
    ]
