"""The main text of a page: trafilatura's recall output, or its precision output where the feed's full text says so."""

from __future__ import annotations

import logging
import re
from collections import Counter

import trafilatura
from lxml.html import HtmlElement
from trafilatura.baseline import html2txt
from trafilatura.settings import Document

from signpost.spiders.feed_text import html_to_text

LOGGER = logging.getLogger(__name__)

# Recall mode skips trafilatura's own recall escalation, so a short result covering little of the page
# is retried in balanced mode, with trafilatura's own thresholds (core.ESCALATION_*).
RETRY_MAX_CHARS = 3000
RETRY_PAGE_SHARE = 0.2
RETRY_ACCEPT_RATIO = 1.5

# A feed's full text this long is the article, not a teaser, and decides between trafilatura's outputs.
FEED_TEXT_MIN_WORDS = 80
FEED_TEXT_MAX_CHARS = 200_000
WORDS = re.compile(r"\w+")

LAYOUT_TAGS = {"table": "div", "tbody": "div", "thead": "div", "tfoot": "div", "tr": "div", "td": "div", "th": "div"}


def unwrap_layout_tables(tree: HtmlElement) -> None:
    """Turn tables used for page layout into divs, so trafilatura keeps the article cell and drops the furniture.

    Old sites lay pages out with tables; trafilatura takes tables as content and would return the whole page.
    A table is layout when it nests another table or a cell holds paragraphs of prose; data tables are kept.
    """
    for table in list(tree.iter("table")):
        nested = table.find(".//table") is not None
        prose_cell = any(
            len(cell.findall(".//p")) >= 2 and len(cell.text_content()) > 400 for cell in table.iter("td", "th")
        )
        if nested or prose_cell:
            for element in [table, *table.iterdescendants("tbody", "thead", "tfoot", "tr", "td", "th")]:
                element.tag = LAYOUT_TAGS[element.tag]


def feed_text(entry: dict) -> str | None:
    """The feed's full text of the item as plain text, when it has one long enough to be the article."""
    content = entry.get("content")
    if not isinstance(content, str):
        return None
    text = html_to_text(content[:FEED_TEXT_MAX_CHARS], FEED_TEXT_MAX_CHARS)
    return text if text and len(text.split()) >= FEED_TEXT_MIN_WORDS else None


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    words = WORDS.findall(text.lower())
    return Counter(tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3)))


def agreement(text: str, reference: str) -> float:
    """F1 of 4-word shingles between a text and a reference: 1.0 when they hold the same words in the same order."""
    mine, theirs = _shingles(text), _shingles(reference)
    shared = sum((mine & theirs).values())
    total = sum(mine.values()) + sum(theirs.values())
    return 2 * shared / total if total else 0.0


def main_text(tree: HtmlElement, url: str | None, from_feed: str | None = None) -> str:
    """The main text: trafilatura in recall mode, retried in balanced mode when short; with the feed's full text,
    whichever of the recall and precision outputs agrees with it best."""
    unwrap_layout_tables(tree)
    text = _trafilatura_text(tree, url, favor_recall=True)
    if len(text) < RETRY_MAX_CHARS and len(text) < RETRY_PAGE_SHARE * len(html2txt(tree)):
        retry = _trafilatura_text(tree, url, favor_recall=False)
        if len(retry) > RETRY_ACCEPT_RATIO * len(text):
            text = retry
    if from_feed:
        # bare_extraction works on its own copy of the tree, so the same tree serves both modes
        precise = _trafilatura_text(tree, url, favor_precision=True)
        if agreement(precise, from_feed) > agreement(text, from_feed):
            text = precise
    return text


def _trafilatura_text(
    tree: HtmlElement, url: str | None, favor_recall: bool = False, favor_precision: bool = False
) -> str:
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            favor_recall=favor_recall,
            favor_precision=favor_precision,
            include_comments=False,
            include_tables=True,
        )
    except Exception as error:  # trafilatura's own guards miss some malformed trees
        LOGGER.warning("trafilatura failed on %s: %s", url, error)
        return ""
    return (document.text or "") if isinstance(document, Document) else ""
