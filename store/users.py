"""Users of the web app (admins and curators), the communities each curates, and their sign-in sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, select, update

from signpost.config.models import plain_name
from signpost.store.db import dialect_insert, utcnow
from signpost.store.members import normalise_email
from signpost.store.schema import communities, curators, users, web_sessions


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    password_hash: str | None
    is_admin: bool
    last_signin_at: datetime | None
    # Ids of the communities the user curates (an admin may review every community regardless).
    community_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """How the user is named in audit logs and decisions."""
        return self.email

    def may_review(self, community_id: int) -> bool:
        return self.is_admin or community_id in self.community_ids


def _user(row, community_ids: frozenset[int]) -> User:
    return User(row.id, row.email, row.name, row.password_hash, row.is_admin, row.last_signin_at, community_ids)


def save_user(
    engine: Engine, email: str, name: str = "", *, password_hash: str | None = None, is_admin: bool | None = None
) -> int:
    """Create the user with this email, or update the given fields of the existing one; returns the id."""
    email = normalise_email(email)
    plain_name(name)
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, users)
            .values(email=email, name=name, password_hash=password_hash, is_admin=bool(is_admin), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[users.c.email])
        )
        user_id = connection.scalar(select(users.c.id).where(users.c.email == email))
        values: dict = {}
        if name:
            values["name"] = name
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        if values:
            connection.execute(update(users).where(users.c.id == user_id).values(**values))
        return user_id


def _curated(connection, user_id: int) -> frozenset[int]:
    return frozenset(connection.scalars(select(curators.c.community_id).where(curators.c.user_id == user_id)))


def get_user(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.id == user_id)).first()
        return _user(row, _curated(connection, row.id)) if row else None


def find_user(engine: Engine, email: str) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.email == normalise_email(email))).first()
        return _user(row, _curated(connection, row.id)) if row else None


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.email)).all()
        pairs = connection.execute(select(curators.c.user_id, curators.c.community_id)).all()
    curated: dict[int, set[int]] = {}
    for user_id, community_id in pairs:
        curated.setdefault(user_id, set()).add(community_id)
    return [_user(row, frozenset(curated.get(row.id, ()))) for row in rows]


def set_curator(engine: Engine, user_id: int, community_id: int, curates: bool = True) -> None:
    """Name the user a curator of the community, or (``curates=False``) take that away."""
    with engine.begin() as connection:
        if curates:
            connection.execute(
                dialect_insert(connection, curators)
                .values(user_id=user_id, community_id=community_id, created_at=utcnow())
                .on_conflict_do_nothing()
            )
        else:
            connection.execute(
                delete(curators).where(curators.c.user_id == user_id, curators.c.community_id == community_id)
            )


def curators_of(engine: Engine, community_id: int) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(users.c.email)
                .join(curators, curators.c.user_id == users.c.id)
                .where(curators.c.community_id == community_id)
                .order_by(users.c.email)
            )
        )


def community_names(engine: Engine) -> dict[int, str]:
    with engine.connect() as connection:
        return dict(connection.execute(select(communities.c.id, communities.c.slug)).all())


def mark_signed_in(engine: Engine, user_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.id == user_id).values(last_signin_at=utcnow()))


def start_session(engine: Engine, session_id: str, user_id: int, expires_at: datetime) -> None:
    """Keep a session (by the hash of its token), dropping this user's expired ones on the way."""
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            delete(web_sessions).where(web_sessions.c.user_id == user_id, web_sessions.c.expires_at < now)
        )
        connection.execute(
            web_sessions.insert().values(id=session_id, user_id=user_id, created_at=now, expires_at=expires_at)
        )


def session_user(engine: Engine, session_id: str) -> User | None:
    """The user of a live session, or None when it ended, expired or never was."""
    with engine.connect() as connection:
        row = connection.execute(
            select(users)
            .join(web_sessions, web_sessions.c.user_id == users.c.id)
            .where(web_sessions.c.id == session_id, web_sessions.c.expires_at > utcnow())
        ).first()
        return _user(row, _curated(connection, row.id)) if row else None


def end_session(engine: Engine, session_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(web_sessions).where(web_sessions.c.id == session_id))
