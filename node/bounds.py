"""Bounds on every string and list a counterpart sends, kept in one place.

Text from a counterpart is data: it is length-bounded and checked for control
characters where it enters the domain (the responder's request checks, the
requester's reply checks), so nothing unbounded or unprintable reaches the
store, the audit trail, a log line or an error message. Each limit below says
why it has the value it has; a field an honest node fills stays far inside it.

``require_text`` refuses a bad field with :class:`~node.errors.InvalidRequest`
(changing nothing); ``printable`` makes a value safe to keep when it has to be
kept anyway (a refusal's audit entry); ``echo`` quotes a value in an error
message without letting it grow the message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from node.errors import InvalidRequest

#: One-line request fields (purpose, legal basis, case reference, officer name):
#: vocabulary words and references are tens of characters.
MAX_TEXT = 256
#: A requester's justification is free prose written by an officer.
MAX_JUSTIFICATION = 4000
#: Characters of a counterpart's value quoted back in an error message: enough
#: to recognise a typo, never enough to push the message past gRPC's 8 KB
#: trailing-metadata limit (which turned an INVALID_ARGUMENT into RESOURCE_EXHAUSTED).
MAX_ECHO = 40
#: Entries in a Match's ``key_types``: the key catalogue has about a dozen types;
#: an honest requester sends each distinct type once.
MAX_KEY_TYPES = 32
#: Entries in a list of vocabulary words (potential charges, assurances,
#: requested fields): the vocabularies themselves hold a few dozen words.
MAX_LIST_ENTRIES = 64
#: One word of those vocabularies (``wildlife_trafficking``, an assurance id).
MAX_WORD = 64
#: Request, disclosure, item and ticket ids (a UUID is 36 characters).
MAX_IDENTIFIER = 64
#: A policy digest: nodes send SHA-256 in hex (64 characters).
POLICY_DIGEST_LENGTH = 64
#: Reason codes are short upper-case vocabulary words (``NOT_RELEASABLE``).
MAX_REASON_CODE = 64
#: Describe strings (agency id, country, software version, capability names).
MAX_DESCRIBE_TEXT = 128
#: Capabilities a counterpart may advertise: this protocol defines five.
MAX_CAPABILITIES = 32
#: A counterpart's error message or detail line, as shown to the user.
MAX_PEER_MESSAGE = 1000
#: Time stamps (ISO 8601 with zone).
MAX_TIMESTAMP = 40

_DIGEST_RE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_REASON_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Categories never allowed in counterpart text: C0/C1 controls (Cc), format
# characters such as bidirectional overrides that reorder what a reader sees
# (Cf), line and paragraph separators (Zl, Zp), unassigned and private-use code
# points and lone surrogates (Cn, Co, Cs).
_FORBIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"))
_PROSE_ALLOWED = frozenset("\n\t")


def _forbidden(char: str, allowed: frozenset[str]) -> bool:
    return char not in allowed and unicodedata.category(char) in _FORBIDDEN


def has_control(value: str, *, multiline: bool = False) -> bool:
    """True when ``value`` holds a control or invisible formatting character.

    ``multiline`` allows newlines and tabs (prose such as a justification).
    """
    if value.isascii() and value.isprintable():
        return False  # the common case: no ASCII control, and nothing else in ASCII is forbidden
    allowed = _PROSE_ALLOWED if multiline else frozenset()
    return any(_forbidden(c, allowed) for c in value)


def require_text(name: str, value: str, limit: int = MAX_TEXT, *, multiline: bool = False) -> str:
    """The stripped field, or ``InvalidRequest`` when it is empty, too long or unprintable."""
    value = value.strip()
    if not value:
        raise InvalidRequest(name, "is required")
    return optional_text(name, value, limit, multiline=multiline)


def optional_text(name: str, value: str, limit: int = MAX_TEXT, *, multiline: bool = False) -> str:
    """Like :func:`require_text` but an empty value is accepted."""
    value = value.strip()
    if len(value) > limit:
        raise InvalidRequest(name, f"is longer than {limit} characters")
    if has_control(value, multiline=multiline):
        raise InvalidRequest(name, "contains control or invisible formatting characters")
    return value


def printable(value: str, limit: int = MAX_TEXT, *, multiline: bool = False) -> str:
    """``value`` with every control character escaped (``\\x1b``) and cut to ``limit``.

    ``multiline`` keeps newlines and tabs (prose such as a justification).
    """
    allowed = _PROSE_ALLOWED if multiline else frozenset()
    out: list[str] = []
    size = 0
    for char in value:
        piece = char if not _forbidden(char, allowed) else _escape(char)
        size += len(piece)
        if size > limit:
            out.append("…")
            break
        out.append(piece)
    return "".join(out)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def echo(value: object) -> str:
    """A counterpart's value quoted for an error message: printable, at most ``MAX_ECHO`` long."""
    return repr(printable(str(value), MAX_ECHO))


def key_type_names(values: Iterable[str]) -> list[str]:
    """Distinct key-type names, sorted (what an audit entry records of a request's types)."""
    return sorted(set(values))


def is_policy_digest(value: str) -> bool:
    """True for a policy digest's shape: at most 64 letters, digits or ``-_.:``."""
    return bool(_DIGEST_RE.match(value))


def is_reason_code(value: str) -> bool:
    """True for a reason code of the policy vocabulary's shape (``NOT_RELEASABLE``)."""
    return len(value) <= MAX_REASON_CODE and bool(_REASON_CODE_RE.match(value))
