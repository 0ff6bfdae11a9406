"""The DNS records (SPF, DKIM, DMARC, the bounce domain's MX) a domain needs for Signpost's mail settings."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from signpost.config.settings import Settings


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str
    why: str


def txt_value(text: str) -> str:
    """A TXT value as zone files want it: quoted strings of at most 255 characters (a DKIM key is longer)."""
    return " ".join(f'"{text[start : start + 255]}"' for start in range(0, len(text), 255))


def dkim_public_record(key_file: Path) -> str:
    """``v=DKIM1; k=rsa; p=...`` for the public half of a PEM private key."""
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"cannot read the DKIM key {key_file}: {error}") from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_file} is not an RSA key (DKIM signing here uses rsa-sha256)")
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def new_dkim_key(path: Path, bits: int = 2048) -> None:
    """Write a new RSA private key (PEM, readable by its owner only) for DKIM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = Path(path)
    if path.exists():
        raise ValueError(f"{path} exists; refusing to overwrite a key")
    path.touch(mode=0o600)
    path.write_bytes(pem)


def required_records(
    settings: Settings, *, sending_ips: list[str], spf_includes: list[str], mx_host: str
) -> tuple[list[DnsRecord], list[str]]:
    """The records to publish, and warnings about the settings (alignment, missing pieces)."""
    from_domain = parseaddr(settings.mail_from)[1].rpartition("@")[2].lower()
    if not from_domain or from_domain == "localhost":
        raise ValueError("SIGNPOST_MAIL_FROM has no real domain; set it to the address digests come from")
    envelope_domain = settings.bounce_domain.strip().lower() or from_domain
    warnings: list[str] = []
    mechanisms = [f"ip4:{ip}" if ":" not in ip else f"ip6:{ip}" for ip in sending_ips]
    mechanisms += [f"include:{domain}" for domain in spf_includes]
    if not mechanisms:
        mechanisms = ["a"]
        warnings.append("No --ip or --include given: the SPF record allows only the domain's own A record.")
    records = [
        DnsRecord(
            envelope_domain,
            "TXT",
            txt_value(f"v=spf1 {' '.join(mechanisms)} -all"),
            "SPF: the servers that may send with this envelope (Return-Path) domain",
        )
    ]
    if settings.bounce_domain:
        records.append(
            DnsRecord(envelope_domain, "MX", f"10 {mx_host.rstrip('.')}.", "bounces come back to Signpost's listener")
        )
        if envelope_domain != from_domain and not envelope_domain.endswith("." + from_domain):
            warnings.append(
                f"The bounce domain {envelope_domain} is not under {from_domain}: SPF will not align for DMARC; "
                "DKIM alone must pass."
            )
    else:
        warnings.append("No SIGNPOST_BOUNCE_DOMAIN: bounces go to the From address and are not matched to members.")
    if settings.dkim_selector and settings.dkim_key_file:
        records.append(
            DnsRecord(
                f"{settings.dkim_selector}._domainkey.{from_domain}",
                "TXT",
                txt_value(dkim_public_record(settings.dkim_key_file)),
                "DKIM: the public key of SIGNPOST_DKIM_KEY_FILE",
            )
        )
    else:
        warnings.append(
            "No DKIM key: Signpost does not sign; your relay must sign with d=" + from_domain + " (Gmail and Outlook "
            "require DKIM or SPF aligned with From for bulk mail)."
        )
    records.append(
        DnsRecord(
            f"_dmarc.{from_domain}",
            "TXT",
            txt_value(f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{from_domain}; adkim=r; aspf=r"),
            "DMARC: start at p=none, read the reports, then move to p=quarantine",
        )
    )
    return records, warnings
