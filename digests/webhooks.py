"""Posting an approved digest to a community's webhooks: Slack, Microsoft Teams, Mattermost or plain JSON."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from signpost.digests.render import DigestContent, load_content, period_label, plain_text, safe_url
from signpost.store.webhooks import Webhook, community_webhooks, mark_post, pending_posts

logger = logging.getLogger(__name__)

# Chat apps cut long messages; a digest's post links to the archive for the rest.
ITEMS_PER_SECTION = 5
BLURB_CHARS = 200
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
# Words that page a whole channel in Slack, Mattermost or Teams; a scraped title must not.
MENTIONS = re.compile(r"@(channel|all|here|everyone)\b", re.IGNORECASE)

# POSTs a JSON body to a URL, returns (HTTP status, start of the answer); raises PermissionError when the URL is
# refused (a private address) and ConnectionError when there is no answer (network error, too slow).
# spiders.fetch.json_poster is the one the product passes.
PostJSON = Callable[[str, bytes], tuple[int, str]]


@dataclass
class PostReport:
    digest_id: int
    sent: int = 0
    failed: int = 0
    already: int = 0
    errors: list[str] = field(default_factory=list)


def chat_text(value: str | None, slack: bool = False) -> str:
    """Plain text that pings no one: @channel, @all, @here and @everyone get a word joiner after the @."""
    text = MENTIONS.sub("@\u2060\\1", value or "")
    # Slack's mrkdwn: < > & are the only characters that need escaping (<!channel> pings too).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if slack else text


def _lines(content: DigestContent, link: Callable[[str, str | None], str], bold: str, slack: bool) -> list[str]:
    """A section heading then a line per item: linked title, source, a short blurb; all as plain text."""
    lines = []
    for section in content.sections:
        if not section.items:
            continue  # an empty section is never posted
        lines.append(f"\n{bold}{chat_text(plain_text(section.name), slack)}{bold}")
        for item in section.items[:ITEMS_PER_SECTION]:
            title = chat_text(plain_text(item.title))
            blurb = plain_text(item.blurb)
            if len(blurb) > BLURB_CHARS:
                blurb = blurb[: BLURB_CHARS - 1].rstrip() + "…"
            source = chat_text(plain_text(item.source_name), slack)
            lines.append(f"• {link(title, safe_url(item.url))} ({source}): {chat_text(blurb, slack)}")
    return lines


def _slack_link(title: str, url: str | None) -> str:
    # | ends a link's text in Slack's mrkdwn.
    title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "-")
    return f"<{url}|{title}>" if url else title


def _markdown_link(title: str, url: str | None) -> str:
    title = title.replace("[", "(").replace("]", ")")
    return f"[{title}]({url})" if url else title


def payload(format_name: str, content: DigestContent, archive_url: str) -> dict:
    """The JSON body a webhook of this format expects for the digest."""
    heading = f"{content.community_name}: digest for {period_label(content.period_start, content.period_end)}"
    if format_name == "slack":
        lines = _lines(content, _slack_link, "*", slack=True)
        text = "\n".join([f"*{chat_text(heading, slack=True)}*", *lines, f"\n<{archive_url}|Read it on the web>"])
        return {"text": text, "unfurl_links": False}
    heading = chat_text(heading)
    if format_name == "mattermost":
        lines = _lines(content, _markdown_link, "**", slack=False)
        text = "\n".join([f"#### {heading}", *lines, f"\n[Read it on the web]({archive_url})"])
        return {"text": text}
    if format_name == "teams":
        body = [{"type": "TextBlock", "text": heading, "weight": "Bolder", "size": "Medium", "wrap": True}]
        lines = _lines(content, _markdown_link, "**", slack=False)
        body += [{"type": "TextBlock", "text": line.strip(), "wrap": True} for line in lines]
        card = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": "Read it on the web", "url": archive_url}],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
    return {
        "community": content.community_slug,
        "digest_id": content.digest_id,
        "period": [content.period_start.isoformat(), content.period_end.isoformat()],
        "url": archive_url,
        "sections": [
            {
                "topic": section.slug,
                "name": section.name,
                "items": [
                    {
                        "title": plain_text(item.title),
                        "url": safe_url(item.url),
                        "source": plain_text(item.source_name),
                        "blurb": plain_text(item.blurb),
                    }
                    for item in section.items
                ],
            }
            for section in content.sections
            if section.items
        ],
    }


def deliver(post: PostJSON, hook: Webhook, body: dict, attempts: int, backoff: float) -> tuple[bool, int, str]:
    """POST with retries on network errors and on statuses that say "try later"; (ok, attempts made, error)."""
    error = ""
    encoded = json.dumps(body).encode()
    for attempt in range(1, attempts + 1):
        try:
            status, text = post(hook.url, encoded)
            if status < 300:
                return True, attempt, ""
            error = f"HTTP {status}: {text[:200]}"
            if status not in RETRY_STATUSES:
                return False, attempt, error
        except PermissionError as refused:
            return False, attempt, str(refused)
        except ConnectionError as failure:
            error = str(failure)
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error


def post_digest(
    engine: Engine, digest_id: int, public_url: str, *, post: PostJSON, attempts: int = 4, backoff: float = 1.0
) -> PostReport:
    """Post an approved digest to each webhook of its community that has not had it yet; safe to run again.

    ``post`` is spiders.fetch.json_poster: webhook URLs get the same address rules, deadline and caps as sources.
    """
    content = load_content(engine, digest_id)
    report = PostReport(digest_id)
    hooks = community_webhooks(engine, content.community_id)
    todo = pending_posts(engine, digest_id, hooks)
    report.already = len(hooks) - len(todo)
    archive_url = f"{public_url.rstrip('/')}/c/{content.community_slug}/digests/{digest_id}"
    for hook in todo:
        ok, made, error = deliver(post, hook, payload(hook.format, content, archive_url), attempts, backoff)
        mark_post(engine, digest_id, hook.id, sent=ok, attempts=made, error=error or None)
        if ok:
            report.sent += 1
        else:
            report.failed += 1
            report.errors.append(f"{hook.url}: {error}")
            logger.warning("webhook %s failed after %d attempts: %s", hook.url, made, error)
    return report
