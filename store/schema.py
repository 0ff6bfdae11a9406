"""Tables of the store, shared by SQLite and PostgreSQL; Alembic migrations are generated from these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

# Stable constraint names keep Alembic migrations identical on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on both databases: SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(name: str, **kwargs) -> Column:
    return Column(name, UTCDateTime(), **kwargs)


communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("timezone", String(64), nullable=False, default="Europe/London"),
    Column("schedule", String(64), nullable=False, default="0 7 * * MON"),
    Column("items_per_topic", Integer, nullable=False, default=5),
    _when("created_at", nullable=False),
    Column(
        "draft_rules",
        JSON,
        comment="Overrides of the draft settings: caps, relevance floor, freshness, rare-source boost.",
    ),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("keywords_must", JSON, nullable=False, default=list),
    Column("keywords_exclude", JSON, nullable=False, default=list),
    Column("examples", JSON, nullable=False, default=list),
    Column("position", Integer, nullable=False, default=0),
    UniqueConstraint("community_id", "slug"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True, comment="What to fetch: a feed, a sitemap or a listing page."),
    Column("site_url", Text, nullable=False, comment="The URL the admin gave."),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("options", JSON, nullable=False, default=dict, comment="allow/deny patterns, max_depth, max_pages."),
    _when("created_at", nullable=False),
    # Health, as Miniflux keeps it: the admin sees all of it and a failing source backs off.
    _when("last_attempt_at"),
    _when("last_success_at"),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_item_count", Integer),
    _when("next_check_at"),
    # Conditional GET state of the source URL itself.
    Column("etag", Text),
    Column("last_modified", Text),
)

community_sources = Table(
    "community_sources",
    metadata,
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)

http_validators = Table(
    "http_validators",
    metadata,
    Column("url", Text, primary_key=True, comment="Sub-sitemaps and other feeds polled with conditional GET."),
    Column("etag", Text),
    Column("last_modified", Text),
    _when("checked_at", nullable=False),
)

crawls = Table(
    "crawls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False, index=True),
    _when("started_at", nullable=False),
    _when("finished_at"),
    Column("ok", Boolean),
    Column("not_modified", Boolean, nullable=False, default=False),
    Column("items_found", Integer, nullable=False, default=0),
    Column("pages_fetched", Integer, nullable=False, default=0),
    Column("pages_failed", Integer, nullable=False, default=0),
    Column("error", Text),
)

pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True, comment="Canonicalised URL the page was found under."),
    Column("final_url", Text, comment="Where redirects ended."),
    Column("source_id", ForeignKey("sources.id", ondelete="SET NULL"), index=True),
    _when("fetched_at", nullable=False),
    Column("status", Integer, nullable=False, comment="HTTP status; 0 when no response came."),
    Column("error", Text, comment="Why the fetch failed; NULL when it worked."),
    Column("attempts", Integer, nullable=False, default=1),
    Column("content_type", String(200)),
    Column("encoding", String(64)),
    Column("body", LargeBinary, comment="zlib-compressed raw bytes of the response."),
    Column("feed_entry", JSON, comment="What the feed or sitemap said of the item: title, summary, date."),
    Column(
        "extract_state",
        String(16),
        nullable=False,
        default="pending",
        comment="pending, extracted (waiting to be saved), done, skipped or failed.",
    ),
    Column("extract_reason", Text),
    Column("extracted", JSON, comment="A fanned-out extraction's result, until it is saved in URL order."),
    Column("article_id", ForeignKey("articles.id", ondelete="SET NULL"), index=True),
    Index("ix_pages_extract_state_id", "extract_state", "id"),
)

sightings = Table(
    "sightings",
    metadata,
    Column("url", Text, primary_key=True, comment="Canonical URL a source listed."),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    _when("first_seen_at", nullable=False),
    comment="Which sources listed which URLs, so an article fetched once is credited to all of them.",
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("canonical_url", Text, nullable=False, unique=True),
    Column("fingerprint", String(40), nullable=False, unique=True, comment="Hash of the normalised text."),
    Column("title", Text),
    Column("author", Text),
    Column("published_at", UTCDateTime()),
    Column("site_name", Text),
    Column("language", String(16)),
    Column("text", Text, nullable=False),
    Column("image_url", Text),
    Column("summary", Text),
    Column("word_count", Integer, nullable=False, default=0),
    _when("first_seen_at", nullable=False, index=True),
    Column("extractor", String(64), nullable=False, comment="Extractor and version, so upgrades can re-run."),
    Column(
        "date_basis",
        String(16),
        comment="Where published_at came from: feed, sitemap or page; first seen when no date could be trusted.",
    ),
    Column("date_reasons", JSON, comment="Why that date: what agreed, what was set aside."),
)

source_lines = Table(
    "source_lines",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("line_key", String(40), primary_key=True, comment="Hash of a line's words; empty counts the articles."),
    Column("articles", Integer, nullable=False, default=0),
    comment="A source's template: a line on most of its articles is its furniture, not article text.",
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, nullable=False, comment="Where this source published it."),
    _when("seen_at", nullable=False),
    Index("ix_article_sources_source_id", "source_id"),
)

article_vectors = Table(
    "article_vectors",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(200), primary_key=True, comment="A change of model means new vectors, not mixed ones."),
    Column("vector", LargeBinary, nullable=False, comment="float32, L2-normalised."),
    _when("created_at", nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("representative_id", ForeignKey("articles.id", ondelete="SET NULL")),
    _when("first_published_at", nullable=False),
    _when("updated_at", nullable=False),
)

article_groups = Table(
    "article_groups",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", ForeignKey("stories.id", ondelete="SET NULL"), index=True),
    Column(
        "duplicate_of",
        ForeignKey("articles.id", ondelete="SET NULL"),
        comment="The earliest copy, for a syndicated one.",
    ),
    _when("grouped_at", nullable=False),
)

topic_scores = Table(
    "topic_scores",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False, comment="What candidates are ranked by: relative, learned, fresh."),
    Column("similarity", Float, nullable=False, comment="Cosine of article and topic, for explanations."),
    Column("excluded", Boolean, nullable=False, default=False, comment="Ruled out by the topic's keyword rules."),
    Column("reasons", JSON, nullable=False, default=list),
    _when("scored_at", nullable=False),
    Index("ix_topic_scores_topic_id_score", "topic_id", "score"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    # No cascade: a topic is archived, never deleted, and its labels are the curators' history (migration 0008).
    Column("topic_id", ForeignKey("topics.id"), nullable=False, index=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("value", Integer, nullable=False, comment="+1 approve or click, -1 reject."),
    Column("kind", String(16), nullable=False, comment="approve, reject or click."),
    Column("weight", Float, nullable=False, default=1.0),
    Column("actor", String(200), comment="Who decided; NULL for members' clicks."),
    _when("decided_at", nullable=False),
)

# Digests, members and delivery (migration 0003).

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
    _when("period_start", nullable=False),
    _when("period_end", nullable=False),
    Column("status", String(16), nullable=False, default="draft", comment="draft, approved or sent."),
    Column("approved_by", String(200)),
    _when("approved_at"),
    _when("scheduled_for", comment="When delivery may start; NULL means as soon as it is approved."),
    _when("created_at", nullable=False),
    _when("updated_at", nullable=False),
    Column(
        "section_notes",
        JSON,
        comment="Per topic id: items, borderline candidates and capped ones, as the draft found them.",
    ),
    UniqueConstraint("community_id", "period_start"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    # No cascade: sent digests keep their sections whatever becomes of the topic (migration 0008).
    Column("topic_id", ForeignKey("topics.id"), nullable=False),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", Integer, comment="The story the article belongs to, so a section never repeats one."),
    Column("position", Integer, nullable=False, default=0),
    Column("title", Text, nullable=False),
    Column("blurb", Text, nullable=False, default=""),
    Column("url", Text, nullable=False),
    Column("source_name", String(200), nullable=False, default=""),
    Column("edited", Boolean, nullable=False, default=False, comment="A curator changed title or blurb: keep them."),
    Column("state", String(16), nullable=False, default="proposed", comment="proposed, approved or rejected."),
    Column("also_covered_by", JSON, nullable=False, default=list, comment="[{source, url}] of the same story."),
    Column("score", Float, nullable=False, default=0.0),
    Column("reasons", JSON, nullable=False, default=list),
    UniqueConstraint("digest_id", "topic_id", "article_id"),
)

digest_events = Table(
    "digest_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("actor", String(200), comment="Who did it; NULL for Signpost itself."),
    Column("action", String(32), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
    _when("created_at", nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True, comment="Lowercased."),
    Column("name", String(200), nullable=False, default=""),
    _when("created_at", nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False, default="pending", comment="pending, confirmed or unsubscribed."),
    _when("created_at", nullable=False),
    _when("confirmed_at"),
    _when("unsubscribed_at"),
    Index("ix_memberships_community_id_status", "community_id", "status"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_subscriptions_topic_id", "topic_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column(
        "member_id",
        ForeignKey("members.id", ondelete="SET NULL"),
        comment="NULL once the member was removed: the row stays so the digest's counts do not change.",
    ),
    Column("channel", String(16), nullable=False, default="email"),
    Column("topic_ids", JSON, nullable=False, comment="The member's topics when the row was made: retries match."),
    Column("message_id", String(255), nullable=False, comment="Derived from the row, the same on every attempt."),
    Column("state", String(16), nullable=False, default="pending", comment="pending, sending, sent or failed."),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("claim", String(64), comment="Which sender run holds a row in sending."),
    _when("claimed_at"),
    _when("sent_at"),
    _when("created_at", nullable=False),
    UniqueConstraint("digest_id", "member_id", "channel"),
    Index("ix_outbox_digest_id_state", "digest_id", "state"),
)

# The web app: users, curators, sessions, members' suggestions and click counts (migration 0004).

# Off by default: a community turns click tracking on explicitly, since it records who clicked what.
communities.append_column(
    Column("click_tracking", Boolean, nullable=False, default=False, server_default="0"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True, comment="Lowercased."),
    Column("name", String(200), nullable=False, default=""),
    Column("password_hash", Text, comment="argon2id; NULL when the user signs in by emailed link only."),
    Column("is_admin", Boolean, nullable=False, default=False),
    _when("created_at", nullable=False),
    _when("last_signin_at", comment="Also makes an emailed sign-in link single-use."),
)

curators = Table(
    "curators",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
    _when("created_at", nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True, comment="SHA-256 of the token in the signed cookie."),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    _when("created_at", nullable=False),
    _when("expires_at", nullable=False),
)

suggestions = Table(
    "suggestions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
    Column("topic_id", ForeignKey("topics.id", ondelete="SET NULL")),
    Column("member_id", ForeignKey("members.id", ondelete="SET NULL"), comment="Who suggested it."),
    Column("url", Text, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False, default="pending", comment="pending, added or dismissed."),
    Column("handled_by", String(200)),
    _when("handled_at"),
    _when("created_at", nullable=False),
    Index("ix_suggestions_community_id_state", "community_id", "state"),
)

item_clicks = Table(
    "item_clicks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", ForeignKey("digest_items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("member_id", ForeignKey("members.id", ondelete="SET NULL")),
    _when("clicked_at", nullable=False),
)

# Webhooks that receive each published digest (migration 0005).

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("format", String(16), nullable=False, comment="slack, teams, mattermost or json."),
    Column("enabled", Boolean, nullable=False, default=True),
    _when("created_at", nullable=False),
    UniqueConstraint("community_id", "url"),
)

webhook_posts = Table(
    "webhook_posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False, default="pending", comment="pending, sent or failed."),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    _when("sent_at"),
    UniqueConstraint("digest_id", "webhook_id"),
    comment="One row per digest and webhook, so a publish run again never posts twice.",
)

# Rate limits of the web app's forms (migration 0007).

rate_limit_attempts = Table(
    "rate_limit_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action", String(32), nullable=False, comment="signin (passwords), email (asked-for emails) or suggest."),
    Column("subject", String(64), nullable=False, comment="SHA-256 of the limited address, client IP or member."),
    _when("attempted_at", nullable=False),
    Index("ix_rate_limit_attempts_action_subject_attempted_at", "action", "subject", "attempted_at"),
    comment="One row per counted attempt; rows older than their action's window are purged as new ones come.",
)

# Archived topics (migration 0008): a topic removed from a community is archived, not deleted, so curators' labels
# and the items of digests already sent stay; it is neither scored nor drafted until it is listed again.

topics.append_column(
    _when("archived_at", comment="When the topic left its community; NULL while it is in use."),
)

# Retries that wait instead of giving up (migration 0012): only a permanent refusal ends a row as failed.

outbox.append_column(
    _when("next_attempt_at", comment="A waiting row is not tried before this; the delay grows with each failed try.")
)
outbox.append_column(
    _when("waiting_since", comment="When the row first failed for a reason that may pass; cleared once sent.")
)

# What mail systems answer: bounces, complaints and the suppression list across communities (migration 0011).

outbox.append_column(
    Column("delivery", String(16), comment="What came back for a sent row: soft-bounced, bounced or complained.")
)
outbox.append_column(_when("delivery_at"))
Index("ix_outbox_message_id", outbox.c.message_id)

bounces = Table(
    "bounces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("outbox_id", ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("kind", String(16), nullable=False, comment="hard, soft or complaint."),
    Column("status", String(16), nullable=False, default="", comment="RFC 3463 status, such as 5.1.1."),
    Column("detail", Text, nullable=False, default="", comment="The reporting server's own words."),
    Column("source", String(16), nullable=False, comment="smtp, imap, ses, postmark, sendgrid or mailgun."),
    _when("received_at", nullable=False),
    comment="Every bounce and complaint received, matched to its member (and outbox row when known).",
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("reason", String(16), nullable=False, comment="hard, soft (too many in a row) or complaint."),
    Column("detail", Text, nullable=False, default="", comment="The server's words that caused it."),
    Column("source", String(16), nullable=False),
    _when("created_at", nullable=False),
    _when("lifted_at", comment="Set when an admin or a new double opt-in lifted it; NULL while it holds."),
    comment="Addresses no community mails: one row per member, kept after a lift so soft bounces count afresh.",
)
