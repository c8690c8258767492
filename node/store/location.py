"""Where a home's database lives: its ``node.db`` file or a PostgreSQL database.

Chosen, first match wins, by

1. ``SPOOR_STORE_URL`` in the environment,
2. ``[store] url`` in the home's ``spoor.toml``,
3. the embedded default: ``node.db`` in the node home (``sqlite:///<home>/node.db``).

``sqlite:////srv/spoor/node.db`` names an SQLite file (``sqlite:///`` and an
absolute path);
``postgresql://user@host:port/dbname`` (any libpq URL, e.g. with
``?options=-csearch_path%3Dagency``) a PostgreSQL database. Every caller
keeps passing the home's ``node.db`` path; the store resolves it here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from node.errors import SpoorError

ENV_URL = "SPOOR_STORE_URL"
SCHEMES = ("sqlite", "postgresql", "postgres")


class BadStoreUrl(SpoorError):
    """A store URL this node cannot use."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Location:
    """One home's database: a SQLite file or a PostgreSQL URL."""

    engine: str  # "sqlite" or "postgresql"
    path: Path | None = None
    url: str | None = None

    def describe(self) -> str:
        """The location without any password (safe for messages and logs)."""
        if self.path is not None:
            return str(self.path)
        return redact(self.url or "")


def redact(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def parse(url: str, default: Path) -> Location:
    """The location ``url`` names (``default`` if empty); :class:`BadStoreUrl` if unusable."""
    url = url.strip()
    if not url:
        return Location("sqlite", path=default)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        rest = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not rest.startswith("/") or rest == "/":
            raise BadStoreUrl(
                f"{url!r}: an SQLite store URL is sqlite:/// followed by an absolute file path "
                "(e.g. sqlite:////srv/spoor/node.db)"
            )
        return Location("sqlite", path=Path(rest))
    if scheme in ("postgresql", "postgres"):
        if not urlsplit(url).path.strip("/"):
            raise BadStoreUrl(
                f"{redact(url)!r}: name the database, e.g. postgresql://spoor@db.internal/spoor"
            )
        return Location("postgresql", url=url)
    raise BadStoreUrl(
        f"{redact(url)!r}: unknown store URL; use sqlite:///<file> or postgresql://<host>/<db>"
    )


#: Tests may map each home to a database of their own (see tests/store/backends.py).
Locator = Callable[[Path], "Location | None"]
_locator: Locator | None = None


def set_locator(locator: Locator | None) -> None:
    """Route every home through ``locator`` first (``None`` restores the default)."""
    global _locator  # noqa: PLW0603 - one process-wide override, for test runs
    _locator = locator


def configured_url(home: Path) -> str:
    """``[store] url`` of the home's spoor.toml, or ``""`` (unreadable files are the config's)."""
    try:
        raw = tomllib.loads((home / "spoor.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ""
    section = raw.get("store")
    url = section.get("url", "") if isinstance(section, dict) else ""
    return url if isinstance(url, str) else ""


def locate(db_path: Path) -> Location:
    """Where the database of the home holding ``db_path`` is."""
    if _locator is not None:
        found = _locator(db_path)
        if found is not None:
            return found
    url = os.environ.get(ENV_URL, "") or configured_url(db_path.parent)
    return parse(url, db_path)
