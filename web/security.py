"""Passwords, signed tokens (sessions, sign-in links, confirmations) and CSRF tokens of the web app.

Every token is signed with ``SIGNPOST_SECRET_KEY`` and a salt naming its purpose, so a token made for one
purpose is worthless for another. The tokens that emails carry (unsubscribe, preferences, tracked
links) live in ``digests.tokens``, since the renderer makes them and may not import the web app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION = "signpost.session"
SIGNIN = "signpost.signin"
CONFIRM = "signpost.confirm"

hasher = PasswordHasher()
# Verifying against this when the email is unknown takes as long as a real check: no user enumeration by timing.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the time of one argon2 verification."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def timed(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=purpose)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    """What the store keeps of a session token: its hash, so a leaked table holds no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def read_session_cookie(secret_key: str, cookie: str | None, max_age_seconds: int) -> str | None:
    if not cookie:
        return None
    try:
        token = timed(secret_key, SESSION).loads(cookie, max_age=max_age_seconds)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def signin_token(secret_key: str, user_id: int, last_signin_at: datetime | None) -> str:
    """A sign-in link's token; signing in changes ``last_signin_at``, so the link then stops working."""
    return timed(secret_key, SIGNIN).dumps([user_id, last_signin_at.isoformat() if last_signin_at else ""])


def read_signin_token(secret_key: str, token: str, max_age_seconds: int) -> tuple[int, str] | None:
    try:
        user_id, last_signin = timed(secret_key, SIGNIN).loads(token, max_age=max_age_seconds)
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not isinstance(last_signin, str):
        return None
    return user_id, last_signin


def confirm_token(secret_key: str, member_id: int, community_id: int) -> str:
    return timed(secret_key, CONFIRM).dumps([member_id, community_id])


def read_confirm_token(secret_key: str, token: str, max_age_seconds: int) -> tuple[int, int] | None:
    try:
        member_id, community_id = timed(secret_key, CONFIRM).loads(token, max_age=max_age_seconds)
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(member_id, int) or not isinstance(community_id, int):
        return None
    return member_id, community_id


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret_key: str, seed: str) -> str:
    """The form token for a browser's CSRF cookie: a form on another site can read neither."""
    return hmac.new(secret_key.encode(), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, seed: str | None, token: str | None) -> bool:
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(secret_key, seed), token)
