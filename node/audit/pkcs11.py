"""The audit signing key in a PKCS#11 token (an HSM, or SoftHSM2): it never sits in a file.

``[audit] signing_key = "pkcs11:token=<token label>;object=<key label>"`` in
``spoor.toml`` and ``[audit] pkcs11_module`` (or ``$SPOOR_PKCS11_MODULE``)
name the token and the module; the user PIN comes from ``$SPOOR_PKCS11_PIN``
only, never from a file in the home. The key is an Ed25519 key pair
generated inside the token as sensitive and not extractable: the node can ask
the token to sign, but no one — not the node's database writer, not root
reading the home — can read the private key out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from node.app.home import NodeHome
from node.audit.errors import AuditError

ENV_MODULE = "SPOOR_PKCS11_MODULE"
ENV_PIN = "SPOOR_PKCS11_PIN"
ED25519_OID = "1.3.101.112"
RAW_KEY_BYTES = 32


def parse_uri(location: str) -> tuple[str, str]:
    """(token label, object label) of a ``pkcs11:token=…;object=…`` URI."""
    parts: dict[str, str] = {}
    for item in location.removeprefix("pkcs11:").split(";"):
        name, _, value = item.partition("=")
        if name:
            parts[name.strip()] = value.strip()
    if not parts.get("token") or not parts.get("object"):
        raise AuditError(
            f"signing key {location!r} is not a usable PKCS#11 URI: write "
            "'pkcs11:token=<token label>;object=<key label>' in [audit] signing_key"
        )
    return parts["token"], parts["object"]


def _module(home: NodeHome) -> str:
    from node.app.config import ConfigError, load_config

    try:
        configured = load_config(home).audit.pkcs11_module
    except ConfigError:
        configured = ""
    module = configured or os.environ.get(ENV_MODULE, "")
    if not module:
        raise AuditError(
            "the signing key is in a PKCS#11 token but no module is named: set [audit] "
            f"pkcs11_module in spoor.toml or ${ENV_MODULE} (e.g. /usr/lib/softhsm/libsofthsm2.so)"
        )
    return module


def _session(home: NodeHome, token_label: str, *, rw: bool = False) -> Any:
    import pkcs11

    pin = os.environ.get(ENV_PIN)
    if not pin:
        raise AuditError(f"the PKCS#11 user PIN is not set: export ${ENV_PIN} for the node")
    try:
        token = pkcs11.lib(_module(home)).get_token(token_label=token_label)
        return token.open(rw=rw, user_pin=pin)
    except (pkcs11.PKCS11Error, RuntimeError) as exc:
        raise AuditError(f"cannot open PKCS#11 token {token_label!r}: {exc!r}") from exc


def _raw_public(point: bytes) -> str:
    # CKA_EC_POINT holds the 32-byte key, DER-wrapped as an OCTET STRING by most tokens.
    raw = point[2:] if len(point) == RAW_KEY_BYTES + 2 else point
    return raw.hex()


@dataclass(frozen=True)
class Pkcs11Signer:
    """An Ed25519 key pair inside a token, found by its CKA_ID."""

    home: NodeHome
    location: str
    key_id: bytes
    public_hex: str

    def public_key_hex(self) -> str:
        return self.public_hex

    def sign(self, payload: bytes) -> bytes:
        import pkcs11
        from pkcs11 import Mechanism, ObjectClass

        token_label, _ = parse_uri(self.location)
        with _session(self.home, token_label) as session:
            try:
                key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=self.key_id)
                return bytes(key.sign(payload, mechanism=Mechanism.EDDSA))
            except pkcs11.PKCS11Error as exc:
                raise AuditError(f"the PKCS#11 token refused to sign: {exc!r}") from exc

    def describe(self) -> str:
        return self.location


def open_signer(home: NodeHome, location: str) -> Pkcs11Signer | None:
    """The key labelled in ``location``, or None when the token holds no such key."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    token_label, label = parse_uri(location)
    with _session(home, token_label) as session:
        found = list(
            session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: label})
        )
        if not found:
            return None
        if len(found) > 1:
            raise AuditError(f"PKCS#11 token {token_label!r} holds several keys labelled {label!r}")
        try:
            public = found[0]
            return Pkcs11Signer(
                home, location, bytes(public[Attribute.ID]), _raw_public(public[Attribute.EC_POINT])
            )
        except pkcs11.PKCS11Error as exc:
            raise AuditError(f"cannot read the public key in the token: {exc!r}") from exc


def generate_signer(home: NodeHome, location: str) -> Pkcs11Signer:
    """Generate a new sensitive, non-extractable Ed25519 pair; retire the old pair's label."""
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    token_label, label = parse_uri(location)
    key_id = secrets.token_bytes(16)
    with _session(home, token_label, rw=True) as session:
        for obj in session.get_objects({Attribute.LABEL: label}):
            if obj.object_class in (ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY):
                obj[Attribute.LABEL] = f"{label}-retired-{obj[Attribute.ID].hex()}"
        params = session.create_domain_parameters(
            KeyType.EC_EDWARDS,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
            local=True,
        )
        public, _private = params.generate_keypair(
            store=True,
            label=label,
            id=key_id,
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        return Pkcs11Signer(home, location, key_id, _raw_public(public[Attribute.EC_POINT]))
