"""A member's digest email: plain text and HTML (CSS inlined), only their topics, with one-click unsubscribe
and, where the community tracks clicks, tracked links to the items."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import css_inline
import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests import mime, tokens
from signpost.digests.dkim_signing import DkimSigner
from signpost.store.communities import list_communities
from signpost.store.digests import DigestItem, get_digest, load_items
from signpost.store.review import click_tracking

TEMPLATES = Path(__file__).with_name("templates")
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# The member id of previews (web/review.py): no member has it, so a preview's links go straight to the
# articles and a curator trying them is never counted as a reader.
PREVIEW_MEMBER_ID = 0

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Section:
    topic_id: int
    slug: str
    name: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class DigestContent:
    """What a digest says, for every member: the community and its sections of approved items, in order."""

    digest_id: int
    community_id: int
    community_slug: str
    community_name: str
    period_start: datetime
    period_end: datetime
    sections: tuple[Section, ...]
    click_tracking: bool = False


@dataclass(frozen=True)
class Recipient:
    member_id: int
    email: str
    name: str
    topic_ids: frozenset[int]
    message_id: str
    date: datetime


@dataclass(frozen=True)
class MailSettings:
    public_url: str
    mail_from: str
    secret_key: str
    dkim_selector: str = ""
    dkim_key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
        return cls(settings.public_url, settings.mail_from, secret, settings.dkim_selector, settings.dkim_key_file)


def load_content(engine: Engine, digest_id: int, states: tuple[str, ...] = ("approved",)) -> DigestContent:
    """A digest's content from the store; ``states=("proposed", "approved")`` previews a draft."""
    digest = get_digest(engine, digest_id)
    community = next(c for c in list_communities(engine) if c.id == digest.community_id)
    items = load_items(engine, digest_id, states)
    sections = []
    # Archived topics too: a digest sent before its topic was archived keeps that section in the archive.
    for topic in community.every_topic:
        section_items = tuple(item for item in items if item.topic_id == topic.id)
        if section_items:
            sections.append(Section(topic.id, topic.slug, topic.name, section_items))
    return DigestContent(
        digest.id,
        community.id,
        community.slug,
        community.name,
        digest.period_start,
        digest.period_end,
        tuple(sections),
        click_tracking(engine, community.id),
    )


def plain_text(value: str | None) -> str:
    """Untrusted text with every tag, script and entity trick removed: what is left is shown as text."""
    text = value or ""
    # Loop: "&lt;script&gt;" unescapes into markup, which the next round removes.
    for _ in range(3):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    return " ".join(CONTROL.sub(" ", text).split())


def safe_url(value: str | None) -> str | None:
    """The URL if it is plain http(s) to a host, else None (javascript:, data: and the like never get a link)."""
    url = (value or "").strip()
    if CONTROL.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Characters a URL should not hold raw (quotes, angle brackets, non-ASCII) are percent-encoded.
    return quote(url, safe=URL_SAFE)


def _clean_item(item: DigestItem) -> dict:
    also = []
    for entry in item.also_covered_by:
        url = safe_url(entry.url)
        if url:
            also.append({"source": plain_text(entry.source) or urlsplit(url).netloc, "url": url})
    url = safe_url(item.url)
    return {
        "id": item.id,
        "title": plain_text(item.title) or (url or "Untitled"),
        "url": url,
        "source": plain_text(item.source_name),
        "blurb": plain_text(item.blurb),
        "also": also,
    }


def period_label(start: datetime, end: datetime) -> str:
    return f"Week of {start.day} {start:%B %Y}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Bodies:
    """The text and HTML of one topic combination, split at their placeholders: literal text at even indexes,
    placeholder keys at odd ones, so a member's email is one join however many links it carries."""

    text: list[str]
    page: list[str]
    clicks: tuple[str, ...]  # the placeholder keys of tracked links in them


def _fill(parts: list[str], values: dict[str, str]) -> str:
    filled = parts.copy()
    filled[1::2] = [values[key] for key in parts[1::2]]
    return "".join(filled)


