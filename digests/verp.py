"""VERP Return-Paths: each message's envelope sender names its outbox row, signed so nobody can forge one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from signpost.config.settings import Settings
from signpost.digests.render import envelope_sender

LOCAL_PREFIX = "bounces"
# Lowercase only: some mail systems fold the local part's case on the way back.
_ADDRESS = re.compile(rf"^{LOCAL_PREFIX}\+(\d{{1,18}})-([a-z2-7]{{16}})@([^@\s]+)$", re.IGNORECASE)


def _mac(secret_key: str, outbox_id: int) -> str:
    digest = hmac.new(secret_key.encode(), f"signpost.verp:{outbox_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def verp_address(secret_key: str, bounce_domain: str, outbox_id: int) -> str:
    """``bounces+<row>-<signature>@<bounce domain>``: where bounces for the row's message go."""
    if not secret_key:
        raise ValueError("VERP addresses are signed: set SIGNPOST_SECRET_KEY")
    return f"{LOCAL_PREFIX}+{outbox_id}-{_mac(secret_key, outbox_id)}@{bounce_domain.lower()}"


def read_verp(secret_key: str, bounce_domain: str, address: str) -> int | None:
    """The outbox row a VERP address names, or None when it is not one of ours or its signature is wrong."""
    found = _ADDRESS.match(address.strip().strip("<>"))
    if found is None or not secret_key or found.group(3).lower() != bounce_domain.lower():
        return None
    outbox_id = int(found.group(1))
    if not hmac.compare_digest(found.group(2).lower(), _mac(secret_key, outbox_id)):
        return None
    return outbox_id


class ReturnPath:
    """The envelope sender of an outbox row: its VERP address with a bounce domain, else mail_from's address."""

    def __init__(self, settings: Settings) -> None:
        self.fallback = envelope_sender(settings.mail_from)
        self.domain = settings.bounce_domain.strip()
        self.secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
        if self.domain and not self.secret:
            raise ValueError("SIGNPOST_BOUNCE_DOMAIN signs each Return-Path: set SIGNPOST_SECRET_KEY too")

    def __call__(self, outbox_id: int) -> str:
        return verp_address(self.secret, self.domain, outbox_id) if self.domain else self.fallback
