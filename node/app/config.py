"""Node configuration: ``spoor.toml`` in the node home.

Unknown keys are errors (a misspelt limit silently ignored is a limit not
enforced). Every error names the file, the key and what to do.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pycountry
import tomli_w

from node.app.home import NodeHome
from node.errors import SpoorError
from node.store import location as store_location

AGENCY_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class ConfigError(SpoorError):
    """spoor.toml is missing, unreadable or invalid."""

    FIELDS = ("path", "key", "reason")

    def __init__(self, path: Path, key: str | None, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass
class ServerConfig:
    """How ``spoor serve`` listens."""

    listen: str = "127.0.0.1:50051"
    # Plaintext is for debugging on one machine only; it is logged loudly.
    insecure: bool = False
    reflection: bool = False
    max_workers: int = 8
    grace_seconds: float = 10.0
    # Connections are recycled so rotated certificates and revocations apply.
    max_connection_age_seconds: int = 600
    # A unix socket (relative to the node home) where a local probe without a client
    # certificate may check health, and nothing else; empty: no admin channel.
    admin_socket: str = ""


@dataclass
class OpsConfig:
    """The local HTTP ops port: /healthz, /readyz and /metrics (docs/operators.md, "Monitoring").

    Loopback by default; a pod binds ``0.0.0.0:9464`` (``$SPOOR_OPS_LISTEN``
    overrides this setting). An empty ``listen`` turns the port off.
    """

    listen: str = "127.0.0.1:9464"


@dataclass
class LimitsConfig:
    """Per-peer element budgets and call limits."""

    max_elements_per_request: int = 20_000
    max_elements_per_peer_per_day: int = 200_000
    rpc_deadline_seconds: float = 60.0
    # Largest responder set a setup may describe (bounds message sizes).
    max_responder_elements: int = 2_000_000
    # Fair shares: what one peer may have in flight at once (further calls are
    # refused at once with RESOURCE_EXHAUSTED; health is never starved).
    max_calls_in_flight_per_peer: int = 2
    max_elements_in_flight_per_peer: int = 40_000


@dataclass
class PsiConfig:
    """PSI parameters and the worker pool that runs curve work."""

    fpr: float = 1e-9
    workers: int = 1
    timeout_seconds: float = 120.0


@dataclass
class SetupsConfig:
    """Held setups: epoch keys, shards and background rebuilds (see docs/protocol.md)."""

    enabled: bool = True
    # One server key per counterpart and view lives this long, in memory only.
    epoch_hours: float = 24.0
    base_shards: int = 256
    delta_shards: int = 16
    # How often the node looks for changed records or policy and rebuilds.
    refresh_seconds: float = 5.0
    # How often a requester checks its counterparts' manifests and fetches changed shards.
    sync_seconds: float = 10.0
    # Worker processes for builds; 0 means one per core.
    build_workers: int = 0


@dataclass
class LookupConfig:
    """The local lookup API for the agency's own systems (never the federation port)."""

    enabled: bool = True
    # Unix socket, relative to the node home; created with mode 0600.
    socket: str = "run/lookup.sock"
    # Optional localhost TCP address (e.g. "127.0.0.1:50061"), which requires a token.
    listen: str = ""
    # File (relative to the home, mode 0600) holding the bearer token for ``listen``.
    token_file: str = "keys/lookup.token"  # noqa: S105 - a file name, not a secret


@dataclass
class PolicyConfig:
    """Where the agency's release policy lives (relative to the node home)."""

    path: str = "policy"
    # Edited files go live only when an officer activates them (console or CLI);
    # false: the running node activates any edit that checks clean and passes its tests.
    officer_activation: bool = False


@dataclass
class AuditConfig:
    """Audit retention and where the checkpoint signing key lives."""

    retention_days: int = 3 * 365
    # A path (absolute, or relative to the home) or a "pkcs11:token=…;object=…" URI;
    # empty: <home's parent>/<home name>-signing/audit-signing.key (see docs/audit.md).
    signing_key: str = ""
    # PKCS#11 module for a "pkcs11:" signing_key (e.g. /usr/lib/softhsm/libsofthsm2.so).
    pkcs11_module: str = ""


@dataclass
class DisclosureConfig:
    """Defaults for governed follow-up."""

    ticket_deadline_hours: int = 48


@dataclass
class StoreConfig:
    """Where the node's database is (see node.store.location; ``SPOOR_STORE_URL`` wins)."""

    # "" is the embedded default, node.db in the home; or sqlite:///<file>, postgresql://...
    url: str = ""


@dataclass
class ReplicasConfig:
    """Several replicas of one agency on one PostgreSQL store (docs/operators.md)."""

    # Where sibling replicas reach this one's federation port to fetch epoch secrets
    # ("host:port"); empty: the address it listens on (a wildcard host: this host's name).
    advertise: str = ""


@dataclass
class ConsoleConfig:
    """The legal officers' web console on the admin port (``spoor serve`` / ``spoor console``)."""

    enabled: bool = False
    # Loopback by default; any other address is served over TLS with the node certificate.
    listen: str = "127.0.0.1:8710"
    session_minutes: int = 30
    # Reminders this many hours before a ticket's deadline (webhook and/or e-mail).
    remind_hours_before: int = 12
    reminder_webhook: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = ""
    mail_to: str = ""