class DigestRenderer:
    """Renders one digest for many members.

    Everyone who follows the same topics gets the same sections, so the templates run and the CSS is inlined
    once per combination of topics; the member's name and signed links (unsubscribe, preferences and, where the
    community tracks clicks, each item's link) are filled in afterwards through placeholders carrying a random
    nonce, which scraped text cannot forge.
    """

    def __init__(self, content: DigestContent, mail: MailSettings) -> None:
        self.content = content
        self.mail = mail
        nonce = secrets.token_hex(8)
        self.placeholder = re.compile(f"@@{nonce}-([a-z0-9-]+)@@")
        self.placeholders = {key: f"@@{nonce}-{key}@@" for key in ("name", "unsubscribe", "preferences")}
        # key -> (item id, plain link in text, plain link in HTML): what a tracked link becomes without tracking.
        self.links: dict[str, tuple[int, str, str]] = {}
        self.sections = [
            (
                section,
                {"slug": section.slug, "name": plain_text(section.name), "entries": self._entries(section, nonce)},
            )
            for section in content.sections
        ]
        # Signing a tracked link is a few microseconds: one signer per renderer, its key derived once.
        self.signer = tokens.ClickSigner(mail.secret_key) if self.links else None
        self.click_prefix = tokens.click_url_prefix(mail.public_url)
        self.click_prefix_html = html.escape(self.click_prefix)
        self.subject = f"{plain_text(content.community_name)}: {period_label(content.period_start, content.period_end)}"
        self.from_address = parseaddr(mail.mail_from)[1]
        self.domain = self.from_address.rpartition("@")[2] or "localhost"
        self.list_id = f"{plain_text(content.community_name)} <{content.community_slug}.{self.domain}>"
        self._cache: dict[frozenset[int], Bodies | None] = {}
        self.css = (TEMPLATES / "digest.css").read_text()
        self.dkim = (
            DkimSigner.from_file(mail.dkim_selector, self.domain, mail.dkim_key_file)
            if mail.dkim_selector and mail.dkim_key_file
            else None
        )
        self.shared_headers = mime.shared_headers(
            [
                ("From", mail.mail_from),
                ("Subject", self.subject),
                ("List-Id", self.list_id),
                # Gmail's feedback loop counts complaints per identifier: the digest, its community, the sender.
                ("Feedback-ID", f"{content.digest_id}:{content.community_slug}:digest:{self.domain}"),
                # RFC 8058: a POST to the https link unsubscribes without any page in between.
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        )

    def _entries(self, section: Section, nonce: str) -> list[dict]:
        """A section's cleaned items; with click tracking on, each link is a placeholder for the member's own."""
        entries = list(map(_clean_item, section.items))
        for entry in entries:
            entry["link"] = entry["url"]
            if self.content.click_tracking and entry["url"]:
                key = f"click-{entry['id']}"
                self.links[key] = (entry["id"], entry["url"], html.escape(entry["url"]))
                entry["link"] = f"@@{nonce}-{key}@@"
        return entries

    @property
    def combinations(self) -> int:
        """Topic combinations rendered so far."""
        return len(self._cache)

    def bodies(self, topic_ids: frozenset[int]) -> Bodies | None:
        """Text and HTML with placeholders for the member's topics, or None when none of them has items."""
        if topic_ids not in self._cache:
            self._cache[topic_ids] = self._render_bodies(topic_ids)
        return self._cache[topic_ids]

    def _render_bodies(self, topic_ids: frozenset[int]) -> Bodies | None:
        # Only sections with items: an empty one is left out, and so is its name from the opening sentence.
        chosen = [cleaned for section, cleaned in self.sections if section.topic_id in topic_ids and section.items]
        if not chosen:
            return None
        context = {
            "subject": self.subject,
            "community_name": plain_text(self.content.community_name),
            "period_label": period_label(self.content.period_start, self.content.period_end),
            "topic_names": _names([section["name"] for section in chosen]),
            "preheader": "; ".join(item["title"] for section in chosen for item in section["entries"][:1])[:140],
            "sections": chosen,
            "css": self.css,
            "greeting_name": self.placeholders["name"],
            "unsubscribe_url": self.placeholders["unsubscribe"],
            "preferences_url": self.placeholders["preferences"],
        }
        text = environment.get_template("digest.txt.j2").render(context)
        page = inliner.inline(environment.get_template("digest.html.j2").render(context))
        text_parts, page_parts = self.placeholder.split(text), self.placeholder.split(page)
        keys = dict.fromkeys(key for key in text_parts[1::2] + page_parts[1::2] if key in self.links)
        return Bodies(text_parts, page_parts, tuple(keys))

    def _link_values(self, bodies: Bodies, member_id: int) -> tuple[dict[str, str], dict[str, str]]:
        """Each item link of the member's email, in text and in HTML: tracked for a member, plain for a preview."""
        as_text: dict[str, str] = {}
        as_html: dict[str, str] = {}
        for key in bodies.clicks:
            item_id, plain, plain_html = self.links[key]
            if self.signer is None or member_id == PREVIEW_MEMBER_ID:
                as_text[key], as_html[key] = plain, plain_html
            else:
                # Tokens are URL-safe base64 and dots: nothing in them needs escaping in HTML.
                token = self.signer.token(item_id, member_id)
                as_text[key], as_html[key] = self.click_prefix + token, self.click_prefix_html + token
        return as_text, as_html

    def render_bytes(self, recipient: Recipient) -> bytes | None:
        """The member's email, ready for SMTP, or None when none of the topics they follow has items."""
        bodies = self.bodies(recipient.topic_ids)
        if bodies is None:
            return None
        secret, public_url = self.mail.secret_key, self.mail.public_url
        community_id = self.content.community_id
        unsubscribe_token = tokens.make_token(secret, tokens.UNSUBSCRIBE, recipient.member_id, community_id)
        preferences_token = tokens.make_token(secret, tokens.PREFERENCES, recipient.member_id, community_id)
        unsubscribe = tokens.unsubscribe_url(public_url, unsubscribe_token)
        preferences = tokens.preferences_url(public_url, preferences_token)
        name = plain_text(recipient.name)
        as_text, as_html = self._link_values(bodies, recipient.member_id)
        as_text.update(name=f" {name}" if name else "", unsubscribe=unsubscribe, preferences=preferences)
        as_html.update(
            name=f" {html.escape(name)}" if name else "",
            unsubscribe=html.escape(unsubscribe),
            preferences=html.escape(preferences),
        )
        text, page = _fill(bodies.text, as_text), _fill(bodies.page, as_html)
        mailto = f"mailto:{self.from_address}?subject={quote('unsubscribe ' + unsubscribe_token)}"
        own_headers = [
            ("To", mime.address(name, recipient.email)),
            ("Date", format_datetime(recipient.date)),
            ("Message-ID", recipient.message_id),
            # Folded after the comma: both links together pass the 78-character line length.
            ("List-Unsubscribe", f"<{unsubscribe}>,\r\n <{mailto}>"),
        ]
        message = mime.alternative_message(self.shared_headers, own_headers, text, page, recipient.message_id)
        return self.dkim.sign(message) if self.dkim else message

    def render(self, recipient: Recipient) -> EmailMessage | None:
        """The member's email parsed back into an EmailMessage, for previews and checks."""
        raw = self.render_bytes(recipient)
        return None if raw is None else message_from_bytes(raw, policy=default)


def message_id_for(digest_id: int, member_id: int, channel: str, mail_from: str) -> str:
    """The Message-ID of an outbox row: every attempt at the same row sends the same message."""
    return f"<digest-{digest_id}.member-{member_id}.{channel}@{_domain_of(mail_from)}>"


@lru_cache(maxsize=16)
def _domain_of(mail_from: str) -> str:
    # Parsing an address costs more than the rest of a row: a digest's 80,000 rows share one From.
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1]
