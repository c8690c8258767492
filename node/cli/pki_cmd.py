"""``spoor pki``: the agency CA, this node's certificate, revocation and export.

Private keys are written mode 0600; nothing here ever prints key material.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from cryptography import x509

import node.pki as certs
from node.app.home import NodeHome
from node.pki.files import write_public
from node.store import StoreError

P = ParamSpec("P")
R = TypeVar("R")

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Node home directory (default: $SPOOR_HOME, else ./spoor-home).",
)


def _fail(message: str, kept: str, then: str) -> click.ClickException:
    return click.ClickException(f"{message}\n  {kept}\n  {then}")


def _guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn PKI errors into CLI errors that say what happened, what was kept and what to do."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except certs.PkiFileExistsError as exc:
            raise _fail(
                f"{exc.path} already exists.",
                "The existing CA was left untouched.",
                "Replacing it breaks every counterpart that pins it; if that is intended, "
                "re-run with --force and send them the new CA ('spoor pki export-ca').",
            ) from exc
        except certs.PkiFileMissingError as exc:
            raise _fail(
                f"{exc.path} does not exist.", "Nothing was changed.", exc.hint + "."
            ) from exc
        except certs.ConfigMismatchError as exc:
            raise _fail(
                f"The {exc.key} {exc.given!r} differs from {exc.configured!r} in {exc.source}.",
                "Nothing was changed.",
                f"Leave out the option to use {exc.configured!r}, or correct {exc.source}.",
            ) from exc
        except (certs.AgencyIdError, certs.CountryCodeError) as exc:
            raise _fail(f"{exc}.", "Nothing was changed.", "Correct the value and re-run.") from exc
        except certs.CertificateError as exc:
            raise _fail(
                f"Certificate problem: {exc.reason}.",
                "Nothing was changed.",
                "Inspect the files under keys/ with 'spoor pki show'.",
            ) from exc
        except (certs.PkiError, StoreError) as exc:
            raise _fail(
                str(exc), "Nothing was changed.", "Fix the cause above and re-run."
            ) from exc

    return wrapper


def _need_identity(
    home: NodeHome, agency_id: str | None, country: str | None
) -> tuple[str, str | None]:
    agency, land = certs.resolve_identity(home, agency_id, country)
    if agency is None:
        raise click.UsageError(
            "No agency id: pass --agency, or run 'spoor init' so spoor.toml names the agency."
        )
    return agency, land


@click.group("pki")
def pki() -> None:
    """Agency CA, node certificates, revocation and CA export for counterparts."""


@pki.command("init-ca")
@home_option
@click.option("--agency", "agency_id", help="Agency id, e.g. ke-kws (default: from spoor.toml).")
@click.option("--country", help="ISO 3166-1 alpha-2 country, e.g. KE (default: from spoor.toml).")
@click.option("--common-name", help="Subject common name (default: 'Spoor CA <agency>').")
@click.option(
    "--days", type=click.IntRange(min=1), default=certs.CA_DAYS, show_default=True, help="Validity."
)
@click.option("--force", is_flag=True, help="Replace an existing CA (counterparts must re-pin).")
@_guarded
def init_ca(
    *,
    home: Path | None,
    agency_id: str | None,
    country: str | None,
    common_name: str | None,
    days: int,
    force: bool,
) -> None:
    """Create this agency's own CA in keys/ca.key (mode 0600) and keys/ca.crt."""
    node_home = NodeHome.resolve(home)
    agency, land = _need_identity(node_home, agency_id, country)
    if land is None:
        raise click.UsageError("No country: pass --country, or run 'spoor init' first.")
    cert_pem = certs.init_home_ca(
        node_home, agency, land, common_name=common_name, days=days, force=force
    )
    click.echo(f"Created the CA of agency {agency} ({certs.validate_country(land)}).")
    click.echo(f"  key          {node_home.ca_key_path} (mode 0600, keep it offline if you can)")
    click.echo(f"  certificate  {node_home.ca_cert_path}")
    click.echo(f"  fingerprint  {certs.fingerprint(cert_pem)}")
    if force and node_home.node_cert_path.exists():
        click.echo(
            "The node certificate in keys/ was issued by the replaced CA: run 'spoor pki issue' "
            "now, and send the new CA to every counterpart ('spoor pki export-ca')."
        )
    else:
        click.echo("Next: 'spoor pki issue' for this node's certificate.")