@dataclass
class NodeConfig:
    """The whole of spoor.toml."""

    agency_id: str
    country: str
    display_name: str = ""
    server: ServerConfig = field(default_factory=ServerConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    psi: PsiConfig = field(default_factory=PsiConfig)
    setups: SetupsConfig = field(default_factory=SetupsConfig)
    lookup: LookupConfig = field(default_factory=LookupConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    replicas: ReplicasConfig = field(default_factory=ReplicasConfig)

    @property
    def max_message_bytes(self) -> int:
        """Message-size limit used by both sides, derived from the largest sets accepted.

        A blinded element is a 33-byte compressed P-256 point plus framing; a
        GCS setup costs about 5 bytes per responder element at fpr 1e-9.
        """
        per_request = self.limits.max_elements_per_request * 40
        per_setup = self.limits.max_responder_elements * 6
        return 2 * per_request + per_setup + (1 << 20)


_SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "ops": OpsConfig,
    "limits": LimitsConfig,
    "psi": PsiConfig,
    "setups": SetupsConfig,
    "lookup": LookupConfig,
    "policy": PolicyConfig,
    "audit": AuditConfig,
    "disclosure": DisclosureConfig,
    "store": StoreConfig,
    "console": ConsoleConfig,
    "replicas": ReplicasConfig,
}
_ADVERTISE_RE = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")
_TOP_LEVEL = {"agency_id": str, "country": str, "display_name": str}


def validate_agency_id(agency_id: str) -> str:
    if not AGENCY_ID_RE.match(agency_id):
        raise ValueError(
            f"agency id {agency_id!r} is not valid: use 2-63 lowercase letters, digits and "
            "hyphens, starting with a letter or digit (e.g. 'ke-kws')"
        )
    return agency_id


def validate_country(country: str) -> str:
    code = country.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"country {country!r} is not an ISO 3166-1 alpha-2 code (e.g. 'KE')")
    return code


def _coerce(path: Path, key: str, value: Any, wanted: type) -> Any:
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if wanted is int and isinstance(value, bool):
        raise ConfigError(path, key, f"expected an integer, got {value!r}")
    if not isinstance(value, wanted):
        raise ConfigError(path, key, f"expected {wanted.__name__}, got {value!r}")
    if isinstance(value, int | float) and value < 0:
        raise ConfigError(path, key, f"must not be negative, got {value!r}")
    return value


def load_config(home: NodeHome) -> NodeConfig:  # noqa: PLR0912, PLR0915 - one branch per check
    """Read and validate ``spoor.toml``; raise :class:`ConfigError` on any problem."""
    path = home.config_path
    if not path.is_file():
        raise ConfigError(path, None, "not found — create a node home with 'spoor init'")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from exc
    top: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TOP_LEVEL:
            top[key] = _coerce(path, key, value, _TOP_LEVEL[key])
        elif key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(path, key, "must be a [section]")
            cls = _SECTIONS[key]
            known = {f.name: f for f in fields(cls)}
            kwargs = {}
            for sub, subval in value.items():
                if sub not in known:
                    allowed = ", ".join(sorted(known))
                    raise ConfigError(path, f"{key}.{sub}", f"unknown setting (known: {allowed})")
                kwargs[sub] = _coerce(path, f"{key}.{sub}", subval, type(getattr(cls(), sub)))
            sections[key] = cls(**kwargs)
        else:
            allowed = ", ".join([*_TOP_LEVEL, *_SECTIONS])
            raise ConfigError(path, key, f"unknown setting (known: {allowed})")
    for required in ("agency_id", "country"):
        if required not in top:
            raise ConfigError(path, required, "missing — every node needs an agency id and country")
    try:
        validate_agency_id(top["agency_id"])
        top["country"] = validate_country(top["country"])
    except ValueError as exc:
        raise ConfigError(path, None, str(exc)) from exc
    config = NodeConfig(**top, **sections)
    try:
        store_location.parse(config.store.url, home.db_path)
    except store_location.BadStoreUrl as exc:
        raise ConfigError(path, "store.url", str(exc)) from exc
    if config.limits.max_elements_per_request < 1:
        raise ConfigError(path, "limits.max_elements_per_request", "must be at least 1")
    if config.psi.workers < 1:
        raise ConfigError(path, "psi.workers", "must be at least 1")
    if not 1 <= config.console.session_minutes <= 24 * 60:
        raise ConfigError(path, "console.session_minutes", "must be between 1 and 1440")
    if config.replicas.advertise and not _ADVERTISE_RE.fullmatch(config.replicas.advertise):
        raise ConfigError(
            path, "replicas.advertise", 'use "host:port" (e.g. "node-2.internal:50051")'
        )
    if config.setups.epoch_hours <= 0:
        raise ConfigError(path, "setups.epoch_hours", "must be positive (24 is the default)")
    if not 1 <= config.setups.base_shards <= 65536 or not 1 <= config.setups.delta_shards <= 4096:
        raise ConfigError(
            path, "setups.base_shards", "use 1-65536 base shards and 1-4096 delta shards"
        )
    if config.lookup.listen and not config.lookup.listen.startswith(("127.0.0.1:", "[::1]:")):
        raise ConfigError(
            path, "lookup.listen", "the local lookup API listens on 127.0.0.1 or [::1] only"
        )
    if not 0 < config.psi.fpr < 1e-3:
        raise ConfigError(path, "psi.fpr", "must be between 0 and 0.001")
    return config


def save_config(home: NodeHome, config: NodeConfig) -> None:
    """Write ``spoor.toml`` atomically."""
    data = asdict(config)
    if not config.store.url:
        del data["store"]  # the embedded default needs no section
    tmp = home.config_path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(home.config_path)
