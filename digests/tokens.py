"""Signed links in emails: unsubscribe and preferences tokens that name a member and a community."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE = "signpost.unsubscribe"
PREFERENCES = "signpost.preferences"


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    if not secret_key:
        raise ValueError("no secret key: set SIGNPOST_SECRET_KEY to sign the links in emails")
    # The purpose is the salt, so an unsubscribe token can never be replayed as a preferences token.
    return URLSafeSerializer(secret_key, salt=purpose)


def make_token(secret_key: str, purpose: str, member_id: int, community_id: int) -> str:
    """A token for ``purpose``; it does not expire, since RFC 8058 links must keep working in old emails."""
    return _serializer(secret_key, purpose).dumps([member_id, community_id])


def read_token(secret_key: str, purpose: str, token: str) -> tuple[int, int] | None:
    """(member id, community id) of a valid token, or None when it is forged, damaged or for another purpose."""
    try:
        member_id, community_id = _serializer(secret_key, purpose).loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(member_id, int) or not isinstance(community_id, int):
        return None
    return member_id, community_id


def unsubscribe_url(public_url: str, token: str) -> str:
    """The one-click unsubscribe link: GET shows a confirmation page, POST (RFC 8058) unsubscribes at once."""
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


def preferences_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/preferences/{token}"