@pki.command("issue")
@home_option
@click.option("--agency", "agency_id", help="Agency id (default: from spoor.toml, else the CA's).")
@click.option("--country", help="Country (default: from spoor.toml, else the CA's).")
@click.option(
    "--hostname",
    "hostnames",
    multiple=True,
    help="DNS name peers use to reach this node; repeatable (default: localhost).",
)
@click.option(
    "--ip",
    "ips",
    multiple=True,
    help="IP address peers use to reach this node; repeatable (default: 127.0.0.1 and ::1).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=certs.NODE_DAYS,
    show_default=True,
    help="Validity.",
)
@_guarded
def issue(
    *,
    home: Path | None,
    agency_id: str | None,
    country: str | None,
    hostnames: tuple[str, ...],
    ips: tuple[str, ...],
    days: int,
) -> None:
    """Issue this node's certificate from the agency CA (keys/node.key mode 0600, keys/node.crt)."""
    node_home = NodeHome.resolve(home)
    agency, land = certs.resolve_identity(node_home, agency_id, country)
    try:
        issued = certs.issue_home_certificate(
            node_home,
            agency_id=agency,
            country=land,
            hostnames=hostnames or certs.DEFAULT_HOSTNAMES,
            ip_addresses=ips or certs.DEFAULT_IPS,
            days=days,
        )
    except ValueError as exc:
        if isinstance(exc, certs.PkiError):
            raise
        raise click.BadParameter(str(exc)) from exc
    cert = certs.load_certificate(issued.cert_pem)
    click.echo(f"Issued the node certificate of agency {certs.agency_id_from_certificate(cert)}.")
    click.echo(f"  key          {node_home.node_key_path} (mode 0600)")
    click.echo(f"  certificate  {node_home.node_cert_path}")
    click.echo(f"  serial       {issued.serial}")
    click.echo(f"  fingerprint  {issued.fingerprint}")
    click.echo(f"  valid until  {issued.not_after:%Y-%m-%d %H:%M} UTC")
    if issued.previous_serial:
        click.echo(
            f"It replaces certificate {issued.previous_serial}. Restart 'spoor serve' to use the "
            f"new one; if the old key may be compromised, run "
            f"'spoor pki revoke {issued.previous_serial}'."
        )


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    for name in san:
        if isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        elif isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
    return out


def _describe(node_home: NodeHome, cert_pem: bytes, path: Path, *, is_ca: bool) -> dict[str, Any]:
    cert = certs.load_certificate(cert_pem)
    now = datetime.now(UTC)
    info: dict[str, Any] = {
        "file": str(path),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": _names(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": (cert.not_valid_after_utc - now).days,
        "serial": certs.serial_hex(cert),
        "fingerprint_sha256": certs.fingerprint(cert),
    }
    if is_ca:
        return info
    try:
        info["agency_id"] = certs.agency_id_from_certificate(cert)
    except certs.CertificateError as exc:
        info["agency_id"] = None
        info["agency_problem"] = exc.reason
    try:
        ca_pem = certs.read_ca_certificate(node_home)
        certs.verify_chain(cert, ca_pem)
        info["chain"] = "ok"
        crl = certs.crl_path(node_home)
        if crl.exists():
            info["revoked"] = certs.is_revoked(cert, crl.read_bytes(), ca_pem)
    except certs.PkiError as exc:
        info["chain"] = str(exc)
    return info


