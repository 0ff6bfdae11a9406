"""A source's template, learnt across its articles: a line that most of them carry is furniture, not article text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from sqlalchemy import Engine

from signpost.store.records import ExtractedArticle
from signpost.store.templates import count_source_lines

WORDS = re.compile(r"\w+")
# A line is the template's once this many of the source's articles, and this share of them, carry it.
TEMPLATE_MIN_ARTICLES = 3
TEMPLATE_SHARE = 0.5
# Single words ("Share", "Menu") are left to the furniture patterns: a template line says a little more.
TEMPLATE_LINE_MIN_WORDS = 2


def line_key(line: str) -> str:
    """A line's words, blind to case and punctuation, as a short hash."""
    return hashlib.sha1(" ".join(WORDS.findall(line.lower())).encode("utf-8")).hexdigest()


def drop_template_lines(engine: Engine, article: ExtractedArticle, source_id: int) -> ExtractedArticle:
    """Count the article's lines into its source's template, and return it without the lines the template holds.

    Articles are counted in the order they are saved (URL order, whichever way the stage ran), so the same pages
    always give the same texts; a source's first articles teach the template before it can remove anything.
    """
    lines = article.text.split("\n")
    keyed = {line_key(line) for line in lines if len(WORDS.findall(line)) >= TEMPLATE_LINE_MIN_WORDS}
    articles, carrying = count_source_lines(engine, source_id, keyed)
    if articles < TEMPLATE_MIN_ARTICLES:
        return article
    template = {
        key for key, count in carrying.items() if count >= max(TEMPLATE_MIN_ARTICLES, TEMPLATE_SHARE * articles)
    }
    kept = [line for line in lines if line_key(line) not in template]
    if not template or not kept or len(kept) == len(lines):
        return article
    return replace(article, text="\n".join(kept))
