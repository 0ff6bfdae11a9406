"""DKIM signatures (dkimpy) for those who send without a relay that signs: RFC 6376, relaxed canonicalisation."""

from __future__ import annotations

from pathlib import Path

import dkim

# RFC 8058 asks that List-Unsubscribe and List-Unsubscribe-Post be signed, with From and Subject.
SIGNED_HEADERS = (
    b"from",
    b"subject",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"to",
    b"date",
    b"message-id",
    b"list-id",
    b"feedback-id",
    b"mime-version",
    b"content-type",
)


class DkimSigner:
    """Signs whole messages for one domain with one selector's key."""

    def __init__(self, selector: str, domain: str, key_pem: bytes) -> None:
        if not selector or not domain:
            raise ValueError("DKIM signing needs a selector and the From address's domain")
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        self.key = key_pem
        # A key dkimpy cannot read fails here, at the start of a send, not on the first message.
        self.sign(b"From: check@" + self.domain + b"\r\nSubject: check\r\n\r\ncheck\r\n")

    @classmethod
    def from_file(cls, selector: str, domain: str, key_file: Path) -> DkimSigner:
        try:
            key = Path(key_file).read_bytes()
        except OSError as error:
            raise ValueError(f"cannot read the DKIM key {key_file}: {error}") from error
        return cls(selector, domain, key)

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header first."""
        try:
            header = dkim.sign(
                message,
                self.selector,
                self.domain,
                self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(SIGNED_HEADERS),
            )
        except dkim.DKIMException as error:
            raise ValueError(f"DKIM signing failed: {error}") from error
        return header + message
