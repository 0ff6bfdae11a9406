"""Reading ranking-set folders as the body text of the fixture web, and the edits that make reused texts distinct."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'\u201c\u2018(£$])")
SUMMARY_MIN_CHARS = 120
SUMMARY_MAX_CHARS = 400

# Reuse n of a corpus article opens with one of these, so every reused text differs from the others.
REUSE_LEADS = (
    "Update: ",
    "Latest: ",
    "Follow-up: ",
    "Revisited: ",
    "In case you missed it: ",
    "Looking back: ",
    "Worth reading again: ",
    "From the newsroom: ",
)


@dataclass(frozen=True)
class CorpusArticle:
    id: str
    title: str
    paragraphs: tuple[str, ...]
    label: str
    author: str | None


def read_corpus(folder: Path) -> Iterator[CorpusArticle]:
    """Yield the usable articles of one ranking-set folder (or a path to its articles.jsonl)."""
    path = folder if folder.is_file() else folder / "articles.jsonl"
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            # An exact corpus duplicate would be an unrecorded duplicate on the fixture web: leave it out.
            if record.get("duplicate_of"):
                continue
            paragraphs = split_paragraphs(record.get("text") or "")
            title = (record.get("title") or "").strip()
            if not paragraphs or not title:
                continue
            yield CorpusArticle(
                id=str(record["id"]),
                title=title,
                paragraphs=paragraphs,
                label=str(record.get("label") or ""),
                author=record.get("author") or None,
            )


def load_corpora(folders: list[Path], seed: int) -> list[CorpusArticle]:
    """All usable articles of the folders, in a shuffled order fixed by `seed`."""
    articles = [article for folder in folders for article in read_corpus(Path(folder))]
    if not articles:
        raise ValueError(f"no usable articles in {[str(folder) for folder in folders]}")
    random.Random(seed).shuffle(articles)
    return articles


def split_paragraphs(text: str) -> tuple[str, ...]:
    return tuple(" ".join(part.split()) for part in text.split("\n") if part.strip())


def split_sentences(paragraph: str) -> list[str]:
    return SENTENCE_END.split(paragraph)


def summarise(paragraphs: tuple[str, ...]) -> str:
    """The first sentence or two, as a feed's summary."""
    sentences = split_sentences(paragraphs[0])
    summary = sentences[0]
    if len(summary) < SUMMARY_MIN_CHARS and len(sentences) > 1:
        summary = f"{summary} {sentences[1]}"
    if len(summary) > SUMMARY_MAX_CHARS:
        summary = summary[: SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return summary


def reused_title(title: str, reuse_round: int) -> str:
    if reuse_round == 0:
        return title
    return f"{title} (update)" if reuse_round == 1 else f"{title} (update {reuse_round})"


def reused_paragraphs(paragraphs: tuple[str, ...], reuse_round: int) -> tuple[str, ...]:
    """Edit the first sentence, so the n-th reuse of a text differs from the original and every other reuse."""
    if reuse_round == 0:
        return paragraphs
    lead = REUSE_LEADS[(reuse_round - 1) % len(REUSE_LEADS)]
    cycle = (reuse_round - 1) // len(REUSE_LEADS)
    if cycle:
        lead = f"{lead.rstrip(': ')} (part {cycle + 1}): "
    return (lead + paragraphs[0], *paragraphs[1:])


def with_typographic_quotes(text: str) -> str:
    """Curly apostrophes, as an old CMS with a smart-quotes filter would publish them."""
    return text.replace("'", "\u2019")


def drop_last_sentence(paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    """A syndicated copy that trimmed its ending: the last sentence, or the last paragraph if it is one sentence."""
    sentences = split_sentences(paragraphs[-1])
    if len(sentences) > 1:
        return (*paragraphs[:-1], " ".join(sentences[:-1]))
    if len(paragraphs) > 1:
        return paragraphs[:-1]
    return paragraphs