@pki.command("show")
@home_option
@click.option("--ca", "show_ca", is_flag=True, help="Show the agency CA instead of the node.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@_guarded
def show(home: Path | None, show_ca: bool, as_json: bool) -> None:
    """Show the node (or CA) certificate: subject, names, agency, validity, serial, fingerprint."""
    node_home = NodeHome.resolve(home)
    if show_ca:
        path, cert_pem = node_home.ca_cert_path, certs.read_ca_certificate(node_home)
    else:
        path, cert_pem = node_home.node_cert_path, certs.read_node_certificate(node_home)
    info = _describe(node_home, cert_pem, path, is_ca=show_ca)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    labels = {
        "file": "file",
        "subject": "subject",
        "issuer": "issuer",
        "agency_id": "agency id",
        "agency_problem": "agency problem",
        "names": "names",
        "not_before": "valid from",
        "not_after": "valid until",
        "days_left": "days left",
        "serial": "serial",
        "fingerprint_sha256": "sha-256",
        "chain": "chain to CA",
        "revoked": "revoked",
    }
    for key, label in labels.items():
        if key in info:
            value = info[key]
            text = ", ".join(value) if isinstance(value, list) else str(value)
            click.echo(f"{label:<15}{text}")


@pki.command("revoke")
@home_option
@click.argument("serials", nargs=-1, required=True)
@click.option(
    "--reason",
    type=click.Choice(sorted(certs.REASONS)),
    default="unspecified",
    show_default=True,
    help="Reason recorded in the CRL.",
)
@_guarded
def revoke(home: Path | None, serials: tuple[str, ...], reason: str) -> None:
    """Revoke certificates of this agency's CA by serial (hex, as 'spoor pki show' prints).

    Writes keys/crl.pem. Counterparts apply it once they receive it.
    """
    node_home = NodeHome.resolve(home)
    try:
        numbers = [certs.parse_serial(serial) for serial in serials]
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; nothing was revoked", param_hint="SERIAL") from exc
    crl_pem = certs.revoke_in_home(node_home, numbers, reason=reason)
    listed = len(certs.revoked_serials(crl_pem, certs.read_ca_certificate(node_home)))
    click.echo(f"Revoked {len(numbers)} serial(s); {certs.crl_path(node_home)} now lists {listed}.")
    if node_home.node_cert_path.exists():
        current = certs.load_certificate(node_home.node_cert_path.read_bytes()).serial_number
        if current in numbers:
            click.echo(
                "That includes this node's own certificate: issue a new one with "
                "'spoor pki issue' before serving again."
            )
    click.echo(
        "Next: send the CRL to every counterpart ('spoor pki export-crl') so their nodes refuse "
        "the revoked certificates."
    )


def _export(data: bytes, out: Path | None, what: str, fingerprint: str | None) -> None:
    if out is None:
        click.echo(data.decode("ascii"), nl=False)
    else:
        write_public(out, data)
        click.echo(f"Wrote the {what} to {out}.", err=True)
    if fingerprint:
        click.echo(
            f"SHA-256 fingerprint {fingerprint}: read it to the counterpart over a second "
            "channel (phone) so they can check the file was not swapped.",
            err=True,
        )


@pki.command("export-ca")
@home_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@_guarded
def export_ca(home: Path | None, out: Path | None) -> None:
    """Write the agency CA certificate to hand to a counterpart for 'spoor peers add'."""
    node_home = NodeHome.resolve(home)
    ca_pem = certs.read_ca_certificate(node_home)
    certs.load_ca(ca_pem)
    _export(ca_pem, out, "CA certificate", certs.fingerprint(ca_pem))


@pki.command("export-crl")
@home_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@_guarded
def export_crl(home: Path | None, out: Path | None) -> None:
    """Write the agency CRL (keys/crl.pem) to hand to counterparts after a revocation."""
    node_home = NodeHome.resolve(home)
    path = certs.crl_path(node_home)
    if not path.exists():
        raise _fail(
            f"{path} does not exist.",
            "Nothing was written.",
            "No certificate has been revoked yet; 'spoor pki revoke SERIAL' creates the CRL.",
        )
    crl_pem = path.read_bytes()
    certs.revoked_serials(crl_pem, certs.read_ca_certificate(node_home))
    _export(crl_pem, out, "CRL", None)


@pki.command("fingerprint")
@click.argument("cert_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_guarded
def fingerprint_cmd(cert_file: Path) -> None:
    """Print the SHA-256 fingerprint and subject of a certificate file a counterpart sent."""
    cert = certs.load_certificate(cert_file.read_bytes())
    click.echo(f"sha-256        {certs.fingerprint(cert)}")
    click.echo(f"subject        {cert.subject.rfc4514_string()}")
    try:
        certs.load_ca(cert)
        click.echo("kind           CA certificate (suitable for 'spoor peers add --ca')")
    except certs.CertificateError:
        click.echo("kind           not a CA certificate (cannot be pinned as a peer's CA)")


def current_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names besides the agency's own, IP addresses) a node certificate carries."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    own = certs.agency_dns_name(certs.agency_id_from_certificate(cert))
    dns = [n for n in san.get_values_for_type(x509.DNSName) if n != own]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


@pki.command("renew")
@home_option
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=certs.NODE_DAYS,
    show_default=True,
    help="Validity of the new certificate.",
)
@_guarded
def renew(home: Path | None, days: int) -> None:
    """Replace the node certificate before it expires, keeping every name and the pin.

    A new key and certificate from the same agency CA, with the same agency
    URI, DNS and IP names and country. Counterparts pin the CA, not the
    certificate, so they need no change; a serving node picks the new
    certificate up for new connections (connections recycle within
    server.max_connection_age_seconds). The old serial is printed so it can be
    revoked if its key may be compromised.
    """
    node_home = NodeHome.resolve(home)
    old = certs.load_certificate(certs.read_node_certificate(node_home))
    agency = certs.agency_id_from_certificate(old)
    countries = old.subject.get_attributes_for_oid(x509.oid.NameOID.COUNTRY_NAME)
    dns, ips = current_names(old)
    issued = certs.issue_home_certificate(
        node_home,
        agency_id=agency,
        country=str(countries[0].value) if countries else None,
        hostnames=dns,
        ip_addresses=ips,
        days=days,
    )
    click.echo(
        f"Renewed the node certificate of agency {agency}; names kept: {', '.join(_names(old))}."
    )
    click.echo(f"  serial       {issued.serial} (was {issued.previous_serial})")
    click.echo(f"  fingerprint  {issued.fingerprint}")
    click.echo(f"  valid until  {issued.not_after:%Y-%m-%d %H:%M} UTC")
    click.echo(
        "Counterparts need no change (they pin the CA). New connections use the new "
        f"certificate; if the old key may be compromised: spoor pki revoke {issued.previous_serial}"
    )
