"""Telling another system about new hits: POST JSON, bounded in time, retried a few times.

The body names the watchlist, case, counterpart, match id and, per hit, this
agency's own record id and the key type that matched, never record contents
or match keys. A delivery that fails every attempt is logged and retried with
the next run, so no hit is lost and none is sent twice after a success.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from node.app.logs import get_logger
from node.errors import InvalidRequest

log = get_logger("spoor.watch")

TIMEOUT_S = 5.0
ATTEMPTS = 3
BACKOFF_S = 1.0


def check_url(url: str) -> str:
    """The URL if it is http(s) with a host; raises :class:`InvalidRequest` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("webhook", f"{url!r} is not an http:// or https:// URL")
    return url


def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout_s: float = TIMEOUT_S,
    attempts: int = ATTEMPTS,
    backoff_s: float = BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``payload``; True once the receiver answers 2xx, False after ``attempts`` failures."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 (scheme checked: http or https only)
            check_url(url),
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:  # noqa: S310
                if 200 <= reply.status < 300:
                    return True
                reason = f"HTTP {reply.status}"
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = type(exc).__name__
        log.warning("webhook delivery failed", attempt=attempt, of=attempts, reason=reason)
        if attempt < attempts:
            sleep(backoff_s * attempt)
    return False
